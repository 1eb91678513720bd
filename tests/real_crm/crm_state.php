<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Prints, as JSON, what a module install can leave in a real vtiger: every table with its row count
 * (tables of vtiger's caches, sessions and logs left out: they change on every request), and the
 * module-related rows of vtiger's registries. Run from the vtiger root with the CRM's PHP; the real-CRM
 * suite compares a fresh CRM with the same CRM after the module's install and uninstall.
 */

if (PHP_SAPI !== 'cli') {
    exit(1);
}
error_reporting(E_ERROR | E_PARSE);
ini_set('display_errors', 'stderr');
require_once 'config.inc.php';
require_once 'include/utils/utils.php';
global $adb;
$adb = PearDatabase::getInstance();

$changing = '/^(vtiger_loginhistory|vtiger_audit_trial|vtiger_crmentity_seq|vtiger_modtracker.*|vtiger_homestuff.*'
    . '|vtiger_ws_userauthtoken|vtiger_ws_operation.*|vtiger_tracker|com_vtiger_workflowtask_queue'
    . '|vtiger_scheduled_reports|vtiger_cron_task|vtiger_user2mergefields|vtiger_crmentity|vtiger_contact.*'
    . '|vtiger_account.*|vtiger_lead.*|vtiger_customerdetails|vtiger_crmentityrel|vtiger_portalinfo'
    . '|vtiger_emailslookup|vtiger_.*_user_field|vtiger_modcomments.*|vtiger_seactivityrel'
    . '|vtiger_activity_reminder_popup|vtiger_mailscanner.*|vtiger_relatedlists_rb|berli_globalsearch_data)$/';
$state = array('tables' => array(), 'rows' => array());
$tables = $adb->pquery('SHOW TABLES', array());
for ($i = 0; $i < $adb->num_rows($tables); $i++) {
    $row = $adb->raw_query_result_rowdata($tables, $i);
    $name = reset($row);
    if (preg_match($changing, $name)) {
        continue; // changed by the test's own records (and by vtiger on every request), not by the module
    }
    $count = $adb->pquery("SELECT COUNT(*) AS n FROM `$name`", array());
    $state['tables'][$name] = (int)$adb->query_result($count, 0, 'n');
}
$queries = array(
    'tabs' => 'SELECT name FROM vtiger_tab ORDER BY name',
    'fields' => "SELECT CONCAT(tabid, '.', fieldname) AS v FROM vtiger_field ORDER BY tabid, fieldname",
    'links' => "SELECT CONCAT(tabid, ' ', linktype, ' ', linklabel, ' ', linkurl) AS v FROM vtiger_links ORDER BY linkid",
    'settings' => 'SELECT linkto FROM vtiger_settings_field ORDER BY fieldid',
    'functions' => "SELECT CONCAT(module_name, ': ', method_name) AS v FROM com_vtiger_workflowtasks_entitymethod ORDER BY 1",
    'ws' => 'SELECT name FROM vtiger_ws_entity ORDER BY name',
    'relations' => "SELECT CONCAT(tabid, '>', related_tabid, ' ', label) AS v FROM vtiger_relatedlists ORDER BY 1",
    'picklists' => 'SELECT name FROM vtiger_picklist ORDER BY name',
);
foreach ($queries as $key => $sql) {
    $result = $adb->pquery($sql, array());
    $state['rows'][$key] = array();
    for ($i = 0; $i < $adb->num_rows($result); $i++) {
        $row = $adb->raw_query_result_rowdata($result, $i);
        $state['rows'][$key][] = (string)reset($row);
    }
}
foreach (array('vtiger_contactscf', 'vtiger_accountscf', 'vtiger_leadscf') as $table) {
    $columns = $adb->pquery("SHOW COLUMNS FROM `$table`", array());
    for ($i = 0; $i < $adb->num_rows($columns); $i++) {
        $row = $adb->raw_query_result_rowdata($columns, $i);
        $state['rows']['columns'][] = $table . '.' . reset($row);
    }
}
echo json_encode($state);
