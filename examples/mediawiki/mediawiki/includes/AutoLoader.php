<?php
/**
 * Class autoloader for the ExampleWiki namespace.
 *
 * Maps ExampleWiki\Foo\Bar to includes/Foo/Bar.php. Extensions register
 * their own namespaces through the "AutoloadNamespaces" key of
 * extension.json.
 */

spl_autoload_register( static function ( string $class ): void {
	$prefix = 'ExampleWiki\\';
	if ( strncmp( $class, $prefix, strlen( $prefix ) ) !== 0 ) {
		return;
	}
	$relative = str_replace( '\\', '/', substr( $class, strlen( $prefix ) ) );
	$file = __DIR__ . '/' . $relative . '.php';
	if ( is_file( $file ) ) {
		require $file;
	}
} );
