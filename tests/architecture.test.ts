import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The module boundaries of STYLE.md §1, enforced on the sources (what may import what).
const ROOT = join(import.meta.dirname, '..');
const ALLOWED: Record<string, string[]> = {
  'src/api': ['src/api'],
  'src/engine': ['src/engine', 'src/api'],
  'src/index': ['src/index', 'src/api'],
  'src/report': ['src/report', 'src/api'],
  'src/io': ['src/io', 'src/api'],
  'src/cli': ['src/cli', 'src/api', 'src/engine', 'src/index', 'src/report', 'src/io', 'transforms'],
  'src/dev': ['src/dev', 'src/api', 'src/cli', 'src/engine', 'src/index'],
  transforms: ['src/api', 'transforms'],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function moduleOf(file: string): string {
  const rel = relative(ROOT, file).split('\\').join('/');
  return rel.startsWith('transforms/') ? 'transforms' : rel.split('/').slice(0, 2).join('/');
}

describe.each(Object.keys(ALLOWED))('%s imports only what it may', (mod) => {
  it('respects the boundary', () => {
    const bad: string[] = [];
    for (const file of tsFiles(join(ROOT, mod))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.[^']+)'|\bimport\('(\.[^']+)'\)/gm)) {
        const spec = m[1] ?? m[2];
        const target = moduleOf(resolve(dirname(file), spec));
        if (!ALLOWED[mod].includes(target)) bad.push(`${relative(ROOT, file)} imports ${spec}`);
      }
      if (mod !== 'src/cli' && mod !== 'src/dev' && /\bconsole\.(log|error|warn|info)\(|process\.(stdout|stderr)\.write/.test(src)) bad.push(`${relative(ROOT, file)} prints`);
    }
    expect(bad).toEqual([]);
  });
});

it('src/dev is not imported by anything that runs at user time', () => {
  const users = ['src/api', 'src/engine', 'src/index', 'src/report', 'src/io', 'src/cli', 'transforms'].flatMap((d) => tsFiles(join(ROOT, d)));
  expect(users.filter((f) => /from\s+'[^']*\/dev\//.test(readFileSync(f, 'utf8')))).toEqual([]);
});
