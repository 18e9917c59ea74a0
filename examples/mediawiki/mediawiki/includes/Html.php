<?php

namespace ExampleWiki;

/**
 * Helpers that build escaped HTML fragments.
 */
class Html {
	public static function element( string $tag, array $attributes = [], string $text = '' ): string {
		return self::rawElement( $tag, $attributes, htmlspecialchars( $text, ENT_QUOTES ) );
	}

	public static function rawElement( string $tag, array $attributes, string $html ): string {
		$attributeText = '';
		foreach ( $attributes as $name => $value ) {
			$attributeText .= ' ' . $name . '="' . htmlspecialchars( (string)$value, ENT_QUOTES ) . '"';
		}
		return "<$tag$attributeText>$html</$tag>";
	}

	public static function errorBox( string $message ): string {
		return self::element( 'div', [ 'class' => 'errorbox', 'role' => 'alert' ], $message );
	}

	public static function page( Title $title, bool $ok ): string {
		$heading = self::element( 'h1', [ 'id' => 'firstHeading' ], $title->getPrefixedText() );
		$body = $ok ? '' : self::errorBox( Message::get( 'actionthrottledtext' ) );
		return "<!DOCTYPE html>\n<html><body>$heading$body</body></html>\n";
	}
}
