/**
 * Fetch a short plain-text summary of a page from api.php.
 *
 * @param {string} title page title with underscores
 * @return {Promise<{title: string, extract: string}>}
 */
export function fetchSummary( title ) {
	const query = new URLSearchParams( {
		action: 'query',
		prop: 'extracts',
		exintro: '1',
		explaintext: '1',
		titles: title,
		format: 'json'
	} );
	return fetch( '/api.php?' + query.toString() )
		.then( ( response ) => response.json() )
		.then( ( data ) => {
			const pages = Object.values( ( data.query && data.query.pages ) || {} );
			const page = pages[ 0 ] || {};
			return { title: page.title || title.replace( /_/g, ' ' ), extract: page.extract || '' };
		} );
}
