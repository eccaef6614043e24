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
export * from './context-scope.js';
export * from './nested-rewrites.js';
export * from './arg-format.js';
export * from './typed-params.js';
export * from './c-declarations.js';
export * from './object-structs.js';
export * from './slot-table.js';
export * from './c-initializer.js';
export * from './call-convertibility.js';
export * from './statement-handles.js';
export * from './object-globals.js';
export * from './function-kinds.js';
export * from './unmapped-names.js';
export * from './legacy-members.js';
export * from './legacy-slots.js';
export * from './report-suggestions.js';
export * from './legacy-helpers.js';
export * from './stolen-references.js';
export * from './borrowed-getters.js';
export * from './borrowed-scope.js';
export * from './borrowed-references.js';
export * from './instance-allocations.js';
