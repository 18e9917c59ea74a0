<?php

namespace ExampleWiki;

/**
 * Per-language rules: text direction, digit transforms and plural forms.
 * Language codes follow BCP 47, lower case.
 */
class Language {
	private const RTL = [ 'ar', 'fa', 'he', 'ur' ];

	public function __construct( private string $code ) {
	}

	public static function factory( string $code ): self {
		$class = __NAMESPACE__ . '\\Language' . ucfirst( str_replace( '-', '_', $code ) );
		return class_exists( $class ) ? new $class( $code ) : new self( $code );
	}

	public function getCode(): string {
		return $this->code;
	}

	public function isRTL(): bool {
		return in_array( $this->code, self::RTL, true );
	}

	/**
	 * Pick the plural form for $count. The base rule has two forms
	 * (one, other); languages with more forms override this.
	 */
	public function convertPlural( int $count, array $forms ): string {
		if ( $forms === [] ) {
			return '';
		}
		return $count === 1 ? $forms[0] : ( $forms[1] ?? $forms[0] );
	}

	public function formatNum( int|float $number ): string {
		return number_format( $number, is_int( $number ) ? 0 : 2 );
	}
}
