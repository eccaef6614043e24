/**
 * Run (DESIGN.md §5, step 4): each extension in fixtures/extensions/ builds and passes its own
 * pytest suite; the migrated copy will have to pass the same suite as an HPy universal build.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeWithoutCommentsAndStrings } from '../src/api/index.js';
import { cli } from './support/cli-harness.js';
import {
  extensionNames,
  extensionsDir,
  pytestCounts,
  runExtension,
  runExtensionDir,
  type RunExtensionOptions,
  type RunExtensionResult,
} from './support/e2e.js';

const BUILD_TIMEOUT = 600_000;

function removeWhenGreen(result: RunExtensionResult): void {
  if (result.ok) rmSync(result.workDir, { recursive: true, force: true });
}

describe('original extensions build against CPython and pass their suites', () => {
  for (const name of extensionNames()) {
    it(name, async () => {
      const result = await runExtension(name, { abi: 'cpython' });
      expect(result.ok, result.log).toBe(true);
      const counts = pytestCounts(result.log);
      expect(counts.passed, result.log).toBeGreaterThanOrEqual(10);
      expect(result.log).not.toMatch(/\bfailed\b/);
      expect(counts.errors, result.log).toBe(0);
      removeWhenGreen(result);
    }, BUILD_TIMEOUT);
  }
});

/**
 * How each extension is ported (issue 4): `universal` extensions must become pure HPy modules;
 * `hybrid` ones use what HPy 0.9.0 lacks, so they port with `--target hybrid` (legacy parts kept)
 * and, with the default universal target, must be reported and left buildable in hybrid ABI.
 * `ported: false` runs the acceptance as an expected failure naming the issue (a known gap,
 * never a deleted assertion); an extension missing from the table is such a universal gap.
 */
const PLAN: Readonly<Record<string, { target: 'universal' | 'hybrid'; ported: boolean }>> = {
  kvtools: { target: 'universal', ported: true },
  ringbuf: { target: 'universal', ported: true },
  tally: { target: 'universal', ported: true },
  vec2: { target: 'universal', ported: true },
  nestkit: { target: 'universal', ported: true },
  callfam: { target: 'universal', ported: true },
  chunkwise: { target: 'hybrid', ported: true },
};

function planOf(name: string): { target: 'universal' | 'hybrid'; ported: boolean } {
  return PLAN[name] ?? { target: 'universal', ported: false };
}

/** C-API leftovers the acceptance forbids in migrated sources. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.c') || f.endsWith('.h'))) {
    const text = codeWithoutCommentsAndStrings(readFileSync(join(dir, file), 'utf8'));
    for (const m of text.matchAll(/\bPython\.h\b|\bPyObject\b|\bPy_\w+/g)) found.push(`${file}: ${m[0]}`);
  }
  return [...new Set(found)];
}

async function migrateTwice(dir: string, log: string[], extra: string[] = []): Promise<void> {
  const first = await cli(['--all', ...extra, '--write', '--allow-dirty', dir], dir);
  log.push(`hpy-migrate --all ${extra.join(' ')} --write (exit ${first.code})`, first.stderr);
  const second = await cli(['--all', ...extra, '--check', dir], dir);
  log.push(`hpy-migrate --all ${extra.join(' ')} --check after the write (exit ${second.code})`, second.stderr);
  if (first.code !== 0) throw new Error(`hpy-migrate --all --write failed (exit ${first.code}):\n${first.stderr}`);
  if (second.code !== 0) throw new Error(`a second run would change the migrated sources again:\n${second.stderr}`);
}

/** Original suite, then the migrated copy built for `target` and run under HPY=debug: same passes. */
async function checkMigrated(name: string, target: 'universal' | 'hybrid'): Promise<void> {
  const original = await runExtension(name, { abi: 'cpython' });
  expect(original.ok, original.log).toBe(true);
  const log: string[] = [];
  let dir = '';
  const result = await runExtension(name, {
    abi: target,
    debug: true,
    migrate: async (copy) => {
      dir = copy;
      await migrateTwice(copy, log, target === 'hybrid' ? ['--target', 'hybrid'] : []);
    },
  });
  const full = `${log.join('\n')}\n${result.log}`;
  if (target === 'universal') expect(leftovers(dir), full).toEqual([]);
  else expect(log.join('\n'), full).toMatch(/\d+ functions? HPy, \d+ legacy/);
  expect(result.ok, full).toBe(true);
  const before = pytestCounts(original.log);
  const after = pytestCounts(result.log);
  expect(after, full).toEqual({ passed: before.passed, failed: 0, errors: 0 });
  removeWhenGreen(original);
  removeWhenGreen(result);
}

/**
 * A hybrid extension migrated for the universal target: what cannot be converted is reported
 * (each finding with a suggestion) and the sources still build in hybrid ABI.
 */
async function checkReportedUnderUniversal(name: string): Promise<void> {
  let report = '';
  const result = await runExtension(name, {
    abi: 'hybrid',
    buildOnly: true,
    migrate: async (copy) => {
      const json = await cli(['--all', '--format', 'json', copy], copy);
      report = json.stdout;
      const written = await cli(['--all', '--write', '--allow-dirty', copy], copy);
      expect(written.code, written.stderr).toBe(0);
    },
  });
  expect(result.ok, result.log).toBe(true);
  const findings = (JSON.parse(report) as { files: { diagnostics: { severity: string; message: string; suggestion?: string; safety?: string }[] }[] }).files
    .flatMap((f) => f.diagnostics)
    .filter((d) => d.severity === 'warning' && d.safety === undefined);
  expect(findings.length, report).toBeGreaterThan(0);
  expect(findings.filter((d) => !d.suggestion).map((d) => d.message), report).toEqual([]);
  removeWhenGreen(result);
}

describe('migrated extensions build as HPy and pass their suites under HPY=debug', () => {
  for (const name of extensionNames()) {
    const { target, ported } = planOf(name);
    const title = `${name} (--target ${target})`;
    if (ported) it(title, () => checkMigrated(name, target), BUILD_TIMEOUT);
    else it.fails(`${title} (known gap: issue 4, the tool does not port it completely yet)`, () => checkMigrated(name, target), BUILD_TIMEOUT);
  }
});

describe('extensions using what HPy 0.9.0 lacks: reported under the universal target, still buildable in hybrid', () => {
  for (const name of extensionNames().filter((n) => planOf(n).target === 'hybrid')) {
    if (planOf(name).ported) it(name, () => checkReportedUnderUniversal(name), BUILD_TIMEOUT);
    else it.fails(`${name} (known gap: issue 4)`, () => checkReportedUnderUniversal(name), BUILD_TIMEOUT);
  }
});

// A pure-HPy module written here, so the runner's universal + debug path is proven before the
// migrated builds rely on it: one function is clean, the other leaks a handle on request.
const LEAK_PROBE_C = `#include "hpy.h"

HPyDef_METH(clean, "clean", HPyFunc_NOARGS)
static HPy clean_impl(HPyContext *ctx, HPy self)
{
    return HPy_Dup(ctx, ctx->h_None);
}

HPyDef_METH(maybe_leak, "maybe_leak", HPyFunc_O)
static HPy maybe_leak_impl(HPyContext *ctx, HPy self, HPy flag)
{
    int leak = HPy_IsTrue(ctx, flag);
    if (leak < 0)
        return HPy_NULL;
    if (leak)
        HPy_Dup(ctx, flag); /* the new handle is never closed: a leak */
    return HPy_Dup(ctx, ctx->h_None);
}

static HPyDef *leakprobe_defines[] = { &clean, &maybe_leak, NULL };

static HPyModuleDef leakprobe_def = {
    .doc = "Leak probe for the hpy-migrate end-to-end runner.",
    .defines = leakprobe_defines,
};

HPy_MODINIT(leakprobe, leakprobe_def)
`;

const LEAK_PROBE_TESTS = `import leakprobe


def test_clean():
    assert leakprobe.clean() is None
    assert leakprobe.maybe_leak(False) is None


def test_leaky():
    assert leakprobe.maybe_leak(True) is None
`;

/** Runs the probe through the runner (which adds the shared setup.py and conftest.py). */
async function runLeakProbe(options: RunExtensionOptions): Promise<RunExtensionResult> {
  const parent = mkdtempSync(join(tmpdir(), 'hpy-migrate-probe-'));
  const source = join(parent, 'leakprobe');
  try {
    mkdirSync(source);
    writeFileSync(join(source, 'leakprobe.c'), LEAK_PROBE_C);
    writeFileSync(join(source, 'test_leakprobe.py'), LEAK_PROBE_TESTS);
    return await runExtensionDir(source, options);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

describe('e2e runner: HPy universal build', () => {
  it('builds a pure-HPy module and runs its suite after migrating the copy', async () => {
    let migrated = '';
    const result = await runLeakProbe({
      abi: 'universal',
      migrate: (dir) => {
        migrated = dir;
      },
    });
    expect(migrated).toBe(result.workDir);
    expect(result.ok, result.log).toBe(true);
    expect(existsSync(join(result.workDir, 'leakprobe.hpy0.so')), result.log).toBe(true);
    // Outside debug mode the LeakDetector fixture stays out of the way.
    expect(pytestCounts(result.log), result.log).toEqual({ passed: 2, failed: 0, errors: 0 });
    removeWhenGreen(result);
  }, BUILD_TIMEOUT);

  it('under HPY=debug, the conftest LeakDetector fails the leaky test and passes the clean one', async () => {
    const result = await runLeakProbe({ abi: 'universal', debug: true });
    expect(result.ok, result.log).toBe(false);
    // The leak is raised in the fixture's teardown: pytest counts the call as passed plus one error.
    expect(pytestCounts(result.log), result.log).toEqual({ passed: 2, failed: 0, errors: 1 });
    expect(result.log).toMatch(/ERROR .*test_leakprobe\.py::test_leaky - hpy\.debug\.leakdetector\.HPyLeakError/);
    expect(result.log).not.toMatch(/ERROR .*test_clean/);
    rmSync(result.workDir, { recursive: true, force: true });
  }, BUILD_TIMEOUT);
});
