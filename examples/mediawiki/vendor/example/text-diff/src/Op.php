<?php

namespace Example\TextDiff;

final class Op {
	public const COPY = 'copy';
	public const ADD = 'add';
	public const DELETE = 'delete';

	public function __construct( public readonly string $type, public readonly string $line ) {
	}
}
