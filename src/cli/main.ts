import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pc from 'picocolors';
import { HpyMigrateError, type Target, type Transform } from '../api/index.js';
import { orderTransforms } from '../engine/index.js';
import { registry } from '../../transforms/index.js';
import { findPyproject, readConfig, type FileConfig } from './config.js';
import { HelpShown, parseOptions, TARGETS, type CliOptions } from './options.js';
import { selectTransforms } from './select.js';
import { migrate, type RunOutcome } from './run.js';
import { emitOutcome } from './output.js';

/** Where the CLI prints. `stdout` may receive bytes (patches keep each file's encoding). */
export interface CliIo {
  stdout(s: string | Uint8Array): void;
  stderr(s: string): void;
  cwd: string;
  /** Colour diagnostics (default: off). */
  color?: boolean;
}

/** Exit codes of DESIGN.md §2. */
export const EXIT = { ok: 0, pending: 1, usage: 2, failed: 3 } as const;

/** The folder holding our package.json, found upwards from this module (src/ in tests, dist/src/ when built). */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new HpyMigrateError('io', 'cannot find the hpy-migrate package folder');
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Loads every registered transform, in registry order. */
export async function loadRegistry(): Promise<Transform<any>[]> {
  const out: Transform<any>[] = [];
  for (const id of Object.keys(registry)) out.push((await registry[id]()).default);
  return out;
}

/** Runs the command line; returns the exit code. Never throws for user errors. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const text = { stdout: (s: string) => io.stdout(s), stderr: io.stderr };
  try {
    const options = parseOptions(argv, packageVersion(), text);
    const available = await loadRegistry();
    if (options.listTransforms) return listTransforms(available, io);
    if (options.explain !== undefined) return explain(options.explain, available, io);
    const config = loadConfig(options, io.cwd);
    const transforms = orderTransforms(
      selectTransforms(available, {
        transforms: options.transforms ?? config?.transforms,
        skip: [...options.skip, ...(config?.skip ?? [])],
        all: options.all,
      }),
    );
    const target = options.target ?? (config?.target as Target | undefined) ?? 'universal';
    const outcome: RunOutcome = await migrate({ options, config, transforms, registered: available.map((t) => t.id), target, cwd: io.cwd });
    return emitOutcome(outcome, options, io, pc.createColors(!!io.color && options.color !== false));
  } catch (e) {
    if (e instanceof HelpShown) return EXIT.ok;
    if (e instanceof HpyMigrateError) {
      if (e.message) io.stderr(`hpy-migrate: error: ${e.message}\n`);
      return e.code === 'usage' || e.code === 'input' ? EXIT.usage : EXIT.failed;
    }
    io.stderr(`hpy-migrate: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
}

function loadConfig(options: CliOptions, cwd: string): FileConfig | null {
  const start = options.paths.length > 0 ? resolve(cwd, options.paths[0]) : cwd;
  const file = findPyproject(start);
  const config = file ? readConfig(file) : null;
  if (config?.target !== undefined && !(TARGETS as readonly string[]).includes(config.target)) {
    throw new HpyMigrateError('usage', `${config.source}: [tool.hpy-migrate] target must be one of ${TARGETS.map((t) => `'${t}'`).join(', ')}, not '${config.target}'`);
  }
  return config;
}

function listTransforms(available: readonly Transform<any>[], io: CliIo): number {
  const width = Math.max(...available.map((t) => t.id.length), 2);
  io.stdout(`${'id'.padEnd(width)}  safety  default  summary\n`);
  for (const t of available) {
    io.stdout(`${t.id.padEnd(width)}  ${t.safety.padEnd(6)}  ${(t.default ? 'on' : 'off').padEnd(7)}  ${t.summary}\n`);
  }
  return EXIT.ok;
}

function explain(id: string, available: readonly Transform<any>[], io: CliIo): number {
  if (!available.some((t) => t.id === id)) {
    throw new HpyMigrateError('usage', `unknown transform id '${id}'; valid ids: ${available.map((t) => t.id).join(', ')}`);
  }
  let docs: Record<string, { markdown: string }>;
  try {
    docs = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'transform-docs.json'), 'utf8'));
  } catch {
    throw new HpyMigrateError('io', 'transform documentation is missing; run npm run build');
  }
  const doc = docs[id];
  if (!doc) throw new HpyMigrateError('io', `no documentation for '${id}'; run npm run build`);
  const t = available.find((x) => x.id === id)!;
  io.stdout(`${id} (${t.safety}, ${t.default ? 'in the default set' : 'not in the default set: use --transforms or --all'})\n\n${doc.markdown.trimEnd()}\n`);
  return EXIT.ok;
}

/** A path as shown to the user: relative to cwd when inside it. */
export function displayPath(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
