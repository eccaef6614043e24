/**
 * Rewrites that nest: `(PyObject *)x == NULL` is a cast removal inside a null test. Each rewrite
 * is planned on its own span as a function of the rendered text of the spans inside it; only the
 * outermost ones become edits, with the inner ones rendered into their text. No two edits of one
 * pass then overlap, whatever the nesting.
 */
import type { EditOptions, RewriteApi, Span, SyntaxNode } from './types.js';

/** One planned rewrite of a span; `build` renders nested spans through `render`. */
export interface NestedSite extends Span {
  build(render: (target: SyntaxNode | Span) => string): string;
}

/** The span of a node or a span. */
export function spanOf(target: SyntaxNode | Span): Span {
  return 'startIndex' in target ? { start: target.startIndex, end: target.endIndex } : { start: target.start, end: target.end };
}

/**
 * Records the outermost sites as edits; nested ones are rendered into their text. Of two sites
 * with the same span, the later one wraps the earlier: rendering that span inside the later one
 * gives the earlier one's text.
 */
export function applyNestedSites(api: RewriteApi, sites: readonly NestedSite[], options?: EditOptions): void {
  const bySpan = new Map<string, NestedSite[]>();
  for (const s of sites) {
    const key = `${s.start}:${s.end}`;
    bySpan.set(key, [...(bySpan.get(key) ?? []), s]);
  }
  const all = [...bySpan.values()].map((list) => list[0]).sort((a, b) => a.start - b.start || b.end - a.end);
  const renderAt = (span: Span, level: number): string => {
    const list = bySpan.get(`${span.start}:${span.end}`) ?? [];
    const i = Math.min(level, list.length) - 1;
    if (i < 0) return spliceInner(api, span, all, (t) => renderAt(spanOf(t), Infinity));
    return list[i].build((t) => {
      const inner = spanOf(t);
      return inner.start === span.start && inner.end === span.end ? renderAt(span, i) : renderAt(inner, Infinity);
    });
  };
  for (const s of outermost(all)) api.replace({ start: s.start, end: s.end }, renderAt(s, Infinity), options);
}

/** The text of `span` with the outermost sites strictly inside it rendered. */
function spliceInner(api: RewriteApi, span: Span, all: readonly NestedSite[], render: (target: SyntaxNode | Span) => string): string {
  const inside = all.filter((s) => s.start >= span.start && s.end <= span.end && !(s.start === span.start && s.end === span.end));
  let out = '';
  let at = span.start;
  for (const s of outermost(inside)) {
    out += api.text({ start: at, end: s.start }) + render(s);
    at = s.end;
  }
  return out + api.text({ start: at, end: span.end });
}

/** Sites not contained in an earlier (wider) one; `sites` is sorted by start, widest first. */
function outermost(sites: readonly NestedSite[]): NestedSite[] {
  const out: NestedSite[] = [];
  for (const s of sites) {
    const last = out[out.length - 1];
    if (!last || s.start >= last.end) out.push(s);
  }
  return out;
}
