<?php

namespace ExampleWiki\Extension\Cite;

use ExampleWiki\Html;
use ExampleWiki\Parser\Parser;

/**
 * Collects footnotes while a page is parsed and renders them as an ordered
 * list where {{#references:}} appears. Named footnotes are numbered once and
 * every later use links back to the same entry.
 */
class Cite {
	/** @var array<int,array{text:string,name:?string,uses:int}> */
	private array $notes = [];
	/** @var array<string,int> note index by name */
	private array $names = [];

	public function ref( Parser $parser, string $text, string $name = '' ): string {
		if ( $name !== '' && isset( $this->names[$name] ) ) {
			$index = $this->names[$name];
			$this->notes[$index]['uses']++;
		} else {
			$index = count( $this->notes ) + 1;
			$this->notes[$index] = [ 'text' => $text, 'name' => $name ?: null, 'uses' => 1 ];
			if ( $name !== '' ) {
				$this->names[$name] = $index;
			}
		}
		$link = Html::element( 'a', [ 'href' => "#cite-note-$index" ], "[$index]" );
		return Html::rawElement( 'sup', [ 'class' => 'reference', 'id' => "cite-ref-$index" ], $link );
	}

	public function references( Parser $parser ): string {
		$items = '';
		foreach ( $this->notes as $index => $note ) {
			$backlink = Html::element( 'a', [ 'href' => "#cite-ref-$index" ], '↑' );
			$items .= Html::rawElement( 'li', [ 'id' => "cite-note-$index" ], $backlink . ' ' . htmlspecialchars( $note['text'] ) );
		}
		$this->notes = [];
		$this->names = [];
		return Html::rawElement( 'ol', [ 'class' => 'references' ], $items );
	}
}
