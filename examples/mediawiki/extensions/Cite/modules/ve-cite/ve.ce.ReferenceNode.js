/**
 * Editing-surface view of a footnote marker (made-up visual editor plugin).
 */
( function () {
	'use strict';

	function ReferenceNode( model ) {
		this.model = model;
		this.element = document.createElement( 'sup' );
		this.element.className = 've-ce-referenceNode';
		this.update();
	}

	ReferenceNode.prototype.update = function () {
		this.element.textContent = '[' + this.model.getIndexLabel() + ']';
	};

	window.ve = window.ve || {};
	window.ve.ce = window.ve.ce || {};
	window.ve.ce.ReferenceNode = ReferenceNode;
}() );
