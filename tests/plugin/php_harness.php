<?php
/*
 * Test harness: stands in for vtiger's workflow engine. It builds a fake VTWorkflowEntity, optionally
 * a fake VTEntityDelta, calls one real plugin function the way VTEntityMethodManager::executeMethod does
 * (require_once the file, call the global function with the entity) and reports, as JSON on stdout,
 * how long the call took, whether it threw and whatever it printed.
 *
 * Usage: php php_harness.php '<json: plugin, function, id, module, data, delta|null[, repeat, start_at]>'
 *   repeat: call the function that many times in this process (default 1), as one request whose
 *           workflows fire several tasks; `elapsed` is then the longest single call.
 *   start_at: unix time (float) to sleep until before the first call, so that concurrent processes
 *           really overlap.
 */

class VTWorkflowEntity
{
    private $id;
    private $moduleName;
    private $data;

    public function __construct($id, $moduleName, $data)
    {
        $this->id = $id;
        $this->moduleName = $moduleName;
        $this->data = $data;
    }

    public function getId()
    {
        return $this->id;
    }

    public function getModuleName()
    {
        return $this->moduleName;
    }

    public function getData()
    {
        return $this->data;
    }
}

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

$repeat = isset($args['repeat']) ? (int)$args['repeat'] : 1;
if (!empty($args['start_at'])) {
    $wait = (float)$args['start_at'] - microtime(true);
    if ($wait > 0) {
        usleep((int)($wait * 1e6));
    }
}
$elapsed = 0.0;
ob_start();
$threw = null;
try {
    require_once $args['plugin'];
    for ($i = 0; $i < $repeat; $i++) {
        $started = microtime(true);
        call_user_func($args['function'], new VTWorkflowEntity($args['id'], $args['module'], $args['data']));
        $elapsed = max($elapsed, microtime(true) - $started);
    }
} catch (Throwable $e) {
    $threw = get_class($e) . ': ' . $e->getMessage();
}
$printed = ob_get_clean();
echo json_encode(array('elapsed' => $elapsed, 'printed' => $printed, 'threw' => $threw));
