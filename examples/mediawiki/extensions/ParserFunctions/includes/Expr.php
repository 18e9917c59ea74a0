<?php

namespace ExampleWiki\Extension\ParserFunctions;

/**
 * Evaluates arithmetic with + - * / mod, unary minus and parentheses, by
 * recursive descent. Precedence: unary minus, then * / mod, then + -.
 */
class Expr {
	private array $tokens = [];
	private int $position = 0;

	public function evaluate( string $expression ): string {
		preg_match_all( '/\\d+(?:\\.\\d+)?|mod|[-+*\/()]|\\S/', strtolower( $expression ), $matches );
		$this->tokens = $matches[0];
		$this->position = 0;
		if ( $this->tokens === [] ) {
			return '';
		}
		$value = $this->sum();
		if ( $this->position < count( $this->tokens ) ) {
			throw new ExprError( "Unexpected \"{$this->tokens[$this->position]}\" in expression" );
		}
		return (string)( floor( $value ) == $value ? (int)$value : round( $value, 10 ) );
	}

	private function sum(): float {
		$value = $this->product();
		while ( in_array( $this->peek(), [ '+', '-' ], true ) ) {
			$operator = $this->tokens[$this->position++];
			$right = $this->product();
			$value = $operator === '+' ? $value + $right : $value - $right;
		}
		return $value;
	}

	private function product(): float {
		$value = $this->unary();
		while ( in_array( $this->peek(), [ '*', '/', 'mod' ], true ) ) {
			$operator = $this->tokens[$this->position++];
			$right = $this->unary();
			if ( $operator !== '*' && $right == 0 ) {
				throw new ExprError( 'Division by zero' );
			}
			$value = match ( $operator ) {
				'*' => $value * $right,
				'/' => $value / $right,
				'mod' => fmod( $value, $right ),
			};
		}
		return $value;
	}

	private function unary(): float {
		if ( $this->peek() === '-' ) {
			$this->position++;
			return -$this->unary();
		}
		if ( $this->peek() === '(' ) {
			$this->position++;
			$value = $this->sum();
			if ( $this->peek() !== ')' ) {
				throw new ExprError( 'Missing closing parenthesis' );
			}
			$this->position++;
			return $value;
		}
		$token = $this->tokens[$this->position++] ?? null;
		if ( $token === null || !is_numeric( $token ) ) {
			throw new ExprError( 'Expected a number' );
		}
		return (float)$token;
	}

	private function peek(): ?string {
		return $this->tokens[$this->position] ?? null;
	}
}
