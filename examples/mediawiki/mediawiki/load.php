<?php
/**
 * Entry point that serves bundled JavaScript and CSS modules.
 *
 * The module list comes from resources/Resources.php and from the
 * "ResourceModules" section of every loaded extension.json or skin.json.
 */

define( 'EXAMPLE_WIKI_ENTRY', 'load' );

require __DIR__ . '/includes/WebStart.php';

$registry = require __DIR__ . '/resources/Resources.php';
$request = ExampleWiki\WebRequest::fromGlobals();
$names = array_filter( explode( '|', $request->getText( 'modules', '' ) ) );

header( 'Content-Type: text/javascript; charset=utf-8' );
foreach ( $names as $name ) {
	if ( !isset( $registry[$name] ) ) {
		echo "/* unknown module: " . addcslashes( $name, "*/" ) . " */\n";
		continue;
	}
	foreach ( $registry[$name]['scripts'] ?? [] as $file ) {
		readfile( __DIR__ . '/resources/' . $file );
	}
}
