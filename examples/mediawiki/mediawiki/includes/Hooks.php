<?php

namespace ExampleWiki;

/**
 * A minimal event system: extensions register callables by hook name,
 * and core runs them in registration order.
 */
class Hooks {
	/** @var array<string,callable[]> */
	private static array $handlers = [];

	public static function register( string $name, callable|string $handler ): void {
		self::$handlers[$name][] = $handler;
	}

	/**
	 * Run every handler of a hook. A handler that returns false stops the chain.
	 *
	 * @return bool false when a handler aborted the hook
	 */
	public static function run( string $name, array $args = [] ): bool {
		foreach ( self::$handlers[$name] ?? [] as $handler ) {
			if ( call_user_func_array( $handler, $args ) === false ) {
				return false;
			}
		}
		return true;
	}
}
