<?php

namespace ExampleWiki;

/**
 * Russian has three plural forms: one (1, 21, 31, ...), few (2-4, 22-24,
 * ...) and many (everything else).
 */
class LanguageRu extends Language {
	public function convertPlural( int $count, array $forms ): string {
		if ( count( $forms ) < 3 ) {
			return parent::convertPlural( $count, $forms );
		}
		$lastTwo = $count % 100;
		$last = $count % 10;
		if ( $last === 1 && $lastTwo !== 11 ) {
			return $forms[0];
		}
		if ( $last >= 2 && $last <= 4 && ( $lastTwo < 12 || $lastTwo > 14 ) ) {
			return $forms[1];
		}
		return $forms[2];
	}
}
