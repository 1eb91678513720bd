<?php
/*
 * Test stand-ins for the vtiger classes the plugin is handed or looks for, shared by php_harness.php and
 * php_request.php: VTWorkflowEntity as vtiger 6 has it (no isNew) and as vtiger 7+ has it.
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

class VTWorkflowEntityWithIsNew extends VTWorkflowEntity
{
    public static $isNew = false;

    public function isNew()
    {
        return self::$isNew;
    }
}
