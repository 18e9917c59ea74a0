import { createPreviewController } from './controller.js';
import { fetchSummary } from './gateway.js';
import { renderPreview } from './renderer.js';

/**
 * Entry point: watch links in the article body and show a preview card
 * after the reader has hovered one for the configured delay.
 */
const delay = window.mw ? window.mw.config.get( 'wgPopupsDelay', 500 ) : 500;
const controller = createPreviewController( {
	delay,
	fetch: fetchSummary,
	render: renderPreview
} );

document.addEventListener( 'mouseover', ( event ) => {
	const link = event.target.closest && event.target.closest( '#content a[href^="/wiki/"]' );
	if ( link ) {
		controller.hover( link );
	}
} );

document.addEventListener( 'mouseout', ( event ) => {
	if ( event.target.closest && event.target.closest( '#content a[href^="/wiki/"]' ) ) {
		controller.leave();
	}
} );
