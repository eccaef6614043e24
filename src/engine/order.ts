import { HpyMigrateError, type Transform } from '../api/index.js';

/**
 * Orders transforms: registry order, moved only as far as `after` constraints require.
 * An `after` id that is not selected is ignored; a cycle is an engine error.
 */
export function orderTransforms<T extends Pick<Transform<any>, 'id' | 'after'>>(registryOrder: readonly T[]): T[] {
  const ids = new Set(registryOrder.map((t) => t.id));
  const done = new Set<string>();
  const out: T[] = [];
  const left = [...registryOrder];
  while (left.length > 0) {
    const i = left.findIndex((t) => (t.after ?? []).every((a) => done.has(a) || !ids.has(a)));
    if (i === -1) throw new HpyMigrateError('engine', `transforms have cyclic 'after' constraints: ${left.map((t) => t.id).join(', ')}`);
    const [t] = left.splice(i, 1);
    done.add(t.id);
    out.push(t);
  }
  return out;
}
