import { HpyMigrateError, type Transform } from '../api/index.js';

/** Which transforms to run. */
export interface Selection {
  transforms?: string[];
  skip: string[];
  all: boolean;
}

/** Picks transforms from the registry (in registry order); unknown ids are a usage error. */
export function selectTransforms(available: readonly Transform<any>[], sel: Selection): Transform<any>[] {
  const ids = available.map((t) => t.id);
  const unknown = [...(sel.transforms ?? []), ...sel.skip].filter((id) => !ids.includes(id));
  if (unknown.length > 0) {
    const s = unknown.length > 1 ? 's' : '';
    throw new HpyMigrateError('usage', `unknown transform id${s} ${unknown.map((u) => `'${u}'`).join(', ')}; valid ids: ${ids.join(', ')}`);
  }
  let chosen: Transform<any>[];
  if (sel.transforms && sel.transforms.length > 0) chosen = available.filter((t) => sel.transforms!.includes(t.id));
  else if (sel.all) chosen = [...available];
  else chosen = available.filter((t) => t.default);
  return chosen.filter((t) => !sel.skip.includes(t.id));
}
