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
 *   - spends at most 2 s on the network per request (cURL connect + transfer, all events of the request),
 *     then gives up and logs,
 * and never writes the shared secret anywhere.
 *
 * The events are sent when the request is over, not during the save. A webservice create/update/revise
 * runs the whole save, workflows included, inside one database transaction (VtigerCRMObject::create/
 * update/revise wrap CRMEntity::Save in startTransaction/completeTransaction), so a bridge asked at once
 * would read the record as it was before the save, or not at all for a new record. A workflow function
 * therefore only builds its event (with the record as this save left it: `data`, `modifiedtime`,
 * `changed`, `is_new`) and queues it; a shutdown function (register_shutdown_function) posts the queue
 * after the transaction has been committed. In a web-UI save there is no outer transaction; the same
 * timing is just as right there.
 *
 * Nothing is lost while the bridge is down: every event gets a random `event_id` when it is built, and an
 * event that could not be delivered for a passing reason (bridge unreachable or timed
 * out, HTTP 5xx, 401 secret/clock, 404/405 wrong URL, 408, 429) is appended to a spool file (JSON lines, the
 * exact body; flock'd lock file + atomic rename, bounded, oldest dropped first). Every later request sends
 * the waiting events first, oldest first, then its own, all within the same 2 s; a bridge that answers
 * 2xx (202 accepted, 200 duplicate) or refuses an event for good (any other 4xx) takes it off the spool.
 * A resend carries the same body, newly signed, so the bridge's duplicate check makes it harmless.
 * flush.php sends the spool from the command line with a longer budget.
 *
 * The request: POST <bridge_url>/v1/vtiger/events, JSON body
 *   {"event", "module", "id" (ws id "12x5"), "crmid", "data" (VTWorkflowEntity::getData()),
 *    "modifiedtime" (of this save), "is_new", "changed" (field names from VTEntityDelta), "ts", "event_id"}
 * signed with X-Bridge-Timestamp / X-Bridge-Signature: sha256=HMAC-SHA256(secret, "<ts>.<body>").
 * Keep this in step with bridge/webhook/signing.py and bridge/webhook/events.py.
 *
 * Works on PHP 5.6 to 8.x (vtiger 6.x-8.x, SalesPlatform 7.x): no PHP-7-only syntax below.
 */

define('SOCIALBRIDGE_EVENTS_PATH', '/v1/vtiger/events');
define('SOCIALBRIDGE_MAX_TIMEOUT_MS', 2000);
define('SOCIALBRIDGE_MAX_BODY', 65536);
define('SOCIALBRIDGE_SPOOL_MAX_EVENTS', 1000);
define('SOCIALBRIDGE_SPOOL_MAX_BYTES', 5242880); // 5 MiB
define('SOCIALBRIDGE_MIN_ATTEMPT_MS', 100); // a request with less time left than this is not started
define('SOCIALBRIDGE_LOCK_WAIT', 1.0); // seconds; the lock is only ever held for a file read + write
define('SOCIALBRIDGE_FLUSH_REQUEST_MS', 5000); // per request when flush.php empties the spool
// Events of one request waiting for its end; beyond this many (a mass edit, a long cron run) the queue is
// moved to the spool, which the end of the request sends first anyway.
define('SOCIALBRIDGE_MAX_QUEUED', 200);

$GLOBALS['socialbridge_queue'] = array();
$GLOBALS['socialbridge_at_end'] = false;

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

/**
 * Workflow function "Social bridge: invite to Telegram/MAX": the bridge issues a single-use invitation link
 * for every bot it runs and writes it into the field its fields.invitation_field names, for an e-mail or
 * SMS workflow to send.
 */
function socialbridge_invite($entityData)
{
    socialbridge_notify('invite', $entityData);
}

/** Workflow function "Social bridge: record saved" (adds the changed field names). */
function socialbridge_record_saved($entityData)
{
    socialbridge_notify('record_saved', $entityData);
}

/**
 * Build one event and queue it for the end of the request (see the header: the save is not committed
 * yet). True when it was queued. Never throws, never prints.
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
        $body = socialbridge_body($config, socialbridge_payload($event, $entityData, $config));
        $ok = socialbridge_queue($config, $body);
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

/** Queue a body for the end of the request (registering the shutdown function once). */
function socialbridge_queue($config, $body)
{
    if (!$GLOBALS['socialbridge_at_end']) {
        register_shutdown_function('socialbridge_send_queued');
        $GLOBALS['socialbridge_at_end'] = true;
    }
    $GLOBALS['socialbridge_queue'][] = $body;
    if (count($GLOBALS['socialbridge_queue']) >= SOCIALBRIDGE_MAX_QUEUED) {
        $queued = $GLOBALS['socialbridge_queue'];
        $GLOBALS['socialbridge_queue'] = array();
        $left = socialbridge_spool_update($config, socialbridge_spool_file($config), array(), $queued);
        if ($left < 0) {
            return false; // logged as EVENT LOST by the spool update
        }
    }
    return true;
}

/**
 * The shutdown function: send the events this request queued, after the ones waiting in the spool, within
 * one 2 s budget. Runs after vtiger's transaction is over. Never throws, never prints.
 */
function socialbridge_send_queued()
{
    $bodies = $GLOBALS['socialbridge_queue'];
    $GLOBALS['socialbridge_queue'] = array();
    $GLOBALS['socialbridge_at_end'] = false;
    $started = microtime(true);
    $config = array();
    $level = ob_get_level();
    ob_start();
    set_error_handler('socialbridge_on_php_error');
    try {
        $config = socialbridge_config();
        $deadline = $started + socialbridge_timeout_ms($config) / 1000.0;
        socialbridge_deliver($config, $bodies, $deadline);
    } catch (Throwable $e) {
        socialbridge_log($config, 'end of request: ' . get_class($e) . ': ' . $e->getMessage());
    } catch (Exception $e) {
        socialbridge_log($config, 'end of request: ' . get_class($e) . ': ' . $e->getMessage());
    }
    restore_error_handler();
    while (ob_get_level() > $level) {
        ob_end_clean();
    }
}

/**
 * Send the spooled events, oldest first, within $seconds (flush.php). Never throws, never prints.
 * Returns array('sent' => n, 'refused' => n, 'left' => n waiting afterwards (-1: spool not writable),
 * 'stopped' => why it stopped early or null, 'spool' => path, 'error' => null or message).
 */
function socialbridge_flush($seconds)
{
    $config = array();
    $result = array('sent' => 0, 'refused' => 0, 'left' => 0, 'stopped' => null, 'spool' => '', 'error' => null);
    $level = ob_get_level();
    ob_start();
    set_error_handler('socialbridge_on_php_error');
    try {
        $config = socialbridge_config();
        $deadline = microtime(true) + (float)$seconds;
        $spool = socialbridge_spool_file($config);
        $result['spool'] = $spool;
        $lines = socialbridge_spool_read($spool);
        if ($lines) {
            $run = socialbridge_send_lines($config, $lines, -1, $deadline, SOCIALBRIDGE_FLUSH_REQUEST_MS);
            $result = array_merge($result, $run['counts']);
            $result['stopped'] = $run['stopped'];
            $result['left'] = count($lines);
            $done = array();
            foreach ($run['done'] as $i => $outcome) {
                $done[] = $lines[$i];
            }
            if ($done) {
                $result['left'] = socialbridge_spool_update($config, $spool, $done, array());
            }
            if ($run['counts']['sent'] + $run['counts']['refused'] > 0) {
                socialbridge_log($config, 'flush: re-sent ' . $run['counts']['sent'] . ' waiting event(s), '
                    . $run['counts']['refused'] . ' refused for good, ' . $result['left'] . ' left');
            }
        }
    } catch (Throwable $e) {
        $result['error'] = get_class($e) . ': ' . $e->getMessage();
        socialbridge_log($config, 'flush: ' . $result['error']);
    } catch (Exception $e) {
        $result['error'] = get_class($e) . ': ' . $e->getMessage();
        socialbridge_log($config, 'flush: ' . $result['error']);
    }
    restore_error_handler();
    while (ob_get_level() > $level) {
        ob_end_clean();
    }
    return $result;
}

function socialbridge_on_php_error($errno, $errstr, $errfile = '', $errline = 0)
{
    socialbridge_log(socialbridge_config_or_empty(), 'PHP notice ' . $errno . ': ' . $errstr . ' at '
        . basename((string)$errfile) . ':' . $errline);
    return true; // handled: PHP prints nothing
}

/**
 * The configuration (cached per request): socialbridge.config.php next to this file when it exists (the
 * shell install), else the settings stored by the CRM (Settings -> Social bridge; lib/Settings.php).
 * `data_dir` sets log_file and spool_file unless they are given.
 */
function socialbridge_config()
{
    static $config = null;
    if ($config !== null) {
        return $config;
    }
    $file = dirname(__FILE__) . '/socialbridge.config.php';
    if (is_file($file)) {
        $loaded = include $file;
        $where = 'socialbridge.config.php must return an array with bridge_url and secret';
    } else {
        require_once dirname(__FILE__) . '/lib/Settings.php';
        $loaded = SocialBridge_Settings::all();
        $where = 'the social bridge is not set up: enter the bridge URL and secret in Settings, Social bridge'
            . ' (or copy socialbridge.config.php.example to socialbridge.config.php)';
    }
    if (!is_array($loaded) || empty($loaded['bridge_url']) || empty($loaded['secret'])) {
        throw new RuntimeException($where);
    }
    if (!empty($loaded['data_dir'])) {
        $dir = rtrim((string)$loaded['data_dir'], '/');
        $loaded += array('log_file' => $dir . '/socialbridge.log', 'spool_file' => $dir . '/socialbridge.spool');
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

/** The event array for the bridge (see bridge/webhook/events.py for the model). */
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
        // Set once, before the first attempt: a resend from the spool is the same event to the bridge.
        'event_id' => socialbridge_new_event_id(),
    );
    // The version of the record this event is about: the bridge waits until it reads at least this.
    if (isset($data['modifiedtime']) && is_string($data['modifiedtime']) && $data['modifiedtime'] !== '') {
        $payload['modifiedtime'] = $data['modifiedtime'];
    }
    if (method_exists($entityData, 'isNew')) {
        $payload['is_new'] = (bool)$entityData->isNew();
    }
    $changed = socialbridge_changed_fields($module, $payload['crmid']);
    if ($changed !== null) {
        $payload['changed'] = $changed;
    }
    if (!empty($config['send_text_field'])) {
        // The text to send is chosen in one place, the bridge's fields.outgoing_text_field; the record's
        // values travel in `data` and the bridge clears the field once the send is queued.
        socialbridge_log($config, 'send_text_field is no longer used: set fields.outgoing_text_field in the'
            . ' bridge\'s configuration instead and remove send_text_field from socialbridge.config.php');
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

/** A random event id, e.g. "vt-3f2a…" (32 hex digits); PHP 5.6 has no random_bytes. */
function socialbridge_new_event_id()
{
    $bytes = false;
    if (function_exists('random_bytes')) {
        try {
            $bytes = random_bytes(16);
        } catch (Throwable $e) {
            $bytes = false;
        } catch (Exception $e) {
            $bytes = false;
        }
    }
    if ($bytes === false && function_exists('openssl_random_pseudo_bytes')) {
        $bytes = openssl_random_pseudo_bytes(16);
    }
    if (!is_string($bytes) || strlen($bytes) !== 16) {
        $bytes = substr(sha1(uniqid('', true) . mt_rand() . getmypid() . microtime(), true), 0, 16);
    }
    return 'vt-' . bin2hex($bytes);
}

function socialbridge_timeout_ms($config)
{
    $timeout = SOCIALBRIDGE_MAX_TIMEOUT_MS;
    if (isset($config['timeout_ms']) && (int)$config['timeout_ms'] > 0) {
        $timeout = min((int)$config['timeout_ms'], SOCIALBRIDGE_MAX_TIMEOUT_MS);
    }
    return $timeout;
}

/**
 * The JSON body to post (and to spool). Over 64 KiB (the bridge's limit) the largest values of the record
 * data are left out, largest first, until it fits: the bridge reads those fields through the webservice.
 */
function socialbridge_body($config, $payload)
{
    $body = socialbridge_encode($payload);
    if (strlen($body) <= SOCIALBRIDGE_MAX_BODY) {
        return $body;
    }
    $sizes = array();
    foreach ($payload['data'] as $name => $value) {
        $sizes[$name] = strlen(is_scalar($value) ? (string)$value : json_encode($value));
    }
    arsort($sizes);
    $left = array();
    foreach ($sizes as $name => $size) {
        unset($payload['data'][$name]);
        $left[] = $name;
        $body = socialbridge_encode($payload);
        if (strlen($body) <= SOCIALBRIDGE_MAX_BODY) {
            break;
        }
    }
    socialbridge_log($config, $payload['event'] . ' ' . $payload['id'] . ': record data too large, sent without '
        . implode(', ', $left));
    return $body;
}

/**
 * Deliver this request's $bodies after the events already waiting in the spool (so the bridge sees them in
 * the order they happened), all before $deadline. Delivered or refused events leave the spool; this
 * request's events join it unless the bridge took them (or refused them for good).
 */
function socialbridge_deliver($config, $bodies, $deadline)
{
    if (!$bodies) {
        return;
    }
    $spool = socialbridge_spool_file($config);
    $lines = socialbridge_spool_read($spool); // usually empty: one stat, no lock
    $first = count($lines);
    foreach ($bodies as $body) {
        $lines[] = $body;
    }
    $run = socialbridge_send_lines($config, $lines, $first, $deadline, socialbridge_timeout_ms($config));
    $done = array();
    $keep = array();
    $counts = array('sent' => 0, 'refused' => 0);
    foreach ($lines as $i => $body) {
        if ($i < $first && isset($run['done'][$i])) {
            $done[] = $body;
            $counts[$run['done'][$i]]++;
        } elseif ($i >= $first && !isset($run['done'][$i])) {
            $keep[$i] = $body;
        }
    }
    if ($done || $keep) {
        $left = socialbridge_spool_update($config, $spool, $done, array_values($keep));
        if ($keep && $left >= 0) {
            $why = $run['stopped'] === 'out of time' ? 'out of time after earlier events' : 'earlier events wait first';
            foreach ($keep as $i => $body) {
                $notTried = $run['stopped_at'] !== null && $run['stopped_at'] < $i;
                socialbridge_log($config, socialbridge_describe($body) . ($notTried ? ': not sent, ' . $why : '')
                    . ': kept in the spool, re-sent with a later save (' . $left . ' waiting)');
            }
        }
    }
    if ($done) {
        socialbridge_log($config, 'spool: re-sent ' . $counts['sent'] . ' waiting event(s)'
            . ($counts['refused'] ? ', ' . $counts['refused'] . ' refused for good' : ''));
    }
}

/**
 * POST each body in order until one finds the bridge unreachable, two in a row get a passing HTTP failure,
 * or the time is up. $first: index of the first event of this request (-1: none); the ones before it are
 * logged as "re-send".
 * Returns array('done' => index => 'sent'|'refused', 'stopped' => reason|null, 'stopped_at' => index of
 * the body it stopped at (not attempted when out of time) or null, 'counts' => array(sent, refused)).
 */
function socialbridge_send_lines($config, $lines, $first, $deadline, $maxMs)
{
    $done = array();
    $stopped = null;
    $stoppedAt = null;
    $httpFailures = 0;
    $counts = array('sent' => 0, 'refused' => 0);
    foreach ($lines as $i => $body) {
        $what = ($first >= 0 && $i >= $first ? '' : 're-send ') . socialbridge_describe($body);
        list($outcome, $detail) = socialbridge_post_body($config, $body, $deadline, $maxMs);
        if ($outcome === 'sent' || $outcome === 'refused') {
            $done[$i] = $outcome;
            $counts[$outcome]++;
            $httpFailures = 0;
            if ($outcome === 'refused') {
                socialbridge_log($config, $what . ': ' . $detail . '; refused for good, not retried');
            }
            continue;
        }
        if ($outcome === 'late') {
            $stopped = 'out of time';
            $stoppedAt = $i;
            break;
        }
        socialbridge_log($config, $what . ': ' . $detail);
        // 'down': no answer, the others would wait as long; 'retry' twice in a row: the bridge is up but
        // cannot take events now. A single 'retry' moves on, so one event the bridge keeps failing on
        // does not hold up the ones behind it.
        if ($outcome === 'down' || ++$httpFailures >= 2) {
            $stopped = $detail;
            $stoppedAt = $i;
            break;
        }
    }
    return array('done' => $done, 'stopped' => $stopped, 'stopped_at' => $stoppedAt, 'counts' => $counts);
}

/** "record_saved Contacts 12x5" for the log, from a body. */
function socialbridge_describe($body)
{
    $event = json_decode($body, true);
    if (!is_array($event)) {
        return 'event';
    }
    $parts = array();
    foreach (array('event', 'module', 'id') as $key) {
        $parts[] = isset($event[$key]) && is_scalar($event[$key]) ? (string)$event[$key] : '?';
    }
    return implode(' ', $parts);
}

/**
 * Sign $body with the current time and POST it, with at most what is left until $deadline (and $maxMs).
 * Returns array(outcome, detail): 'sent' (2xx), 'refused' (a 4xx about the event itself: resending the
 * same body can never succeed), 'retry' (an HTTP answer worth retrying), 'down' (no answer) or 'late'
 * (not attempted: too little time left).
 */
function socialbridge_post_body($config, $body, $deadline, $maxMs)
{
    $left = (int)floor(($deadline - microtime(true)) * 1000);
    if ($left < SOCIALBRIDGE_MIN_ATTEMPT_MS) {
        return array('late', '');
    }
    $answer = socialbridge_request($config, 'POST', SOCIALBRIDGE_EVENTS_PATH, $body, min($left, (int)$maxMs));
    if ($answer['status'] === 0) {
        return array('down', $answer['error']);
    }
    $status = $answer['status'];
    if ($status >= 200 && $status < 300) {
        return array('sent', '');
    }
    $detail = 'bridge answered HTTP ' . $status . ' (' . $answer['code'] . ')';
    // 401: wrong secret or clock, 403/404/405: the URL does not reach the bridge, 408/429: try later.
    // All fixable without touching the event, so it waits; 400, 413, 415, 422 are about the event.
    $passing = array(401, 403, 404, 405, 408, 429);
    if ($status >= 400 && $status < 500 && !in_array($status, $passing, true)) {
        return array('refused', $detail);
    }
    return array('retry', $detail);
}

/**
 * One signed request to the bridge: X-Bridge-Timestamp and X-Bridge-Signature = HMAC-SHA256(secret,
 * "<ts>.<body>") (an empty body for GET), at most $timeoutMs for everything. Never throws.
 * Returns array('status' => HTTP status or 0 when there was no answer, 'body' => decoded JSON or null,
 * 'code' => the error code of a JSON error answer, 'error' => why there was no answer).
 */
function socialbridge_request($config, $method, $path, $body, $timeoutMs)
{
    $result = array('status' => 0, 'body' => null, 'code' => 'no JSON error', 'error' => '');
    if (!function_exists('curl_init')) {
        $result['error'] = 'the PHP cURL extension is not installed';
        return $result;
    }
    $ts = (string)time();
    $signature = hash_hmac('sha256', $ts . '.' . $body, (string)$config['secret']);
    $ch = curl_init(rtrim((string)$config['bridge_url'], '/') . $path);
    if ($ch === false) {
        $result['error'] = 'bridge unreachable (curl_init failed)';
        return $result;
    }
    $options = array(
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
        CURLOPT_CONNECTTIMEOUT_MS => (int)$timeoutMs,
        CURLOPT_TIMEOUT_MS => (int)$timeoutMs, // total: connect + send + wait + read
    );
    if ($method === 'POST') {
        $options[CURLOPT_POST] = true;
        $options[CURLOPT_POSTFIELDS] = $body;
    } else {
        $options[CURLOPT_HTTPGET] = true;
    }
    curl_setopt_array($ch, $options);
    $response = curl_exec($ch);
    $status = (int)curl_getinfo($ch, CURLINFO_HTTP_CODE);
    $errno = curl_errno($ch);
    $error = curl_error($ch);
    curl_close($ch);
    if ($response === false || $errno !== 0) {
        $result['error'] = 'bridge unreachable (cURL ' . $errno . ': ' . $error . ')';
        return $result;
    }
    $decoded = json_decode((string)$response, true);
    $result['status'] = $status;
    $result['body'] = is_array($decoded) ? $decoded : null;
    if (isset($decoded['error']['code'])) {
        $result['code'] = (string)$decoded['error']['code'];
    }
    return $result;
}

/** The spool path: `spool_file`, else socialbridge.spool next to the log (the plugin's logs/ folder). */
function socialbridge_spool_file($config)
{
    if (!empty($config['spool_file'])) {
        return (string)$config['spool_file'];
    }
    return dirname(socialbridge_log_file($config)) . '/socialbridge.spool';
}

/**
 * The waiting bodies, oldest first. No lock needed: the spool is only ever replaced whole (rename), so a
 * reader sees one complete version. Unreadable lines are skipped here and dropped by the next update.
 */
function socialbridge_spool_read($spool)
{
    clearstatcache(true, $spool);
    if (!is_file($spool) || filesize($spool) === 0) {
        return array();
    }
    $text = @file_get_contents($spool);
    if (!is_string($text)) {
        return array();
    }
    $lines = array();
    foreach (explode("\n", $text) as $line) {
        if (socialbridge_spool_line_ok($line)) {
            $lines[] = $line;
        }
    }
    return $lines;
}

function socialbridge_spool_line_ok($line)
{
    if ($line === '') {
        return false;
    }
    $event = json_decode($line, true);
    return is_array($event) && isset($event['event_id']) && is_string($event['event_id']);
}

/**
 * Under the spool lock: re-read the spool, take out the bodies in $done (delivered or refused; matched
 * by content, so lines added meanwhile by other requests stay), append the bodies in $append (those not
 * already there), drop the oldest beyond the bounds, and replace the file atomically.
 * Returns how many events wait now, or -1 on failure (logged).
 */
function socialbridge_spool_update($config, $spool, $done, $append)
{
    $remove = array();
    foreach ($done as $body) {
        $remove[$body] = true;
    }
    $lock = socialbridge_spool_lock($spool, SOCIALBRIDGE_LOCK_WAIT);
    if ($lock === false) {
        socialbridge_log($config, 'SPOOL ERROR: could not lock ' . $spool . '.lock' . socialbridge_lost($append));
        return -1;
    }
    $text = is_file($spool) ? @file_get_contents($spool) : '';
    $kept = array();
    $seen = array();
    $bad = 0;
    foreach (explode("\n", is_string($text) ? $text : '') as $line) {
        if ($line === '') {
            continue;
        }
        if (!socialbridge_spool_line_ok($line)) {
            $bad++;
            continue;
        }
        if (!isset($remove[$line]) && !isset($seen[$line])) {
            $kept[] = $line;
            $seen[$line] = true;
        }
    }
    if ($bad) {
        socialbridge_log($config, 'SPOOL: dropped ' . $bad . ' unreadable line(s) from ' . $spool);
    }
    foreach ($append as $body) {
        if (!isset($seen[$body])) {
            $kept[] = $body;
            $seen[$body] = true;
        }
    }
    $kept = socialbridge_spool_bound($config, $kept);
    $ok = socialbridge_spool_write($spool, $kept);
    flock($lock, LOCK_UN);
    fclose($lock);
    if (!$ok) {
        socialbridge_log($config, 'SPOOL ERROR: could not write ' . $spool . socialbridge_lost($append));
        return -1;
    }
    return count($kept);
}

/** "; EVENT LOST: send Contacts 12x5 event_id vt-…" for each body that could not be spooled. */
function socialbridge_lost($bodies)
{
    $text = '';
    foreach ($bodies as $body) {
        $text .= '; EVENT LOST: ' . socialbridge_describe($body) . ' ' . socialbridge_event_id($body);
    }
    return $text;
}

function socialbridge_event_id($body)
{
    $event = json_decode($body, true);
    return is_array($event) && isset($event['event_id']) ? 'event_id ' . (string)$event['event_id'] : '';
}

/** Drop the oldest events beyond spool_max_events / spool_max_bytes, loudly. */
function socialbridge_spool_bound($config, $lines)
{
    $maxEvents = !empty($config['spool_max_events']) ? (int)$config['spool_max_events'] : SOCIALBRIDGE_SPOOL_MAX_EVENTS;
    $maxBytes = !empty($config['spool_max_bytes']) ? (int)$config['spool_max_bytes'] : SOCIALBRIDGE_SPOOL_MAX_BYTES;
    $bytes = 0;
    foreach ($lines as $line) {
        $bytes += strlen($line) + 1;
    }
    while ($lines && (count($lines) > $maxEvents || $bytes > $maxBytes)) {
        $oldest = array_shift($lines);
        $bytes -= strlen($oldest) + 1;
        socialbridge_log($config, 'SPOOL FULL (' . $maxEvents . ' events / ' . $maxBytes . ' bytes): dropped the'
            . ' oldest waiting event, IT IS LOST: ' . socialbridge_describe($oldest) . ' '
            . socialbridge_event_id($oldest) . '. The bridge has not taken events for a long time: check it.');
    }
    return $lines;
}

/** An exclusive lock on "<spool>.lock", waiting at most $wait seconds; the handle, or false. */
function socialbridge_spool_lock($spool, $wait)
{
    $dir = dirname($spool);
    if (!is_dir($dir)) {
        @mkdir($dir, 0750, true);
    }
    $handle = @fopen($spool . '.lock', 'c');
    if ($handle === false && is_file($spool . '.lock')) {
        $handle = @fopen($spool . '.lock', 'r'); // flock works on a read-only handle too
    }
    if ($handle === false) {
        return false;
    }
    $until = microtime(true) + $wait;
    while (true) {
        $wouldBlock = 0;
        if (flock($handle, LOCK_EX | LOCK_NB, $wouldBlock)) {
            return $handle;
        }
        if (microtime(true) >= $until) {
            fclose($handle);
            return false;
        }
        usleep(5000);
    }
}

/** Replace the spool with $lines (temp file + rename: readers never see half a file). */
function socialbridge_spool_write($spool, $lines)
{
    if (!$lines) {
        return !is_file($spool) || @unlink($spool);
    }
    $text = implode("\n", $lines) . "\n";
    $tmp = $spool . '.tmp';
    $handle = @fopen($tmp, 'wb');
    if ($handle === false) {
        return false;
    }
    @chmod($tmp, 0600); // record data: readable by the web server user only
    $written = @fwrite($handle, $text);
    @fflush($handle);
    if (function_exists('fsync')) {
        @fsync($handle); // PHP 8.1+
    }
    fclose($handle);
    if ($written !== strlen($text)) {
        @unlink($tmp);
        return false;
    }
    if (@rename($tmp, $spool)) {
        return true;
    }
    // Windows cannot replace a file another process has open: write in place (we hold the lock).
    @unlink($tmp);
    return @file_put_contents($spool, $text) === strlen($text);
}

/** Append one line to the log file; never the secret, never throws. */
function socialbridge_log($config, $message)
{
    $file = socialbridge_log_file($config);
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

function socialbridge_log_file($config)
{
    return !empty($config['log_file']) ? (string)$config['log_file'] : dirname(__FILE__) . '/logs/socialbridge.log';
}

/**
 * The vtlib module class: vtiger calls vtlib_handler on install, update, enable, disable and uninstall of
 * the module imported through Settings -> Module Manager (lib/Installer.php does the work).
 */
class SocialBridge
{
    public function vtlib_handler($moduleName, $eventType)
    {
        require_once dirname(__FILE__) . '/lib/Installer.php';
        SocialBridge_Installer::handle((string)$eventType);
    }
}
