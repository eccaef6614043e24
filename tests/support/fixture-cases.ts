import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Root of the fixture tree. */
export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

/** One fixture case (STYLE.md §3). */
export interface FixtureCase {
  folder: string;
  name: string;
  inputPath: string;
  input: string;
  output: string | null;
  options: Record<string, unknown>;
  diagnostics: string | null;
  /** The issue link of a `known-gap` marker on the first line, if any. */
  knownGap: string | null;
}

const GAP = /^\/\* known-gap: (\S+) \*\//;

function readOptional(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

/** The cases of one fixture folder, sorted by name. */
export function fixtureCases(folder: string): FixtureCase[] {
  const dir = join(FIXTURES, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.input.c'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.input.c'.length);
      const input = readFileSync(join(dir, f), 'utf8');
      const options = readOptional(join(dir, `${name}.options.json`));
      return {
        folder,
        name,
        inputPath: join(dir, f),
        input,
        output: readOptional(join(dir, `${name}.output.c`)),
        options: options ? (JSON.parse(options) as Record<string, unknown>) : {},
        diagnostics: readOptional(join(dir, `${name}.diagnostics.txt`)),
        knownGap: GAP.exec(input)?.[1] ?? null,
      };
    });
}

/** Fixture folders named after transforms (not `_pipeline`, not `extensions`). */
export function transformFixtureFolders(): string[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_') && d.name !== 'extensions')
    .map((d) => d.name)
    .sort();
}
