<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * The messages module SPSocialConnector on a vtiger without SalesPlatform: one record per message sent or
 * received through the social bridge, linked to the Contact, Account or Lead (vtiger_crmentityrel). The
 * SocialBridge module copies this file to modules/SPSocialConnector/ when it creates the module (see
 * modules/SocialBridge/lib/Schema.php); its fields are those of SalesPlatform's module of the same name
 * (modules/SocialBridge/crm_schema.json), so the bridge reads and writes both alike.
 */

require_once 'data/CRMEntity.php';
require_once 'data/Tracker.php';

class SPSocialConnector extends CRMEntity
{
    var $db;
    var $log;
    var $table_name = 'vtiger_sp_socialconnector';
    var $table_index = 'socialconnectorid';
    var $customFieldTable = array('vtiger_sp_socialconnectorcf', 'socialconnectorid');
    var $tab_name = array('vtiger_crmentity', 'vtiger_sp_socialconnector', 'vtiger_sp_socialconnectorcf');
    var $tab_name_index = array(
        'vtiger_crmentity' => 'crmid',
        'vtiger_sp_socialconnector' => 'socialconnectorid',
        'vtiger_sp_socialconnectorcf' => 'socialconnectorid',
    );
    var $list_fields = array(
        'message' => array('sp_socialconnector' => 'message'),
        'Type' => array('sp_socialconnector' => 'type'),
        'Date Time' => array('sp_socialconnector' => 'message_datetime'),
        'Assigned To' => array('crmentity' => 'smownerid'),
    );
    var $list_fields_name = array(
        'message' => 'message',
        'Type' => 'type',
        'Date Time' => 'message_datetime',
        'Assigned To' => 'assigned_user_id',
    );
    var $list_link_field = 'message';
    var $search_fields = array('message' => array('sp_socialconnector' => 'message'));
    var $search_fields_name = array('message' => 'message');
    var $popup_fields = array('message');
    var $def_basicsearch_col = 'message';
    var $def_detailview_recname = 'message';
    var $mandatory_fields = array('message', 'assigned_user_id');
    var $default_order_by = 'message_datetime';
    var $default_sort_order = 'DESC';
    var $column_fields = array();

    function __construct()
    {
        global $log;
        $this->column_fields = getColumnFields(get_class($this));
        $this->db = PearDatabase::getInstance();
        $this->log = $log;
    }

    function save_module($module)
    {
    }
}
