<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * The three functions of the workflow task "Invoke Custom Function" (SocialBridge.php), registered for
 * Contacts, Accounts and Leads through VTEntityMethodManager (rows of com_vtiger_workflowtasks_entitymethod).
 * vtiger lists a custom function under the label it was registered with, so the labels are registered in
 * the CRM's language (languages/<language>.php, English when there is none). Used by the module's
 * installer and by install.php (the shell install).
 */

class SocialBridge_WorkflowFunctions
{
    public static $MODULES = array('Contacts', 'Accounts', 'Leads');
    const FUNCTION_FILE = 'modules/SocialBridge/SocialBridge.php';

    /** label => function for one language (English when the language has no file). */
    public static function labels($language)
    {
        $dir = dirname(dirname(__FILE__)) . '/languages';
        $file = $dir . '/' . basename((string)$language) . '.php';
        $labels = is_file($file) ? include $file : include $dir . '/en_us.php';
        return array_flip($labels);
    }

    /** label => function of every language shipped (what an uninstall removes). */
    public static function allLabels()
    {
        $all = array();
        foreach (glob(dirname(dirname(__FILE__)) . '/languages/*.php') as $file) {
            $all += self::labels(basename($file, '.php'));
        }
        return $all;
    }

    /**
     * Register (each one removed first: re-running refreshes the stored path) or, with $uninstall, remove.
     * Returns one line per change, for the caller to print or log.
     */
    public static function apply($adb, $language, $functionPath, $uninstall = false)
    {
        require_once 'modules/com_vtiger_workflow/VTEntityMethodManager.inc';
        $manager = new VTEntityMethodManager($adb);
        $methods = $uninstall ? self::allLabels() : self::labels($language);
        $lines = array();
        foreach (self::$MODULES as $module) {
            foreach ($methods as $label => $function) {
                $manager->removeEntityMethod($module, $label);
                if (!$uninstall) {
                    $manager->addEntityMethod($module, $label, $functionPath, $function);
                }
                $lines[] = ($uninstall ? 'removed   ' : 'registered ') . $module . ': ' . $label
                    . ($uninstall ? '' : ' -> ' . $functionPath . '::' . $function);
            }
        }
        return $lines;
    }
}
