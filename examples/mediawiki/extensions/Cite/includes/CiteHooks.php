<?php

namespace ExampleWiki\Extension\Cite;

use ExampleWiki\Parser\Parser;

class CiteHooks {
	public static function onParserFirstCallInit( Parser $parser ): void {
		$cite = new Cite();
		$parser->setFunctionHook( 'ref', [ $cite, 'ref' ] );
		$parser->setFunctionHook( 'references', [ $cite, 'references' ] );
	}
}
