/**
 * The only module a transform may import: types, defineTransform, tree-sitter-c helpers and the
 * HPy knowledge tables.
 */
export * from './types.js';
export * from './errors.js';
export * from './define-transform.js';
export * from './project-index.js';
export * from './masks.js';
export * from './c-parser.js';
export * from './c-syntax.js';
export * from './text-position.js';
export * from './api-map.js';
export * from './call-forms.js';
export * from './context-guard.js';
export * from './context-handles.js';
