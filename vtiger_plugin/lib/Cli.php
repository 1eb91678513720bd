<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * For the command-line scripts (flush.php, uninstall.php): find the vtiger root (the working directory or
 * the nearest ancestor of the module folder holding config.inc.php) and connect to the CRM's database the
 * way vtiger's own cron scripts do, so settings stored by the CRM can be read. False outside vtiger.
 */

function socialbridge_cli_vtiger()
{
    $candidates = array(getcwd());
    $dir = dirname(dirname(__FILE__));
    while (dirname($dir) !== $dir) {
        $dir = dirname($dir);
        $candidates[] = $dir;
    }
    foreach ($candidates as $candidate) {
        if ($candidate !== false && is_file($candidate . '/config.inc.php') && is_file($candidate . '/vtigerversion.php')) {
            chdir($candidate);
            // vtiger's bootstrap prints notices of its own on newer PHP: keep them off the output.
            error_reporting(E_ERROR | E_PARSE);
            ini_set('display_errors', 'stderr');
            global $adb, $dbconfig, $root_directory, $site_URL, $default_language;
            require_once 'config.inc.php';
            require_once 'include/utils/utils.php';
            if (empty($adb) && class_exists('PearDatabase')) {
                $adb = PearDatabase::getInstance();
            }
            return true;
        }
    }
    return false;
}
