import MagicString from 'magic-string';
import type { Edit, Span } from '../api/index.js';

/** The outcome of checking one transform's edits. */
export interface CheckedEdits {
  accepted: Edit[];
  /** Edits that overlap an earlier accepted edit of the same transform. */
  overlapping: { edit: Edit; with: Edit }[];
  /** Edits that touch a region that does not parse. */
  inBroken: Edit[];
}

function overlaps(a: Span, b: Span): boolean {
  if (a.start === a.end) return b.start < a.start && a.start < b.end;
  if (b.start === b.end) return a.start < b.start && b.start < a.end;
  return a.start < b.end && b.start < a.end;
}

/** Sorts edits (stable) and rejects overlaps and edits that touch broken spans. */
export function checkEdits(edits: Edit[], broken: Span[]): CheckedEdits {
  const order = edits.map((e, i) => ({ e, i }));
  order.sort((x, y) => x.e.start - y.e.start || x.e.end - y.e.end || x.i - y.i);
  const accepted: Edit[] = [];
  const overlapping: CheckedEdits['overlapping'] = [];
  const inBroken: Edit[] = [];
  for (const { e } of order) {
    if (broken.some((b) => overlaps(e, b) || (e.start === e.end && e.start === b.start && b.start === b.end))) {
      inBroken.push(e);
      continue;
    }
    const clash = accepted.find((a) => overlaps(a, e) || (a.start === e.start && a.end === e.end && a.start !== a.end));
    if (clash) overlapping.push({ edit: e, with: clash });
    else accepted.push(e);
  }
  return { accepted, overlapping, inBroken };
}

/**
 * Applies non-overlapping edits with one MagicString. Replacements go first, then insertions in
 * recorded order (an insertion at the start of a replacement lands before it, at its end after it).
 */
export function applyEdits(text: string, edits: Edit[]): string {
  const ms = new MagicString(text);
  for (const e of edits) {
    if (e.start === e.end) continue;
    if (e.text === '') ms.remove(e.start, e.end);
    else ms.overwrite(e.start, e.end, e.text);
  }
  for (const e of edits) {
    if (e.start === e.end && e.text !== '') ms.appendLeft(e.start, e.text);
  }
  return ms.toString();
}

/** One applied pass, kept to map offsets of its output back to its input. */
export type PassMap = readonly Edit[];

/** Maps an offset in a pass's output back to its input. `side` picks the edge inside an edit. */
export function mapBack(map: PassMap, offset: number, side: 'start' | 'end'): number {
  let delta = 0;
  for (const e of map) {
    const newStart = e.start + delta;
    const newEnd = newStart + e.text.length;
    if (offset < newStart) break;
    if (offset < newEnd) return side === 'start' ? e.start : e.end;
    delta += e.text.length - (e.end - e.start);
  }
  return offset - delta;
}

/** Maps an offset through several passes (newest last) back to the original text. */
export function mapToOriginal(maps: readonly PassMap[], offset: number, side: 'start' | 'end'): number {
  let o = offset;
  for (let i = maps.length - 1; i >= 0; i--) o = mapBack(maps[i], o, side);
  return o;
}
