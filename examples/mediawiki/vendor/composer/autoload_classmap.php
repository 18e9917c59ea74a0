<?php

// Generated: classes outside any PSR-4 prefix.

$vendorDir = dirname( __DIR__ );

return [
	'TinyMarkdownLegacy' => $vendorDir . '/acme/tiny-markdown/legacy/TinyMarkdownLegacy.php',
];
