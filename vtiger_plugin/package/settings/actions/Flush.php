<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * "Send now": sends the events waiting in the spool (kept while the bridge could not take them), as
 * flush.php does from the command line, for at most 20 s. Administrators only.
 */

require_once 'modules/SocialBridge/SocialBridge.php';

class Settings_SocialBridge_Flush_Action extends Settings_Vtiger_Basic_Action
{
    public function process(Vtiger_Request $request)
    {
        $result = socialbridge_flush(20);
        $notice = $result['error'] !== null || $result['left'] < 0 ? 'LBL_FLUSH_ERROR'
            : ($result['left'] > 0 ? 'LBL_FLUSH_LEFT' : 'LBL_FLUSH_DONE');
        $detail = $result['sent'] . '/' . $result['refused'] . '/' . max(0, $result['left']);
        header('Location: index.php?module=SocialBridge&parent=Settings&view=Index&notice=' . $notice
            . '&detail=' . rawurlencode($detail));
    }

    public function validateRequest(Vtiger_Request $request)
    {
        $request->validateWriteAccess();
    }
}
