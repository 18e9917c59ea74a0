<?php

namespace ExampleWiki;

/**
 * Looks up interface messages in languages/i18n/<code>.json, falling back
 * to English when a key is missing in the user's language.
 */
class Message {
	/** @var array<string,array<string,string>> */
	private static array $cache = [];

	public static function get( string $key, string $language = 'en', string ...$params ): string {
		$text = self::load( $language )[$key] ?? self::load( 'en' )[$key] ?? "⧼{$key}⧽";
		foreach ( $params as $i => $param ) {
			$text = str_replace( '$' . ( $i + 1 ), $param, $text );
		}
		return $text;
	}

	private static function load( string $language ): array {
		if ( !isset( self::$cache[$language] ) ) {
			$file = EXAMPLE_WIKI_INSTALL_PATH . "/languages/i18n/$language.json";
			$json = is_readable( $file ) ? file_get_contents( $file ) : '{}';
			self::$cache[$language] = json_decode( $json, true ) ?: [];
		}
		return self::$cache[$language];
	}
}
