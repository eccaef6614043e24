import { API_MAP } from './api-map.generated.js';

/** Kinds of rows in the api map. */
export type ApiKind = 'function' | 'macro' | 'constant' | 'exception' | 'type' | 'flag' | 'slot' | 'struct';

/** Ownership of the CPython result or arguments (porting-concepts §0). */
export type ApiRefs = 'same' | 'borrowed' | 'steals' | 'steals-on-success' | 'none' | 'n/a';

/** One row of hpy-reference/api-map.tsv. */
export interface ApiEntry {
  cpython: string;
  /** HPy name, `ctx->h_X`, or empty when HPy 0.9.0 has no counterpart. */
  hpy: string;
  kind: ApiKind;
  /** Needs a `ctx` in scope. */
  ctx: boolean;
  refs: ApiRefs;
  notes: string;
}

/** The api-map row of a CPython name, if any. */
export function apiEntry(cpython: string): ApiEntry | undefined {
  return Object.prototype.hasOwnProperty.call(API_MAP, cpython) ? API_MAP[cpython] : undefined;
}

/** Every row (for tests and listings). */
export function apiEntries(): ApiEntry[] {
  return Object.values(API_MAP);
}
