import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'smol-toml';
import { HpyMigrateError } from '../api/index.js';

/** `[tool.hpy-migrate]` of the nearest pyproject.toml. Paths are absolute. */
export interface FileConfig {
  source: string;
  transforms?: string[];
  skip?: string[];
  target?: string;
  include?: string[];
  exclude?: string[];
}

const KEYS = ['transforms', 'skip', 'target', 'include', 'exclude'];

/** The nearest pyproject.toml at or above `start`, or null. */
export function findPyproject(start: string): string | null {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, 'pyproject.toml');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

function stringList(file: string, key: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new HpyMigrateError('usage', `${file}: [tool.hpy-migrate] ${key} must be a list of strings`);
  }
  return value as string[];
}

/** Reads `[tool.hpy-migrate]` from `file`; null if the table is absent. */
export function readConfig(file: string): FileConfig | null {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new HpyMigrateError('usage', `${file}: not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  const table = (doc.tool as Record<string, unknown> | undefined)?.['hpy-migrate'] as Record<string, unknown> | undefined;
  if (!table) return null;
  for (const key of Object.keys(table)) {
    if (!KEYS.includes(key)) throw new HpyMigrateError('usage', `${file}: unknown key '${key}' in [tool.hpy-migrate] (known: ${KEYS.join(', ')})`);
  }
  const config: FileConfig = { source: file };
  if (table.transforms !== undefined) config.transforms = stringList(file, 'transforms', table.transforms);
  if (table.skip !== undefined) config.skip = stringList(file, 'skip', table.skip);
  if (table.include !== undefined) config.include = stringList(file, 'include', table.include).map((p) => resolve(dirname(file), p));
  if (table.exclude !== undefined) config.exclude = stringList(file, 'exclude', table.exclude);
  if (table.target !== undefined) {
    if (typeof table.target !== 'string') throw new HpyMigrateError('usage', `${file}: [tool.hpy-migrate] target must be a string`);
    config.target = table.target;
  }
  return config;
}
