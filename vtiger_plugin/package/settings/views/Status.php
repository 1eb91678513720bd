<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * "Check connection": a signed GET <bridge>/v1/vtiger/status made by the CRM (the secret stays on the
 * server), rendered as the bridge's health per component, its outbox and its recent failures, or as the
 * reason there is no answer. Administrators only.
 */

require_once 'modules/SocialBridge/SocialBridge.php';

class Settings_SocialBridge_Status_View extends Settings_Vtiger_IndexAjax_View
{
    const PATH = '/v1/vtiger/status';

    public function process(Vtiger_Request $request)
    {
        global $site_URL;
        $viewer = $this->getViewer($request);
        $qualified = $request->getModule(false);
        $config = socialbridge_config_or_empty();
        $state = 'not_set_up';
        $answer = null;
        $elapsed = 0;
        if ($config) {
            $started = microtime(true);
            $answer = socialbridge_request($config, 'GET', self::PATH, '', 5000);
            $elapsed = (int)round((microtime(true) - $started) * 1000);
            if ($answer['status'] === 0) {
                $state = 'down';
            } elseif ($answer['status'] === 200 && is_array($answer['body'])) {
                $state = 'ok';
            } elseif ($answer['status'] === 401) {
                $state = 'secret';
            } elseif ($answer['status'] === 404) {
                $state = 'old_bridge';
            } else {
                $state = 'error';
            }
        }
        $body = $state === 'ok' ? $answer['body'] : array();
        $crmUrl = isset($body['crm']['url']) ? rtrim((string)$body['crm']['url'], '/') : '';
        $viewer->assign('QUALIFIED_MODULE', $qualified);
        $viewer->assign('STATE', $state);
        $viewer->assign('ELAPSED', $elapsed);
        $viewer->assign('HTTP_STATUS', $answer ? $answer['status'] : 0);
        $viewer->assign('ERROR', $answer ? ($answer['status'] === 0 ? $answer['error'] : $answer['code']) : '');
        $viewer->assign('STATUS', $body);
        $viewer->assign('OTHER_CRM', $crmUrl !== '' && stripos(rtrim((string)$site_URL, '/'), $crmUrl) !== 0
            && stripos($crmUrl, rtrim((string)$site_URL, '/')) !== 0 ? $crmUrl : '');
        $viewer->view('Status.tpl', $qualified);
    }
}
