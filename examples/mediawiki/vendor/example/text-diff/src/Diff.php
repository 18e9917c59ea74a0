<?php

namespace Example\TextDiff;

/**
 * Line diff by longest common subsequence. Memory is O(n*m) in the number
 * of lines, which suits page revisions of a few thousand lines.
 */
final class Diff {
	/** @return Op[] */
	public static function lines( string $old, string $new ): array {
		$a = explode( "\n", $old );
		$b = explode( "\n", $new );
		$n = count( $a );
		$m = count( $b );
		$lcs = array_fill( 0, $n + 1, array_fill( 0, $m + 1, 0 ) );
		for ( $i = $n - 1; $i >= 0; $i-- ) {
			for ( $j = $m - 1; $j >= 0; $j-- ) {
				$lcs[$i][$j] = $a[$i] === $b[$j]
					? $lcs[$i + 1][$j + 1] + 1
					: max( $lcs[$i + 1][$j], $lcs[$i][$j + 1] );
			}
		}

		$ops = [];
		$i = 0;
		$j = 0;
		while ( $i < $n && $j < $m ) {
			if ( $a[$i] === $b[$j] ) {
				$ops[] = new Op( Op::COPY, $a[$i++] );
				$j++;
			} elseif ( $lcs[$i + 1][$j] >= $lcs[$i][$j + 1] ) {
				$ops[] = new Op( Op::DELETE, $a[$i++] );
			} else {
				$ops[] = new Op( Op::ADD, $b[$j++] );
			}
		}
		while ( $i < $n ) {
			$ops[] = new Op( Op::DELETE, $a[$i++] );
		}
		while ( $j < $m ) {
			$ops[] = new Op( Op::ADD, $b[$j++] );
		}
		return $ops;
	}
}
