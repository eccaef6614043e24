import type { Transform } from '../src/api/index.js';

/** Loads one transform module. */
export type TransformLoader = () => Promise<{ default: Transform<any> }>;

/**
 * The registry: transform id to lazy loader, sorted by id. Transforms run in this order, moved
 * only by their `after` constraints. `npm run scaffold -- <id>` adds a line here.
 */
export const registry: Record<string, TransformLoader> = {
  'builtin-constant': () => import('./builtin-constant.js'),
  'capi-call': () => import('./capi-call.js'),
  'python-h-include': () => import('./python-h-include.js'),
  'refcount-macro': () => import('./refcount-macro.js'),
};
