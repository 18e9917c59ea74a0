const MAX_EXTRACT_LENGTH = 280;

function message( key, fallback ) {
	return window.mw ? window.mw.msg( key ) : fallback;
}

function truncate( text ) {
	if ( text.length <= MAX_EXTRACT_LENGTH ) {
		return text;
	}
	const cut = text.lastIndexOf( ' ', MAX_EXTRACT_LENGTH );
	return text.slice( 0, cut > 0 ? cut : MAX_EXTRACT_LENGTH ) + '…';
}

/**
 * Build the preview card below the link and add it to the page.
 *
 * @param {Element} link
 * @param {{title: string, extract: string}} summary
 * @return {Element} the card
 */
export function renderPreview( link, summary ) {
	const card = document.createElement( 'div' );
	card.className = 'popups-preview';
	card.setAttribute( 'role', 'tooltip' );

	const heading = document.createElement( 'strong' );
	heading.textContent = summary.title;
	const body = document.createElement( 'p' );
	body.textContent = summary.extract ?
		truncate( summary.extract ) :
		message( 'popups-preview-no-preview', 'No preview available.' );
	const footer = document.createElement( 'a' );
	footer.href = link.href;
	footer.textContent = message( 'popups-preview-footer-read', 'Read' );
	card.append( heading, body, footer );

	const box = link.getBoundingClientRect();
	card.style.top = ( window.scrollY + box.bottom + 8 ) + 'px';
	card.style.left = ( window.scrollX + box.left ) + 'px';
	document.body.appendChild( card );
	return card;
}
