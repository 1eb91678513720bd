<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * The module's settings, stored by the CRM in its own table (created by manifest.xml): bridge_url, secret,
 * data_dir, timeout_ms, plus what the installer noted (created: the CRM objects it created, so an uninstall
 * removes exactly those). Read by the workflow functions when there is no socialbridge.config.php (the
 * shell install keeps using that file). Never printed: the settings page shows only whether a secret is set.
 */

class SocialBridge_Settings
{
    const TABLE = 'vtiger_socialbridge_settings';

    /** name => value; empty when the table does not exist (shell install, not yet installed). */
    public static function all($adb = null)
    {
        $adb = self::db($adb);
        if ($adb === null || !self::tableExists($adb)) {
            return array();
        }
        $result = $adb->pquery('SELECT name, value FROM ' . self::TABLE, array());
        $values = array();
        $rows = $result ? $adb->num_rows($result) : 0;
        for ($i = 0; $i < $rows; $i++) {
            $row = $adb->raw_query_result_rowdata($result, $i);
            $values[(string)$row['name']] = (string)$row['value'];
        }
        return $values;
    }

    public static function get($name, $default = '', $adb = null)
    {
        $all = self::all($adb);
        return isset($all[$name]) ? $all[$name] : $default;
    }

    /** Store name => value pairs (a null value deletes the setting). */
    public static function set($values, $adb = null)
    {
        $adb = self::db($adb);
        self::createTable($adb);
        foreach ($values as $name => $value) {
            $adb->pquery('DELETE FROM ' . self::TABLE . ' WHERE name = ?', array($name));
            if ($value !== null) {
                $adb->pquery('INSERT INTO ' . self::TABLE . ' (name, value) VALUES (?, ?)', array($name, (string)$value));
            }
        }
    }

    /** The list kept under $name as JSON (e.g. "created"). */
    public static function getList($name, $adb = null)
    {
        $decoded = json_decode(self::get($name, '[]', $adb), true);
        return is_array($decoded) ? $decoded : array();
    }

    public static function addToList($name, $items, $adb = null)
    {
        if (!$items) {
            return;
        }
        $list = self::getList($name, $adb);
        foreach ($items as $item) {
            if (!in_array($item, $list, true)) {
                $list[] = $item;
            }
        }
        self::set(array($name => json_encode($list)), $adb);
    }

    public static function createTable($adb = null)
    {
        $adb = self::db($adb);
        $adb->pquery('CREATE TABLE IF NOT EXISTS ' . self::TABLE . ' (name VARCHAR(64) NOT NULL PRIMARY KEY,'
            . ' value TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8', array());
    }

    public static function dropTable($adb = null)
    {
        $adb = self::db($adb);
        $adb->pquery('DROP TABLE IF EXISTS ' . self::TABLE, array());
    }

    public static function tableExists($adb)
    {
        $result = $adb->pquery('SHOW TABLES LIKE ?', array(self::TABLE));
        return $result && $adb->num_rows($result) > 0;
    }

    private static function db($adb)
    {
        if ($adb !== null) {
            return $adb;
        }
        global $adb;
        if (empty($adb) && class_exists('PearDatabase')) {
            $adb = PearDatabase::getInstance();
        }
        return empty($adb) ? null : $adb;
    }
}
