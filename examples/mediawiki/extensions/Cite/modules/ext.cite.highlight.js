/**
 * Highlights the footnote marker that the reader came from when they follow
 * a backlink from the reference list.
 */
( function () {
	'use strict';

	document.addEventListener( 'click', function ( event ) {
		var link = event.target.closest( 'ol.references a[href^="#cite-ref-"]' );
		if ( !link ) {
			return;
		}
		var marker = document.getElementById( link.getAttribute( 'href' ).slice( 1 ) );
		if ( marker ) {
			marker.classList.add( 'mw-cite-targeted-backlink' );
			setTimeout( function () {
				marker.classList.remove( 'mw-cite-targeted-backlink' );
			}, 2000 );
		}
	} );
}() );
