<?php
/**
 * Sample site configuration. Copy to LocalSettings.php and edit.
 */

$wgSitename = 'Example Wiki';
$wgServer = 'http://localhost:8080';
$wgScriptPath = '';
$wgLanguageCode = 'en';

$wgDBtype = 'sqlite';
$wgDBname = 'examplewiki';
$wgSQLiteDataDir = '/var/lib/examplewiki';

$wgCacheDirectory = __DIR__ . '/cache';
$wgDefaultSkin = 'vector';

wfLoadSkins( [ 'Vector', 'MinervaNeue' ] );
wfLoadExtensions( [ 'Cite', 'ParserFunctions', 'Popups' ] );
