<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Uninstall (vtiger's Module Manager has no uninstall button): removes the module and everything it
 * registered; with "with_data" also the messages module and URL fields it created on a plain vtiger,
 * with their records. Refused while workflows still call its functions. Administrators only.
 */

require_once 'modules/SocialBridge/lib/Installer.php';

class Settings_SocialBridge_Uninstall_Action extends Settings_Vtiger_Basic_Action
{
    public function process(Vtiger_Request $request)
    {
        if ($request->get('confirm') !== 'SocialBridge') {
            header('Location: index.php?module=SocialBridge&parent=Settings&view=Index&notice=LBL_UNINSTALL_CONFIRM');
            return;
        }
        if (SocialBridge_Installer::workflowsUsingFunctions()) {
            header('Location: index.php?module=SocialBridge&parent=Settings&view=Index&notice=LBL_UNINSTALL_WORKFLOWS');
            return;
        }
        SocialBridge_Installer::uninstall($request->get('with_data') === '1');
        header('Location: index.php?module=ModuleManager&parent=Settings&view=List');
    }

    public function validateRequest(Vtiger_Request $request)
    {
        $request->validateWriteAccess();
    }
}
