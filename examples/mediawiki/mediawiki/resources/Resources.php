<?php
/**
 * Module definitions for load.php. Keys are module names; "scripts" and
 * "styles" are paths relative to this directory.
 */

return [
	'startup' => [
		'scripts' => [ 'src/startup.js' ],
	],
	'mediawiki.base' => [
		'scripts' => [ 'src/mediawiki.base.js', 'lib/tiny-events/tiny-events.js' ],
		'styles' => [ 'src/mediawiki.base.css' ],
	],
	'mediawiki.api' => [
		'scripts' => [ 'src/mediawiki.api.js' ],
		'dependencies' => [ 'mediawiki.base' ],
	],
];
