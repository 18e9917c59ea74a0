<?php

namespace ExampleWiki;

/**
 * A page name, normalised: underscores become spaces, the first letter is
 * upper case, and a namespace prefix is split off.
 */
class Title {
	public const NS_MAIN = 0;
	public const NS_USER = 2;
	public const NS_TEMPLATE = 10;
	public const NS_CATEGORY = 14;

	private const PREFIXES = [
		'User' => self::NS_USER,
		'Template' => self::NS_TEMPLATE,
		'Category' => self::NS_CATEGORY,
	];

	private function __construct(
		private int $namespace,
		private string $text
	) {
	}

	public static function newFromText( string $text ): ?self {
		$text = trim( str_replace( '_', ' ', $text ) );
		if ( $text === '' || preg_match( '/[#<>\\[\\]|{}]/', $text ) ) {
			return null;
		}
		$namespace = self::NS_MAIN;
		$colon = strpos( $text, ':' );
		if ( $colon !== false && isset( self::PREFIXES[substr( $text, 0, $colon )] ) ) {
			$namespace = self::PREFIXES[substr( $text, 0, $colon )];
			$text = ltrim( substr( $text, $colon + 1 ) );
		}
		return new self( $namespace, mb_strtoupper( mb_substr( $text, 0, 1 ) ) . mb_substr( $text, 1 ) );
	}

	public function getNamespace(): int {
		return $this->namespace;
	}

	public function getText(): string {
		return $this->text;
	}

	public function getPrefixedText(): string {
		$prefix = array_search( $this->namespace, self::PREFIXES, true );
		return $prefix === false ? $this->text : "$prefix:{$this->text}";
	}

	public function getUrlPath(): string {
		return '/wiki/' . rawurlencode( str_replace( ' ', '_', $this->getPrefixedText() ) );
	}
}
