import type Parser from 'tree-sitter';
import type { ProjectIndex } from './project-index.js';

/** A tree-sitter syntax node (re-exported so transforms need not import tree-sitter). */
export type SyntaxNode = Parser.SyntaxNode;
/** A tree-sitter tree. */
export type Tree = Parser.Tree;

/** `safe`: the rewrite keeps the meaning. `review`: it compiles, but a person must confirm it. */
export type Safety = 'safe' | 'review';

/** What the port aims at: a pure HPy module (`universal`), or HPy beside legacy C-API code (`hybrid`). */
export type Target = 'universal' | 'hybrid';

/** How bad a finding is. `error` fails the file (it is left unchanged). */
export type Severity = 'error' | 'warning' | 'note';

/** The porting concern a transform addresses (STYLE.md §2). */
export type Concern =
  | 'handles'
  | 'type-checks'
  | 'globals'
  | 'refcounts'
  | 'type-specs'
  | 'module-def'
  | 'arg-parsing'
  | 'errors';

/** Half-open range of string (UTF-16) indices into a text. */
export interface Span {
  start: number;
  end: number;
}

/** One finding, positioned in the original file. */
export interface Diagnostic {
  file: string;
  /** Offsets into the original text. */
  start: number;
  end: number;
  /** 1-based; columns count characters. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  /** The transform id, or `engine`. */
  transform: string;
  message: string;
  notes: string[];
  /** What to write by hand instead, when the transform knows (one line). */
  suggestion?: string;
  /** Safety of the edit this diagnostic describes, if any. */
  safety?: Safety;
}

/** One recorded text change. Offsets are into the text the transform saw. */
export interface Edit extends Span {
  text: string;
  transform: string;
  safety: Safety;
  note?: string;
}

/** Options of a single edit. */
export interface EditOptions {
  /** Marks the edit down to `review`; it is never raised above the transform's own safety. */
  safety?: Safety;
  /** Shown to the reviewer; required for `review` edits. */
  note?: string;
}

/** Options of a reported finding. */
export interface ReportOptions {
  severity?: Severity;
  notes?: string[];
  /** What to write by hand instead (one line), for findings about code left unconverted. */
  suggestion?: string;
}

/** What a transform sees of the file it rewrites. */
export interface SourceFile {
  /** Path as the user gave it (relative or absolute). */
  path: string;
  /** Current text (the output of the previous pass). */
  text: string;
  /** Tree of `text` (parsed from a masked copy: offsets equal those of `text`). */
  tree: Tree;
  /** The file's line ending, to be used for inserted lines. */
  eol: '\n' | '\r\n';
}

/** A capture map of one query match: capture name to node. */
export type Match = Record<string, SyntaxNode>;

/** The engine's side of a rewrite: transforms record edits and findings through it. */
export interface RewriteApi {
  /** Project-wide facts collected before any rewrite. */
  readonly index: ProjectIndex;
  /** The file's line ending. */
  readonly eol: '\n' | '\r\n';
  /** The run's target (`--target`): in `hybrid`, code that cannot be converted stays on HPy's legacy path. */
  readonly target: Target;
  /**
   * Is a transform with this id part of hpy-migrate (registered, whether selected for this run or
   * not)? Lets a transform leave a construct to another one only when that one exists.
   */
  isRegistered(id: string): boolean;
  /** Does a transform with this id run in this run (before or after this one)? */
  isSelected(id: string): boolean;
  /** Matches of a tree-sitter query (compiled once per run) under `node` (default: the root). */
  matches(query: string, node?: SyntaxNode): Match[];
  /** The current text of a node or span (never the masked text). */
  text(target: SyntaxNode | Span): string;
  replace(target: SyntaxNode | Span, text: string, options?: EditOptions): void;
  insertBefore(target: SyntaxNode | Span, text: string, options?: EditOptions): void;
  insertAfter(target: SyntaxNode | Span, text: string, options?: EditOptions): void;
  remove(target: SyntaxNode | Span, options?: EditOptions): void;
  /** Records a finding (default severity: warning). */
  report(target: SyntaxNode | Span, message: string, options?: ReportOptions): void;
}

/** A transform's definition, as written in `transforms/<id>.ts`. */
export interface Transform<O = Record<string, unknown>> {
  /** kebab-case; equals the file name, the fixture folder and the command-line value. */
  id: string;
  /** One line, shown by `--list-transforms`. */
  summary: string;
  concern: Concern;
  safety: Safety;
  /** In the default set? (safe transforms are, review ones are not). */
  default: boolean;
  /** Ids this transform must run after. */
  after?: string[];
  rewrite(file: SourceFile, api: RewriteApi, options: O): void;
}
