import {
  brokenSpans,
  countBroken,
  detectEol,
  lineColumn,
  lineStarts,
  type CParser,
  type Diagnostic,
  type Edit,
  type ProjectIndex,
  type Severity,
  type Span,
  type Target,
  type Transform,
  type Tree,
} from '../api/index.js';
import { applyEdits, checkEdits, mapToOriginal, type PassMap } from './edits.js';
import { createRewriteApi, type PendingDiagnostic } from './rewrite-api.js';
import { isSuppressed, suppressedLines } from './suppress.js';

/** What the engine needs to rewrite one file. */
export interface RunFileInput {
  path: string;
  text: string;
  /** Transforms in the order they run. */
  transforms: readonly Transform<any>[];
  /** Per-transform options, by id. */
  options?: Readonly<Record<string, Record<string, unknown>>>;
  index: ProjectIndex;
  parser: CParser;
  /** Ids of every registered transform, selected or not (see `RewriteApi.isRegistered`). */
  registered?: readonly string[];
  /** The run's target (default `universal`; see `RewriteApi.target`). */
  target?: Target;
}

/** `changed`/`unchanged`: processed; `failed`: left as it was, with an error diagnostic. */
export type FileStatus = 'changed' | 'unchanged' | 'failed';

/** The engine's result for one file. */
export interface FileResult {
  path: string;
  original: string;
  /** The new text (equal to `original` unless `status` is `changed`). */
  output: string;
  status: FileStatus;
  /** Ids of the transforms that edited the file, in run order. */
  transforms: string[];
  /** Number of edits applied. */
  edits: number;
  /** The edits applied, pass by pass (offsets are into each pass's input text). */
  appliedEdits: Edit[];
  /** Sorted by position, then transform id. */
  diagnostics: Diagnostic[];
}

/** What to write where the file does not parse: code the parser reads, then a new run. */
const BROKEN_SUGGESTION = 'plain C syntax at this position (the macro the parser cannot read written out, statements ended with semicolons), then run hpy-migrate again';
/** What to write where a transform's edits fell in code that does not parse. */
const SKIPPED_SUGGESTION = "this code converted by hand as the transform's other findings say, or written in plain C syntax and converted by a new run";

/** Runs the transforms over one file, pass by pass. Pure: no disk, no console. */
export function runFile(input: RunFileInput): FileResult {
  const { path, text: original, parser } = input;
  const eol = detectEol(original);
  const starts = lineStarts(original);
  const suppressed = suppressedLines(original);
  const pending: (PendingDiagnostic & { maps: number })[] = [];
  const maps: PassMap[] = [];
  const edited: string[] = [];
  const applied: Edit[] = [];
  let editCount = 0;
  let text = original;
  let tree: Tree = parser.parse(text);
  const brokenAtStart = countBroken(tree);
  if (brokenAtStart > 0) {
    const first = brokenSpans(tree)[0] ?? { start: 0, end: 0 };
    pending.push({
      ...first,
      maps: 0,
      severity: 'warning',
      transform: 'engine',
      message: `file does not parse cleanly (${brokenAtStart} broken region${brokenAtStart > 1 ? 's' : ''}); code inside them is left alone`,
      notes: ['check the macros around this position; see tree-sitter-c-notes in the docs'],
      suggestion: BROKEN_SUGGESTION,
    });
  }
  let failed = false;
  for (const t of input.transforms) {
    const passDiagnostics: PendingDiagnostic[] = [];
    const edits: Edit[] = [];
    const api = createRewriteApi({ text, eol, tree, parser, index: input.index, transform: t, registered: input.registered, target: input.target, selected: input.transforms.map((x) => x.id), edits, diagnostics: passDiagnostics });
    try {
      t.rewrite({ path, text, tree, eol }, api, input.options?.[t.id] ?? {});
    } catch (e) {
      pending.push({ start: 0, end: 0, maps: 0, severity: 'error', transform: t.id, message: `transform failed: ${(e as Error).message}`, notes: ['the file is left unchanged; please report this as a bug'] });
      failed = true;
      break;
    }
    const broken = brokenSpans(tree);
    const kept = edits.filter((e) => {
      const s = mapToOriginal(maps, e.start, 'start');
      const en = mapToOriginal(maps, e.end, 'end');
      return !isSuppressed(suppressed, starts, s, en, t.id);
    });
    const checked = checkEdits(kept, broken);
    for (const { edit, with: other } of checked.overlapping) {
      passDiagnostics.push({ start: edit.start, end: edit.end, severity: 'error', transform: 'engine', message: `two edits of '${t.id}' overlap ('${other.text.slice(0, 40)}' and '${edit.text.slice(0, 40)}')`, notes: ['the file is left unchanged; please report this as a bug in the transform'] });
      failed = true;
    }
    if (checked.inBroken.length > 0) {
      const e = checked.inBroken[0];
      passDiagnostics.push({ start: e.start, end: e.end, severity: 'warning', transform: t.id, message: `${checked.inBroken.length} edit${checked.inBroken.length > 1 ? 's' : ''} skipped inside code that does not parse`, notes: ['convert this part by hand, or fix the syntax and run again'], suggestion: SKIPPED_SUGGESTION });
    }
    for (const e of checked.accepted) {
      if (e.note) passDiagnostics.push({ start: e.start, end: e.end, severity: e.safety === 'review' ? 'warning' : 'note', transform: t.id, message: e.note, notes: [], safety: e.safety });
    }
    for (const d of passDiagnostics) {
      if (!isSuppressed(suppressed, starts, mapToOriginal(maps, d.start, 'start'), mapToOriginal(maps, d.end, 'end'), t.id) || d.severity === 'error') {
        pending.push({ ...d, maps: maps.length });
      }
    }
    if (failed) break;
    if (checked.accepted.length > 0) {
      text = applyEdits(text, checked.accepted);
      maps.push(checked.accepted);
      editCount += checked.accepted.length;
      applied.push(...checked.accepted);
      edited.push(t.id);
      tree = parser.parse(text);
    }
  }
  if (!failed && text !== original) {
    const brokenAtEnd = countBroken(tree);
    if (brokenAtEnd > brokenAtStart) {
      pending.push({ start: 0, end: 0, maps: 0, severity: 'error', transform: 'engine', message: `the output parses worse than the input (${brokenAtStart} broken regions before, ${brokenAtEnd} after)`, notes: ['the file is left unchanged; please report this as a bug'] });
      failed = true;
    }
  }
  const diagnostics = withoutRepeats(pending.map((d) => toDiagnostic(path, original, starts, maps.slice(0, d.maps), d)));
  sortDiagnostics(diagnostics);
  if (failed) {
    return { path, original, output: original, status: 'failed', transforms: [], edits: 0, appliedEdits: [], diagnostics };
  }
  const status: FileStatus = text === original ? 'unchanged' : 'changed';
  return { path, original, output: text, status, transforms: edited, edits: status === 'changed' ? editCount : 0, appliedEdits: status === 'changed' ? applied : [], diagnostics };
}

function toDiagnostic(file: string, original: string, starts: number[], maps: PassMap[], d: PendingDiagnostic): Diagnostic {
  const start = mapToOriginal(maps, d.start, 'start');
  const end = Math.max(start, mapToOriginal(maps, d.end, 'end'));
  const a = lineColumn(starts, start, original);
  const b = lineColumn(starts, end, original);
  const out: Diagnostic = { file, start, end, line: a.line, column: a.column, endLine: b.line, endColumn: b.column, severity: d.severity, transform: d.transform, message: d.message, notes: d.notes };
  if (d.suggestion) out.suggestion = d.suggestion;
  if (d.safety) out.safety = d.safety;
  return out;
}

/**
 * The same finding (position, severity, message) told by several transforms is one finding: the
 * first transform to tell it keeps it (e.g. "'f' does not receive a ctx" from each body transform).
 */
function withoutRepeats(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.start}:${d.end}:${d.severity}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

/** Sorts diagnostics by file, position, then transform id (stable output between runs). */
export function sortDiagnostics(ds: Diagnostic[]): void {
  ds.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.start - b.start ||
      (a.transform < b.transform ? -1 : a.transform > b.transform ? 1 : 0) ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity],
  );
}

export type { Span };
