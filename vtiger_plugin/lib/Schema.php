<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Creates what crm_schema.json describes and the CRM lacks (plain vtiger 7/8: the messages module
 * SPSocialConnector and the URL fields of Contacts, Accounts and Leads), field-compatible with
 * SalesPlatform's, through vtlib, so the bridge runs unchanged. Nothing that exists is touched: on
 * SalesPlatform this creates nothing. Every object created is noted ("module:…", "field:Module.name",
 * "relation:A>B", "file:path") and only noted objects are ever removed (remove()).
 * Runs inside vtiger (the module's install handler, or install.php --create-schema), cwd = vtiger root.
 */

class SocialBridge_Schema
{
    /** crm_schema.json as an array. */
    public static function definition()
    {
        $doc = json_decode((string)file_get_contents(dirname(dirname(__FILE__)) . '/crm_schema.json'), true);
        if (!is_array($doc) || empty($doc['messages_module']) || !isset($doc['client_fields'])) {
            throw new RuntimeException('crm_schema.json of the SocialBridge module is missing or not valid JSON');
        }
        return $doc;
    }

    /** Create whatever is missing; returns the notes of what was created (empty on SalesPlatform). */
    public static function ensure()
    {
        self::loadVtlib();
        $doc = self::definition();
        $created = array();
        $spec = $doc['messages_module'];
        $messages = Vtiger_Module::getInstance($spec['name']);
        if (!$messages) {
            $messages = self::createMessagesModule($spec, $created);
        }
        $block = self::block($messages, $spec['block'], $created);
        foreach ($spec['fields'] as $field) {
            if (!Vtiger_Field::getInstance($field['name'], $messages)) {
                $instance = self::addField($block, $field, $spec['base_table']);
                if (!empty($field['entity_identifier'])) {
                    $messages->setEntityIdentifier($instance);
                }
                $created[] = 'field:' . $spec['name'] . '.' . $field['name'];
            }
        }
        foreach ($spec['related_to'] as $clientName) {
            $client = Vtiger_Module::getInstance($clientName);
            if (!$client) {
                continue;
            }
            if (!self::hasRelation($messages, $client)) {
                $messages->setRelatedList($client, $clientName, array(), 'get_related_list');
                $created[] = 'relation:' . $spec['name'] . '>' . $clientName;
            }
            if (!self::hasRelation($client, $messages)) {
                $client->setRelatedList($messages, $spec['label'], array(), 'get_related_list');
                $created[] = 'relation:' . $clientName . '>' . $spec['name'];
            }
        }
        foreach ($doc['client_modules'] as $clientName => $where) {
            $client = Vtiger_Module::getInstance($clientName);
            if (!$client) {
                continue;
            }
            foreach ($doc['client_fields'] as $field) {
                if (!Vtiger_Field::getInstance($field['name'], $client)) {
                    $field['table'] = $where['table'];
                    self::addField(self::block($client, $where['block'], $created), $field, $where['table']);
                    $created[] = 'field:' . $clientName . '.' . $field['name'];
                }
            }
        }
        return $created;
    }

    private static function createMessagesModule($spec, &$created)
    {
        $module = new Vtiger_Module();
        $module->name = $spec['name'];
        $module->label = $spec['label'];
        $module->parent = $spec['parent'];
        $module->save();
        $module->initTables($spec['base_table'], $spec['index']);
        $created[] = 'module:' . $spec['name'];
        foreach (self::copyModuleFiles($spec['name']) as $file) {
            $created[] = 'file:' . $file;
        }
        $module->setDefaultSharing('Public_ReadWriteDelete');
        $module->initWebservice();
        if (class_exists('Settings_MenuEditor_Module_Model')
            && method_exists('Settings_MenuEditor_Module_Model', 'addModuleToApp')) {
            Settings_MenuEditor_Module_Model::addModuleToApp($spec['name'], strtoupper($spec['parent']));
        }
        return $module;
    }

    /** The module's class and language files, from messages/ of this module (never over existing ones). */
    private static function copyModuleFiles($name)
    {
        $source = dirname(dirname(__FILE__)) . '/messages';
        $copies = array("$source/$name.php" => "modules/$name/$name.php");
        foreach (glob("$source/languages/*.php") as $file) {
            $language = basename($file, '.php');
            if (is_dir("languages/$language")) {
                $copies[$file] = "languages/$language/$name.php";
            }
        }
        $done = array();
        foreach ($copies as $from => $to) {
            if (is_file($to)) {
                continue;
            }
            if (!is_dir(dirname($to))) {
                mkdir(dirname($to), 0755, true);
            }
            if (!copy($from, $to)) {
                throw new RuntimeException("could not write $to: the web server user must be able to write the vtiger folder");
            }
            $done[] = $to;
        }
        return $done;
    }

    private static function block($module, $label, &$created)
    {
        $block = Vtiger_Block::getInstance($label, $module);
        if (!$block) {
            $block = new Vtiger_Block();
            $block->label = $label;
            $module->addBlock($block);
            $created[] = 'block:' . $module->name . '.' . $label;
        }
        return $block;
    }

    private static function addField($block, $spec, $table)
    {
        $field = new Vtiger_Field();
        $field->name = $spec['name'];
        $field->label = self::label($spec);
        $field->table = isset($spec['table']) ? $spec['table'] : $table;
        $field->column = isset($spec['column']) ? $spec['column'] : $spec['name'];
        $field->uitype = (int)$spec['uitype'];
        $field->typeofdata = $spec['typeofdata'];
        $field->displaytype = isset($spec['displaytype']) ? (int)$spec['displaytype'] : 1;
        $field->summaryfield = isset($spec['summary']) ? (int)$spec['summary'] : 0;
        if ($field->table === 'vtiger_crmentity') {
            $field->columntype = null; // vtiger's own column: never added
        } else {
            $field->columntype = $spec['column_type'];
        }
        $block->addField($field);
        if (!empty($spec['picklist'])) {
            $field->setPicklistValues($spec['picklist']);
        }
        return $field;
    }

    /** The field's label in the CRM's language when crm_schema.json gives one ("labels"), else "label". */
    private static function label($spec)
    {
        global $default_language; // config.inc.php: the CRM's language, as SocialBridge_Installer::language()
        $language = !empty($default_language) ? strtolower($default_language) : 'en_us';
        if (!empty($spec['labels'][$language])) {
            return $spec['labels'][$language];
        }
        return $spec['label'];
    }

    private static function hasRelation($module, $related)
    {
        global $adb;
        $result = $adb->pquery('SELECT 1 FROM vtiger_relatedlists WHERE tabid = ? AND related_tabid = ?',
            array($module->id, $related->id));
        return $result && $adb->num_rows($result) > 0;
    }

    /**
     * Remove the objects noted in $created (what ensure() made), with their data: the messages module's
     * records and tables, the URL fields' columns. Returns one line per object removed.
     */
    public static function remove($created)
    {
        self::loadVtlib();
        global $adb;
        $lines = array();
        $doc = self::definition();
        $spec = $doc['messages_module'];
        $createdModule = in_array('module:' . $spec['name'], $created, true);
        foreach ($created as $note) {
            list($kind, $what) = explode(':', $note, 2);
            if ($kind === 'field' && !($createdModule && strpos($what, $spec['name'] . '.') === 0)) {
                list($moduleName, $fieldName) = explode('.', $what, 2);
                if (self::dropField($moduleName, $fieldName)) {
                    $lines[] = "removed field $what";
                }
            } elseif ($kind === 'relation' && !$createdModule) {
                list($from, $to) = explode('>', $what, 2);
                $a = Vtiger_Module::getInstance($from);
                $b = Vtiger_Module::getInstance($to);
                if ($a && $b) {
                    $adb->pquery('DELETE FROM vtiger_relatedlists WHERE tabid = ? AND related_tabid = ?', array($a->id, $b->id));
                    $lines[] = "removed related list $what";
                }
            }
        }
        if ($createdModule) {
            $lines = array_merge($lines, self::dropMessagesModule($spec));
        }
        foreach ($created as $note) {
            if (strpos($note, 'file:') === 0 && is_file(substr($note, 5))) {
                unlink(substr($note, 5));
                $lines[] = 'removed file ' . substr($note, 5);
                $dir = dirname(substr($note, 5));
                if (strpos($dir, 'modules/') === 0 && is_dir($dir) && count(scandir($dir)) <= 2) {
                    rmdir($dir);
                }
            }
        }
        return $lines;
    }

    private static function dropField($moduleName, $fieldName)
    {
        global $adb;
        $module = Vtiger_Module::getInstance($moduleName);
        $field = $module ? Vtiger_Field::getInstance($fieldName, $module) : false;
        if (!$field) {
            return false;
        }
        $adb->pquery('DELETE FROM vtiger_cvcolumnlist WHERE columnname LIKE ?', array($field->table . ':' . $field->column . ':%'));
        $adb->pquery('DELETE FROM vtiger_cvadvfilter WHERE columnname LIKE ?', array($field->table . ':' . $field->column . ':%'));
        $field->delete();
        $adb->pquery('ALTER TABLE ' . $field->table . ' DROP COLUMN ' . $field->column, array());
        if (in_array((int)$field->uitype, array(15, 16, 33), true)) {
            self::dropPicklist($fieldName);
        }
        return true;
    }

    private static function dropPicklist($name)
    {
        global $adb;
        $result = $adb->pquery('SELECT picklistid FROM vtiger_picklist WHERE name = ?', array($name));
        if ($result && $adb->num_rows($result) > 0) {
            $id = $adb->query_result($result, 0, 'picklistid');
            $adb->pquery('DELETE FROM vtiger_role2picklist WHERE picklistid = ?', array($id));
            $adb->pquery('DELETE FROM vtiger_picklist WHERE picklistid = ?', array($id));
        }
        $adb->pquery('DROP TABLE IF EXISTS vtiger_' . $name, array());
        $adb->pquery('DROP TABLE IF EXISTS vtiger_' . $name . '_seq', array());
    }

    private static function dropMessagesModule($spec)
    {
        global $adb;
        $module = Vtiger_Module::getInstance($spec['name']);
        if (!$module) {
            return array();
        }
        foreach ($spec['fields'] as $field) {
            if (!empty($field['picklist'])) {
                self::dropPicklist($field['name']);
            }
        }
        $adb->pquery('DELETE FROM vtiger_crmentityrel WHERE module = ? OR relmodule = ?', array($spec['name'], $spec['name']));
        $adb->pquery('DELETE FROM vtiger_crmentity WHERE setype = ?', array($spec['name']));
        $adb->pquery('DELETE FROM vtiger_relatedlists WHERE related_tabid = ?', array($module->id));
        // vtlib's delete() leaves these rows of the module's fields and sharing rule behind.
        foreach (array('vtiger_def_org_field', 'vtiger_profile2field', 'vtiger_def_org_share') as $table) {
            $adb->pquery("DELETE FROM $table WHERE tabid = ?", array($module->id));
        }
        if (Vtiger_Utils::CheckTable('vtiger_app2tab')) {
            $adb->pquery('DELETE FROM vtiger_app2tab WHERE tabid = ?', array($module->id));
        }
        $module->delete();
        $adb->pquery('DROP TABLE IF EXISTS ' . $spec['base_table'], array());
        $adb->pquery('DROP TABLE IF EXISTS ' . $spec['custom_table'], array());
        return array('removed module ' . $spec['name'] . ' with its records and tables');
    }

    private static function loadVtlib()
    {
        require_once 'vtlib/Vtiger/Module.php';
        require_once 'vtlib/Vtiger/Block.php';
        require_once 'vtlib/Vtiger/Field.php';
    }
}
