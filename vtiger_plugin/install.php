<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Registers (or with --uninstall removes) the social bridge functions for the workflow task
 * "Invoke Custom Function" on Contacts, Accounts and Leads.
 *
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php               # install / re-install
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php --language=ru_ru   # labels in Russian
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php --uninstall   # remove
 *   cd /path/to/vtiger && php modules/SocialBridge/install.php --create-schema   # also create what a plain
 *       vtiger lacks (the messages module SPSocialConnector, the vk_url/tw_url fields), as the module
 *       installed from Module Manager does (lib/Schema.php); on SalesPlatform it creates nothing
 *
 * The functions are listed in the workflow editor under their label, which vtiger shows as stored: the
 * labels are registered in the CRM's language ($default_language of config.inc.php, or --language),
 * from languages/<language>.php (English when there is no file for it). Labels already registered in
 * another language stay, so workflows that use them keep working; --uninstall removes every language's.
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

require_once dirname(__FILE__) . '/lib/WorkflowFunctions.php';
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

$uninstall = false;
$createSchema = false;
$language = null;
$unknown = array();
foreach (array_slice($argv, 1) as $arg) {
    if ($arg === '--uninstall') {
        $uninstall = true;
    } elseif ($arg === '--create-schema') {
        $createSchema = true;
    } elseif (strpos($arg, '--language=') === 0 && preg_match('/^[a-z]{2}_[a-z]{2}$/', substr($arg, 11))) {
        $language = substr($arg, 11);
    } else {
        $unknown[] = $arg;
    }
}
if ($unknown) {
    socialbridge_fail('unknown argument ' . implode(' ', $unknown)
        . '; usage: php install.php [--language=ru_ru|en_us] [--create-schema] [--uninstall]');
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

if ($language === null) {
    $language = !empty($default_language) ? strtolower($default_language) : 'en_us';
}
global $adb;
if (empty($adb) && class_exists('PearDatabase')) {
    $adb = PearDatabase::getInstance();
}
if ($createSchema && !$uninstall) {
    // vtlib, with vtiger's runtime (vtiger 8's module classes need it); include/utils/utils.php is loaded.
    error_reporting(E_ERROR | E_PARSE);
    ini_set('display_errors', 'stderr');
    require_once 'vtlib/Vtiger/Module.php';
    require_once 'includes/main/WebUI.php';
    require_once dirname(__FILE__) . '/lib/Settings.php';
    require_once dirname(__FILE__) . '/lib/Schema.php';
    $created = SocialBridge_Schema::ensure();
    SocialBridge_Settings::addToList('created', $created, $adb);
    echo $created ? 'created ' . implode("\ncreated ", $created) . "\n" : "schema: nothing to create\n";
}
foreach (SocialBridge_WorkflowFunctions::apply($adb, $language, $functionPath, $uninstall) as $line) {
    echo $line . "\n";
}
exit(0);
