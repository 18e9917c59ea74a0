/**
 * Tracks the hovered link and makes sure only the latest hover shows a
 * preview: a response for a link the reader has already left is dropped.
 *
 * @param {Object} options
 * @param {number} options.delay milliseconds before fetching
 * @param {function(string): Promise<Object>} options.fetch
 * @param {function(Element, Object): Element} options.render
 * @return {{hover: function(Element), leave: function()}}
 */
export function createPreviewController( options ) {
	let token = 0;
	let timer = null;
	let card = null;

	function leave() {
		token++;
		clearTimeout( timer );
		if ( card ) {
			card.remove();
			card = null;
		}
	}

	function hover( link ) {
		leave();
		const current = token;
		timer = setTimeout( () => {
			options.fetch( decodeURIComponent( link.pathname.slice( '/wiki/'.length ) ) )
				.then( ( summary ) => {
					if ( current === token ) {
						card = options.render( link, summary );
					}
				} )
				.catch( () => {} );
		}, options.delay );
	}

	return { hover, leave };
}
