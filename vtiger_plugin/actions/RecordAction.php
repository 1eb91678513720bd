<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * index.php?module=SocialBridge&action=RecordAction&mode=send|import (POST, vtiger's CSRF token):
 * the record buttons. "Send message" needs the right to see the record, "Import profile" (which writes
 * into it) the right to edit it. Answers JSON: {ok, message} in the user's language.
 */

require_once 'modules/SocialBridge/lib/Events.php';

class SocialBridge_RecordAction_Action extends Vtiger_Action_Controller
{
    public function checkPermission(Vtiger_Request $request)
    {
        return SocialBridge_Events::checkRecordAccess($request, $request->get('mode') === 'import' ? 'EditView' : 'DetailView');
    }

    public function validateRequest(Vtiger_Request $request)
    {
        $request->validateWriteAccess();
    }

    public function process(Vtiger_Request $request)
    {
        require_once 'include/Webservices/Utils.php';
        $module = (string)$request->get('source_module');
        $record = (int)$request->get('record');
        $wsId = vtws_getWebserviceEntityId($module, $record);
        $response = new Vtiger_Response();
        if ($request->get('mode') === 'import') {
            $result = SocialBridge_Events::post('import_profile', $module, $record, $wsId, array(), '');
        } else {
            $text = trim((string)$request->getRaw('text'));
            $networks = array_values(array_intersect(SocialBridge_Events::$NETWORKS, (array)$request->get('networks')));
            if ($text === '' || !$networks) {
                $result = array('ok' => false, 'key' => $text === '' ? 'LBL_NO_TEXT' : 'LBL_NO_NETWORK', 'detail' => '');
            } else {
                $result = SocialBridge_Events::post('send', $module, $record, $wsId,
                    array('text' => $text, 'networks' => $networks), (string)$request->get('event_id'));
            }
        }
        $message = vtranslate($result['key'], 'SocialBridge');
        $response->setResult(array('ok' => $result['ok'], 'message' => $message, 'detail' => $result['detail']));
        $response->emit();
    }
}
