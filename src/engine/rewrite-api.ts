import type { CParser, Diagnostic, Edit, EditOptions, Match, ProjectIndex, RewriteApi, Safety, Span, SyntaxNode, Target, Transform, Tree } from '../api/index.js';

/** A diagnostic before it is positioned in the original file. */
export type PendingDiagnostic = Pick<Diagnostic, 'start' | 'end' | 'severity' | 'transform' | 'message' | 'notes' | 'safety' | 'suggestion'>;

/** What one pass of one transform needs. Edits and diagnostics are collected into the arrays. */
export interface RewriteApiInput {
  text: string;
  eol: '\n' | '\r\n';
  tree: Tree;
  parser: CParser;
  index: ProjectIndex;
  transform: Transform<any>;
  /** Ids of every registered transform (undefined: assume every id is registered). */
  registered?: readonly string[];
  /** The run's target (default `universal`). */
  target?: Target;
  /** Ids of the transforms of this run. */
  selected: readonly string[];
  edits: Edit[];
  diagnostics: PendingDiagnostic[];
}

function spanOf(target: SyntaxNode | Span): Span {
  if ('startIndex' in target) return { start: target.startIndex, end: target.endIndex };
  return { start: target.start, end: target.end };
}

function lower(a: Safety, b: Safety | undefined): Safety {
  return a === 'review' || b === 'review' ? 'review' : 'safe';
}

/** Creates the api object handed to a transform's `rewrite`. */
export function createRewriteApi(input: RewriteApiInput): RewriteApi {
  const { text, tree, parser, transform, edits, diagnostics } = input;
  const record = (span: Span, newText: string, options?: EditOptions): void => {
    if (span.start < 0 || span.end > text.length || span.start > span.end) {
      throw new Error(`edit out of range (${span.start}-${span.end})`);
    }
    const edit: Edit = { ...span, text: newText, transform: transform.id, safety: lower(transform.safety, options?.safety) };
    if (options?.note) edit.note = options.note;
    edits.push(edit);
  };
  return {
    index: input.index,
    eol: input.eol,
    target: input.target ?? 'universal',
    isRegistered(id) {
      return input.registered === undefined || input.registered.includes(id);
    },
    isSelected(id) {
      return input.selected.includes(id);
    },
    matches(query: string, node?: SyntaxNode): Match[] {
      return parser
        .query(query)
        .matches(node ?? tree.rootNode)
        .map((m) => Object.fromEntries(m.captures.map((c) => [c.name, c.node])) as Match);
    },
    text(target) {
      const s = spanOf(target);
      return text.slice(s.start, s.end);
    },
    replace(target, newText, options) {
      record(spanOf(target), newText, options);
    },
    insertBefore(target, newText, options) {
      const s = spanOf(target);
      record({ start: s.start, end: s.start }, newText, options);
    },
    insertAfter(target, newText, options) {
      const s = spanOf(target);
      record({ start: s.end, end: s.end }, newText, options);
    },
    remove(target, options) {
      record(spanOf(target), '', options);
    },
    report(target, message, options) {
      const s = spanOf(target);
      const d: PendingDiagnostic = { ...s, severity: options?.severity ?? 'warning', transform: transform.id, message, notes: options?.notes ?? [] };
      if (options?.suggestion) d.suggestion = options.suggestion;
      diagnostics.push(d);
    },
  };
}
