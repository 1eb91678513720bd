<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Social bridge: entry points for the vtiger workflow task "Invoke Custom Function".
 *
 * vtiger runs these functions synchronously inside the request that saved the record
 * (VTEntityMethodTask::$executeImmediately = true), and an exception escaping a workflow task makes
 * vtiger print an HTML error and die, which breaks UI saves and webservice clients alike. So every
 * function here:
 *   - catches every error (Throwable on PHP 7+, Exception on PHP 5) and every PHP warning,
 *   - prints nothing (output is buffered and discarded),
 *   - spends at most 2 s on the network (cURL connect + transfer), then gives up and logs,
 * and never writes the shared secret anywhere.
 *
 * The request: POST <bridge_url>/v1/vtiger/events, JSON body
 *   {"event", "module", "id" (ws id "12x5"), "crmid", "data" (VTWorkflowEntity::getData()),
 *    "changed" (field names from VTEntityDelta, record_saved only), "ts", ["text" for send]}
 * signed with X-Bridge-Timestamp / X-Bridge-Signature: sha256=HMAC-SHA256(secret, "<ts>.<body>").
 * Keep this in step with bridge/webhook_auth.py and bridge/events.py.
 *
 * Works on PHP 5.6 to 8.x (vtiger 6.x-8.x, SalesPlatform 7.x): no PHP-7-only syntax below.
 */

define('SOCIALBRIDGE_EVENTS_PATH', '/v1/vtiger/events');
define('SOCIALBRIDGE_MAX_TIMEOUT_MS', 2000);
define('SOCIALBRIDGE_MAX_BODY', 65536);

/** Workflow function "Social bridge: send message". */
function socialbridge_send($entityData)
{
    socialbridge_notify('send', $entityData);
}

/** Workflow function "Social bridge: import profile". */
function socialbridge_import_profile($entityData)
{
    socialbridge_notify('import_profile', $entityData);
}

/** Workflow function "Social bridge: record saved" (adds the changed field names). */
function socialbridge_record_saved($entityData)
{
    socialbridge_notify('record_saved', $entityData);
}

/**
 * Post one event; true when the bridge stored it (2xx). Never throws, never prints.
 */
function socialbridge_notify($event, $entityData)
{
    $config = array();
    $ok = false;
    $level = ob_get_level();
    ob_start();
    // Warnings and notices (e.g. an undefined index in VTEntityDelta on PHP 8) must not reach the
    // page or the webservice JSON: record them in our log instead.
    set_error_handler('socialbridge_on_php_error');
    try {
        $config = socialbridge_config();
        $ok = socialbridge_post($config, socialbridge_payload($event, $entityData, $config));
    } catch (Throwable $e) {
        socialbridge_log($config, $event . ': ' . get_class($e) . ': ' . $e->getMessage());
    } catch (Exception $e) { // PHP 5 has no Throwable
        socialbridge_log($config, $event . ': ' . get_class($e) . ': ' . $e->getMessage());
    }
    restore_error_handler();
    while (ob_get_level() > $level) {
        ob_end_clean();
    }
    return $ok;
}

function socialbridge_on_php_error($errno, $errstr, $errfile = '', $errline = 0)
{
    socialbridge_log(socialbridge_config_or_empty(), 'PHP notice ' . $errno . ': ' . $errstr . ' at '
        . basename((string)$errfile) . ':' . $errline);
    return true; // handled: PHP prints nothing
}

/** The configuration array from socialbridge.config.php next to this file (cached per request). */
function socialbridge_config()
{
    static $config = null;
    if ($config !== null) {
        return $config;
    }
    $file = dirname(__FILE__) . '/socialbridge.config.php';
    if (!is_file($file)) {
        throw new RuntimeException('socialbridge.config.php is missing; copy socialbridge.config.php.example');
    }
    $loaded = include $file;
    if (!is_array($loaded) || empty($loaded['bridge_url']) || empty($loaded['secret'])) {
        throw new RuntimeException('socialbridge.config.php must return an array with bridge_url and secret');
    }
    $config = $loaded;
    return $config;
}

function socialbridge_config_or_empty()
{
    try {
        return socialbridge_config();
    } catch (Throwable $e) {
        return array();
    } catch (Exception $e) {
        return array();
    }
}

/** The event array for the bridge (see bridge/events.py for the model). */
function socialbridge_payload($event, $entityData, $config)
{
    $wsId = (string)$entityData->getId();
    $module = (string)$entityData->getModuleName();
    $data = $entityData->getData();
    if (!is_array($data)) {
        $data = array();
    }
    $parts = explode('x', $wsId, 2);
    $payload = array(
        'event' => $event,
        'module' => $module,
        'id' => $wsId,
        'crmid' => isset($parts[1]) ? $parts[1] : '',
        'data' => $data,
        'ts' => time(),
    );
    if ($event === 'record_saved') {
        $changed = socialbridge_changed_fields($module, $payload['crmid']);
        if ($changed !== null) {
            $payload['changed'] = $changed;
        }
    }
    if ($event === 'send' && !empty($config['send_text_field'])) {
        $field = $config['send_text_field'];
        if (isset($data[$field]) && is_string($data[$field]) && $data[$field] !== '') {
            $payload['text'] = $data[$field];
        }
    }
    return $payload;
}

/** Names of the fields changed by this save, from VTEntityDelta; null when it is not available. */
function socialbridge_changed_fields($module, $crmid)
{
    if (!class_exists('VTEntityDelta') && is_file('data/VTEntityDelta.php')) {
        include_once 'data/VTEntityDelta.php'; // relative to the vtiger root, vtiger's working directory
    }
    if (!class_exists('VTEntityDelta')) {
        return null;
    }
    $delta = new VTEntityDelta();
    $changes = $delta->getEntityDelta($module, $crmid);
    if (!is_array($changes)) {
        return null;
    }
    return array_map('strval', array_keys($changes));
}

function socialbridge_encode($payload)
{
    $flags = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR;
    if (defined('JSON_INVALID_UTF8_SUBSTITUTE')) {
        $flags |= JSON_INVALID_UTF8_SUBSTITUTE; // PHP 7.2+: one bad byte must not lose the event
    }
    // An empty PHP array would encode as [] but the bridge wants an object.
    $payload['data'] = (object)$payload['data'];
    $body = json_encode($payload, $flags);
    if (!is_string($body)) {
        throw new RuntimeException('could not encode the event as JSON');
    }
    return $body;
}

/** Sign and POST; true on 2xx. Failures are logged, never thrown past socialbridge_notify. */
function socialbridge_post($config, $payload)
{
    if (!function_exists('curl_init')) {
        throw new RuntimeException('the PHP cURL extension is not installed');
    }
    $body = socialbridge_encode($payload);
    if (strlen($body) > SOCIALBRIDGE_MAX_BODY) {
        // The bridge refuses bodies over 64 KiB; it re-reads the record through the webservice anyway.
        $payload['data'] = array();
        $body = socialbridge_encode($payload);
        socialbridge_log($config, $payload['event'] . ' ' . $payload['id'] . ': record data too large, sent without it');
    }
    $ts = (string)time();
    $signature = hash_hmac('sha256', $ts . '.' . $body, (string)$config['secret']);
    $timeout = SOCIALBRIDGE_MAX_TIMEOUT_MS;
    if (isset($config['timeout_ms']) && (int)$config['timeout_ms'] > 0) {
        $timeout = min((int)$config['timeout_ms'], SOCIALBRIDGE_MAX_TIMEOUT_MS);
    }
    $url = rtrim((string)$config['bridge_url'], '/') . SOCIALBRIDGE_EVENTS_PATH;
    $ch = curl_init($url);
    curl_setopt_array($ch, array(
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => array(
            'Content-Type: application/json; charset=utf-8',
            'X-Bridge-Timestamp: ' . $ts,
            'X-Bridge-Signature: sha256=' . $signature,
            'Expect:', // no 100-continue round trip eating into the 2 s
        ),
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HEADER => false,
        CURLOPT_FOLLOWLOCATION => false,
        CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        CURLOPT_NOSIGNAL => true, // needed for sub-second timeouts with the synchronous resolver
        CURLOPT_CONNECTTIMEOUT_MS => $timeout,
        CURLOPT_TIMEOUT_MS => $timeout, // total: connect + send + wait + read
    ));
    $response = curl_exec($ch);
    $status = (int)curl_getinfo($ch, CURLINFO_HTTP_CODE);
    $errno = curl_errno($ch);
    $error = curl_error($ch);
    curl_close($ch);
    $what = $payload['event'] . ' ' . $payload['module'] . ' ' . $payload['id'];
    if ($response === false || $errno !== 0) {
        socialbridge_log($config, $what . ': bridge unreachable (cURL ' . $errno . ': ' . $error . ')');
        return false;
    }
    if ($status < 200 || $status >= 300) {
        $decoded = json_decode((string)$response, true);
        $reason = isset($decoded['error']['code']) ? (string)$decoded['error']['code'] : 'no JSON error';
        socialbridge_log($config, $what . ': bridge answered HTTP ' . $status . ' (' . $reason . ')');
        return false;
    }
    return true;
}

/** Append one line to the log file; never the secret, never throws. */
function socialbridge_log($config, $message)
{
    $file = !empty($config['log_file']) ? $config['log_file'] : dirname(__FILE__) . '/logs/socialbridge.log';
    $line = '[' . gmdate('Y-m-d\TH:i:s\Z') . '] ' . str_replace(array("\r", "\n"), ' ', (string)$message);
    if (!empty($config['secret'])) {
        $line = str_replace((string)$config['secret'], '***', $line);
    }
    $dir = dirname($file);
    if (!is_dir($dir)) {
        @mkdir($dir, 0750, true);
    }
    @error_log($line . "\n", 3, $file);
}
