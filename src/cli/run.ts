import { dirname, relative, resolve } from 'node:path';
import ignore from 'ignore';
import { createCParser, functionKinds, HpyMigrateError, type Diagnostic, type FunctionKinds, type Target, type Transform } from '../api/index.js';
import { runFile, type FileResult } from '../engine/index.js';
import { collectIndex } from '../index/index.js';
import { discoverFiles, dirtyFiles, readSource, writeAtomic, type Encoding, type SourceText } from '../io/index.js';
import type { FileConfig } from './config.js';
import type { CliOptions } from './options.js';

/** One file's outcome: its engine result, or why it was not processed. */
export interface FileOutcome {
  path: string;
  encoding: Encoding | null;
  result: FileResult;
  /** Set when the file was not rewritten at all (binary). */
  skipped?: string;
  /** In a hybrid run: which functions of the result are HPy and which legacy. */
  functions?: FunctionKinds;
}

/** Everything a run produced, ready to be printed. */
export interface RunOutcome {
  files: FileOutcome[];
  /** One-line notes (skipped symlinks, ...). */
  notes: string[];
  /** Set when --write refused to write (dirty files). */
  refused?: string;
}

/** What `migrate` needs. */
export interface MigrateInput {
  options: CliOptions;
  config: FileConfig | null;
  transforms: Transform<any>[];
  /** Ids of every registered transform. */
  registered?: readonly string[];
  /** The run's target (default `universal`). */
  target?: Target;
  cwd: string;
}

/** Discovers, reads, indexes, rewrites and (with --write) writes. */
export async function migrate(input: MigrateInput): Promise<RunOutcome> {
  const { options, config, cwd } = input;
  const roots = options.paths.length > 0 ? options.paths : (config?.include ?? []);
  if (roots.length === 0) throw new HpyMigrateError('usage', 'no paths given (try: hpy-migrate src/, or hpy-migrate --help)');
  const found = await discoverFiles(roots, { cwd });
  const files = excludeByConfig(found.files, config, cwd);
  if (files.length === 0) throw new HpyMigrateError('input', `no C files (*.c, *.h) under ${roots.map((r) => `'${r}'`).join(', ')}`);
  const reads = await Promise.all(files.map((f) => readSource(resolve(cwd, f)).then((r) => ({ path: f, r }))));
  const sources: { path: string; source: SourceText }[] = [];
  const outcomes: FileOutcome[] = [];
  for (const { path, r } of reads) {
    if (r.kind === 'text') sources.push({ path, source: r.source });
    else if (r.kind === 'binary') outcomes.push(skippedOutcome(path, 'binary file (it contains NUL bytes)'));
    else outcomes.push(failedOutcome(path, r.message));
  }
  const parser = createCParser();
  const index = collectIndex(sources.map((s) => ({ path: s.path, text: s.source.text })), parser);
  for (const { path, source } of sources) {
    const result = runFile({ path, text: source.text, transforms: input.transforms, registered: input.registered, target: input.target, index, parser });
    const outcome: FileOutcome = { path, encoding: source.encoding, result };
    if (input.target === 'hybrid') outcome.functions = functionKinds(parser.parse(result.output), result.output);
    outcomes.push(outcome);
  }
  outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const outcome: RunOutcome = { files: outcomes, notes: found.notes };
  if (options.write) await writeChanged(outcome, options, cwd);
  return outcome;
}

function excludeByConfig(files: string[], config: FileConfig | null, cwd: string): string[] {
  if (!config?.exclude?.length) return files;
  const base = dirname(config.source);
  const ig = ignore().add(config.exclude);
  return files.filter((f) => {
    const rel = relative(base, resolve(cwd, f));
    return rel.startsWith('..') || !ig.ignores(rel.split('\\').join('/'));
  });
}

function errorDiagnostic(path: string, message: string, note: string): Diagnostic {
  return { file: path, start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', transform: 'engine', message, notes: [note] };
}

function emptyResult(path: string, diagnostics: Diagnostic[], failed: boolean): FileResult {
  return { path, original: '', output: '', status: failed ? 'failed' : 'unchanged', transforms: [], edits: 0, appliedEdits: [], diagnostics };
}

function failedOutcome(path: string, message: string): FileOutcome {
  return { path, encoding: null, result: emptyResult(path, [errorDiagnostic(path, message, 'the file was not processed; the others were')], true) };
}

function skippedOutcome(path: string, why: string): FileOutcome {
  const note: Diagnostic = { ...errorDiagnostic(path, `skipped: ${why}`, ''), severity: 'note', notes: [] };
  return { path, encoding: null, result: emptyResult(path, [note], false), skipped: why };
}

async function writeChanged(outcome: RunOutcome, options: CliOptions, cwd: string): Promise<void> {
  const changed = outcome.files.filter((f) => f.result.status === 'changed');
  if (!options.allowDirty) {
    const dirty = await dirtyFiles(changed.map((f) => resolve(cwd, f.path)));
    if (dirty.length > 0) {
      const names = changed.filter((f) => dirty.includes(resolve(cwd, f.path))).map((f) => f.path);
      outcome.refused = `refusing to write: ${names.join(', ')} ha${names.length > 1 ? 've' : 's'} uncommitted changes; commit or stash first, or use --allow-dirty`;
      return;
    }
  }
  for (const f of changed) {
    try {
      await writeAtomic(resolve(cwd, f.path), f.result.output, f.encoding!);
    } catch (e) {
      const r = f.result;
      f.result = { ...r, status: 'failed', output: r.original, edits: 0, transforms: [], appliedEdits: [], diagnostics: [...r.diagnostics, errorDiagnostic(f.path, (e as Error).message, 'the file is unchanged; the others were written')] };
    }
  }
}
