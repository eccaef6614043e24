import type { Diagnostic } from '../api/index.js';

/**
 * gcc-style lines for one diagnostic: `path:line:col: severity[id]: message`, then its notes, then
 * its suggestion (`note: write instead: ...`), so that the text shows what the JSON report shows.
 */
export function formatDiagnostic(d: Diagnostic, path: string = d.file): string[] {
  const where = `${path}:${d.line}:${d.column}`;
  const head = d.severity === 'note' && d.transform === '' ? 'note' : `${d.severity}[${d.transform}]`;
  const suggestion = d.suggestion ? [`${where}: note: write instead: ${d.suggestion}`] : [];
  return [`${where}: ${head}: ${d.message}`, ...d.notes.map((n) => `${where}: note: ${n}`), ...suggestion];
}

/** All diagnostics as text, one line each (plus note lines), ending with a newline if any. */
export function formatDiagnostics(ds: readonly Diagnostic[]): string {
  const lines = ds.flatMap((d) => formatDiagnostic(d));
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
