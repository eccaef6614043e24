import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// Without HPy the tests that need it must fail with a clear message, never skip.
it('fails (not skips) the HPy tests when HPy cannot be installed', () => {
  const root = join(import.meta.dirname, '..');
  const run = spawnSync('npx', ['vitest', 'run', 'tests/compile.test.ts'], {
    cwd: root,
    encoding: 'utf8',
    // A venv path that cannot be created: setup fails, as it would without PyPI.
    env: { ...process.env, HPY_MIGRATE_VENV: '/dev/null/no-venv', CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const out = run.stdout + run.stderr;
  expect(run.status, out).not.toBe(0);
  expect(out).toContain('HPy 0.9.0 is not installed');
  expect(out).not.toMatch(/\d+ skipped/);
  expect(out).toMatch(/Tests\s+\d+ failed/);
}, 120_000);
