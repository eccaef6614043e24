import type { Diagnostic, FunctionKinds } from '../api/index.js';

/** What the JSON report needs of a file's result. */
export interface ReportFile {
  path: string;
  changed: boolean;
  failed: boolean;
  transforms: string[];
  edits: number;
  diagnostics: Diagnostic[];
  /** Set in a hybrid run: the HPy and the legacy functions of the file's result. */
  functions?: FunctionKinds;
}

/** Totals of a run. */
export interface RunSummary {
  files: number;
  changed: number;
  unchanged: number;
  failed: number;
  edits: number;
  diagnostics: number;
  /** A hybrid run only: how many functions of the results are HPy and how many legacy. */
  functions?: FunctionCounts;
}

/** Numbers of HPy and legacy functions. */
export interface FunctionCounts {
  hpy: number;
  legacy: number;
}

/** Sums up per-file results. */
export function summarize(files: readonly ReportFile[]): RunSummary {
  const summary: RunSummary = {
    files: files.length,
    changed: files.filter((f) => f.changed).length,
    unchanged: files.filter((f) => !f.changed && !f.failed).length,
    failed: files.filter((f) => f.failed).length,
    edits: files.reduce((n, f) => n + f.edits, 0),
    diagnostics: files.reduce((n, f) => n + f.diagnostics.length, 0),
  };
  const counted = files.filter((f) => f.functions);
  if (counted.length > 0) {
    summary.functions = {
      hpy: counted.reduce((n, f) => n + f.functions!.hpy.length, 0),
      legacy: counted.reduce((n, f) => n + f.functions!.legacy.length, 0),
    };
  }
  return summary;
}

/**
 * The JSON report of DESIGN.md §2 (field names are stable). `notes` holds the run's one-line notes
 * that belong to no file (skipped symlinks), so the JSON shows everything the text shows.
 */
export function renderJson(files: readonly ReportFile[], notes: readonly string[] = []): string {
  const report = {
    files: files.map((f) => ({
      path: f.path,
      changed: f.changed,
      failed: f.failed,
      transforms: f.transforms,
      diagnostics: f.diagnostics.map((d) => ({
        line: d.line,
        column: d.column,
        endLine: d.endLine,
        endColumn: d.endColumn,
        severity: d.severity,
        transform: d.transform,
        message: d.message,
        notes: d.notes,
        ...(d.suggestion ? { suggestion: d.suggestion } : {}),
        ...(d.safety ? { safety: d.safety } : {}),
      })),
      ...(f.functions ? { functions: f.functions } : {}),
    })),
    notes,
    summary: summarize(files),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

/**
 * The summary printed on stderr: one line, and in a hybrid run a second one that counts the HPy
 * and the legacy functions (`hpy-migrate: hybrid: 9 functions HPy, 5 legacy`).
 */
export function renderSummary(s: RunSummary, counts: Record<'error' | 'warning' | 'note', number>): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const line =
    `hpy-migrate: ${plural(s.files, 'file')}: ${s.changed} changed, ${s.unchanged} unchanged, ${s.failed} failed; ` +
    `${plural(s.edits, 'edit')}; ${plural(s.diagnostics, 'diagnostic')} ` +
    `(${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.note, 'note')})\n`;
  if (!s.functions) return line;
  return `${line}hpy-migrate: hybrid: ${plural(s.functions.hpy, 'function')} HPy, ${s.functions.legacy} legacy\n`;
}
