<?php

namespace ExampleWiki\Extension\ParserFunctions;

use ExampleWiki\Parser\Parser;

class Hooks {
	public static function onParserFirstCallInit( Parser $parser ): void {
		$parser->setFunctionHook( 'if', [ ParserFunctions::class, 'if' ] );
		$parser->setFunctionHook( 'ifeq', [ ParserFunctions::class, 'ifeq' ] );
		$parser->setFunctionHook( 'switch', [ ParserFunctions::class, 'switch' ] );
		$parser->setFunctionHook( 'expr', [ ParserFunctions::class, 'expr' ] );
	}
}
