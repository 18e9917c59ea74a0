<?php

namespace ExampleWiki;

use RuntimeException;

/**
 * Registry of loaded extensions and skins, filled from their JSON manifests.
 */
class ExtensionRegistry {
	private static ?self $instance = null;

	/** @var array<string,array> manifest contents by extension name */
	private array $loaded = [];

	public static function singleton(): self {
		self::$instance ??= new self();
		return self::$instance;
	}

	public function load( string $path ): void {
		$json = file_get_contents( $path );
		if ( $json === false ) {
			throw new RuntimeException( "Extension manifest not found: $path" );
		}
		$info = json_decode( $json, true, 32, JSON_THROW_ON_ERROR );
		$this->loaded[$info['name']] = $info;
		foreach ( $info['Hooks'] ?? [] as $hook => $handler ) {
			Hooks::register( $hook, $handler );
		}
	}

	public function isLoaded( string $name ): bool {
		return isset( $this->loaded[$name] );
	}

	/** @return string[] */
	public function getNames(): array {
		return array_keys( $this->loaded );
	}
}
