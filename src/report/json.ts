import type { Diagnostic } from '../api/index.js';

/** What the JSON report needs of a file's result. */
export interface ReportFile {
  path: string;
  changed: boolean;
  failed: boolean;
  transforms: string[];
  edits: number;
  diagnostics: Diagnostic[];
}

/** Totals of a run. */
export interface RunSummary {
  files: number;
  changed: number;
  unchanged: number;
  failed: number;
  edits: number;
  diagnostics: number;
}

/** Sums up per-file results. */
export function summarize(files: readonly ReportFile[]): RunSummary {
  return {
    files: files.length,
    changed: files.filter((f) => f.changed).length,
    unchanged: files.filter((f) => !f.changed && !f.failed).length,
    failed: files.filter((f) => f.failed).length,
    edits: files.reduce((n, f) => n + f.edits, 0),
    diagnostics: files.reduce((n, f) => n + f.diagnostics.length, 0),
  };
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
    })),
    notes,
    summary: summarize(files),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

/** The one-line summary printed on stderr. */
export function renderSummary(s: RunSummary, counts: Record<'error' | 'warning' | 'note', number>): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return (
    `hpy-migrate: ${plural(s.files, 'file')}: ${s.changed} changed, ${s.unchanged} unchanged, ${s.failed} failed; ` +
    `${plural(s.edits, 'edit')}; ${plural(s.diagnostics, 'diagnostic')} ` +
    `(${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.note, 'note')})\n`
  );
}
