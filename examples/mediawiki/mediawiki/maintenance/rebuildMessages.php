<?php
/**
 * Rebuild the message cache from languages/i18n and every extension's i18n
 * directory.
 */

define( 'EXAMPLE_WIKI_ENTRY', 'cli' );
require __DIR__ . '/../includes/WebStart.php';

$count = 0;
foreach ( glob( EXAMPLE_WIKI_INSTALL_PATH . '/{languages,extensions/*,skins/*}/i18n/*.json', GLOB_BRACE ) as $file ) {
	$count += count( json_decode( file_get_contents( $file ), true ) ?: [] );
}
echo "Read $count messages.\n";
