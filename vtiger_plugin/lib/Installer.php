<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * What installing the module from Settings -> Module Manager does, and what uninstalling undoes. vtiger
 * calls SocialBridge::vtlib_handler (SocialBridge.php) with module.postinstall / module.postupdate /
 * module.enabled / module.disabled / module.preuninstall; uninstall() is started from the settings page or
 * by uninstall.php. Every step is idempotent: an update or a second install repeats them harmlessly.
 *
 * Install: the settings table; the CRM schema the bridge needs, when missing (lib/Schema.php); the three
 * workflow functions (labels in the CRM's language); the record buttons on Contacts, Accounts and Leads
 * and the script they call; the item Settings -> Integration -> Social bridge; a data folder outside
 * the web root (lib/DataDir.php).
 */

require_once dirname(__FILE__) . '/Settings.php';
require_once dirname(__FILE__) . '/Schema.php';
require_once dirname(__FILE__) . '/WorkflowFunctions.php';
require_once dirname(__FILE__) . '/DataDir.php';

class SocialBridge_Installer
{
    const MODULE = 'SocialBridge';
    const SCRIPT = 'layouts/v7/modules/SocialBridge/resources/SocialBridge.js';
    const SETTINGS_URL = 'index.php?module=SocialBridge&parent=Settings&view=Index';
    public static $BUTTONS = array(
        'send' => 'javascript:SocialBridge_Record_Js.showSendForm()',
        'import' => 'javascript:SocialBridge_Record_Js.importProfile()',
    );

    public static function handle($eventType)
    {
        if ($eventType === 'module.postinstall' || $eventType === 'module.postupdate') {
            self::install();
        } elseif ($eventType === 'module.enabled') {
            self::addLinks();
            self::settingsItem(true);
        } elseif ($eventType === 'module.disabled') {
            self::removeLinks();
            self::settingsItem(false);
        } elseif ($eventType === 'module.preuninstall') {
            self::removeRegistrations();
        }
    }

    /** Returns one line per step, for the log and uninstall.php. */
    public static function install()
    {
        global $adb, $root_directory;
        $lines = array();
        SocialBridge_Settings::createTable($adb);
        $created = SocialBridge_Schema::ensure();
        SocialBridge_Settings::addToList('created', $created, $adb);
        foreach ($created as $note) {
            $lines[] = 'created ' . $note;
        }
        $lines = array_merge($lines, SocialBridge_WorkflowFunctions::apply($adb, self::language(),
            SocialBridge_WorkflowFunctions::FUNCTION_FILE));
        self::addLinks();
        self::settingsItem(true);
        if (SocialBridge_Settings::get('data_dir', '', $adb) === '') {
            $documentRoot = isset($_SERVER['DOCUMENT_ROOT']) ? (string)$_SERVER['DOCUMENT_ROOT'] : '';
            $dir = SocialBridge_DataDir::choose($root_directory ? $root_directory : getcwd(), $documentRoot);
            SocialBridge_Settings::set(array('data_dir' => $dir), $adb);
            $lines[] = 'data folder ' . $dir;
        }
        return $lines;
    }

    /** The CRM's language (config.inc.php's $default_language): labels are stored in it. */
    public static function language()
    {
        global $default_language;
        return !empty($default_language) ? strtolower($default_language) : 'en_us';
    }

    /** A text of languages/<language>/SocialBridge.php in the CRM's language (for stored labels). */
    public static function text($key)
    {
        $file = 'languages/' . self::language() . '/SocialBridge.php';
        if (!is_file($file)) {
            $file = 'languages/en_us/SocialBridge.php';
        }
        $languageStrings = array();
        if (is_file($file)) {
            include $file;
        }
        return isset($languageStrings[$key]) ? $languageStrings[$key] : $key;
    }

    public static function addLinks()
    {
        require_once 'vtlib/Vtiger/Module.php';
        $own = Vtiger_Module::getInstance(self::MODULE);
        if ($own) {
            Vtiger_Link::addLink($own->id, 'HEADERSCRIPT', 'SocialBridgeRecordJs', self::SCRIPT);
        }
        foreach (SocialBridge_WorkflowFunctions::$MODULES as $name) {
            $module = Vtiger_Module::getInstance($name);
            if (!$module) {
                continue;
            }
            self::removeButtons($module->id); // labels may have been stored in another language before
            Vtiger_Link::addLink($module->id, 'DETAILVIEWBASIC', self::text('LBL_SEND_MESSAGE'), self::$BUTTONS['send']);
            Vtiger_Link::addLink($module->id, 'DETAILVIEWBASIC', self::text('LBL_IMPORT_PROFILE'), self::$BUTTONS['import']);
        }
    }

    public static function removeLinks()
    {
        global $adb;
        $adb->pquery('DELETE FROM vtiger_links WHERE linktype = ? AND linkurl = ?', array('HEADERSCRIPT', self::SCRIPT));
        foreach (SocialBridge_WorkflowFunctions::$MODULES as $name) {
            $module = Vtiger_Module::getInstance($name);
            if ($module) {
                self::removeButtons($module->id);
            }
        }
    }

    private static function removeButtons($tabid)
    {
        global $adb;
        $adb->pquery('DELETE FROM vtiger_links WHERE tabid = ? AND linktype = ? AND linkurl IN (?, ?)',
            array($tabid, 'DETAILVIEWBASIC', self::$BUTTONS['send'], self::$BUTTONS['import']));
    }

    /** Add (or show/hide) the item Settings -> Integration -> Social bridge. */
    public static function settingsItem($active)
    {
        global $adb;
        $found = $adb->pquery('SELECT fieldid FROM vtiger_settings_field WHERE linkto = ?', array(self::SETTINGS_URL));
        if ($found && $adb->num_rows($found) > 0) {
            $adb->pquery('UPDATE vtiger_settings_field SET active = ?, name = ? WHERE linkto = ?',
                array($active ? 0 : 1, self::text('LBL_SOCIALBRIDGE'), self::SETTINGS_URL));
            return;
        }
        if (!$active) {
            return;
        }
        $block = $adb->pquery("SELECT blockid FROM vtiger_settings_blocks WHERE label IN ('LBL_INTEGRATION', 'LBL_OTHER_SETTINGS')"
            . " ORDER BY label = 'LBL_INTEGRATION' DESC LIMIT 1", array());
        if (!$block || $adb->num_rows($block) === 0) {
            return;
        }
        $blockId = $adb->query_result($block, 0, 'blockid');
        $sequence = $adb->pquery('SELECT MAX(sequence) AS seq FROM vtiger_settings_field WHERE blockid = ?', array($blockId));
        $adb->pquery('INSERT INTO vtiger_settings_field (fieldid, blockid, name, iconpath, description, linkto, sequence, active)'
            . ' VALUES (?, ?, ?, ?, ?, ?, ?, ?)', array($adb->getUniqueID('vtiger_settings_field'), $blockId,
            self::text('LBL_SOCIALBRIDGE'), '', self::text('LBL_SOCIALBRIDGE_DESCRIPTION'), self::SETTINGS_URL,
            (int)$adb->query_result($sequence, 0, 'seq') + 1, 0));
    }

    /** What the module registered in other parts of vtiger (also run by vtlib before it deletes the module). */
    public static function removeRegistrations()
    {
        global $adb;
        $lines = SocialBridge_WorkflowFunctions::apply($adb, self::language(), '', true);
        self::removeLinks();
        $adb->pquery('DELETE FROM vtiger_settings_field WHERE linkto = ?', array(self::SETTINGS_URL));
        $lines[] = 'removed the record buttons and Settings -> ' . self::text('LBL_SOCIALBRIDGE');
        return $lines;
    }

    /**
     * Remove the module and everything it added: registrations, settings, its files; with $withData also
     * the messages module and the URL fields the install created (not those SalesPlatform had), with all
     * their data. Workflows that call the functions must be deleted first (their names are returned).
     */
    public static function uninstall($withData)
    {
        global $adb;
        require_once 'vtlib/Vtiger/Module.php';
        $lines = self::removeRegistrations();
        if ($withData) {
            $lines = array_merge($lines, SocialBridge_Schema::remove(SocialBridge_Settings::getList('created', $adb)));
        }
        $dataDir = SocialBridge_Settings::get('data_dir', '', $adb);
        if ($dataDir !== '' && is_dir($dataDir)) {
            foreach (array('socialbridge.log', 'socialbridge.spool', 'socialbridge.spool.lock', 'socialbridge.spool.tmp') as $file) {
                @unlink($dataDir . '/' . $file);
            }
            if (@rmdir($dataDir)) {
                @rmdir(dirname($dataDir)); // vtiger-socialbridge/, when no other CRM uses it
            }
            $lines[] = 'removed the log and the spool in ' . $dataDir;
        }
        SocialBridge_Settings::dropTable($adb);
        $lines[] = 'removed the settings table ' . SocialBridge_Settings::TABLE;
        $module = Vtiger_Module::getInstance(self::MODULE);
        if ($module) {
            $module->delete(); // fires module.preuninstall: removeRegistrations again, harmlessly
            $lines[] = 'removed module ' . self::MODULE;
        }
        foreach (self::files() as $path) {
            self::removeTree($path);
        }
        $lines[] = 'removed the files of module ' . self::MODULE;
        return $lines;
    }

    /** Workflows whose tasks call the module's functions (they would fail once it is gone). */
    public static function workflowsUsingFunctions()
    {
        global $adb;
        $names = array();
        $result = $adb->pquery('SELECT w.workflow_id, w.module_name, w.summary, t.task FROM com_vtiger_workflows w'
            . ' INNER JOIN com_vtiger_workflowtasks t ON t.workflow_id = w.workflow_id', array());
        $labels = array_keys(SocialBridge_WorkflowFunctions::allLabels());
        for ($i = 0; $result && $i < $adb->num_rows($result); $i++) {
            $task = $adb->raw_query_result_rowdata($result, $i);
            foreach ($labels as $label) {
                if (strpos((string)$task['task'], 'VTEntityMethodTask') !== false
                    && strpos((string)$task['task'], '"' . $label . '"') !== false) {
                    $names[] = $task['module_name'] . ': ' . $task['summary'];
                    break;
                }
            }
        }
        return array_values(array_unique($names));
    }

    /** The module's files in the vtiger root (what the package import unpacked). */
    public static function files()
    {
        $files = array('modules/SocialBridge', 'modules/Settings/SocialBridge', 'layouts/v7/modules/SocialBridge',
            'layouts/v7/modules/Settings/SocialBridge');
        foreach (glob('languages/*/SocialBridge.php') as $file) {
            $files[] = $file;
        }
        foreach (glob('languages/*/Settings/SocialBridge.php') as $file) {
            $files[] = $file;
        }
        return $files;
    }

    private static function removeTree($path)
    {
        if (is_file($path) || is_link($path)) {
            @unlink($path);
            return;
        }
        if (!is_dir($path)) {
            return;
        }
        foreach (scandir($path) as $entry) {
            if ($entry !== '.' && $entry !== '..') {
                self::removeTree($path . '/' . $entry);
            }
        }
        @rmdir($path);
    }
}
