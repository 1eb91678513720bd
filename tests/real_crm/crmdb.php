<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * One read-only SELECT against the CRM's database through vtiger's own PearDatabase, for what the
 * webservice cannot show (the Recycle Bin, a workflow's stored `test` column). Tests only
 * (tests/real_crm/checks.py); the bridge never reads the database. Run with the CRM's PHP from its root:
 *
 *   php tests/real_crm/crmdb.php "SELECT crmid FROM vtiger_crmentity WHERE deleted = ?" 1
 *
 * Prints the rows as a JSON list of objects. Exit status 2: not a SELECT, or not run from a vtiger root.
 */

if (PHP_SAPI !== 'cli') {
    exit(1);
}
$sql = isset($argv[1]) ? $argv[1] : '';
if (!preg_match('/^\s*SELECT\s/i', $sql) || strpos($sql, ';') !== false) {
    fwrite(STDERR, "crmdb.php: one SELECT statement, without ';'\n");
    exit(2);
}
if (!is_file(getcwd() . '/config.inc.php')) {
    fwrite(STDERR, "crmdb.php: run me from the vtiger root\n");
    exit(2);
}
error_reporting(E_ERROR | E_PARSE);
ini_set('display_errors', 'stderr');
require_once 'config.inc.php';
require_once 'include/database/PearDatabase.php';

$adb = PearDatabase::getInstance();
$result = $adb->pquery($sql, array_slice($argv, 2));
if ($result === false) {
    fwrite(STDERR, "crmdb.php: the query failed\n");
    exit(1);
}
$rows = array();
while ($row = $adb->fetchByAssoc($result, -1, false)) {
    $rows[] = $row;
}
echo json_encode($rows, JSON_UNESCAPED_UNICODE), "\n";
exit(0);
