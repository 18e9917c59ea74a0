/*!
 * tiny-events 0.3.1 (made-up library for the flense example)
 * A minimal event emitter: on, off, once, emit.
 */
( function ( root ) {
	'use strict';

	function Emitter() {
		this.listeners = Object.create( null );
	}

	Emitter.prototype.on = function ( name, fn ) {
		( this.listeners[ name ] = this.listeners[ name ] || [] ).push( fn );
		return this;
	};

	Emitter.prototype.off = function ( name, fn ) {
		var list = this.listeners[ name ] || [];
		this.listeners[ name ] = list.filter( function ( other ) {
			return other !== fn;
		} );
		return this;
	};

	Emitter.prototype.once = function ( name, fn ) {
		var self = this;
		function wrapper() {
			self.off( name, wrapper );
			fn.apply( self, arguments );
		}
		return this.on( name, wrapper );
	};

	Emitter.prototype.emit = function ( name ) {
		var args = Array.prototype.slice.call( arguments, 1 );
		( this.listeners[ name ] || [] ).slice().forEach( function ( fn ) {
			fn.apply( null, args );
		} );
		return this;
	};

	root.TinyEvents = Emitter;
}( this ) );
