/**
 * Compile (DESIGN.md §5, step 3): the pipeline fixture outputs compile against the installed
 * HPy 0.9.0 headers with zero errors. Small inline programs prove the harness itself works.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileC } from './support/compile.js';
import { repoRoot } from './support/python.js';

const COMPILE_TIMEOUT = 60_000;

const pipelineDir = join(repoRoot, 'fixtures', '_pipeline');
// A fresh clone has no _pipeline folder until the first pipeline case is committed.
const pipelineOutputs = (existsSync(pipelineDir) ? readdirSync(pipelineDir) : [])
  .filter((name) => name.endsWith('.output.c'))
  .sort()
  .map((name) => join(pipelineDir, name));

const HPY_SNIPPET = `#include "hpy.h"

HPy compile_probe(HPyContext *ctx, HPy arg)
{
    HPy kept = HPy_Dup(ctx, arg);
    if (HPy_IsNull(kept))
        return HPy_NULL;
    HPy_Close(ctx, kept);
    return HPy_Dup(ctx, ctx->h_None);
}
`;

const PYTHON_H_SNIPPET = `#include <Python.h>
#include "hpy.h"

PyObject *compile_probe(void) { Py_RETURN_NONE; }
`;

// HPyList_Insert only exists after 0.9.0, so this must fail as an implicit declaration.
const UNKNOWN_FUNCTION_SNIPPET = `#include "hpy.h"

int compile_probe(HPyContext *ctx, HPy list)
{
    return HPyList_Insert(ctx, list, 0, ctx->h_None);
}
`;

const scratchDir = mkdtempSync(join(tmpdir(), 'hpy-migrate-compile-'));
afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

function writeScratch(name: string, text: string): string {
  const file = join(scratchDir, name);
  writeFileSync(file, text);
  return file;
}

describe('pipeline fixture outputs compile (hybrid and universal ABI)', () => {
  for (const file of pipelineOutputs) {
    for (const abi of ['hybrid', 'universal'] as const) {
      it(`${relative(repoRoot, file)} (${abi})`, () => {
        const result = compileC(file, abi);
        expect(result.ok, result.output).toBe(true);
      }, COMPILE_TIMEOUT);
    }
  }

  it('compiles a small HPy program (harness check)', () => {
    const result = compileC(writeScratch('hpy-snippet.c', HPY_SNIPPET), 'hybrid');
    expect(result.ok, result.output).toBe(true);
  }, COMPILE_TIMEOUT);
});

describe('compile harness', () => {
  it('compiles the HPy program in universal mode too', () => {
    const result = compileC(writeScratch('hpy-snippet.c', HPY_SNIPPET), 'universal');
    expect(result.ok, result.output).toBe(true);
  }, COMPILE_TIMEOUT);

  it('rejects #include <Python.h> in universal mode only', () => {
    const file = writeScratch('python-h.c', PYTHON_H_SNIPPET);
    const universal = compileC(file, 'universal');
    expect(universal.ok, universal.output).toBe(false);
    expect(universal.output).toMatch(/forbidden to #include <Python\.h>/);
    const hybrid = compileC(file, 'hybrid');
    expect(hybrid.ok, hybrid.output).toBe(true);
  }, COMPILE_TIMEOUT);

  it('reports a call to a function HPy 0.9.0 does not declare as an error', () => {
    const result = compileC(writeScratch('unknown.c', UNKNOWN_FUNCTION_SNIPPET), 'hybrid');
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toMatch(/implicit declaration of function .HPyList_Insert./);
  }, COMPILE_TIMEOUT);
});

describe("the README's example, migrated by the CLI", () => {
  it('compiles in universal and hybrid ABI with zero errors', async () => {
    const { cpSync } = await import('node:fs');
    const { cli } = await import('./support/cli-harness.js');
    const dir = join(scratchDir, 'half-ported');
    cpSync(join(repoRoot, 'examples', 'half-ported'), dir, { recursive: true });
    const run = await cli(['--write', '--allow-dirty', dir], scratchDir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('0 errors, 0 warnings');
    for (const abi of ['universal', 'hybrid'] as const) {
      const result = compileC(join(dir, 'stats.c'), abi);
      expect(result.ok, result.output).toBe(true);
    }
  }, COMPILE_TIMEOUT);
});

// Issue 3, "report, never half-convert": --all on code with constructs HPy 0.9.0 lacks must
// leave those parts as they were, so the file still compiles in hybrid ABI.
const UNCONVERTIBLE_DIR = join(repoRoot, 'fixtures', '_unconvertible');
const KNOWN_GAPS = new Set<string>([]);

describe('--all on files with unconvertible constructs compiles in hybrid ABI', () => {
  const files = existsSync(UNCONVERTIBLE_DIR) ? readdirSync(UNCONVERTIBLE_DIR).filter((f) => f.endsWith('.c')).sort() : [];
  it('has cases', () => expect(files.length).toBeGreaterThan(0));
  for (const name of files) {
    const check = async () => {
      const { cpSync } = await import('node:fs');
      const { cli } = await import('./support/cli-harness.js');
      const dir = mkdtempSync(join(scratchDir, 'unconvertible-'));
      cpSync(join(UNCONVERTIBLE_DIR, name), join(dir, name));
      const run = await cli(['--all', '--write', dir], dir);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr, 'what is left is reported').toMatch(/warning\[/);
      const result = compileC(join(dir, name), 'hybrid');
      expect(result.ok, result.output).toBe(true);
    };
    if (KNOWN_GAPS.has(name)) it.fails(`${name} (known gap: issue 3, a converted method table next to a module left whole)`, check, COMPILE_TIMEOUT);
    else it(name, check, COMPILE_TIMEOUT);
  }
});
