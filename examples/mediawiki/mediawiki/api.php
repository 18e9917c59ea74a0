<?php
/**
 * Entry point for the example wiki's JSON API.
 */

define( 'EXAMPLE_WIKI_ENTRY', 'api' );

require __DIR__ . '/includes/WebStart.php';

header( 'Content-Type: application/json; charset=utf-8' );

$request = ExampleWiki\WebRequest::fromGlobals();
$module = $request->getText( 'action', 'help' );

$result = [
	'action' => $module,
	'servedby' => gethostname(),
	'version' => EXAMPLE_WIKI_VERSION,
];
echo json_encode( $result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
