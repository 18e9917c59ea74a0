'use strict';

const path = require( 'path' );

// Bundles src/ into one browser script that load.php serves as the
// ext.popups.main module (see extension.json).
module.exports = ( env, argv ) => ( {
	entry: './src/index.js',
	output: {
		path: path.resolve( __dirname, 'resources/dist' ),
		filename: 'index.js',
		clean: true
	},
	target: [ 'web', 'es2017' ],
	devtool: argv.mode === 'production' ? false : 'source-map',
	performance: {
		// The bundle is served to every article page, so keep it small.
		maxAssetSize: 40 * 1024,
		maxEntrypointSize: 40 * 1024,
		hints: 'error'
	}
} );
