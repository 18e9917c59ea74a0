<?php

use Example\TextDiff\Diff;
use Example\TextDiff\Op;
use PHPUnit\Framework\TestCase;

class DiffTest extends TestCase {
	public function testAddedLine(): void {
		$types = array_map( static fn ( Op $op ) => $op->type, Diff::lines( "a\nc", "a\nb\nc" ) );
		$this->assertSame( [ Op::COPY, Op::ADD, Op::COPY ], $types );
	}
}
