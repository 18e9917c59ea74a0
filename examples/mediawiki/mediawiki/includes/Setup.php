<?php
/**
 * Reads LocalSettings.php and loads the configured extensions and skins.
 */

namespace ExampleWiki;

$settingsFile = EXAMPLE_WIKI_INSTALL_PATH . '/LocalSettings.php';
if ( !is_readable( $settingsFile ) ) {
	http_response_code( 500 );
	echo 'LocalSettings.php not found: copy LocalSettings.example.php and edit it.';
	exit( 1 );
}

$extensionQueue = [];

function wfLoadExtensions( array $names ): void {
	global $extensionQueue;
	foreach ( $names as $name ) {
		$extensionQueue[] = EXAMPLE_WIKI_INSTALL_PATH . "/extensions/$name/extension.json";
	}
}

function wfLoadSkins( array $names ): void {
	global $extensionQueue;
	foreach ( $names as $name ) {
		$extensionQueue[] = EXAMPLE_WIKI_INSTALL_PATH . "/skins/$name/skin.json";
	}
}

require $settingsFile;

foreach ( $extensionQueue as $manifest ) {
	ExtensionRegistry::singleton()->load( $manifest );
}
