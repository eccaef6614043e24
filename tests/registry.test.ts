import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countBroken } from '../src/api/index.js';
import { extractTransformDocs, missingSections } from '../src/dev/transform-docs.js';
import { registry } from '../transforms/index.js';
import { FIXTURES } from './support/fixture-cases.js';
import { runOn, testParser } from './support/run-transforms.js';

const TRANSFORMS = join(import.meta.dirname, '..', 'transforms');
const files = readdirSync(TRANSFORMS).filter((f) => f.endsWith('.ts') && f !== 'index.ts').map((f) => f.slice(0, -3)).sort();
const docs = new Map(extractTransformDocs(TRANSFORMS).map((d) => [d.id, d]));

describe('registry', () => {
  it('registers every file in transforms/, and nothing else', () => {
    expect(Object.keys(registry).sort()).toEqual(files);
  });
  it('is sorted by id', () => {
    const ids = Object.keys(registry);
    expect(ids).toEqual([...ids].sort());
  });
  it('loads ids that match their registry key (unique by construction)', async () => {
    for (const [key, load] of Object.entries(registry)) expect((await load()).default.id).toBe(key);
  });
  it('has a fixture folder per transform, each with a changing and an untouched case', () => {
    for (const id of files) {
      const cases = readdirSync(join(FIXTURES, id));
      const inputs = cases.filter((f) => f.endsWith('.input.c'));
      const outputs = cases.filter((f) => f.endsWith('.output.c'));
      expect(outputs.length, `${id}: a case that changes`).toBeGreaterThan(0);
      expect(inputs.length, `${id}: a case that stays untouched`).toBeGreaterThan(outputs.length);
    }
  });
  it('has no fixture folder without a transform', () => {
    const folders = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('_') && d.name !== 'extensions').map((d) => d.name);
    expect(folders.filter((f) => !files.includes(f))).toEqual([]);
  });
  it('keeps review transforms out of the default set', async () => {
    for (const load of Object.values(registry)) {
      const t = (await load()).default;
      if (t.safety === 'review') expect(t.default, t.id).toBe(false);
    }
  });
});

describe.each(files)('documentation of %s', (id) => {
  it('has every heading, in order, and a summary matching the metadata', async () => {
    const doc = docs.get(id)!;
    expect(doc, 'a TSDoc block at the top of the file').toBeDefined();
    expect(missingSections(doc)).toEqual([]);
    expect(doc.summaryLine.length).toBeGreaterThan(10);
    expect((await registry[id]()).default.summary.length).toBeGreaterThan(10);
  });
  it('has a Before/After example that the transform really produces', async () => {
    const { before, after } = docs.get(id)!.examples;
    expect(before, 'a ```c block under ## Before').toBeTruthy();
    expect(after, 'a ```c block under ## After').toBeTruthy();
    const t = (await registry[id]()).default;
    const result = runOn(`${id}.doc.c`, before!, [t]);
    expect(result.output).toBe(after);
    expect(runOn(`${id}.doc.c`, result.output, [t]).appliedEdits).toEqual([]);
    const parser = testParser();
    expect(countBroken(parser.parse(result.output))).toBeLessThanOrEqual(countBroken(parser.parse(before!)));
  });
  it('is imported only from src/api', () => {
    const src = readFileSync(join(TRANSFORMS, `${id}.ts`), 'utf8');
    const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
    expect(imports.filter((i) => i !== '../src/api/index.js')).toEqual([]);
  });
});
