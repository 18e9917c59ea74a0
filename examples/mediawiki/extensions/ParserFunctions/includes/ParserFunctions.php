<?php

namespace ExampleWiki\Extension\ParserFunctions;

use ExampleWiki\Parser\Parser;

class ParserFunctions {
	public static function if( Parser $parser, string $test = '', string $then = '', string $else = '' ): string {
		return trim( $test ) !== '' ? $then : $else;
	}

	public static function ifeq( Parser $parser, string $left = '', string $right = '', string $then = '', string $else = '' ): string {
		if ( is_numeric( $left ) && is_numeric( $right ) ) {
			return (float)$left === (float)$right ? $then : $else;
		}
		return $left === $right ? $then : $else;
	}

	/**
	 * {{#switch: value | case1 = result1 | case2 = result2 | #default = other}}
	 * A case without "=" falls through to the next case that has a result.
	 */
	public static function switch( Parser $parser, string $value = '', string ...$cases ): string {
		$default = '';
		$matched = false;
		foreach ( $cases as $case ) {
			$parts = explode( '=', $case, 2 );
			$key = trim( $parts[0] );
			if ( count( $parts ) === 1 ) {
				$matched = $matched || $key === $value;
				continue;
			}
			if ( $matched || $key === $value ) {
				return trim( $parts[1] );
			}
			if ( $key === '#default' ) {
				$default = trim( $parts[1] );
			}
		}
		return $default;
	}

	public static function expr( Parser $parser, string $expression = '' ): string {
		try {
			return ( new Expr() )->evaluate( $expression );
		} catch ( ExprError $error ) {
			return '<strong class="error">' . htmlspecialchars( $error->getMessage() ) . '</strong>';
		}
	}
}
