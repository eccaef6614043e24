/**
 * Syntax-checks a C file against the installed HPy 0.9.0 headers with the flags `hpy.devel`
 * would use for the given ABI (DESIGN.md §5, step 3).
 */
import { spawnSync } from 'node:child_process';
import { hpyForbidPythonHDir, hpyIncludeDir, pythonIncludeDir, requireHpy } from './python.js';

/** The HPy ABIs a port can be compiled for. */
export type CompileAbi = 'hybrid' | 'universal';

/** Outcome of one compiler run: `output` is the compiler's stdout and stderr together. */
export interface CompileResult {
  ok: boolean;
  output: string;
}

/** The compiler arguments, minus the file, for one ABI. */
export function compileFlags(abi: CompileAbi): string[] {
  const common = ['-fsyntax-only', '-Werror=implicit-function-declaration', '-DHPY'];
  if (abi === 'hybrid') {
    return [...common, '-DHPY_ABI_HYBRID', `-I${hpyIncludeDir()}`, `-I${pythonIncludeDir()}`];
  }
  // Universal code must not see CPython's headers: like hpy.devel, put the folder whose
  // Python.h is an #error first, and leave CPython's include folder out altogether.
  return [...common, '-DHPY_ABI_UNIVERSAL', `-I${hpyForbidPythonHDir()}`, `-I${hpyIncludeDir()}`];
}

/** Runs `cc -fsyntax-only` on `file` for the given ABI; `ok` means zero errors. */
export function compileC(file: string, abi: CompileAbi): CompileResult {
  requireHpy();
  const args = [...compileFlags(abi), file];
  const run = spawnSync('cc', args, { encoding: 'utf8' });
  if (run.error) {
    return { ok: false, output: `could not run cc: ${run.error.message}` };
  }
  const output = `$ cc ${args.join(' ')}\n${run.stdout}${run.stderr}`;
  return { ok: run.status === 0, output };
}
