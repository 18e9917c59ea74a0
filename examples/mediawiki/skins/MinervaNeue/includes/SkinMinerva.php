<?php

namespace ExampleWiki\Skins\MinervaNeue;

use ExampleWiki\Html;
use ExampleWiki\Title;

class SkinMinerva {
	public function __construct( private array $options ) {
	}

	public function getName(): string {
		return $this->options['name'];
	}

	/**
	 * Wrap the page HTML in the skin's header, content area and footer.
	 */
	public function render( Title $title, string $contentHtml ): string {
		$logo = Html::rawElement( 'a', [ 'class' => 'mw-logo', 'href' => '/' ],
			Html::element( 'img', [ 'src' => '/skins/MinervaNeue/resources/logo.svg', 'alt' => '' ] ) );
		$heading = Html::element( 'h1', [ 'id' => 'firstHeading' ], $title->getPrefixedText() );
		$content = Html::rawElement( 'main', [ 'id' => 'content' ], $heading . $contentHtml );
		return Html::rawElement( 'div', [ 'class' => 'skin-minervaneue' ], $logo . $content );
	}
}
