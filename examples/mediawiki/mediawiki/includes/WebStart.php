<?php
/**
 * Common set-up for all web entry points.
 */

if ( !defined( 'EXAMPLE_WIKI_ENTRY' ) ) {
	exit( 1 );
}

define( 'EXAMPLE_WIKI_VERSION', '1.0.0-example' );
define( 'EXAMPLE_WIKI_INSTALL_PATH', dirname( __DIR__ ) );

require_once EXAMPLE_WIKI_INSTALL_PATH . '/vendor/autoload.php';
require_once __DIR__ . '/AutoLoader.php';
require_once __DIR__ . '/Setup.php';
