<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Settings -> Integration -> Social bridge (administrators only: Settings_Vtiger_Index_View): the bridge
 * URL and shared secret stored by the CRM, the data folder (log and spool) and whether the web server
 * serves it, the spool's size with "send now", uninstall. The bridge's own state is loaded into the page
 * by Status.php ("check connection").
 */

require_once 'modules/SocialBridge/lib/Settings.php';
require_once 'modules/SocialBridge/lib/DataDir.php';
require_once 'modules/SocialBridge/lib/Installer.php';
require_once 'modules/SocialBridge/SocialBridge.php';

class Settings_SocialBridge_Index_View extends Settings_Vtiger_Index_View
{
    public function process(Vtiger_Request $request)
    {
        global $root_directory, $site_URL;
        $qualified = $request->getModule(false);
        $settings = SocialBridge_Settings::all();
        $fileConfig = is_file('modules/SocialBridge/socialbridge.config.php');
        $dataDir = isset($settings['data_dir']) ? $settings['data_dir'] : '';
        $spool = array('events' => 0, 'bytes' => 0, 'file' => '');
        $exposure = null;
        try {
            $config = socialbridge_config_or_empty();
            if ($config) {
                $spool['file'] = socialbridge_spool_file($config);
                $spool['events'] = count(socialbridge_spool_read($spool['file']));
                $spool['bytes'] = is_file($spool['file']) ? filesize($spool['file']) : 0;
                $dataDir = dirname(socialbridge_log_file($config));
            }
            if ($dataDir !== '') {
                $exposure = SocialBridge_DataDir::exposure($dataDir, $root_directory, $site_URL,
                    isset($_SERVER['DOCUMENT_ROOT']) ? $_SERVER['DOCUMENT_ROOT'] : '',
                    isset($_SERVER['HTTP_HOST']) ? $_SERVER['HTTP_HOST'] : '');
            }
        } catch (Exception $e) {
            $exposure = array('state' => 'unknown', 'url' => '', 'detail' => $e->getMessage());
        }
        $viewer = $this->getViewer($request);
        $viewer->assign('QUALIFIED_MODULE', $qualified);
        $viewer->assign('BRIDGE_URL', isset($settings['bridge_url']) ? $settings['bridge_url'] : '');
        $viewer->assign('SECRET_SET', !empty($settings['secret']));
        $viewer->assign('SECRET_LENGTH', isset($settings['secret']) ? strlen($settings['secret']) : 0);
        $viewer->assign('DATA_DIR', $dataDir);
        $viewer->assign('FILE_CONFIG', $fileConfig);
        $viewer->assign('SPOOL', $spool);
        $viewer->assign('EXPOSURE', $exposure);
        $viewer->assign('SYSTEM_DIR', SocialBridge_DataDir::SYSTEM_BASE);
        $viewer->assign('CREATED', SocialBridge_Settings::getList('created'));
        $viewer->assign('WORKFLOWS', SocialBridge_Installer::workflowsUsingFunctions());
        $viewer->assign('NOTICE', (string)$request->get('notice'));
        $viewer->assign('NOTICE_DETAIL', (string)$request->get('detail'));
        $viewer->view('Index.tpl', $qualified);
    }

    public function getHeaderScripts(Vtiger_Request $request)
    {
        $scripts = parent::getHeaderScripts($request);
        return array_merge($scripts, $this->checkAndConvertJsScripts(
            array('modules.Settings.SocialBridge.resources.Settings')));
    }
}
