/**
 * End-to-end runner for the small C extensions in `fixtures/extensions/` (DESIGN.md §5, step 4):
 * copy, optionally migrate, build with the venv's Python, run the extension's pytest suite.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot, requireHpy, venvPython } from './python.js';

/** `cpython` builds plain `ext_modules`; the others pass `--hpy-abi` to setup.py. */
export type ExtensionAbi = 'cpython' | 'universal' | 'hybrid';

export interface RunExtensionOptions {
  /** Rewrites the fresh copy in place before it is built (e.g. runs hpy-migrate on it). */
  migrate?: (dir: string) => Promise<void> | void;
  /** ABI to build for; `cpython` when omitted. */
  abi?: ExtensionAbi;
  /** Import the extension with `HPY=debug` (HPy builds only load in debug mode that way). */
  debug?: boolean;
  /** Build only (no pytest run). */
  buildOnly?: boolean;
}

export interface RunExtensionResult {
  /** Every step succeeded and pytest exited with status 0. */
  ok: boolean;
  /** Commands and their complete output, step by step. */
  log: string;
  /** The temporary copy that was built and tested; the caller removes it when done. */
  workDir: string;
}

/** Counts taken from pytest's final summary line. */
export interface PytestCounts {
  passed: number;
  failed: number;
  errors: number;
}

/** setup.py (builds every *.c of the folder, C API or HPy) and conftest.py (LeakDetector under HPY=debug). */
export const harnessDir: string = join(repoRoot, 'tests', 'support', 'extension-harness');
const HARNESS_FILES = ['setup.py', 'conftest.py'];

/** Folder holding one sub-folder per end-to-end extension. */
export const extensionsDir: string = join(repoRoot, 'fixtures', 'extensions');

/** Names of the extensions in `fixtures/extensions/`, sorted. */
export function extensionNames(): string[] {
  return readdirSync(extensionsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Copies `fixtures/extensions/<name>/`, then migrates, builds and tests the copy. */
export function runExtension(
  name: string,
  options: RunExtensionOptions = {},
): Promise<RunExtensionResult> {
  return runExtensionDir(join(extensionsDir, name), options);
}

/** Same as {@link runExtension} for an extension folder anywhere on disk. */
export async function runExtensionDir(
  sourceDir: string,
  options: RunExtensionOptions = {},
): Promise<RunExtensionResult> {
  requireHpy();
  const abi = options.abi ?? 'cpython';
  const workDir = mkdtempSync(join(tmpdir(), `hpy-migrate-e2e-${basename(sourceDir)}-`));
  cpSync(sourceDir, workDir, { recursive: true, filter: (path) => !isBuildOutput(path) });
  // An extension folder holds its C sources and tests; the build and the leak check are shared.
  for (const file of HARNESS_FILES) {
    if (!existsSync(join(workDir, file))) copyFileSync(join(harnessDir, file), join(workDir, file));
  }
  const log: string[] = [`# ${sourceDir} copied to ${workDir} (abi ${abi}, debug ${options.debug === true})`];

  if (options.migrate) {
    log.push('# migrate');
    try {
      await options.migrate(workDir);
    } catch (error) {
      log.push(`migrate failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      return { ok: false, log: log.join('\n'), workDir };
    }
  }

  const env = pythonEnv(options.debug === true);
  const abiOption = abi === 'cpython' ? [] : [`--hpy-abi=${abi}`];
  const steps: string[][] = [
    ['setup.py', ...abiOption, 'build_ext', '--inplace'],
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'],
  ];
  for (const args of options.buildOnly ? steps.slice(0, 1) : steps) {
    const step = await runCommand(venvPython(), args, workDir, env);
    log.push(`$ ${env.HPY ? `HPY=${env.HPY} ` : ''}python ${args.join(' ')}`, step.output);
    if (step.code !== 0) {
      log.push(`# exit status ${step.code}`);
      return { ok: false, log: log.join('\n'), workDir };
    }
  }
  return { ok: true, log: log.join('\n'), workDir };
}

/** Reads passed/failed/error counts from pytest's output (0 for any count it does not print). */
export function pytestCounts(log: string): PytestCounts {
  const count = (word: string): number => {
    const match = new RegExp(`(\\d+) ${word}\\b`).exec(log);
    return match ? Number(match[1]) : 0;
  };
  return { passed: count('passed'), failed: count('failed'), errors: count('errors?') };
}

function isBuildOutput(path: string): boolean {
  const name = basename(path);
  return ['build', '__pycache__', '.pytest_cache'].includes(name) || name.endsWith('.so');
}

/** A hermetic environment: no inherited HPy mode, user site or PYTHONPATH. */
function pythonEnv(debug: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONNOUSERSITE: '1' };
  delete env.HPY;
  delete env.HPY_LOG;
  delete env.PYTHONPATH;
  if (debug) env.HPY = 'debug';
  return env;
}

function runCommand(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (code: number, trailer: string): void => {
      if (settled) return;
      settled = true;
      resolvePromise({ code, output: Buffer.concat(chunks).toString('utf8') + trailer });
    };
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A process that cannot start emits 'error' and may never emit 'close'.
    child.on('error', (error) => settle(127, `could not run ${command}: ${error.message}\n`));
    child.on('close', (code, signal) => settle(code ?? 128, signal ? `killed by ${signal}\n` : ''));
  });
}
