<?php
/*
 * Test harness: stands in for vtiger's workflow engine. It builds a fake VTWorkflowEntity, optionally
 * a fake VTEntityDelta, calls one real plugin function the way VTEntityMethodManager::executeMethod does
 * (require_once the file, call the global function with the entity) and reports, as JSON on stdout,
 * how long the call took, whether it threw and whatever it printed.
 *
 * Usage: php php_harness.php '<json: plugin, function, id, module, data, delta|null>'
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

$started = microtime(true);
ob_start();
$threw = null;
try {
    require_once $args['plugin'];
    call_user_func($args['function'], new VTWorkflowEntity($args['id'], $args['module'], $args['data']));
} catch (Throwable $e) {
    $threw = get_class($e) . ': ' . $e->getMessage();
}
$printed = ob_get_clean();
$elapsed = microtime(true) - $started;
echo json_encode(array('elapsed' => $elapsed, 'printed' => $printed, 'threw' => $threw));
