import Parser from 'tree-sitter';
import C from 'tree-sitter-c';
import { HpyMigrateError } from './errors.js';
import { maskText, DEFAULT_MASKS, type MaskRule } from './masks.js';
import type { Span, SyntaxNode, Tree } from './types.js';

/** A tree-sitter-c parser with the project's masks. One per thread; not shared across workers. */
export interface CParser {
  /** Parses `text` through its masked copy; the tree's offsets are those of `text`. */
  parse(text: string): Tree;
  /** Compiles a query once and caches it. Throws `HpyMigrateError` if it does not compile. */
  query(source: string): Parser.Query;
}

/** Creates a parser. `masks` defaults to the C-API mask table. */
export function createCParser(masks: readonly MaskRule[] = DEFAULT_MASKS): CParser {
  const parser = new Parser();
  parser.setLanguage(C as unknown as Parser.Language);
  const queries = new Map<string, Parser.Query>();
  return {
    parse(text) {
      const masked = maskText(text, masks).text;
      // The default buffer is too small for large files in the node binding.
      return parser.parse(masked, undefined, { bufferSize: masked.length * 2 + 1024 });
    },
    query(source) {
      let q = queries.get(source);
      if (!q) {
        try {
          q = new Parser.Query(C as unknown as Parser.Language, source);
        } catch (e) {
          throw new HpyMigrateError('engine', `query does not compile: ${(e as Error).message}`);
        }
        queries.set(source, q);
      }
      return q;
    },
  };
}

/** Spans of ERROR and MISSING nodes (the outermost ones). */
export function brokenSpans(tree: Tree): Span[] {
  const spans: Span[] = [];
  const visit = (node: SyntaxNode): void => {
    if (node.type === 'ERROR' || node.isMissing) {
      spans.push({ start: node.startIndex, end: node.endIndex });
      return;
    }
    if (!node.hasError) return;
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return spans;
}

/** Number of ERROR and MISSING nodes in a tree (all of them, nested included). */
export function countBroken(tree: Tree): number {
  let n = 0;
  const visit = (node: SyntaxNode): void => {
    if (node.type === 'ERROR' || node.isMissing) n++;
    if (!node.hasError && !node.isMissing) return;
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return n;
}
