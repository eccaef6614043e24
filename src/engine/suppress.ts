import { lineStarts } from '../api/index.js';

const MARK = /hpy-migrate:\s*ignore(?:\[([a-z0-9,\s-]+)\])?/g;

/** Lines (0-based) carrying a suppression comment, with the ids it names (`*` for all). */
export function suppressedLines(text: string): Map<number, Set<string>> {
  const starts = lineStarts(text);
  const out = new Map<number, Set<string>>();
  for (const m of text.matchAll(MARK)) {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1] <= (m.index ?? 0)) line++;
    const ids = m[1] ? m[1].split(',').map((s) => s.trim()).filter(Boolean) : ['*'];
    const set = out.get(line) ?? new Set<string>();
    for (const id of ids) set.add(id);
    out.set(line, set);
  }
  return out;
}

/** Is a span (its lines) suppressed for transform `id`? */
export function isSuppressed(
  lines: Map<number, Set<string>>,
  starts: number[],
  start: number,
  end: number,
  id: string,
): boolean {
  if (lines.size === 0) return false;
  for (const [line, ids] of lines) {
    const from = starts[line];
    const to = line + 1 < starts.length ? starts[line + 1] : Number.POSITIVE_INFINITY;
    if (start < to && end >= from && (ids.has('*') || ids.has(id))) return true;
  }
  return false;
}
