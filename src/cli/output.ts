import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pc from 'picocolors';
import type { Diagnostic } from '../api/index.js';
import { formatDiagnostic, renderFilePatch, renderJson, renderSummary, summarize, type ReportFile } from '../report/index.js';
import { encodeSource } from '../io/index.js';
import type { CliIo } from './main.js';
import type { CliOptions } from './options.js';
import type { FileOutcome, RunOutcome } from './run.js';

const EXIT_OK = 0;
const EXIT_PENDING = 1;
const EXIT_USAGE = 2;
const EXIT_FAILED = 3;

function reportFile(f: FileOutcome): ReportFile {
  const r = f.result;
  const file: ReportFile = { path: f.path, changed: r.status === 'changed', failed: r.status === 'failed', transforms: r.transforms, edits: r.edits, diagnostics: r.diagnostics };
  if (f.functions) file.functions = f.functions;
  return file;
}

/** Colour functions (picocolors). */
export type Colors = ReturnType<typeof pc.createColors>;

function paint(line: string, d: Diagnostic, c: Colors): string {
  const color = d.severity === 'error' ? c.red : d.severity === 'warning' ? c.yellow : c.cyan;
  return line.replace(`${d.severity}[`, `${color(d.severity)}[`);
}

/** The patch of every changed file, as bytes in each file's own encoding. */
export function patchBytes(files: readonly FileOutcome[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (f.result.status !== 'changed' || !f.encoding) continue;
    const prefix = f.encoding === 'utf8-bom' ? '\uFEFF' : '';
    const text = renderFilePatch({ path: f.path, before: f.result.original, after: f.result.output, prefix });
    parts.push(encodeSource(text, f.encoding === 'latin1' ? 'latin1' : 'utf8'));
  }
  return Buffer.concat(parts);
}

/** Prints the outcome as the options ask and returns the exit code. */
export async function emitOutcome(outcome: RunOutcome, options: CliOptions, io: CliIo, c: Colors): Promise<number> {
  const files = outcome.files.map(reportFile);
  for (const note of outcome.notes) io.stderr(`hpy-migrate: note: ${note}\n`);
  for (const f of outcome.files) {
    for (const d of f.result.diagnostics) {
      for (const line of formatDiagnostic(d, f.path)) io.stderr(paint(line, d, c) + '\n');
    }
  }
  if (options.format === 'json') io.stdout(renderJson(files, outcome.notes));
  else if (!options.check && !options.write) {
    const bytes = patchBytes(outcome.files);
    if (options.patch) await writeFile(resolve(io.cwd, options.patch), bytes);
    else if (bytes.length > 0) io.stdout(bytes);
  }
  const summary = summarize(files);
  const all = outcome.files.flatMap((f) => f.result.diagnostics);
  const count = (s: string) => all.filter((d) => d.severity === s).length;
  io.stderr(renderSummary(summary, { error: count('error'), warning: count('warning'), note: count('note') }));
  if (options.check) for (const f of files.filter((x) => x.changed)) io.stderr(`would change: ${f.path}\n`);
  if (outcome.refused) {
    io.stderr(`hpy-migrate: error: ${outcome.refused}\n`);
    return EXIT_USAGE;
  }
  if (summary.failed > 0) return EXIT_FAILED;
  if (options.check && summary.changed > 0) return EXIT_PENDING;
  return EXIT_OK;
}
