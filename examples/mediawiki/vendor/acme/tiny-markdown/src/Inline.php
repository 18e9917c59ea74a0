<?php

namespace Acme\TinyMarkdown;

final class Inline {
	public static function render( string $text ): string {
		$text = htmlspecialchars( $text, ENT_QUOTES );
		$text = preg_replace( '/\\*\\*(.+?)\\*\\*/', '<strong>$1</strong>', $text );
		$text = preg_replace( '/\\*(.+?)\\*/', '<em>$1</em>', $text );
		return preg_replace( '/`(.+?)`/', '<code>$1</code>', $text );
	}
}
