import { createCParser, type Target, type Transform } from '../../src/api/index.js';
import { orderTransforms, runFile, type FileResult } from '../../src/engine/index.js';
import { collectIndex } from '../../src/index/index.js';
import { registry } from '../../transforms/index.js';

const parser = createCParser();

/** Loads transforms by id, in run order. */
export async function loadTransforms(ids: readonly string[]): Promise<Transform<any>[]> {
  const loaded = [];
  for (const id of Object.keys(registry)) {
    if (ids.includes(id)) loaded.push((await registry[id]()).default);
  }
  return orderTransforms(loaded);
}

/** Every registered transform, in run order. */
export async function allTransforms(): Promise<Transform<any>[]> {
  return loadTransforms(Object.keys(registry));
}

/** Runs transforms over one text as the CLI would (index built from that file alone). */
export function runOn(
  path: string,
  text: string,
  transforms: readonly Transform<any>[],
  options: Record<string, Record<string, unknown>> = {},
  registered: readonly string[] = Object.keys(registry),
  target: Target = 'universal',
): FileResult {
  const index = collectIndex([{ path, text }], parser);
  return runFile({ path, text, transforms, options, index, parser, registered, target });
}

/** The shared parser (for checks such as "still parses"). */
export function testParser() {
  return parser;
}
