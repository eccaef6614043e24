/**
 * Issue 4, "Done when": `--format json` lists every unconvertible item with transform id, reason
 * and suggestion. Every warning that is not the review note of an edit (those carry `safety`) must
 * have a transform id, a message (the reason) and a non-empty one-line `suggestion` (what to
 * write by hand). Run on the module of constructs HPy 0.9.0 lacks and on a sample of calls
 * without a one-to-one form (through the CLI), and on every fixture case (through the engine).
 */
import { copyFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempTree } from './support/cli-harness.js';
import { fixtureCases, transformFixtureFolders } from './support/fixture-cases.js';
import { repoRoot } from './support/python.js';
import { allTransforms, loadTransforms, runOn } from './support/run-transforms.js';
import type { Target } from '../src/api/index.js';

interface Finding {
  line: number;
  severity: string;
  transform: string;
  message: string;
  suggestion?: string;
  safety?: string;
}

const SAMPLES = [join(repoRoot, 'fixtures', '_unconvertible', 'countdown.c'), join(repoRoot, 'fixtures', '_coverage', 'unconvertible-calls.c')];

async function findings(sample: string): Promise<Finding[]> {
  const dir = tempTree({});
  copyFileSync(sample, join(dir, basename(sample)));
  const run = await cli(['--all', '--format', 'json', dir], dir);
  expect(run.code, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout) as { files: { diagnostics: Finding[] }[] };
  // A review note of an edit describes converted code, not code left unconverted.
  return report.files.flatMap((f) => f.diagnostics).filter((d) => d.severity === 'warning' && d.safety === undefined);
}

/** The findings that lack a transform id, a reason or a one-line suggestion, as `line [id] message`. */
function incomplete(list: Finding[]): string[] {
  return list
    .filter((d) => !d.transform || !d.message || !d.suggestion || !d.suggestion.trim() || /[\r\n]/.test(d.suggestion))
    .map((d) => `${d.line} [${d.transform}] ${d.message}`);
}

describe('--format json: every finding about code left unconverted says what to write instead', () => {
  for (const sample of SAMPLES) {
    it(`${basename(sample)}: the findings of the engine and of every transform`, async () => {
      const list = await findings(sample);
      expect(list.length).toBeGreaterThan(5);
      expect(incomplete(list)).toEqual([]);
    });
  }

  it('the samples have findings of the ownership transforms too (module, methods, types, structs)', async () => {
    const ids = new Set((await Promise.all(SAMPLES.map(findings))).flat().map((d) => d.transform));
    for (const id of ['pymethoddef', 'pymoduledef', 'pytype-spec', 'pyobject-head']) expect(ids, id).toContain(id);
  });
});

describe('every finding about code left unconverted in a fixture case says what to write instead', () => {
  it('the cases of every transform folder and of the pipeline folder, under their own target', async () => {
    const folders = [...transformFixtureFolders(), '_pipeline'];
    const missing: string[] = [];
    for (const folder of folders) {
      const transforms = folder === '_pipeline' ? (await allTransforms()).filter((t) => t.default) : await loadTransforms([folder]);
      for (const c of fixtureCases(folder)) {
        const { $registered, $target, ...own } = c.options;
        const options = folder === '_pipeline' ? (own as Record<string, Record<string, unknown>>) : { [folder]: own };
        const result = runOn(`${c.name}.input.c`, c.input, transforms, options, $registered as string[] | undefined, $target as Target | undefined);
        const list = result.diagnostics.filter((d) => d.severity === 'warning' && d.safety === undefined);
        missing.push(...incomplete(list).map((m) => `${folder}/${c.name}:${m}`));
      }
    }
    expect(missing).toEqual([]);
  });
});
