<?php

use ExampleWiki\Title;
use PHPUnit\Framework\TestCase;

class TitleTest extends TestCase {
	public static function provideNames(): array {
		return [
			'underscores' => [ 'Main_Page', 'Main Page' ],
			'first letter' => [ 'example', 'Example' ],
			'namespace' => [ 'User:alice', 'User:Alice' ],
			'non-ASCII first letter' => [ 'über', 'Über' ],
		];
	}

	/** @dataProvider provideNames */
	public function testNormalise( string $input, string $expected ): void {
		$this->assertSame( $expected, Title::newFromText( $input )->getPrefixedText() );
	}

	public function testInvalid(): void {
		$this->assertNull( Title::newFromText( 'a[b]' ) );
	}
}
