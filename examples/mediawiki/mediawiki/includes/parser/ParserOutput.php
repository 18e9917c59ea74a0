<?php

namespace ExampleWiki\Parser;

/**
 * The result of parsing one page: HTML plus the modules and categories
 * that the page asked for.
 */
class ParserOutput {
	private array $modules = [];
	private array $categories = [];

	public function __construct( private string $html ) {
	}

	public function getText(): string {
		return $this->html;
	}

	public function addModules( string ...$names ): void {
		array_push( $this->modules, ...$names );
	}

	public function getModules(): array {
		return array_values( array_unique( $this->modules ) );
	}

	public function addCategory( string $name ): void {
		$this->categories[$name] = true;
	}

	public function getCategories(): array {
		return array_keys( $this->categories );
	}
}
