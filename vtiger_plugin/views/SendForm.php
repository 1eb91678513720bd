<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * index.php?module=SocialBridge&view=SendForm&source_module=Contacts&record=5: the small form of the
 * "Send message" button (text and networks), shown in a modal by resources/SocialBridge.js. Only the
 * networks the record has a profile link for are offered.
 */

require_once 'modules/SocialBridge/lib/Events.php';

class SocialBridge_SendForm_View extends Vtiger_IndexAjax_View
{
    public function checkPermission(Vtiger_Request $request)
    {
        return SocialBridge_Events::checkRecordAccess($request, 'DetailView');
    }

    public function process(Vtiger_Request $request)
    {
        $module = (string)$request->get('source_module');
        $record = (int)$request->get('record');
        $recordModel = Vtiger_Record_Model::getInstanceById($record, $module);
        $viewer = $this->getViewer($request);
        $viewer->assign('SOURCE_MODULE', $module);
        $viewer->assign('RECORD_ID', $record);
        $viewer->assign('RECORD_LABEL', $recordModel->getName());
        $viewer->assign('LINKS', SocialBridge_Events::links($recordModel));
        $viewer->assign('EVENT_ID', socialbridge_new_event_id());
        $viewer->assign('MODULE', 'SocialBridge');
        $viewer->view('SendForm.tpl', 'SocialBridge');
    }
}
