import { HpyMigrateError } from './errors.js';
import type { Transform } from './types.js';

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Checks a transform's metadata and returns it unchanged (typed). */
export function defineTransform<O = Record<string, unknown>>(t: Transform<O>): Transform<O> {
  if (!ID.test(t.id)) throw new HpyMigrateError('engine', `transform id '${t.id}' is not kebab-case`);
  if (t.safety === 'review' && t.default) {
    throw new HpyMigrateError('engine', `transform '${t.id}' is review and cannot be in the default set`);
  }
  if (!t.summary || t.summary.includes('\n')) {
    throw new HpyMigrateError('engine', `transform '${t.id}' needs a one-line summary`);
  }
  return t;
}
