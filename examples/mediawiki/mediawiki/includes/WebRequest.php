<?php

namespace ExampleWiki;

/**
 * Read-only view of the query string and form data of one request.
 */
class WebRequest {
	public function __construct( private array $data ) {
	}

	public static function fromGlobals(): self {
		return new self( $_POST + $_GET );
	}

	public function getText( string $name, string $default = '' ): string {
		$value = $this->data[$name] ?? $default;
		return is_string( $value ) ? str_replace( "\r\n", "\n", $value ) : $default;
	}

	public function getInt( string $name, int $default = 0 ): int {
		return isset( $this->data[$name] ) ? (int)$this->data[$name] : $default;
	}
}
