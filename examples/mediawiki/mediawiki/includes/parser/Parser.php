<?php

namespace ExampleWiki\Parser;

use ExampleWiki\Hooks;
use ExampleWiki\Html;
use ExampleWiki\Title;

/**
 * Turns a small subset of wikitext into HTML: headings, bold and italic
 * quotes, internal links and parser functions registered by extensions.
 */
class Parser {
	/** @var array<string,callable> parser functions by name, without the leading '#' */
	private array $functions = [];

	public function __construct() {
		Hooks::run( 'ParserFirstCallInit', [ $this ] );
	}

	public function setFunctionHook( string $name, callable $callback ): void {
		$this->functions[strtolower( $name )] = $callback;
	}

	public function parse( string $text ): string {
		$text = $this->expandFunctions( $text );
		$text = preg_replace( '/^(={2,6})\\s*(.+?)\\s*\\1\\s*$/m', '<h2>$2</h2>', $text );
		$text = preg_replace( "/'''(.+?)'''/", '<b>$1</b>', $text );
		$text = preg_replace( "/''(.+?)''/", '<i>$1</i>', $text );
		return preg_replace_callback( '/\\[\\[([^|\\]]+)(?:\\|([^\\]]+))?\\]\\]/', [ $this, 'renderLink' ], $text );
	}

	private function expandFunctions( string $text ): string {
		return preg_replace_callback( '/\\{\\{#(\\w+):([^}]*)\\}\\}/', function ( array $m ): string {
			$callback = $this->functions[strtolower( $m[1] )] ?? null;
			if ( $callback === null ) {
				return $m[0];
			}
			return (string)$callback( $this, ...array_map( 'trim', explode( '|', $m[2] ) ) );
		}, $text );
	}

	private function renderLink( array $m ): string {
		$title = Title::newFromText( $m[1] );
		if ( $title === null ) {
			return htmlspecialchars( $m[0] );
		}
		return Html::element( 'a', [ 'href' => $title->getUrlPath() ], $m[2] ?? $title->getPrefixedText() );
	}
}
