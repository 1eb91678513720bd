<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Saves the settings page (POST with vtiger's CSRF token; administrators only): bridge URL, secret (an
 * empty field keeps the stored one), data folder. Bad input changes nothing and comes back as one line.
 */

require_once 'modules/SocialBridge/lib/Settings.php';

class Settings_SocialBridge_Save_Action extends Settings_Vtiger_Basic_Action
{
    public function process(Vtiger_Request $request)
    {
        $url = trim((string)$request->getRaw('bridge_url'));
        $secret = trim((string)$request->getRaw('secret'));
        $dataDir = rtrim(trim((string)$request->getRaw('data_dir')), '/');
        $error = '';
        if (!preg_match('~^https?://[^\s/?#]+(/[^\s?#]*)?$~', $url)) {
            $error = 'LBL_BAD_URL';
        } elseif ($secret !== '' && strlen($secret) < 16) {
            $error = 'LBL_SHORT_SECRET';
        } elseif ($secret === '' && SocialBridge_Settings::get('secret') === '') {
            $error = 'LBL_NO_SECRET';
        } elseif ($dataDir === '' || $dataDir[0] !== '/' || strpos($dataDir, '..') !== false) {
            $error = 'LBL_BAD_DATA_DIR';
        } elseif (!is_dir($dataDir) && !@mkdir($dataDir, 0750, true) || !is_writable($dataDir)) {
            $error = 'LBL_DATA_DIR_NOT_WRITABLE';
        }
        if ($error === '') {
            $values = array('bridge_url' => rtrim($url, '/'), 'data_dir' => $dataDir);
            if ($secret !== '') {
                $values['secret'] = $secret;
            }
            SocialBridge_Settings::set($values);
        }
        header('Location: index.php?module=SocialBridge&parent=Settings&view=Index&notice='
            . ($error === '' ? 'LBL_SAVED' : $error));
    }

    public function validateRequest(Vtiger_Request $request)
    {
        $request->validateWriteAccess();
    }
}
