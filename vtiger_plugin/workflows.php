<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Creates (or with --remove deletes) the social bridge's workflows from workflows.json, the way vtiger's
 * workflow editor stores them (VTWorkflowManager::save + VTTaskManager::saveTask of a VTEntityMethodTask).
 * Run install.php first: the tasks call the functions it registers.
 *
 *   cd /path/to/vtiger && php modules/SocialBridge/workflows.php [options]
 *     --module=Contacts        only this module (default: Contacts, Accounts and Leads)
 *     --send-field=NAME        also the "send message" workflow, watching field NAME (the same field as
 *                              fields.outgoing_text_field in the bridge's configuration)
 *     --record-saved           also "record saved" on every save (keeps the bridge's link index current)
 *     --remove                 delete the workflows this script creates (by their names), create nothing
 *     --print                  print the workflows as JSON instead of touching vtiger (needs no vtiger);
 *     --url-fields=vk_url,...  with --print: the URL fields the module has (default vk_url,tw_url,fb_url)
 *
 * Running it again replaces the workflows it created before (same names), so it is also how they are
 * updated. Conditions on URL fields a module does not have (fb_url exists only on installs upgraded from
 * 6.x) are left out. Exit status: 0 done, 2 wrong arguments or not run from a vtiger root.
 */

if (PHP_SAPI !== 'cli') {
    header('HTTP/1.1 403 Forbidden');
    exit(1);
}

function socialbridge_wf_fail($message)
{
    fwrite(STDERR, 'socialbridge workflows: ' . $message . "\n");
    exit(2);
}

/** The options given, or a failure naming the unknown one. */
function socialbridge_wf_options($argv)
{
    $options = array('module' => null, 'send-field' => null, 'record-saved' => false, 'remove' => false,
        'print' => false, 'url-fields' => 'vk_url,tw_url,fb_url');
    foreach (array_slice($argv, 1) as $arg) {
        if (!preg_match('/^--([a-z-]+)(=(.*))?$/', $arg, $m) || !array_key_exists($m[1], $options)) {
            socialbridge_wf_fail('unknown argument ' . $arg . '; see the comment at the top of workflows.php');
        }
        $options[$m[1]] = isset($m[3]) ? $m[3] : true;
    }
    if ($options['module'] !== null && !in_array($options['module'], array('Contacts', 'Accounts', 'Leads'), true)) {
        socialbridge_wf_fail('--module must be Contacts, Accounts or Leads');
    }
    if ($options['send-field'] !== null && !preg_match('/^[a-z0-9_]+$/', (string)$options['send-field'])) {
        socialbridge_wf_fail('--send-field must be a field name such as cf_853 or description');
    }
    return $options;
}

/**
 * The label under which install.php registered $function (in the CRM's language, see languages/): the
 * task names the function by that label, as the workflow editor stores it. Null when it is not registered.
 */
function socialbridge_wf_label($registered, $function)
{
    foreach (glob(dirname(__FILE__) . '/languages/*.php') as $file) {
        $labels = include $file;
        if (is_array($labels) && isset($labels[$function]) && in_array($labels[$function], $registered, true)) {
            return $labels[$function];
        }
    }
    return null;
}

/** The templates of workflows.json that apply to this run. */
function socialbridge_wf_templates($options)
{
    $doc = json_decode((string)file_get_contents(dirname(__FILE__) . '/workflows.json'), true);
    if (!is_array($doc) || !isset($doc['workflows'])) {
        socialbridge_wf_fail('workflows.json next to this script is missing or not valid JSON');
    }
    $wanted = array();
    foreach ($doc['workflows'] as $template) {
        if (($template['key'] === 'send' && $options['send-field'] === null)
            || ($template['key'] === 'record-saved' && !$options['record-saved'])) {
            continue;
        }
        $wanted[] = $template;
    }
    return array($doc['workflows'], $wanted);
}

/**
 * The stored conditions for one module: the send field filled in, conditions on fields the module lacks
 * left out, and the join of the last one in each group emptied (as the editor stores the last row).
 */
function socialbridge_wf_test($test, $fields, $sendField)
{
    $kept = array();
    foreach ($test as $condition) {
        if ($condition['fieldname'] === '{send_field}') {
            $condition['fieldname'] = $sendField;
        } elseif (!in_array($condition['fieldname'], $fields, true)) {
            continue;
        }
        $kept[] = $condition;
    }
    foreach ($kept as $i => $condition) {
        $last = !isset($kept[$i + 1]) || $kept[$i + 1]['groupid'] !== $condition['groupid'];
        if ($last) {
            $kept[$i]['joincondition'] = '';
        }
    }
    return $kept;
}

/** The workflows to store for $module: array of (summary, execution condition, test array, task). */
function socialbridge_wf_for_module($templates, $module, $fields, $sendField)
{
    $workflows = array();
    foreach ($templates as $template) {
        $test = socialbridge_wf_test($template['test'], $fields, $sendField);
        if ($template['test'] && !$test) {
            continue; // e.g. no URL field at all on this module: the workflow would fire on every save
        }
        $workflows[] = array('module' => $module, 'summary' => $template['summary'],
            'execution_condition' => (int)$template['execution_condition'], 'test' => $test,
            'task' => $template['task']);
    }
    return $workflows;
}

$options = socialbridge_wf_options($argv);
list($allTemplates, $templates) = socialbridge_wf_templates($options);
$modules = $options['module'] !== null ? array($options['module']) : array('Contacts', 'Accounts', 'Leads');
$sendField = $options['send-field'];

if ($options['print']) {
    $fields = array_filter(explode(',', (string)$options['url-fields']));
    if ($sendField !== null) {
        $fields[] = $sendField;
    }
    $out = array();
    foreach ($modules as $module) {
        $out = array_merge($out, socialbridge_wf_for_module($templates, $module, $fields, $sendField));
    }
    echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n";
    exit(0);
}

$marker = 'modules/com_vtiger_workflow/VTWorkflowManager.inc';
$root = null;
foreach (array(getcwd(), dirname(dirname(dirname(__FILE__)))) as $candidate) {
    if ($candidate !== false && is_file($candidate . '/' . $marker)) {
        $root = realpath($candidate);
        break;
    }
}
if ($root === null) {
    socialbridge_wf_fail('run me from the vtiger root (no ' . $marker . ' found)');
}
chdir($root);
// vtiger's bootstrap prints notices of its own on PHP 7.4+: keep them off the output.
error_reporting(E_ERROR | E_PARSE);
ini_set('display_errors', 'stderr');
// The includes of vtiger's own index.php: vtiger 8's workflow classes need its runtime (e.g. vglobal()).
require_once 'config.php';
require_once 'include/Webservices/Relation.php';
require_once 'vtlib/Vtiger/Module.php';
require_once 'includes/main/WebUI.php';
require_once 'include/utils/utils.php';
require_once 'modules/com_vtiger_workflow/include.inc';
require_once 'modules/com_vtiger_workflow/VTTaskManager.inc';
require_once 'modules/com_vtiger_workflow/tasks/VTEntityMethodTask.inc';
require_once 'modules/com_vtiger_workflow/VTEntityMethodManager.inc';

global $adb, $current_user;
if (empty($adb) && class_exists('PearDatabase')) {
    $adb = PearDatabase::getInstance();
}
// The workflow editor runs as the administrator; some workflow code reads the current user.
if (empty($current_user) && class_exists('Users') && method_exists('Users', 'getActiveAdminUser')) {
    $current_user = Users::getActiveAdminUser();
}
$manager = new VTWorkflowManager($adb);
$tasks = new VTTaskManager($adb);
$methods = new VTEntityMethodManager($adb);

foreach ($modules as $module) {
    // Replace what an earlier run created: the workflows are found by their names.
    foreach ($allTemplates as $template) {
        $found = $adb->pquery('SELECT workflow_id FROM com_vtiger_workflows WHERE module_name = ? AND summary = ?',
            array($module, $template['summary']));
        for ($i = 0; $i < $adb->num_rows($found); $i++) {
            $manager->delete($adb->query_result($found, $i, 'workflow_id'));
            echo 'removed ' . $module . ': ' . $template['summary'] . "\n";
        }
    }
    if ($options['remove']) {
        continue;
    }
    $fields = array();
    $present = $adb->pquery('SELECT fieldname FROM vtiger_field INNER JOIN vtiger_tab ON vtiger_tab.tabid ='
        . ' vtiger_field.tabid WHERE vtiger_tab.name = ? AND vtiger_field.presence IN (0, 2)', array($module));
    for ($i = 0; $i < $adb->num_rows($present); $i++) {
        $fields[] = $adb->query_result($present, $i, 'fieldname');
    }
    if ($sendField !== null && !in_array($sendField, $fields, true)) {
        socialbridge_wf_fail($module . ' has no field ' . $sendField . ' (--send-field): create it first'
            . ' (Settings, Module Layouts & Fields) or name an existing one');
    }
    foreach (socialbridge_wf_for_module($templates, $module, $fields, $sendField) as $spec) {
        $label = socialbridge_wf_label($methods->methodsForModule($module), $spec['task']['function']);
        if ($label === null) {
            socialbridge_wf_fail('the function "' . $spec['task']['methodName'] . '" is not registered for '
                . $module . ': run php modules/SocialBridge/install.php first');
        }
        $workflow = $manager->newWorkflow($module);
        $workflow->description = $spec['summary'];
        $workflow->name = $spec['summary']; // workflowname, vtiger 7+
        $workflow->test = json_encode($spec['test']);
        $workflow->executionCondition = $spec['execution_condition'];
        $workflow->filtersavedinnew = 6; // conditions in the vtiger 6+ editor's format
        $workflow->status = 1;
        $workflow->defaultworkflow = 0;
        $manager->save($workflow);
        $task = $tasks->createTask($spec['task']['class'], $workflow->id);
        $task->summary = $spec['task']['summary'];
        $task->methodName = $label;
        $task->active = true;
        $tasks->saveTask($task);
        echo 'created ' . $module . ': ' . $spec['summary'] . ' (workflow ' . $workflow->id . ")\n";
    }
}
exit(0);
