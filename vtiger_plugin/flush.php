<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Sends the events waiting in the plugin's spool (kept while the bridge was down) to the bridge now,
 * oldest first, instead of waiting for the next record save. Run it as the web server user, because the
 * spool is rewritten and must stay writable for the CRM:
 *
 *   cd /path/to/vtiger && sudo -u www-data php modules/SocialBridge/flush.php [--seconds=30] [--quiet]
 *
 * --seconds: the total time it may take (default 30). --quiet: print only when events are left (cron).
 * Exit status: 0 the spool is empty, 1 events are still waiting (bridge still down?), 2 error.
 * Details of every failure go to the plugin's log_file.
 */

if (PHP_SAPI !== 'cli') {
    header('HTTP/1.1 403 Forbidden');
    exit(1);
}

require_once dirname(__FILE__) . '/SocialBridge.php';
require_once dirname(__FILE__) . '/lib/Cli.php';

$seconds = 30.0;
$quiet = false;
foreach (array_slice($argv, 1) as $arg) {
    if ($arg === '--quiet') {
        $quiet = true;
    } elseif (preg_match('/^--seconds=([0-9]+(\.[0-9]+)?)$/', $arg, $m) && (float)$m[1] > 0) {
        $seconds = (float)$m[1];
    } else {
        fwrite(STDERR, "socialbridge flush: unknown argument $arg; usage: php flush.php [--seconds=30] [--quiet]\n");
        exit(2);
    }
}

if (!is_file(dirname(__FILE__) . '/socialbridge.config.php')) {
    socialbridge_cli_vtiger(); // the settings are stored by the CRM (module installed from Module Manager)
}

// Rewriting the spool as another user (e.g. root) would leave a file the web server cannot update.
$config = socialbridge_config_or_empty();
$spool = socialbridge_spool_file($config);
if (is_file($spool) && function_exists('posix_geteuid') && fileowner($spool) !== posix_geteuid()) {
    $owner = function_exists('posix_getpwuid') ? posix_getpwuid(fileowner($spool)) : false;
    $name = is_array($owner) ? $owner['name'] : '#' . fileowner($spool);
    fwrite(STDERR, "socialbridge flush: $spool belongs to $name; run me as that user (sudo -u $name php ...)\n");
    exit(2);
}

$result = socialbridge_flush($seconds);
if ($result['error'] !== null) {
    fwrite(STDERR, 'socialbridge flush: ' . $result['error'] . "\n");
    exit(2);
}
if ($result['left'] < 0) {
    fwrite(STDERR, 'socialbridge flush: could not update ' . $result['spool'] . "; see the log\n");
    exit(2);
}
$summary = 'socialbridge flush: ' . $result['sent'] . ' delivered, ' . $result['refused'] . ' refused for good, '
    . $result['left'] . ' waiting' . ($result['stopped'] !== null ? ' (stopped: ' . $result['stopped'] . ')' : '');
if (!$quiet || $result['left'] > 0) {
    echo $summary . "\n";
}
exit($result['left'] > 0 ? 1 : 0);
