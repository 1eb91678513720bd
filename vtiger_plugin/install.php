<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Registers (or with --uninstall removes) the social bridge functions for the workflow task
 * "Invoke Custom Function" on Contacts, Accounts and Leads.
 *
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php               # install / re-install
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php --uninstall   # remove
 *
 * It may also be started from its own folder: the vtiger root is found by walking up from here.
 * Uses VTEntityMethodManager::addEntityMethod/removeEntityMethod, i.e. rows in
 * com_vtiger_workflowtasks_entitymethod. Running it twice is harmless: each method is removed before
 * it is added, which also refreshes the stored file path after the plugin folder was moved.
 */

if (PHP_SAPI !== 'cli') {
    header('HTTP/1.1 403 Forbidden');
    exit(1);
}

$SOCIALBRIDGE_MODULES = array('Contacts', 'Accounts', 'Leads');
$SOCIALBRIDGE_METHODS = array(
    'Social bridge: send message' => 'socialbridge_send',
    'Social bridge: import profile' => 'socialbridge_import_profile',
    'Social bridge: record saved' => 'socialbridge_record_saved',
);
$SOCIALBRIDGE_MARKER = 'modules/com_vtiger_workflow/VTEntityMethodManager.inc';

function socialbridge_fail($message)
{
    fwrite(STDERR, 'socialbridge install: ' . $message . "\n");
    exit(2);
}

/** The vtiger root: the working directory or the nearest ancestor of this folder holding vtiger. */
function socialbridge_find_root($marker)
{
    $candidates = array(getcwd());
    $dir = dirname(__FILE__);
    while (true) {
        $candidates[] = $dir;
        $parent = dirname($dir);
        if ($parent === $dir) {
            break;
        }
        $dir = $parent;
    }
    foreach ($candidates as $candidate) {
        if ($candidate !== false && is_file($candidate . '/' . $marker)) {
            return realpath($candidate);
        }
    }
    return null;
}

$uninstall = in_array('--uninstall', array_slice($argv, 1), true);
$unknown = array_diff(array_slice($argv, 1), array('--uninstall'));
if ($unknown) {
    socialbridge_fail('unknown argument ' . implode(' ', $unknown) . '; usage: php install.php [--uninstall]');
}

$root = socialbridge_find_root($SOCIALBRIDGE_MARKER);
if ($root === null) {
    socialbridge_fail('run me from the vtiger root (no ' . $SOCIALBRIDGE_MARKER . ' found)');
}
$plugin = realpath(dirname(__FILE__) . '/SocialBridge.php');
if ($plugin === false || strpos($plugin, $root . DIRECTORY_SEPARATOR) !== 0) {
    // vtiger require_once()s the stored path relative to its root, so the file must live inside it.
    socialbridge_fail('copy the plugin folder inside the vtiger root (e.g. modules/SocialBridge/) first');
}
$functionPath = str_replace(DIRECTORY_SEPARATOR, '/', substr($plugin, strlen($root) + 1));
if (!$uninstall && !is_file(dirname($plugin) . '/socialbridge.config.php')) {
    fwrite(STDERR, "socialbridge install: warning: socialbridge.config.php is missing; "
        . "copy socialbridge.config.php.example and set bridge_url and secret\n");
}

chdir($root);
require_once 'config.inc.php';
require_once 'include/utils/utils.php';
require_once $SOCIALBRIDGE_MARKER;

global $adb;
if (empty($adb) && class_exists('PearDatabase')) {
    $adb = PearDatabase::getInstance();
}
$manager = new VTEntityMethodManager($adb);
foreach ($SOCIALBRIDGE_MODULES as $module) {
    foreach ($SOCIALBRIDGE_METHODS as $label => $function) {
        $manager->removeEntityMethod($module, $label);
        if (!$uninstall) {
            $manager->addEntityMethod($module, $label, $functionPath, $function);
        }
        echo ($uninstall ? 'removed   ' : 'registered ') . $module . ': ' . $label
            . ($uninstall ? '' : ' -> ' . $functionPath . '::' . $function) . "\n";
    }
}
exit(0);
