<?php

namespace ExampleComposer;

/**
 * PSR-4 and class-map autoloader for the example's vendor directory.
 */
final class ClassLoader {
	/**
	 * @param array<string,string[]> $prefixes namespace prefix => directories
	 * @param array<string,string> $classMap class name => file
	 */
	private function __construct( private array $prefixes, private array $classMap ) {
		krsort( $this->prefixes );
	}

	public static function register( array $prefixes, array $classMap ): self {
		$loader = new self( $prefixes, $classMap );
		spl_autoload_register( [ $loader, 'load' ], true, true );
		return $loader;
	}

	public function load( string $class ): void {
		$file = $this->classMap[$class] ?? $this->findPsr4( $class );
		if ( $file !== null ) {
			require $file;
		}
	}

	private function findPsr4( string $class ): ?string {
		foreach ( $this->prefixes as $prefix => $directories ) {
			if ( !str_starts_with( $class, $prefix ) ) {
				continue;
			}
			$relative = str_replace( '\\', '/', substr( $class, strlen( $prefix ) ) ) . '.php';
			foreach ( $directories as $directory ) {
				if ( is_file( "$directory/$relative" ) ) {
					return "$directory/$relative";
				}
			}
		}
		return null;
	}
}
