<?php
/**
 * Web entry point for page views in the example wiki.
 *
 * Loads the environment, resolves the requested title and hands the
 * request to the action that matches the "action" query parameter.
 */

define( 'EXAMPLE_WIKI_ENTRY', 'index' );

require __DIR__ . '/includes/WebStart.php';

$request = ExampleWiki\WebRequest::fromGlobals();
$title = ExampleWiki\Title::newFromText( $request->getText( 'title', 'Main Page' ) );

if ( $title === null ) {
	http_response_code( 400 );
	echo ExampleWiki\Html::errorBox( ExampleWiki\Message::get( 'badtitletext' ) );
	return;
}

$action = $request->getText( 'action', 'view' );
$output = ExampleWiki\Hooks::run( 'BeforeAction', [ $title, $action ] );
echo ExampleWiki\Html::page( $title, $output );
