<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Creates, lists and deletes vtiger workflows the way vtiger's own workflow editor stores them, for the
 * real-CRM suite (tests/real_crm/workflows.py). Run with the CRM's PHP from the vtiger root:
 *
 *   php tests/real_crm/workflows.php create < spec.json   # prints {"workflow_id": N, "task_id": M}
 *   php tests/real_crm/workflows.php delete ID [ID ...]
 *   php tests/real_crm/workflows.php list MODULE          # prints the module's workflows as JSON
 *
 * spec.json: {"module": "Contacts", "name": "...", "execution_condition": 3,
 *             "conditions": [{"fieldname": "vk_url", "operation": "has changed", "value": "",
 *                             "valuetype": "rawtext", "joincondition": "", "groupjoin": "and", "groupid": "0"}],
 *             "method": "socialbridge_import_profile"}
 * `method` names the plugin's function (or a label install.php registered for it): the task stores the label
 * registered in the CRM's language (install.php registers Russian ones on a ru_ru CRM), as the editor does.
 * The workflow goes through VTWorkflowManager::save (conditions in the editor's "filtersavedinnew = 6"
 * JSON form, status active) and its task is a VTEntityMethodTask ("Invoke Custom Function") saved with
 * VTTaskManager::saveTask, exactly as Settings > Workflows saves them.
 */

if (PHP_SAPI !== 'cli') {
    exit(1);
}

function workflows_fail($message)
{
    fwrite(STDERR, 'workflows.php: ' . $message . "\n");
    exit(2);
}

$root = getcwd();
if (!is_file($root . '/modules/com_vtiger_workflow/VTWorkflowManager.inc')) {
    workflows_fail('run me from the vtiger root (no modules/com_vtiger_workflow/VTWorkflowManager.inc here)');
}
$command = isset($argv[1]) ? $argv[1] : '';
if (!in_array($command, array('create', 'delete', 'list'), true)) {
    workflows_fail('usage: php workflows.php create < spec.json | delete ID... | list MODULE');
}

// vtiger's bootstrap prints warnings of its own on PHP 7.4; keep stdout for the JSON answer.
error_reporting(E_ERROR | E_PARSE);
ini_set('display_errors', 'stderr');
// The includes of vtiger's own index.php (vtiger 8 needs its runtime, e.g. vglobal(), for the workflow classes).
require_once 'config.php';
require_once 'include/Webservices/Relation.php';
require_once 'vtlib/Vtiger/Module.php';
require_once 'includes/main/WebUI.php';
require_once 'include/utils/utils.php';
require_once 'modules/com_vtiger_workflow/include.inc';
require_once 'modules/com_vtiger_workflow/VTEntityMethodManager.inc';
require_once 'modules/com_vtiger_workflow/tasks/VTEntityMethodTask.inc';

global $adb, $current_user;
if (empty($adb)) {
    $adb = PearDatabase::getInstance();
}
// The editor runs as the administrator; some workflow code reads the current user.
$current_user = Users::getActiveAdminUser();

$manager = new VTWorkflowManager($adb);
$tasks = new VTTaskManager($adb);

/** The registered label (method_name) of a function name or label on $module; null when none is registered. */
function workflows_label($adb, $module, $method)
{
    $found = $adb->pquery('SELECT method_name FROM com_vtiger_workflowtasks_entitymethod WHERE module_name = ?'
        . ' AND (function_name = ? OR method_name = ?) ORDER BY workflowtasks_entitymethod_id DESC',
        array($module, $method, $method));
    return $adb->num_rows($found) ? $adb->query_result($found, 0, 'method_name') : null;
}

/** The function a registered label calls (the label itself when it is not registered). */
function workflows_function($adb, $module, $label)
{
    $found = $adb->pquery('SELECT function_name FROM com_vtiger_workflowtasks_entitymethod WHERE module_name = ?'
        . ' AND method_name = ?', array($module, $label));
    return $adb->num_rows($found) ? $adb->query_result($found, 0, 'function_name') : $label;
}

if ($command === 'create') {
    $spec = json_decode(stream_get_contents(STDIN), true);
    if (!is_array($spec) || empty($spec['module']) || empty($spec['method'])) {
        workflows_fail('the spec on stdin must be JSON with at least "module" and "method"');
    }
    $module = $spec['module'];
    $label = workflows_label($adb, $module, $spec['method']);
    if ($label === null) {
        $known = (new VTEntityMethodManager($adb))->methodsForModule($module);
        workflows_fail('no custom function "' . $spec['method'] . '" for ' . $module
            . ' (is the plugin installed? known: ' . implode(', ', $known) . ')');
    }
    $name = isset($spec['name']) ? $spec['name'] : $spec['method'];
    $workflow = $manager->newWorkflow($module);
    $workflow->description = $name;
    $workflow->name = $name;
    $workflow->test = json_encode(isset($spec['conditions']) ? $spec['conditions'] : array());
    $workflow->executionCondition = isset($spec['execution_condition'])
        ? (int) $spec['execution_condition'] : VTWorkflowManager::$ON_EVERY_SAVE;
    $workflow->filtersavedinnew = 6;
    $workflow->status = 1;
    $workflow->defaultworkflow = 0;
    $manager->save($workflow);

    $task = $tasks->createTask('VTEntityMethodTask', $workflow->id);
    $task->summary = $name;
    $task->methodName = $label;
    $task->active = true;
    $taskId = $tasks->saveTask($task);
    echo json_encode(array('workflow_id' => (int) $workflow->id, 'task_id' => (int) $taskId)), "\n";
    exit(0);
}

if ($command === 'delete') {
    foreach (array_slice($argv, 2) as $id) {
        $manager->delete((int) $id);
    }
    exit(0);
}

$module = isset($argv[2]) ? $argv[2] : '';
$out = array();
foreach ($manager->getWorkflowsForModule($module) as $workflow) {
    $methods = array();
    foreach ($tasks->getTasksForWorkflow($workflow->id) as $task) {
        $methods[] = isset($task->methodName) ? workflows_function($adb, $module, $task->methodName)
            : get_class($task);
    }
    $out[] = array('workflow_id' => (int) $workflow->id, 'name' => $workflow->description,
        'execution_condition' => (int) $workflow->executionCondition,
        'conditions' => json_decode($workflow->test, true), 'tasks' => $methods);
}
echo json_encode($out), "\n";
exit(0);
