/**
 * The global `mw` object: configuration, messages and a module registry.
 */
( function () {
	'use strict';

	var config = new Map();
	var messages = new Map();
	var modules = new Map();

	function Message( key, params ) {
		this.key = key;
		this.params = params || [];
	}

	Message.prototype.text = function () {
		var text = messages.has( this.key ) ? messages.get( this.key ) : '⧼' + this.key + '⧽';
		return this.params.reduce( function ( result, param, index ) {
			return result.split( '$' + ( index + 1 ) ).join( String( param ) );
		}, text );
	};

	window.mw = {
		config: {
			get: function ( key, fallback ) {
				return config.has( key ) ? config.get( key ) : fallback;
			},
			set: function ( key, value ) {
				config.set( key, value );
			}
		},
		messages: {
			set: function ( values ) {
				Object.keys( values ).forEach( function ( key ) {
					messages.set( key, values[ key ] );
				} );
			}
		},
		message: function ( key ) {
			return new Message( key, Array.prototype.slice.call( arguments, 1 ) );
		},
		msg: function () {
			return window.mw.message.apply( null, arguments ).text();
		},
		loader: {
			implement: function ( name, fn ) {
				modules.set( name, { state: 'ready', exports: fn() } );
			},
			getState: function ( name ) {
				return modules.has( name ) ? modules.get( name ).state : null;
			}
		}
	};
}() );
