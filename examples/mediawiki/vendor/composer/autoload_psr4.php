<?php

// Generated: namespace prefix => directories.

$vendorDir = dirname( __DIR__ );

return [
	'Acme\\TinyMarkdown\\' => [ $vendorDir . '/acme/tiny-markdown/src' ],
	'Example\\TextDiff\\' => [ $vendorDir . '/example/text-diff/src' ],
];
