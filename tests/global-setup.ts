/**
 * Vitest global setup: makes `npm test` work on a fresh machine by creating the Python venv with
 * HPy 0.9.0 when it is missing. It never throws: if the setup fails, the unit tests still run and
 * every HPy test fails through requireHpy() with a message saying how to fix it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, venvPython } from './support/python.js';

function hpyImports(): boolean {
  const probe = spawnSync(venvPython(), ['-c', 'import hpy.devel'], { stdio: 'ignore' });
  return probe.status === 0;
}

export default function setup(): void {
  if (hpyImports()) return;
  const run = spawnSync('bash', [join(repoRoot, 'scripts', 'setup-python.sh')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    console.warn('global-setup: could not set up the Python venv; the HPy tests will fail');
  }
}
