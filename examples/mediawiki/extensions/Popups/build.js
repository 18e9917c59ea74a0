'use strict';

// Bundles src/ into resources/dist/index.js, the script of the
// ext.popups.main module (see extension.json), and checks the extension's
// configuration defaults on the way. src/index.js is the entry point: each
// module it imports comes first, in import order, without its import lines
// and export keywords, and the bundle runs in one function scope.

const fs = require( 'fs' );
const path = require( 'path' );
const isNumber = require( 'is-number' );

const sourceDir = path.join( __dirname, 'src' );
const outputDir = path.join( __dirname, 'resources', 'dist' );
const importLine = /^import\s+\{[^}]*\}\s+from\s+'\.\/([^']+)';\s*$/gm;

function readModule( name ) {
	return fs.readFileSync( path.join( sourceDir, name ), 'utf8' );
}

function stripModuleSyntax( text ) {
	return text.replace( importLine, '' ).replace( /^export\s+/gm, '' ).trim();
}

function checkConfig() {
	const extension = JSON.parse(
		fs.readFileSync( path.join( __dirname, 'extension.json' ), 'utf8' )
	);
	const delay = extension.config.PopupsDelay.value;
	if ( !isNumber( delay ) || delay < 0 ) {
		throw new Error( `extension.json: PopupsDelay must be a number of milliseconds, not ${ JSON.stringify( delay ) }` );
	}
}

function bundle() {
	const entry = readModule( 'index.js' );
	const imported = [ ...entry.matchAll( importLine ) ].map( ( match ) => match[ 1 ] );
	const parts = imported.map( ( name ) => `// src/${ name }\n${ stripModuleSyntax( readModule( name ) ) }` );
	parts.push( `// src/index.js\n${ stripModuleSyntax( entry ) }` );
	return `/* Built by build.js from src/; do not edit. */\n( function () {\n'use strict';\n\n${ parts.join( '\n\n' ) }\n}() );\n`;
}

checkConfig();
fs.mkdirSync( outputDir, { recursive: true } );
const output = path.join( outputDir, 'index.js' );
fs.writeFileSync( output, bundle() );
console.log( `wrote ${ path.relative( __dirname, output ) }` );
