<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Where the module keeps its log and its spool (the spool holds record data): a folder outside the web
 * root. An .htaccess protects nothing on nginx or `php -S`, so the installer picks, in this order,
 *   /var/lib/vtiger-socialbridge/<crm>        if an administrator created /var/lib/vtiger-socialbridge
 *   <folder above the vtiger root>/vtiger-socialbridge/<crm>   if it can be created there
 *   modules/SocialBridge/logs                 (inside the web root: the settings page then warns)
 * and exposure() checks the answer over HTTP: it writes a probe file and asks the web server for it.
 */

class SocialBridge_DataDir
{
    const SYSTEM_BASE = '/var/lib/vtiger-socialbridge';

    /** A name for this CRM's sub-folder: several CRMs on one server must not share a spool. */
    public static function instanceName($root)
    {
        $root = rtrim((string)$root, '/');
        $base = preg_replace('/[^A-Za-z0-9_.-]/', '_', basename($root));
        return $base . '-' . substr(md5($root), 0, 8);
    }

    /** The first usable folder of the list in the header (created if needed). */
    public static function choose($root, $documentRoot = '')
    {
        $root = rtrim((string)$root, '/');
        $name = self::instanceName($root);
        $candidates = array();
        if (is_dir(self::SYSTEM_BASE) && is_writable(self::SYSTEM_BASE)) {
            $candidates[] = self::SYSTEM_BASE . '/' . $name;
        }
        $candidates[] = dirname($root) . '/vtiger-socialbridge/' . $name;
        foreach ($candidates as $dir) {
            if (self::inside($dir, $root) || ($documentRoot !== '' && self::inside($dir, $documentRoot))) {
                continue;
            }
            if ((is_dir($dir) || @mkdir($dir, 0750, true)) && is_writable($dir)) {
                return $dir;
            }
        }
        return $root . '/modules/SocialBridge/logs';
    }

    public static function inside($path, $base)
    {
        $base = rtrim((string)$base, '/');
        return $base !== '' && ($path === $base || strpos(rtrim((string)$path, '/') . '/', $base . '/') === 0);
    }

    /**
     * Is $dir served over HTTP? Writes a probe file there and requests it under every URL it could have
     * ($site_URL for a folder inside the vtiger root, the host of this request for one inside its
     * document root). Returns array('state' => 'private'|'reachable'|'unknown', 'url' => …, 'detail' => …).
     */
    public static function exposure($dir, $root, $siteUrl, $documentRoot = '', $host = '')
    {
        $dir = rtrim((string)$dir, '/');
        $urls = array();
        if (self::inside($dir, $root)) {
            $urls[] = rtrim((string)$siteUrl, '/') . '/' . ltrim(substr($dir, strlen(rtrim($root, '/'))), '/');
        }
        if ($documentRoot !== '' && $host !== '' && self::inside($dir, $documentRoot)) {
            $urls[] = 'http://' . $host . '/' . ltrim(substr($dir, strlen(rtrim($documentRoot, '/'))), '/');
        }
        if (!$urls) {
            return array('state' => 'private', 'url' => '', 'detail' => 'outside the web root');
        }
        $token = bin2hex(function_exists('random_bytes') ? random_bytes(16) : md5(uniqid('', true), true));
        $probe = $dir . '/probe-' . $token . '.txt';
        if (@file_put_contents($probe, $token) === false) {
            return array('state' => 'unknown', 'url' => '', 'detail' => 'cannot write to ' . $dir);
        }
        $found = array('state' => 'private', 'url' => '', 'detail' => 'inside the web root, but not served');
        foreach ($urls as $url) {
            $ch = curl_init($url . '/' . basename($probe));
            curl_setopt_array($ch, array(CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT_MS => 3000,
                CURLOPT_CONNECTTIMEOUT_MS => 3000, CURLOPT_NOSIGNAL => true, CURLOPT_FOLLOWLOCATION => false));
            $body = curl_exec($ch);
            $status = (int)curl_getinfo($ch, CURLINFO_HTTP_CODE);
            curl_close($ch);
            if ($status === 200 && is_string($body) && strpos($body, $token) !== false) {
                $found = array('state' => 'reachable', 'url' => $url . '/', 'detail' => 'served over HTTP');
                break;
            }
        }
        @unlink($probe);
        return $found;
    }
}
