/**
 * Handles that live for one statement: opened right before it (`HPy t = HPy_Type(ctx, x);`,
 * `HPy g = HPyGlobal_Load(ctx, G);`), used inside it in place of an expression that gave a
 * borrowed object in CPython, and closed right after it. A `return` computes its value into a
 * new local first, closes, then returns the local (a `return`, `goto`, `break` or `continue`
 * that only leaves while handles are open closes them first); an `if` whose condition reads the handles
 * closes them at the start of each branch (an `else` is added when there is none), so that no
 * path out of the branches leaks them. Shared by the transforms that turn a borrowed object into
 * a handle of their own (py-type-macro, pyobject-global).
 */
import { indentationAt } from './c-syntax.js';
import type { NestedSite } from './nested-rewrites.js';
import type { RewriteApi, Span, SyntaxNode } from './types.js';

/** Where the handles opened for an expression live. */
export interface HandleHost {
  /** An expression statement, a declaration or a `return`; or the `if` whose condition holds the expression. */
  stmt: SyntaxNode;
  kind: 'statement' | 'condition';
}

/** Why no handle can be opened around an expression. */
export type HostProblem =
  /** It runs only under `&&`, `||` or `?:` (the handle would be made where it must not). */
  | 'conditional'
  /** It is in a loop header, a `switch`, a declaration outside a block, an `else if` condition, ... */
  | 'place';

const HOSTS = new Set(['expression_statement', 'return_statement']);
const JUMPS = new Set(['return_statement', 'goto_statement', 'break_statement', 'continue_statement']);

/**
 * The host of `node`: its statement, or the `if` (directly in a block) whose condition holds it.
 * With `unconditional`, `node` must run whenever its host does.
 */
export function handleHost(node: SyntaxNode, unconditional: boolean): HandleHost | { problem: HostProblem } {
  let child = node;
  for (let n = node.parent; n; child = n, n = n.parent) {
    if (HOSTS.has(n.type)) return { stmt: n, kind: 'statement' };
    if (n.type === 'declaration') return n.parent?.type === 'compound_statement' ? { stmt: n, kind: 'statement' } : { problem: 'place' };
    if (n.type === 'if_statement') {
      const isCondition = n.childForFieldName('condition')?.id === child.id;
      return isCondition && n.parent?.type === 'compound_statement' ? { stmt: n, kind: 'condition' } : { problem: 'place' };
    }
    if (unconditional && runsConditionally(n, child)) return { problem: 'conditional' };
    if (n.type.endsWith('_statement') || n.type === 'function_definition' || n.type === 'translation_unit') return { problem: 'place' };
  }
  return { problem: 'place' };
}

/** Does `child` of `n` run only when a condition holds (the right of `&&`/`||`, a branch of `?:`)? */
function runsConditionally(n: SyntaxNode, child: SyntaxNode): boolean {
  const op = n.type === 'binary_expression' ? n.childForFieldName('operator')?.type : undefined;
  if ((op === '&&' || op === '||') && n.childForFieldName('right')?.id === child.id) return true;
  return n.type === 'conditional_expression' && n.childForFieldName('condition')?.id !== child.id;
}

/** What one host gets: the lines before it and the handles to close. */
export interface HandleStatement {
  host: HandleHost;
  /** Lines written before the host, each a whole statement (`HPy t = HPy_Type(ctx, x);`). */
  opens: string[];
  /** Names of the handles closed after the host (before its `return`, at the start of its branches). */
  closes: string[];
  /** A name free in the function, for the value of a `return` (used only by a `return` with a value). */
  result: string;
  /** The function's return type as written (`HPy`, `int`), for `result`. */
  returnType: string;
  /**
   * Does the value of a `return` host read the handles (default: yes)? When it does not, the
   * handles are closed before the `return`, which keeps its value as it is.
   */
  valueReads?: boolean;
}

/**
 * The rewrite of one host as a nested site: expressions inside it that other sites replace (the
 * borrowed expressions now read from the handles) are rendered through `render`.
 */
export function handleStatementSite(api: RewriteApi, text: string, h: HandleStatement): NestedSite {
  return h.host.kind === 'condition' ? conditionSite(api, text, h) : statementSite(api, text, h);
}

function closeLines(h: HandleStatement): string[] {
  return h.closes.map((name) => `HPy_Close(ctx, ${name});`);
}

function statementSite(api: RewriteApi, text: string, h: HandleStatement): NestedSite {
  const stmt = h.host.stmt;
  const listed = stmt.parent?.type === 'compound_statement';
  const indent = indentationAt(text, stmt.startIndex);
  const before = stmt.previousSibling;
  const own = !listed && !!before && /^[ \t]*\r?\n[ \t]*$/.test(text.slice(before.endIndex, stmt.startIndex));
  const span: Span = own ? { start: before!.endIndex, end: stmt.endIndex } : { start: stmt.startIndex, end: stmt.endIndex };
  const value = stmt.type === 'return_statement' ? stmt.namedChildren.find((c) => c.type !== 'comment') : undefined;
  return {
    ...span,
    build: (render) => {
      const lines = [...h.opens];
      if (value && h.valueReads !== false) lines.push(`${h.returnType} ${h.result} = ${render(value)};`, ...closeLines(h), `return ${h.result};`);
      else if (JUMPS.has(stmt.type)) lines.push(...closeLines(h), render(stmt));
      else lines.push(render(stmt), ...closeLines(h));
      if (listed) return lines.join(startsLine(text, stmt) ? `${api.eol}${indent}` : ' ');
      if (!own) return `{ ${lines.join(' ')} }`;
      const outer = indentationAt(text, before!.startIndex);
      return ` {${api.eol}${indent}${lines.join(`${api.eol}${indent}`)}${api.eol}${outer}}`;
    },
  };
}

/** `if (cond) A else B` with handles read by `cond`: opened before, closed first thing in A and in B. */
function conditionSite(api: RewriteApi, text: string, h: HandleStatement): NestedSite {
  const stmt = h.host.stmt;
  const eol = api.eol;
  const indent = indentationAt(text, stmt.startIndex);
  const condition = stmt.childForFieldName('condition')!;
  const consequence = stmt.childForFieldName('consequence')!;
  const alternative = stmt.childForFieldName('alternative');
  const elseBody = alternative?.namedChildren.find((c) => c.type !== 'comment') ?? null;
  const unit = indentUnit(text, stmt, indent);
  return {
    start: stmt.startIndex,
    end: stmt.endIndex,
    build: (render) => {
      let out = [...h.opens, ''].join(startsLine(text, stmt) ? `${eol}${indent}` : ' ') + render({ start: stmt.startIndex, end: condition.endIndex });
      out += branch(api, text, h, render, condition.endIndex, consequence, indent, unit);
      if (alternative && elseBody) {
        const keyword = alternative.child(0)!;
        out += render({ start: consequence.endIndex, end: keyword.endIndex });
        out += branch(api, text, h, render, keyword.endIndex, elseBody, indent, unit);
      } else {
        out += ` else {${eol}${indent}${unit}${closeLines(h).join(`${eol}${indent}${unit}`)}${eol}${indent}}`;
      }
      return out;
    },
  };
}

/** A branch that closes the handles before anything else; `from` is where the text before it ends. */
function branch(api: RewriteApi, text: string, h: HandleStatement, render: (t: SyntaxNode | Span) => string, from: number, body: SyntaxNode, indent: string, unit: string): string {
  const eol = api.eol;
  const gap = text.slice(from, body.startIndex);
  if (body.type === 'compound_statement') {
    const first = body.namedChildren[0];
    const inner = first && /\n[ \t]*$/.test(text.slice(body.startIndex, first.startIndex)) ? indentationAt(text, first.startIndex) : `${indent}${unit}`;
    return `${gap}{${eol}${inner}${closeLines(h).join(`${eol}${inner}`)}${render({ start: body.startIndex + 1, end: body.endIndex })}`;
  }
  if (/\n/.test(gap)) {
    const inner = indentationAt(text, body.startIndex);
    return ` {${eol}${inner}${[...closeLines(h), render(body)].join(`${eol}${inner}`)}${eol}${indent}}`;
  }
  return `${gap}{ ${[...closeLines(h), render(body)].join(' ')} }`;
}

/** Is `node` the first thing on its line (the new statements then go on lines of their own)? */
export function startsLine(text: string, node: SyntaxNode): boolean {
  return /^[ \t]*$/.test(text.slice(text.lastIndexOf('\n', node.startIndex - 1) + 1, node.startIndex));
}

/** One indentation step, read off the statements around `stmt`. */
export function indentUnit(text: string, stmt: SyntaxNode, indent: string): string {
  const body = stmt.childForFieldName('consequence');
  const first = body?.type === 'compound_statement' ? body.namedChildren[0] : body;
  if (first) {
    const inner = indentationAt(text, first.startIndex);
    if (inner.length > indent.length && inner.startsWith(indent)) return inner.slice(indent.length);
  }
  return '    ';
}

/** The return type of a function definition as written, with its qualifiers (`HPy`, `const char *`). */
export function functionReturnType(api: RewriteApi, fn: SyntaxNode): string {
  let stars = '';
  for (let d = fn.childForFieldName('declarator'); d && d.type === 'pointer_declarator'; d = d.childForFieldName('declarator')) stars += '*';
  const qualifiers = fn.namedChildren.filter((c) => c.type === 'type_qualifier').map((c) => `${api.text(c)} `).join('');
  const type = `${qualifiers}${api.text(fn.childForFieldName('type')!)}`;
  return stars ? `${type} ${stars}` : type;
}
