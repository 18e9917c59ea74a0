<?php

namespace ExampleWiki\Extension\Popups;

class PopupsHooks {
	/**
	 * Add the preview module to article pages for readers who did not turn
	 * previews off in their preferences.
	 */
	public static function onBeforePageDisplay( $out, $skin ): void {
		if ( $out->getTitle()->getNamespace() !== 0 || $out->getUser()->getOption( 'popups-disable' ) ) {
			return;
		}
		$out->addModules( 'ext.popups.main' );
	}
}
