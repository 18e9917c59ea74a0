/**
 * Small promise-based client for api.php.
 */
( function () {
	'use strict';

	function Api( options ) {
		this.url = ( options && options.url ) || '/api.php';
	}

	Api.prototype.get = function ( params ) {
		var query = new URLSearchParams( Object.assign( { format: 'json' }, params ) );
		return fetch( this.url + '?' + query.toString(), { credentials: 'same-origin' } )
			.then( function ( response ) {
				if ( !response.ok ) {
					throw new Error( 'api.php returned HTTP ' + response.status );
				}
				return response.json();
			} );
	};

	window.mw.Api = Api;
}() );
