import { structuredPatch } from 'diff';

/** One file's change to render. `prefix` is prepended to both texts (e.g. a BOM) so hunks match the bytes. */
export interface PatchInput {
  path: string;
  before: string;
  after: string;
  prefix?: string;
}

const NO_EOL = '\\ No newline at end of file';

/**
 * A git-style unified diff of one file (`diff --git a/p b/p`, `--- a/p`, `+++ b/p`), three lines of
 * context; empty if nothing changed. Line endings inside lines (`\r`) are kept as they are.
 */
export function renderFilePatch(input: PatchInput): string {
  const before = (input.prefix ?? '') + input.before;
  const after = (input.prefix ?? '') + input.after;
  if (before === after) return '';
  const p = input.path.split('\\').join('/');
  const patch = structuredPatch(`a/${p}`, `b/${p}`, before, after, '', '', { context: 3 });
  const out = [`diff --git a/${p} b/${p}`, `--- a/${p}`, `+++ b/${p}`];
  for (const h of patch.hunks) {
    out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
    for (const line of h.lines) out.push(line === NO_EOL ? NO_EOL : line);
  }
  return out.join('\n') + '\n';
}

function range(start: number, lines: number): string {
  // An empty side is numbered from the line before it, as diff and git do.
  const s = lines === 0 ? start - 1 < 0 ? 0 : start : start;
  return lines === 1 ? `${s}` : `${s},${lines}`;
}
