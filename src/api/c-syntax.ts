import type { Span, SyntaxNode, Tree } from './types.js';

// Function definitions of each tree, in source order. Walking `parent` links is slow in the node
// binding (each step searches down from the root), so enclosing functions are found by position.
const FUNCTIONS = new WeakMap<Tree, SyntaxNode[]>();

function functionsOf(tree: Tree): SyntaxNode[] {
  let fns = FUNCTIONS.get(tree);
  if (!fns) {
    fns = tree.rootNode.descendantsOfType('function_definition');
    FUNCTIONS.set(tree, fns);
  }
  return fns;
}

/** The innermost span of `spans` (sorted by start, not overlapping) that contains `node`. */
export function spanContaining<T extends Span | SyntaxNode>(spans: readonly T[], node: SyntaxNode): T | null {
  const start = (s: T) => ('startIndex' in s ? s.startIndex : s.start);
  const end = (s: T) => ('endIndex' in s ? s.endIndex : s.end);
  let lo = 0;
  let hi = spans.length - 1;
  let found: T | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (start(spans[mid]) <= node.startIndex) {
      found = spans[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found && end(found) >= node.endIndex && found !== (node as unknown) ? found : null;
}

/** The `function_definition` around `node`, if any (C functions do not nest). */
export function enclosingFunction(node: SyntaxNode): SyntaxNode | null {
  const fn = spanContaining(functionsOf(node.tree), node);
  return fn && !(fn.startIndex === node.startIndex && fn.endIndex === node.endIndex) ? fn : null;
}

/** The name of a function definition (`f` in `static HPy f(HPyContext *ctx)`). */
export function functionName(fn: SyntaxNode): string | null {
  const decl = functionDeclarator(fn);
  const id = decl?.childForFieldName('declarator');
  return id && id.type === 'identifier' ? id.text : null;
}

/** The `function_declarator` of a function definition, through pointer declarators. */
export function functionDeclarator(fn: SyntaxNode): SyntaxNode | null {
  let d = fn.childForFieldName('declarator');
  while (d && d.type !== 'function_declarator') d = d.childForFieldName('declarator');
  return d;
}

/** `(type, name)` of each named parameter of a function definition. */
export function functionParams(fn: SyntaxNode): { type: string; name: string }[] {
  const params = functionDeclarator(fn)?.childForFieldName('parameters');
  if (!params) return [];
  const out: { type: string; name: string }[] = [];
  for (const p of params.namedChildren) {
    if (p.type !== 'parameter_declaration') continue;
    const type = p.childForFieldName('type')?.text ?? '';
    let d = p.childForFieldName('declarator');
    let stars = '';
    while (d && d.type === 'pointer_declarator') {
      stars += '*';
      d = d.childForFieldName('declarator');
    }
    if (d && d.type === 'identifier') out.push({ type: stars ? `${type} ${stars}` : type, name: d.text });
  }
  return out;
}

/** Does the function take `HPyContext *ctx`? */
export function hasContextParam(fn: SyntaxNode): boolean {
  return functionParams(fn).some((p) => p.name === 'ctx' && p.type.startsWith('HPyContext'));
}

/** The called function's name of a `call_expression` whose callee is a plain identifier. */
export function calleeName(call: SyntaxNode): string | null {
  const fn = call.childForFieldName('function');
  return fn && fn.type === 'identifier' ? fn.text : null;
}

/** Argument nodes of a `call_expression`. */
export function callArguments(call: SyntaxNode): SyntaxNode[] {
  return call.childForFieldName('arguments')?.namedChildren.filter((n) => n.type !== 'comment') ?? [];
}

/**
 * Is `stmt` in a position where it may be replaced by several statements without braces?
 * (directly in a block, a case body or the file; not the lone body of if/else/for/while/do).
 */
export function isInStatementList(stmt: SyntaxNode): boolean {
  const p = stmt.parent;
  return !!p && ['compound_statement', 'case_statement', 'translation_unit'].includes(p.type);
}

/** The statement that directly follows `stmt` in its block, skipping comments. */
export function nextStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.nextNamedSibling;
  while (n && n.type === 'comment') n = n.nextNamedSibling;
  return n;
}

/** Leading whitespace of the line on which `index` lies. */
export function indentationAt(text: string, index: number): string {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  const m = /^[ \t]*/.exec(text.slice(lineStart));
  return m ? m[0] : '';
}

/** Strips one level of parentheses: `((x))` gives `x`'s node. */
export function unparenthesize(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.type === 'parenthesized_expression' && n.namedChildCount === 1) n = n.namedChildren[0];
  return n;
}

/** The declared identifier of a declarator: `x` in `x`, `*x`, `x = 1`, `x[3]`, `(*x)(void)`. */
export function declaredIdentifier(declarator: SyntaxNode | null): SyntaxNode | null {
  let n: SyntaxNode | null = declarator;
  while (n && n.type !== 'identifier') {
    n = n.childForFieldName('declarator') ?? (n.type === 'parenthesized_declarator' ? n.firstNamedChild : null);
  }
  return n;
}

/** Names declared by the parameters and local declarations of a function definition. */
export function declaredNames(fn: SyntaxNode): Set<string> {
  const names = new Set<string>();
  for (const decl of fn.descendantsOfType(['declaration', 'parameter_declaration'])) {
    for (const d of decl.childrenForFieldName('declarator')) {
      const id = declaredIdentifier(d);
      if (id) names.add(id.text);
    }
  }
  return names;
}

/** The text without comments and string literals, for searching names in code (offsets change). */
export function codeWithoutCommentsAndStrings(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"/g, '');
}
