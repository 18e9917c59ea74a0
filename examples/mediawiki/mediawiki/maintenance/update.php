<?php
/**
 * Bring the database schema up to date. Run through maintenance/run.sh.
 */

define( 'EXAMPLE_WIKI_ENTRY', 'cli' );
require __DIR__ . '/../includes/WebStart.php';

$quick = in_array( '--quick', $argv, true );
if ( !$quick ) {
	fwrite( STDERR, "Updating the schema in 5 seconds; press Ctrl-C to stop.\n" );
	sleep( 5 );
}

foreach ( glob( __DIR__ . '/schema/*.sql' ) as $patch ) {
	echo 'Applying ' . basename( $patch ) . "\n";
}
echo "Done.\n";
