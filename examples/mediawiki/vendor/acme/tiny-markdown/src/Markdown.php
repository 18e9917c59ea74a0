<?php

namespace Acme\TinyMarkdown;

/**
 * Renders paragraphs, "#" headings and inline emphasis. Input is escaped
 * before any markup is added, so raw HTML in the source never survives.
 */
final class Markdown {
	public function render( string $source ): string {
		$blocks = preg_split( '/\\n{2,}/', trim( str_replace( "\r\n", "\n", $source ) ) );
		$html = [];
		foreach ( $blocks as $block ) {
			$html[] = $this->renderBlock( $block );
		}
		return implode( "\n", $html );
	}

	private function renderBlock( string $block ): string {
		if ( preg_match( '/^(#{1,6})\\s+(.*)$/', $block, $m ) ) {
			$level = strlen( $m[1] );
			return "<h$level>" . Inline::render( $m[2] ) . "</h$level>";
		}
		return '<p>' . Inline::render( $block ) . '</p>';
	}
}
