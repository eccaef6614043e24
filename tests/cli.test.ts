import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineTransform, type Transform } from '../src/api/index.js';
import { loadRegistry } from '../src/cli/main.js';
import { emitOutcome } from '../src/cli/output.js';
import { migrate } from '../src/cli/run.js';
import { selectTransforms } from '../src/cli/select.js';
import { cli, tempTree } from './support/cli-harness.js';
import { compileC } from './support/compile.js';

const PYTHON_H = '#include <Python.h>\n';
const HPY_H = '#include "hpy.h"\n';
const BIN = join(import.meta.dirname, '..', 'bin', 'hpy-migrate.js');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });
}

describe('usage errors exit 2 with one clear line', () => {
  it('unknown option', async () => {
    const r = await cli(['--frobnicate', '.'], tempTree({ 'a.c': PYTHON_H }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hpy-migrate: error: unknown option '--frobnicate'\n/);
  });
  it('unknown transform id lists the valid ids', async () => {
    const r = await cli(['--transforms', 'capi-call,nope', '.'], tempTree({ 'a.c': PYTHON_H }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown transform id 'nope'");
    for (const id of ['builtin-constant', 'capi-call', 'python-h-include', 'refcount-macro']) expect(r.stderr).toContain(id);
  });
  it('a path that does not exist', async () => {
    const r = await cli(['missing/dir'], tempTree({ 'a.c': PYTHON_H }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("path 'missing/dir' does not exist");
  });
  it('an empty directory: no C files', async () => {
    const root = tempTree({ 'empty/readme.txt': 'x' });
    const r = await cli(['empty'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no C files');
  });
  it('no paths at all', async () => {
    const r = await cli([], tempTree({}));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no paths given');
  });
  it('--write with --patch', async () => {
    const r = await cli(['--write', '--patch', 'p.diff', '.'], tempTree({ 'a.c': PYTHON_H }));
    expect(r.code).toBe(2);
  });
});

describe('dry run, patch, check, json', () => {
  it('prints a git-applicable patch and writes nothing', async () => {
    const root = tempTree({ 'src/a.c': PYTHON_H + 'int x;\n', 'src/b.c': 'int y;\n' });
    git(root, 'init', '-q');
    const r = await cli(['src'], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('diff --git a/src/a.c b/src/a.c\n--- a/src/a.c\n+++ b/src/a.c\n@@ -1,2 +1,2 @@\n-#include <Python.h>\n+#include "hpy.h"\n int x;\n');
    expect(readFileSync(join(root, 'src/a.c'), 'utf8')).toBe(PYTHON_H + 'int x;\n');
    expect(r.stderr).toContain('2 files: 1 changed, 1 unchanged, 0 failed; 1 edit;');
    writeFileSync(join(root, 'p.diff'), r.stdoutBytes);
    git(root, 'apply', '--check', 'p.diff');
  });
  it('--patch writes the patch to a file', async () => {
    const root = tempTree({ 'a.c': PYTHON_H });
    const r = await cli(['--patch', 'out.diff', 'a.c'], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(join(root, 'out.diff'), 'utf8')).toContain('+#include "hpy.h"');
    expect(readFileSync(join(root, 'a.c'), 'utf8')).toBe(PYTHON_H);
  });
  it('--check exits 1 when something would change, 0 when not', async () => {
    const root = tempTree({ 'a.c': PYTHON_H, 'b.c': 'int y;\n' });
    const pending = await cli(['--check', 'a.c', 'b.c'], root);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('would change: a.c');
    expect(pending.stdout).toBe('');
    expect((await cli(['--check', 'b.c'], root)).code).toBe(0);
  });
  it('--format json has the stable fields', async () => {
    const root = tempTree({ 'a.c': PYTHON_H + 'static PyObject *g;\n#include <structmember.h>\n' });
    const r = await cli(['--format', 'json', 'a.c'], root);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report.summary)).toEqual(['files', 'changed', 'unchanged', 'failed', 'edits', 'diagnostics']);
    expect(report.files[0]).toMatchObject({ path: 'a.c', changed: true, transforms: ['python-h-include'] });
    const d = report.files[0].diagnostics[0];
    expect(Object.keys(d)).toEqual(expect.arrayContaining(['line', 'column', 'endLine', 'endColumn', 'severity', 'transform', 'message', 'notes']));
  });
  it('shows run notes (a skipped symlink) in the text and in the JSON', async () => {
    const outside = tempTree({ 'x.c': PYTHON_H });
    const root = tempTree({ 'src/a.c': PYTHON_H });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, join(root, 'src', 'elsewhere'));
    const r = await cli(['--format', 'json', 'src'], root);
    const report = JSON.parse(r.stdout);
    expect(report.notes).toEqual([expect.stringContaining("skipped symlink 'src/elsewhere'")]);
    expect(r.stderr).toContain("hpy-migrate: note: skipped symlink 'src/elsewhere'");
    expect(report.files.map((f: { path: string }) => f.path)).toEqual(['src/a.c']);
  });
  it('--transforms / --skip / --all pick the set', () => {
    const t = (id: string, safety: 'safe' | 'review'): Transform => defineTransform({ id, summary: id, concern: 'handles', safety, default: safety === 'safe', rewrite() {} });
    const all = [t('a', 'safe'), t('b', 'review'), t('c', 'safe')];
    expect(selectTransforms(all, { skip: [], all: false }).map((x) => x.id)).toEqual(['a', 'c']);
    expect(selectTransforms(all, { skip: [], all: true }).map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(selectTransforms(all, { skip: ['a'], all: false }).map((x) => x.id)).toEqual(['c']);
    expect(selectTransforms(all, { transforms: ['b'], skip: [], all: false }).map((x) => x.id)).toEqual(['b']);
  });
  it('--list-transforms and --explain', async () => {
    const root = tempTree({});
    const list = await cli(['--list-transforms'], root);
    expect(list.code).toBe(0);
    for (const t of await loadRegistry()) expect(list.stdout).toContain(`${t.id}`);
    const ex = await cli(['--explain', 'refcount-macro'], root);
    expect(ex.code).toBe(0);
    for (const h of ['## Why', '## Before', '## After', '## Safety', '## Limits']) expect(ex.stdout).toContain(h);
    expect((await cli(['--explain', 'nope'], root)).code).toBe(2);
  });
  it('reads [tool.hpy-migrate] from pyproject.toml; bad keys are a usage error', async () => {
    const root = tempTree({ 'pyproject.toml': '[tool.hpy-migrate]\nskip = ["python-h-include"]\ninclude = ["src"]\n', 'src/a.c': PYTHON_H });
    const r = await cli([], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const bad = tempTree({ 'pyproject.toml': '[tool.hpy-migrate]\nskipp = []\n', 'a.c': PYTHON_H });
    const b = await cli(['a.c'], bad);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("unknown key 'skipp'");
  });
});

describe('bad input loses nothing', () => {
  it('a file that does not parse is processed outside the broken region, with a warning', async () => {
    const text = PYTHON_H + 'static int f(void) { x = b b ); }\n';
    const r = await cli(['a.c'], tempTree({ 'a.c': text }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+#include "hpy.h"');
    expect(r.stderr).toMatch(/a\.c:2:\d+: warning\[engine\]: file does not parse cleanly/);
  });
  it('a binary file is skipped with a note; the others are processed', async () => {
    const root = tempTree({ 'bin.c': Buffer.from([0x69, 0x6e, 0x74, 0x00, 0x01]), 'a.c': PYTHON_H });
    const r = await cli(['--write', '--allow-dirty', '.'], root);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('bin.c:1:1: note[engine]: skipped: binary file');
    expect(readFileSync(join(root, 'a.c'), 'utf8')).toBe(HPY_H);
  });
  it('a latin-1 file keeps every byte outside the edit', async () => {
    const bytes = Buffer.concat([Buffer.from('/* caf'), Buffer.from([0xe9]), Buffer.from(' */\n' + PYTHON_H + 'int x;\n')]);
    const root = tempTree({ 'a.c': bytes });
    const r = await cli(['--write', 'a.c'], root);
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'a.c'))).toEqual(Buffer.concat([Buffer.from('/* caf'), Buffer.from([0xe9]), Buffer.from(' */\n' + HPY_H + 'int x;\n')]));
  });
  it('a latin-1 file gets a patch in its own bytes that git applies', async () => {
    const bytes = Buffer.concat([Buffer.from(PYTHON_H + '/* caf'), Buffer.from([0xe9]), Buffer.from(' */\n')]);
    const root = tempTree({ 'a.c': bytes });
    git(root, 'init', '-q');
    const r = await cli(['--patch', 'p.diff', 'a.c'], root);
    expect(r.code).toBe(0);
    git(root, 'apply', 'p.diff');
    expect(readFileSync(join(root, 'a.c'))).toEqual(Buffer.concat([Buffer.from(HPY_H + '/* caf'), Buffer.from([0xe9]), Buffer.from(' */\n')]));
  });
  it('a CRLF file stays CRLF', async () => {
    const root = tempTree({ 'a.c': '#include <Python.h>\r\nint x;\r\n' });
    await cli(['--write', 'a.c'], root);
    expect(readFileSync(join(root, 'a.c'), 'utf8')).toBe('#include "hpy.h"\r\nint x;\r\n');
  });
  it('a file with a BOM keeps it', async () => {
    const root = tempTree({ 'a.c': '\uFEFF' + PYTHON_H });
    await cli(['--write', 'a.c'], root);
    expect(readFileSync(join(root, 'a.c'))).toEqual(Buffer.from('\uFEFF' + HPY_H, 'utf8'));
  });
  it('a read-only file under --write: exit 3, the other files are written', async () => {
    const root = tempTree({ 'ro.c': PYTHON_H, 'rw.c': PYTHON_H });
    chmodSync(join(root, 'ro.c'), 0o444);
    const r = await cli(['--write', '.'], root);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/ro\.c:1:1: error\[engine\]: cannot write/);
    expect(readFileSync(join(root, 'ro.c'), 'utf8')).toBe(PYTHON_H);
    expect(readFileSync(join(root, 'rw.c'), 'utf8')).toBe(HPY_H);
  });
  it('a dirty file under --write is refused and nothing is written; --allow-dirty writes', async () => {
    const root = tempTree({ 'clean.c': PYTHON_H, 'dirty.c': 'int y;\n' });
    git(root, 'init', '-q');
    git(root, 'add', '.');
    git(root, 'commit', '-qm', 'x');
    writeFileSync(join(root, 'dirty.c'), PYTHON_H);
    const r = await cli(['--write', '.'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to write: dirty.c has uncommitted changes');
    expect(readFileSync(join(root, 'clean.c'), 'utf8')).toBe(PYTHON_H);
    expect(readFileSync(join(root, 'dirty.c'), 'utf8')).toBe(PYTHON_H);
    expect((await cli(['--write', '--allow-dirty', '.'], root)).code).toBe(0);
    expect(readFileSync(join(root, 'dirty.c'), 'utf8')).toBe(HPY_H);
  });
  it('a transform that throws fails that file only; the others are done; exit 3', async () => {
    const root = tempTree({ 'a.c': PYTHON_H + 'int boom;\n', 'b.c': PYTHON_H });
    const [include] = (await loadRegistry()).filter((t) => t.id === 'python-h-include');
    const boom = defineTransform({
      id: 'boom', summary: 'x', concern: 'handles', safety: 'safe', default: true,
      rewrite(file) { if (file.text.includes('boom')) throw new Error('kaput'); },
    });
    const options = { paths: ['.'], write: true, check: false, skip: [], all: false, listTransforms: false, format: 'diff' as const, allowDirty: true };
    const outcome = await migrate({ options, config: null, transforms: [include, boom], cwd: root });
    let stderr = '';
    const code = await emitOutcome(outcome, options, { stdout: () => {}, stderr: (s) => (stderr += s), cwd: root }, (await import('picocolors')).default.createColors(false));
    expect(code).toBe(3);
    expect(stderr).toContain('a.c:1:1: error[boom]: transform failed: kaput');
    expect(readFileSync(join(root, 'a.c'), 'utf8')).toBe(PYTHON_H + 'int boom;\n');
    expect(readFileSync(join(root, 'b.c'), 'utf8')).toBe(HPY_H);
  });
});

// A module with one method HPy can take and one it cannot (HPy 0.9.0 has no iteration API).
const HYBRID_MODULE = `#include <Python.h>

static PyObject *
walk_first(PyObject *self, PyObject *seq)
{
    return PySequence_GetItem(seq, 0);
}

static PyObject *
walk_iter(PyObject *self, PyObject *obj)
{
    return PyObject_GetIter(obj);
}

static PyMethodDef walk_methods[] = {
    {"first", walk_first, METH_O, NULL},
    {"iter", walk_iter, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef walk_module = {
    PyModuleDef_HEAD_INIT, "walk", NULL, -1, walk_methods
};

PyMODINIT_FUNC
PyInit_walk(void)
{
    return PyModule_Create(&walk_module);
}
`;

describe('--target', () => {
  it('hybrid keeps Python.h, moves what HPy lacks to the legacy table and counts the functions', async () => {
    const root = tempTree({ 'walk.c': HYBRID_MODULE });
    const r = await cli(['--target', 'hybrid', '--write', '--allow-dirty', 'walk.c'], root);
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync(join(root, 'walk.c'), 'utf8');
    expect(out).toContain('#include <Python.h>\n#include "hpy.h"\n');
    expect(out).toContain('static PyMethodDef walk_methods_legacy[] = {\n    {"iter", walk_iter, METH_O, NULL},\n');
    expect(out).toContain('.legacy_methods = walk_methods_legacy,');
    expect(out).toContain('HPy_MODINIT(walk, walk_module)');
    expect(r.stderr).toMatch(/note\[pymethoddef\]: 'walk_iter' stays on the legacy path: it calls 'PyObject_GetIter'/);
    expect(r.stderr).toContain('hpy-migrate: hybrid: 1 function HPy, 1 legacy\n');
  });
  it('a hybrid port with --all compiles in the hybrid ABI, and a second run changes nothing', async () => {
    const root = tempTree({ 'walk.c': HYBRID_MODULE });
    const r = await cli(['--all', '--target', 'hybrid', '--write', '--allow-dirty', 'walk.c'], root);
    expect(r.code, r.stderr).toBe(0);
    const built = compileC(join(root, 'walk.c'), 'hybrid');
    expect(built.ok, built.output).toBe(true);
    const again = await cli(['--all', '--target', 'hybrid', '--check', 'walk.c'], root);
    expect(again.code, again.stderr).toBe(0);
  }, 60_000);
  it('universal (the default) says nothing about hybrid and keeps the table whole', async () => {
    const root = tempTree({ 'walk.c': HYBRID_MODULE });
    const r = await cli(['walk.c'], root);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('walk_methods_legacy');
    expect(r.stderr).not.toContain('hybrid:');
    expect(r.stderr).toMatch(/warning\[pymethoddef\]: 'walk_iter' calls 'PyObject_GetIter'/);
  });
  it('universal: the functions of a table kept whole are reported once, by the transform that kept it', async () => {
    const root = tempTree({ 'walk.c': HYBRID_MODULE });
    const r = await cli(['--all', 'walk.c'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning\[pymethoddef\]: 'walk_iter' calls 'PyObject_GetIter'/);
    expect(r.stderr).toMatch(/warning\[capi-call\]: 'PyObject_GetIter' has no HPy 0\.9\.0 counterpart/);
    // Not told again by every body transform that meets them: the table's finding says why.
    expect(r.stderr).not.toMatch(/'walk_(first|iter)' does not receive an 'HPyContext \*ctx'/);
    expect(r.stderr).not.toMatch(/'walk_(first|iter)' keeps its C-API signature/);
  });
  it('the JSON report of a hybrid run counts the functions of each file and in the summary', async () => {
    const root = tempTree({ 'walk.c': HYBRID_MODULE, 'plain.c': 'int twice(int x) { return 2 * x; }\n' });
    const r = await cli(['--target', 'hybrid', '--format', 'json', '.'], root);
    const report = JSON.parse(r.stdout);
    expect(report.summary.functions).toEqual({ hpy: 1, legacy: 1 });
    const walk = report.files.find((f: { path: string }) => f.path === 'walk.c');
    expect(walk.functions).toEqual({ hpy: ['walk_first'], legacy: ['walk_iter'] });
    expect(report.files.find((f: { path: string }) => f.path === 'plain.c').functions).toEqual({ hpy: [], legacy: [] });
    const universal = JSON.parse((await cli(['--format', 'json', '.'], root)).stdout);
    expect(universal.summary.functions).toBeUndefined();
  });
  it('an unknown target is a usage error (exit 2)', async () => {
    const r = await cli(['--target', 'bogus', 'a.c'], tempTree({ 'a.c': PYTHON_H }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/argument 'bogus' is invalid. Allowed choices are universal, hybrid/);
  });
  it('comes from [tool.hpy-migrate] target; the command line wins; a bad value is a usage error', async () => {
    const root = tempTree({ 'pyproject.toml': '[tool.hpy-migrate]\ntarget = "hybrid"\n', 'a.c': PYTHON_H });
    const hybrid = await cli(['a.c'], root);
    expect(hybrid.code).toBe(0);
    expect(hybrid.stdout).toContain('+#include "hpy.h"');
    expect(hybrid.stdout).not.toContain('-#include <Python.h>');
    expect(hybrid.stderr).toContain('hpy-migrate: hybrid: 0 functions HPy, 0 legacy\n');
    const universal = await cli(['--target', 'universal', 'a.c'], root);
    expect(universal.stdout).toContain('-#include <Python.h>\n+#include "hpy.h"');
    const bad = tempTree({ 'pyproject.toml': '[tool.hpy-migrate]\ntarget = "pure"\n', 'a.c': PYTHON_H });
    const b = await cli(['a.c'], bad);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("[tool.hpy-migrate] target must be one of 'universal', 'hybrid', not 'pure'");
  });
});

describe('the installed command', () => {
  it('runs as a process with the documented exit codes', () => {
    expect(existsSync(join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js')), 'npm run build first').toBe(true);
    const root = tempTree({ 'a.c': PYTHON_H });
    const ok = spawnSync('node', [BIN, 'a.c'], { cwd: root, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('+#include "hpy.h"');
    expect(spawnSync('node', [BIN, '--check', 'a.c'], { cwd: root }).status).toBe(1);
    expect(spawnSync('node', [BIN, '--nope'], { cwd: root }).status).toBe(2);
    const help = spawnSync('node', [BIN, '--help'], { cwd: root, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit codes');
  });
});
