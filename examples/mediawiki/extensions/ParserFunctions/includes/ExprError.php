<?php

namespace ExampleWiki\Extension\ParserFunctions;

use RuntimeException;

class ExprError extends RuntimeException {
}
