<?php
/*
 * Test harness: stands in for vtiger's workflow engine in one request. It builds a fake VTWorkflowEntity,
 * optionally a fake VTEntityDelta, calls one real plugin function the way VTEntityMethodManager::executeMethod
 * does (require_once the file, call the global function with the entity), lets the request end (the
 * plugin's shutdown function sends what it queued) and reports, as JSON on stdout, how long it all took,
 * whether it threw and whatever it printed.
 *
 * Usage: php php_harness.php '<json: plugin, function, id, module, data, delta|null[, repeat, start_at, is_new]>'
 *   repeat: call the function that many times in this request (default 1), as one request whose
 *           workflows fire several tasks.
 *   start_at: unix time (float) to sleep until before the first call, so that concurrent processes
 *           really overlap.
 *   is_new: give the entity an isNew() answering this (vtiger 7+); absent: no isNew(), as on older vtiger.
 * Reported: elapsed (first call to the end of the request: everything the plugin cost the save), calls
 * (the longest single call), printed, threw.
 */

require_once dirname(__FILE__) . '/fake_vtiger.php';

$args = json_decode($argv[1], true);

if ($args['delta'] !== null) {
    class VTEntityDelta
    {
        public static $delta = array();

        public function getEntityDelta($moduleName, $recordId, $forceFetch = false)
        {
            return self::$delta[$moduleName][$recordId];
        }
    }
    VTEntityDelta::$delta = $args['delta'];
}

$entityClass = 'VTWorkflowEntity';
if (isset($args['is_new'])) {
    $entityClass = 'VTWorkflowEntityWithIsNew';
    VTWorkflowEntityWithIsNew::$isNew = (bool)$args['is_new'];
}

$repeat = isset($args['repeat']) ? (int)$args['repeat'] : 1;
if (!empty($args['start_at'])) {
    $wait = (float)$args['start_at'] - microtime(true);
    if ($wait > 0) {
        usleep((int)($wait * 1e6));
    }
}

$GLOBALS['harness'] = array('started' => 0.0, 'calls' => 0.0, 'threw' => null);

function harness_report()
{
    $printed = ob_get_clean();
    $h = $GLOBALS['harness'];
    echo json_encode(array('elapsed' => microtime(true) - $h['started'], 'calls' => $h['calls'],
        'printed' => $printed, 'threw' => $h['threw']));
}

// Registered first, it runs before the plugin's shutdown function and queues the report after it.
register_shutdown_function(function () {
    register_shutdown_function('harness_report');
});

ob_start();
try {
    require_once $args['plugin'];
    $GLOBALS['harness']['started'] = microtime(true);
    for ($i = 0; $i < $repeat; $i++) {
        $started = microtime(true);
        call_user_func($args['function'], new $entityClass($args['id'], $args['module'], $args['data']));
        $GLOBALS['harness']['calls'] = max($GLOBALS['harness']['calls'], microtime(true) - $started);
    }
} catch (Throwable $e) {
    $GLOBALS['harness']['threw'] = get_class($e) . ': ' . $e->getMessage();
}
