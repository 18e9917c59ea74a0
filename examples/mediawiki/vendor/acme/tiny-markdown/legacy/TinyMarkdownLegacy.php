<?php

/**
 * Global-namespace wrapper kept for callers of the 0.x API.
 *
 * @deprecated since 1.0, use Acme\TinyMarkdown\Markdown
 */
class TinyMarkdownLegacy {
	public static function parse( string $source ): string {
		return ( new Acme\TinyMarkdown\Markdown() )->render( $source );
	}
}
