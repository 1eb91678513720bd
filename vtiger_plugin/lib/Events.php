<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * The record buttons' events: "Send message" and "Import profile" post the same signed events as the
 * workflow functions (SocialBridge.php), but at once and with the user waiting, so the answer is told to
 * the user instead of being spooled: a message the bridge did not take is not sent later behind the
 * user's back, the form stays open with its text. The event id comes from the form, so pressing "Send"
 * twice sends once (the bridge answers the second one as a duplicate).
 */

require_once dirname(dirname(__FILE__)) . '/SocialBridge.php';

class SocialBridge_Events
{
    public static $NETWORKS = array('vk', 'x', 'facebook');
    public static $URL_FIELDS = array('vk' => 'vk_url', 'x' => 'tw_url', 'facebook' => 'fb_url');
    const TIMEOUT_MS = 5000;

    /**
     * Post one event for a record. Returns array('ok' => bool, 'key' => a text key of
     * languages/<language>/SocialBridge.php, 'detail' => what the bridge said).
     */
    public static function post($event, $module, $crmid, $wsId, $extra, $eventId)
    {
        try {
            $config = socialbridge_config();
        } catch (Exception $e) {
            return array('ok' => false, 'key' => 'LBL_NOT_SET_UP', 'detail' => '');
        }
        if (!preg_match('/^[A-Za-z0-9._:@-]{1,128}$/', (string)$eventId)) {
            $eventId = socialbridge_new_event_id();
        }
        $payload = array('event' => $event, 'module' => $module, 'id' => $wsId, 'crmid' => (string)$crmid,
            'data' => array(), 'ts' => time(), 'event_id' => $eventId) + $extra;
        $body = socialbridge_encode($payload);
        $answer = socialbridge_request($config, 'POST', SOCIALBRIDGE_EVENTS_PATH, $body, self::TIMEOUT_MS);
        $what = $event . ' ' . $module . ' ' . $wsId . ' (button)';
        if ($answer['status'] === 0) {
            socialbridge_log($config, $what . ': ' . $answer['error'] . '; the user was told it was not sent');
            return array('ok' => false, 'key' => 'LBL_BRIDGE_DOWN', 'detail' => $answer['error']);
        }
        if ($answer['status'] >= 200 && $answer['status'] < 300) {
            return array('ok' => true, 'key' => $event === 'send' ? 'LBL_SEND_ACCEPTED' : 'LBL_IMPORT_ACCEPTED',
                'detail' => $eventId);
        }
        $detail = 'HTTP ' . $answer['status'] . ' ' . $answer['code'];
        socialbridge_log($config, $what . ': bridge answered ' . $detail);
        return array('ok' => false, 'key' => $answer['status'] === 401 ? 'LBL_BRIDGE_SECRET' : 'LBL_BRIDGE_REFUSED',
            'detail' => $detail);
    }

    /**
     * For the buttons' action and form: the request names a Contact, Account or Lead the user may see
     * ($action 'DetailView') or edit ('EditView'); vtiger's "permission denied" otherwise.
     */
    public static function checkRecordAccess($request, $action)
    {
        $module = (string)$request->get('source_module');
        $record = (int)$request->get('record');
        if (!in_array($module, array('Contacts', 'Accounts', 'Leads'), true) || $record <= 0
            || !Users_Privileges_Model::isPermitted($module, $action, $record)) {
            throw new AppException(vtranslate('LBL_PERMISSION_DENIED'));
        }
        return true;
    }

    /** network => URL of the record's filled social fields (only fields the module has). */
    public static function links($recordModel)
    {
        $links = array();
        foreach (self::$URL_FIELDS as $network => $field) {
            $value = trim((string)$recordModel->get($field));
            if ($value !== '') {
                $links[$network] = $value;
            }
        }
        return $links;
    }
}
