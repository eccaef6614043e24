import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countBroken } from '../src/api/index.js';
import { formatDiagnostic } from '../src/report/text.js';
import { FIXTURES, fixtureCases, transformFixtureFolders, type FixtureCase } from './support/fixture-cases.js';
import { allTransforms, loadTransforms, runOn, testParser } from './support/run-transforms.js';
import type { Target, Transform } from '../src/api/index.js';

function broken(text: string): number {
  return countBroken(testParser().parse(text));
}

/**
 * `UPDATE_FIXTURES=1 npm test` rewrites the expected files from what the transforms produce now
 * (the diff is then reviewed like code): `.output.c` (deleted when the input comes back
 * unchanged) and an existing `.diagnostics.txt`.
 */
function updateExpected(c: FixtureCase, output: string, diagnostics: string): void {
  const base = c.inputPath.slice(0, -'.input.c'.length);
  if (output === c.input) rmSync(`${base}.output.c`, { force: true });
  else writeFileSync(`${base}.output.c`, output);
  if (c.diagnostics !== null) writeFileSync(`${base}.diagnostics.txt`, diagnostics);
  c.output = output === c.input ? null : output;
  c.diagnostics = c.diagnostics === null ? null : diagnostics;
}

/**
 * A case's `.options.json` holds the transform's options; the harness itself reads two keys,
 * `"$registered"`: the transform ids that exist, to show what a transform does when another is
 * missing (default: the real registry), and `"$target"`: the run's target (`"hybrid"`; default
 * `"universal"`).
 */
function splitOptions(options: Record<string, unknown>): { own: Record<string, unknown>; registered?: string[]; target?: Target } {
  const { $registered, $target, ...own } = options;
  return { own, registered: $registered as string[] | undefined, target: $target as Target | undefined };
}

function checkCase(c: FixtureCase, transforms: Transform<any>[], folderId: string | undefined): void {
  const path = `${c.name}.input.c`;
  const { own, registered, target } = splitOptions(c.options);
  const options = folderId ? { [folderId]: own } : (own as Record<string, Record<string, unknown>>);
  const run = (text: string) => runOn(path, text, transforms, options, registered, target);
  const result = run(c.input);
  if (process.env.UPDATE_FIXTURES === '1') {
    const lines = result.diagnostics.flatMap((d) => formatDiagnostic(d));
    updateExpected(c, result.output, lines.join('\n') + (lines.length ? '\n' : ''));
  }
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d).join('\n'));
  expect(errors, 'no error diagnostics').toEqual([]);
  if (c.output === null) {
    expect(result.output, 'an untouched case comes back identical').toBe(c.input);
    if (!c.diagnostics) {
      const warnings = result.diagnostics.filter((d) => d.severity !== 'note');
      expect(warnings.map((d) => formatDiagnostic(d)[0]), 'an untouched case has no warnings').toEqual([]);
    }
  } else {
    expect(c.output, '.output.c must differ from its input (else delete it)').not.toBe(c.input);
    expect(result.output, 'exact output').toBe(c.output);
    const again = run(result.output);
    expect(again.appliedEdits.map((e) => `${e.transform}: ${JSON.stringify(e.text)}`), 'idempotent').toEqual([]);
    expect(broken(result.output), 'still parses').toBeLessThanOrEqual(broken(c.input));
  }
  if (c.diagnostics !== null) {
    const lines = result.diagnostics.flatMap((d) => formatDiagnostic(d));
    expect(lines.join('\n') + (lines.length ? '\n' : ''), 'pinned diagnostics').toBe(c.diagnostics);
  }
  for (const t of transforms) {
    const edits = result.appliedEdits.filter((e) => e.transform === t.id);
    if (t.safety === 'safe') expect(edits.filter((e) => e.safety !== 'safe'), `${t.id} declares safe`).toEqual([]);
    expect(edits.filter((e) => e.safety === 'review' && !e.note), 'review edits carry a note').toEqual([]);
  }
}

function defineCases(cases: FixtureCase[], load: () => Promise<Transform<any>[]>, folderId?: string): void {
  for (const c of cases) {
    const run = async () => {
      const transforms = await load();
      checkCase(c, transforms, folderId);
    };
    if (c.knownGap) it.fails(`${c.name} (known gap: ${c.knownGap})`, run);
    else it(c.name, run);
  }
}

for (const folder of transformFixtureFolders()) {
  describe(`fixtures/${folder}`, () => {
    defineCases(fixtureCases(folder), () => loadTransforms([folder]), folder);
  });
}

describe('fixtures/_pipeline (the default set together)', () => {
  const dir = join(FIXTURES, '_pipeline');
  const cases = existsSync(dir) ? fixtureCases('_pipeline') : [];
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });
  defineCases(cases, async () => (await allTransforms()).filter((t) => t.default));
});
