<?php
/*
 * Test harness: one vtiger request in which the workflow engine calls plugin functions, driven from stdin
 * so that the caller (the vtiger sandbox) decides when the request ends — after its transaction committed.
 *
 * Usage: php php_request.php <path of SocialBridge.php>
 * stdin, one JSON object per line:
 *   {"call": function, "id": ws id, "module", "data", "delta": {field: {oldValue, currentValue}}, "is_new"}
 *       -> stdout line {"threw", "printed", "elapsed"} once the function returned
 *   {"send_now": true}
 *       -> the plugin's delivery runs now, inside the save, as if the request had already ended (an event
 *          that reaches the bridge before the commit: an old plugin, a spool sent by another request)
 *          -> stdout line {"threw", "printed", "elapsed"}
 *   {"end": true} (or end of input)
 *       -> the script ends; PHP runs the shutdown functions (the plugin posts what it queued), then
 *          stdout line {"ended": true, "elapsed": seconds the shutdown took, "printed"}
 */

require_once dirname(__FILE__) . '/fake_vtiger.php';

class VTEntityDelta
{
    public static $delta = array();

    public function getEntityDelta($moduleName, $recordId, $forceFetch = false)
    {
        return isset(self::$delta[$moduleName][$recordId]) ? self::$delta[$moduleName][$recordId] : array();
    }
}

function request_reply($value)
{
    fwrite(STDOUT, json_encode($value) . "\n");
    fflush(STDOUT);
}

$GLOBALS['request_end'] = 0.0;

function request_ended()
{
    $printed = ob_get_clean();
    request_reply(array('ended' => true, 'elapsed' => microtime(true) - $GLOBALS['request_end'],
        'printed' => $printed));
}

require_once $argv[1];

while (($line = fgets(STDIN)) !== false) {
    $message = json_decode($line, true);
    if (!is_array($message) || !empty($message['end'])) {
        break;
    }
    if (!empty($message['send_now'])) {
        ob_start();
        $started = microtime(true);
        if (function_exists('socialbridge_send_queued')) {
            socialbridge_send_queued(); // an older plugin posted at once anyway
        }
        request_reply(array('threw' => null, 'printed' => ob_get_clean(), 'elapsed' => microtime(true) - $started));
        continue;
    }
    $parts = explode('x', $message['id'], 2);
    VTEntityDelta::$delta = array($message['module'] => array($parts[1] => $message['delta']));
    ob_start();
    $threw = null;
    $started = microtime(true);
    try {
        VTWorkflowEntityWithIsNew::$isNew = (bool)$message['is_new'];
        call_user_func($message['call'], new VTWorkflowEntityWithIsNew($message['id'], $message['module'],
            $message['data']));
    } catch (Throwable $e) {
        $threw = get_class($e) . ': ' . $e->getMessage();
    }
    $elapsed = microtime(true) - $started;
    $printed = ob_get_clean();
    request_reply(array('threw' => $threw, 'printed' => $printed, 'elapsed' => $elapsed));
}

// The end of the request: registered now, this runs after the plugin's shutdown function.
$GLOBALS['request_end'] = microtime(true);
register_shutdown_function('request_ended');
ob_start();
