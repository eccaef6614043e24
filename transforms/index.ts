import type { Transform } from '../src/api/index.js';

/** Loads one transform module. */
export type TransformLoader = () => Promise<{ default: Transform<any> }>;

/**
 * The registry: transform id to lazy loader, sorted by id. Transforms run in this order, moved
 * only by their `after` constraints. `npm run scaffold -- <id>` adds a line here.
 */
export const registry: Record<string, TransformLoader> = {
  'borrowed-reference': () => import('./borrowed-reference.js'),
  'builtin-constant': () => import('./builtin-constant.js'),
  'capi-call': () => import('./capi-call.js'),
  'missing-context': () => import('./missing-context.js'),
  'py-type-macro': () => import('./py-type-macro.js'),
  'pyarg-parse': () => import('./pyarg-parse.js'),
  'pymethoddef': () => import('./pymethoddef.js'),
  'pymoduledef': () => import('./pymoduledef.js'),
  'pyobject-field': () => import('./pyobject-field.js'),
  'pyobject-global': () => import('./pyobject-global.js'),
  'pyobject-head': () => import('./pyobject-head.js'),
  'pyobject-pointer': () => import('./pyobject-pointer.js'),
  'python-h-include': () => import('./python-h-include.js'),
  'pytype-spec': () => import('./pytype-spec.js'),
  'refcount-macro': () => import('./refcount-macro.js'),
  'stolen-reference': () => import('./stolen-reference.js'),
};
