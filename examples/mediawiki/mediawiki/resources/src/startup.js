/**
 * First script on every page: decides whether the browser gets the modern
 * JavaScript experience, then asks load.php for the base modules.
 */
( function () {
	'use strict';

	function isCapable() {
		return 'Promise' in window && 'fetch' in window && 'IntersectionObserver' in window;
	}

	if ( !isCapable() ) {
		document.documentElement.className = document.documentElement.className.replace( /(^|\s)client-js(\s|$)/, '$1client-nojs$2' );
		return;
	}

	var script = document.createElement( 'script' );
	script.src = '/load.php?modules=mediawiki.base|mediawiki.api';
	script.async = true;
	document.head.appendChild( script );
}() );
