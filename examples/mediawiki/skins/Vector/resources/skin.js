/**
 * Vector: collapse the sidebar on narrow screens and remember the choice.
 */
( function () {
	'use strict';

	var key = 'vector-sidebar-collapsed';
	var root = document.documentElement;

	if ( window.localStorage && window.localStorage.getItem( key ) === '1' ) {
		root.classList.add( 'vector-sidebar-collapsed' );
	}

	document.addEventListener( 'click', function ( event ) {
		if ( !event.target.closest( '.vector-sidebar-toggle' ) ) {
			return;
		}
		var collapsed = root.classList.toggle( 'vector-sidebar-collapsed' );
		if ( window.localStorage ) {
			window.localStorage.setItem( key, collapsed ? '1' : '0' );
		}
	} );
}() );
