<?php

// Generated: versions of the installed libraries, for runtime checks.

return [
	'root' => [ 'name' => 'example/wiki-vendor', 'version' => '1.0.0', 'dev' => false ],
	'versions' => [
		'acme/tiny-markdown' => [ 'version' => '1.2.3', 'install_path' => __DIR__ . '/../acme/tiny-markdown' ],
		'example/text-diff' => [ 'version' => '3.0.1', 'install_path' => __DIR__ . '/../example/text-diff' ],
	],
];
