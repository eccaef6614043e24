import { mkdtemp, mkdir, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createCParser, emptyIndex, type Transform } from '../src/api/index.js';
import { runFile } from '../src/engine/index.js';
import { registerTransform, scaffoldTransform } from '../src/dev/scaffold.js';
import { extractTransformDocs, missingSections } from '../src/dev/transform-docs.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hpy-scaffold-'));
  await mkdir(join(root, 'transforms'));
  await mkdir(join(root, 'fixtures'));
  await copyFile(join(REPO, 'transforms', 'index.ts'), join(root, 'transforms', 'index.ts'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out[full.slice(dir.length)] = await readFile(full, 'utf8');
  }
  return out;
}

function syntaxErrors(text: string): string[] {
  const out = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.NodeNext } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** Loads a scaffolded transform from the temp dir, pointing its import at the real src/api. */
async function loadScaffolded(id: string): Promise<Transform<any>> {
  const source = await readFile(join(root, 'transforms', `${id}.ts`), 'utf8');
  const api = join(REPO, 'src', 'api', 'index.js');
  const loadable = join(root, 'transforms', `${id}.loadable.ts`);
  await writeFile(loadable, source.replace("'../src/api/index.js'", JSON.stringify(api)));
  return ((await import(pathToFileURL(loadable).href)) as { default: Transform<any> }).default;
}

function rewrite(t: Transform<any>, text: string): { output: string; edits: number; diagnostics: number } {
  const r = runFile({ path: 'case.c', text, transforms: [t], index: emptyIndex(), parser: createCParser() });
  return { output: r.output, edits: r.edits, diagnostics: r.diagnostics.length };
}

describe('scaffoldTransform', () => {
  test('creates the transform, its fixtures and a sorted registry line', async () => {
    const first = await scaffoldTransform('demo-thing', { root });
    expect(first).toEqual({
      status: 'created',
      files: [
        'transforms/demo-thing.ts',
        'fixtures/demo-thing/renames-identifier.input.c',
        'fixtures/demo-thing/renames-identifier.output.c',
        'fixtures/demo-thing/unrelated-code.input.c',
      ],
    });
    for (const f of first.files) await expect(readFile(join(root, f), 'utf8')).resolves.not.toBe('');
    expect((await scaffoldTransform('alpha-first', { root })).status).toBe('created');
    const registry = await readFile(join(root, 'transforms', 'index.ts'), 'utf8');
    expect(registry).toContain("  'demo-thing': () => import('./demo-thing.js'),\n");
    expect(registry).toContain("  'alpha-first': () => import('./alpha-first.js'),\n");
    expect(registry.indexOf("'alpha-first'")).toBeLessThan(registry.indexOf("'demo-thing'"));
    expect(syntaxErrors(registry)).toEqual([]);
    expect(syntaxErrors(await readFile(join(root, 'transforms', 'demo-thing.ts'), 'utf8'))).toEqual([]);
  });

  test('keeps the registry file outside the new line as it was', async () => {
    const before = await readFile(join(root, 'transforms', 'index.ts'), 'utf8');
    await scaffoldTransform('demo-thing', { root });
    const after = await readFile(join(root, 'transforms', 'index.ts'), 'utf8');
    expect(after.replace("  'demo-thing': () => import('./demo-thing.js'),\n", '')).toBe(before);
  });

  test('a second run reports exists and changes no byte', async () => {
    await scaffoldTransform('demo-thing', { root });
    const snapshot = await readTree(root);
    expect(await scaffoldTransform('demo-thing', { root })).toEqual({ status: 'exists', files: [] });
    expect(await readTree(root)).toEqual(snapshot);
  });

  test('an unregistered transform file also counts as existing', async () => {
    await writeFile(join(root, 'transforms', 'demo-thing.ts'), 'export {};\n');
    const snapshot = await readTree(root);
    expect((await scaffoldTransform('demo-thing', { root })).status).toBe('exists');
    expect(await readTree(root)).toEqual(snapshot);
  });

  test.each(['Demo', 'demo_thing', 'demo--thing', '-demo', 'demo-', '1demo', '', 'index', '_pipeline', 'extensions'])(
    'rejects the id %j and writes nothing',
    async (id) => {
      const snapshot = await readTree(root);
      await expect(scaffoldTransform(id, { root })).rejects.toMatchObject({ name: 'HpyMigrateError', code: 'usage' });
      expect(await readTree(root)).toEqual(snapshot);
    },
  );

  test('the scaffolded transform passes its own fixtures and doc examples', async () => {
    await scaffoldTransform('demo-thing', { root });
    const t = await loadScaffolded('demo-thing');
    const dir = join(root, 'fixtures', 'demo-thing');
    const input = await readFile(join(dir, 'renames-identifier.input.c'), 'utf8');
    const expected = await readFile(join(dir, 'renames-identifier.output.c'), 'utf8');
    expect(rewrite(t, input)).toEqual({ output: expected, edits: 1, diagnostics: 0 });
    expect(rewrite(t, expected).edits).toBe(0);
    const untouched = await readFile(join(dir, 'unrelated-code.input.c'), 'utf8');
    expect(rewrite(t, untouched)).toEqual({ output: untouched, edits: 0, diagnostics: 0 });
    await rm(join(root, 'transforms', 'demo-thing.loadable.ts'));
    const [doc] = extractTransformDocs(join(root, 'transforms'));
    expect(rewrite(t, doc.examples.before ?? '').output).toBe(doc.examples.after);
  });
});

describe('registerTransform', () => {
  test('adds a comma to a hand-written last entry and accepts bare names', () => {
    const text = "export const registry: Record<string, L> = {\n  'omega-x': () => import('./omega-x.js'),\n  zeta: () => import('./zeta.js')\n};\n";
    expect(registerTransform(text, 'zz-top')).toBe(
      "export const registry: Record<string, L> = {\n  'omega-x': () => import('./omega-x.js'),\n  zeta: () => import('./zeta.js'),\n  'zz-top': () => import('./zz-top.js'),\n};\n",
    );
    expect(registerTransform(text, 'zeta')).toBeNull();
  });

  test('inserts between existing entries', () => {
    const text = "export const registry = {\n  'a': () => import('./a.js'),\n  'c': () => import('./c.js'),\n};\n";
    expect(registerTransform(text, 'b')).toBe(
      "export const registry = {\n  'a': () => import('./a.js'),\n  'b': () => import('./b.js'),\n  'c': () => import('./c.js'),\n};\n",
    );
  });

  test('fails clearly without a registry object', () => {
    expect(() => registerTransform('export const other = {};\n', 'a')).toThrow(/no 'registry' object literal/);
  });
});

describe('extractTransformDocs', () => {
  test('reads the sections and examples of a scaffolded transform', async () => {
    await scaffoldTransform('demo-thing', { root });
    const docs = extractTransformDocs(join(root, 'transforms'));
    expect(docs.map((d) => d.id)).toEqual(['demo-thing']);
    const [doc] = docs;
    expect(doc.summaryLine).toMatch(/^Renames the identifier `OLD_NAME` to `NEW_NAME`/);
    expect(Object.keys(doc.sections)).toEqual(['Why', 'Before', 'After', 'Safety', 'Limits']);
    expect(doc.sections.Safety).toMatch(/^safe: /);
    expect(doc.examples).toEqual({
      before: 'long placeholder(void) { return OLD_NAME; }\n',
      after: 'long placeholder(void) { return NEW_NAME; }\n',
    });
    expect(doc.markdown).toContain('## Before\n```c\nlong placeholder(void) { return OLD_NAME; }\n```');
    expect(missingSections(doc)).toEqual([]);
  });

  test('reports a missing heading and headings out of order', async () => {
    const header = (body: string): string => `/**\n * Summary line.\n *\n${body}\n */\nimport { x } from 'y';\nexport default x;\n`;
    await writeFile(
      join(root, 'transforms', 'no-limits.ts'),
      header(' * ## Why\n * w\n * ## Before\n * ```c\n * a;\n * ```\n * ## After\n * ```c\n * b;\n * ```\n * ## Safety\n * s'),
    );
    await writeFile(join(root, 'transforms', 'swapped.ts'), header(' * ## Why\n * ## After\n * ## Before\n * ## Safety\n * ## Limits'));
    const [noLimits, swapped] = extractTransformDocs(join(root, 'transforms'));
    expect(noLimits.id).toBe('no-limits');
    expect(noLimits.examples).toEqual({ before: 'a;\n', after: 'b;\n' });
    expect(missingSections(noLimits)).toEqual(['Limits']);
    expect(missingSections(swapped)).toEqual(['After']);
    expect(swapped.examples).toEqual({ before: null, after: null });
  });

  test('keeps indentation inside fences and ignores ## inside them', async () => {
    await writeFile(
      join(root, 'transforms', 'fenced.ts'),
      "/**\n * S.\n * ## Before\n * ```c\n * #define CAT(a, b) a\n * ## b\n *     int x;\n * ```\n */\nexport default 1;\n",
    );
    const [doc] = extractTransformDocs(join(root, 'transforms'));
    expect(Object.keys(doc.sections)).toEqual(['Before']);
    expect(doc.examples.before).toBe('#define CAT(a, b) a\n## b\n    int x;\n');
  });
});
