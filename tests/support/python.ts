/**
 * Access to the Python virtual environment that `scripts/setup-python.sh` creates, and to the
 * HPy 0.9.0 installed in it. Every path is asked of the venv's own Python, never hard-coded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot: string = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const HPY_VERSION = '0.9.0';

const MISSING_HPY_MESSAGE =
  `HPy ${HPY_VERSION} is not installed in .venv: run \`bash scripts/setup-python.sh\` (it needs PyPI access)`;

/**
 * Wraps a computation so that its first successful result is reused. A failure is not
 * remembered, so a later call can succeed once the environment has been set up.
 */
function memoiseSuccess<T>(compute: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    cached ??= { value: compute() };
    return cached.value;
  };
}

/** Folder of the virtual environment: `$HPY_MIGRATE_VENV` if set, else `<repo>/.venv`. */
export function venvDir(): string {
  const override = process.env.HPY_MIGRATE_VENV;
  return override ? resolve(repoRoot, override) : join(repoRoot, '.venv');
}

/** Path of the venv's Python interpreter (`<venv>/bin/python`). */
export function venvPython(): string {
  return join(venvDir(), 'bin', 'python');
}

/** Runs a short Python program with the venv's interpreter and returns its trimmed stdout. */
function askVenvPython(program: string): string {
  return execFileSync(venvPython(), ['-c', program], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const checkHpyInstalled = memoiseSuccess((): true => {
  if (!existsSync(venvPython())) throw new Error(MISSING_HPY_MESSAGE);
  let version: string;
  try {
    version = askVenvPython(
      'import hpy.devel, hpy.universal, importlib.metadata as m; print(m.version("hpy"))',
    );
  } catch {
    throw new Error(MISSING_HPY_MESSAGE);
  }
  if (version !== HPY_VERSION) {
    throw new Error(`${MISSING_HPY_MESSAGE} (found hpy ${version})`);
  }
  return true;
});

/**
 * Throws an Error with a clear message when the venv or HPy 0.9.0 in it is missing. Tests that
 * need HPy call it first so that a machine without HPy fails them instead of skipping them.
 */
export function requireHpy(): void {
  checkHpyInstalled();
}

const hpyIncludeDirMemo = memoiseSuccess(() => {
  requireHpy();
  return askVenvPython('from hpy.devel import HPyDevel; print(HPyDevel().include_dir)');
});

const hpyForbidPythonHDirMemo = memoiseSuccess(() => {
  requireHpy();
  return askVenvPython(
    'from hpy.devel import HPyDevel; print(HPyDevel().get_include_dir_forbid_python_h())',
  );
});

const pythonIncludeDirMemo = memoiseSuccess(() => {
  requireHpy();
  return askVenvPython('import sysconfig; print(sysconfig.get_paths()["include"])');
});

/** The HPy development headers folder (holds `hpy.h`), as reported by `hpy.devel`. */
export function hpyIncludeDir(): string {
  return hpyIncludeDirMemo();
}

/**
 * The folder whose `Python.h` stops with `#error` in universal builds; `hpy.devel` puts it first
 * on the include path when it builds with `--hpy-abi=universal`.
 */
export function hpyForbidPythonHDir(): string {
  return hpyForbidPythonHDirMemo();
}

/** CPython's own header folder (holds `Python.h`) for the venv's interpreter. */
export function pythonIncludeDir(): string {
  return pythonIncludeDirMemo();
}
