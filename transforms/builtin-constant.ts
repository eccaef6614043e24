/**
 * Turns the built-in objects (`Py_None`, `PyExc_*`, `&Py*_Type`) into context handles and
 * `Py_RETURN_*` into returns of a new handle.
 *
 * ## Why
 * HPy has no global objects: `None`, the exceptions and the built-in types are handles stored in
 * the context (`ctx->h_None`, `ctx->h_ValueError`, `ctx->h_LongType`; API reference, section
 * "HPyContext": https://docs.hpyproject.org/en/latest/api.html). A handle is a struct, so
 * `x == Py_None` no longer compiles and identity is `HPy_Is`. A context handle belongs to the
 * context: it is never closed, and a function that returns it must return a duplicate (returning
 * `ctx->h_None` itself aborts in debug mode).
 *
 * ## Before
 * ```c
 * static HPy maybe_default(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     if (arg == Py_None)
 *         Py_RETURN_FALSE;
 *     if (!PyObject_TypeCheck(arg, &PyLong_Type))
 *         return HPyErr_SetString(ctx, PyExc_TypeError, "expected an int");
 *     Py_RETURN_TRUE;
 * }
 * ```
 * ## After
 * ```c
 * static HPy maybe_default(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     if (HPy_Is(ctx, arg, ctx->h_None))
 *         return HPy_Dup(ctx, ctx->h_False);
 *     if (!PyObject_TypeCheck(arg, ctx->h_LongType))
 *         return HPyErr_SetString(ctx, ctx->h_TypeError, "expected an int");
 *     return HPy_Dup(ctx, ctx->h_True);
 * }
 * ```
 * ## Safety
 * safe: every rewrite names the same object. A context handle is used where CPython used a
 * borrowed pointer to the object, and neither is released; `Py_RETURN_X` returned a new
 * reference, and `HPy_Dup` returns the one new handle the caller will close. `==` and `!=` on
 * a built-in object were identity tests, which is what `HPy_Is` is (so are `Py_IsNone`,
 * `Py_IsTrue` and `Py_IsFalse`); a cast to `PyObject *` or `PyTypeObject *` around `&Py*_Type`
 * disappears because the handle is already an object. `PyEval_GetBuiltins()` returned a borrowed
 * dict, and `ctx->h_Builtins` is that dict, never closed either.
 *
 * ## Limits
 * Reported (warning) and left alone:
 * - built-in objects without a context handle in HPy 0.9.0 (`PyDict_Type`, `PySet_Type`,
 *   `PyExc_EncodingWarning`, ...), with the way to fetch them at module init;
 * - a type object used other than through its address (`PyLong_Type.tp_name`, `sizeof(PyLong_Type)`),
 *   or through a cast to another type;
 * - `&Py*_Type` compared with `Py_TYPE(x)`, an exact type test that the tp-slot-comparison
 *   transform rewrites;
 * - uses at file scope (initializers, `PyType_Slot` tables), where no `ctx` exists;
 * - a `Py_RETURN_*` written without its semicolon where tree-sitter cannot read it as a statement.
 * A function that lacks its `HPyContext *ctx` parameter is still converted, and reported once.
 * In `PyErr_Occurred() == PyExc_X` only the exception becomes a handle: that test is no identity
 * test in HPy, and the capi-call transform reports it. Names in string literals, comments,
 * `#define` bodies, preprocessor conditions and declarations are not touched; the rich-comparison
 * operators (`Py_LT`...) and other plain renames are not context handles and are left alone.
 */
import {
  builtinObjectEntry,
  callArguments,
  calleeName,
  contextGuard,
  contextGuardSuggestion,
  contextHandleCall,
  contextHandleOf,
  defineTransform,
  IDENTITY_TESTS,
  isTypeObject,
  RETURN_MACROS,
  splitRowNotes,
  suggestingApi,
  unparenthesize,
  type ContextGuard,
  type RewriteApi,
  type SyntaxNode,
} from '../src/api/index.js';

const NAMES = '[(identifier) (type_identifier)] @name';
const OBJECT_CASTS = /^(PyObject|PyTypeObject)\s*\*$/;
const PREPROCESSOR_CONDITIONS = '[(preproc_if condition: (_) @condition) (preproc_elif condition: (_) @condition)]';
const PREPROCESSOR_NAME_PARENTS = new Set(['preproc_def', 'preproc_function_def', 'preproc_ifdef', 'preproc_defined', 'preproc_elifdef']);

/** A planned replacement; `build` gets a renderer for nested text, so that sites can nest. */
interface Site {
  node: SyntaxNode;
  build(render: (n: SyntaxNode) => string): string;
}

/** What one pass collects: the sites, the guard, and the api to report through. */
interface Pass {
  api: RewriteApi;
  guard: ContextGuard;
  sites: Site[];
}

export default defineTransform({
  id: 'builtin-constant',
  summary: 'Py_None, PyExc_* and &Py*_Type become ctx->h_* handles; Py_RETURN_* returns an HPy_Dup',
  concern: 'handles',
  safety: 'safe',
  default: true,
  // Signatures first: bodies are converted once their functions have ctx (docs/PORTING-PIPELINE.md).
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field', 'stolen-reference', 'borrowed-reference'],
  rewrite(file, api) {
    const pass: Pass = { api, guard: contextGuard(suggestingApi(api, contextGuardSuggestion)), sites: [] };
    const conditions = api.matches(PREPROCESSOR_CONDITIONS).map((m) => m.condition);
    for (const { name } of api.matches(NAMES)) {
      const text = api.text(name);
      if (inPreprocessorSyntax(name, conditions)) continue;
      if (RETURN_MACROS[text] !== undefined) planReturn(pass, name, text);
      else if (name.type === 'identifier' && !isDeclaredName(name)) planName(pass, name, text);
    }
    applySites(api, pass.sites);
  },
});

function planName(pass: Pass, id: SyntaxNode, name: string): void {
  const call = id.parent?.type === 'call_expression' && sameNode(id.parent.childForFieldName('function'), id) ? id.parent : null;
  if (call) return planCall(pass, call, name);
  const entry = builtinObjectEntry(name);
  if (!entry) return;
  const handle = contextHandleOf(name);
  if (!handle) {
    const split = splitRowNotes(name, entry.notes);
    pass.api.report(id, `'${name}' has no HPy 0.9.0 counterpart`, { notes: split.why, suggestion: split.write });
    return;
  }
  const expr = isTypeObject(name) ? typeAddress(pass.api, id, handle) : stripObjectCast(id);
  if (expr) planHandle(pass, expr, name, handle);
}

/** `Py_IsNone(x)` and friends, and `PyEval_GetBuiltins()`. */
function planCall(pass: Pass, call: SyntaxNode, name: string): void {
  const identity = IDENTITY_TESTS[name];
  const args = callArguments(call);
  if (identity !== undefined && args.length === 1 && pass.guard.allows(call, name)) {
    pass.sites.push({ node: call, build: (render) => `HPy_Is(ctx, ${render(args[0])}, ${identity})` });
  }
  const handle = contextHandleCall(name);
  if (handle !== undefined && args.length === 0 && pass.guard.allows(call, name)) {
    pass.sites.push({ node: call, build: () => handle });
  }
}

/** The expression that stands for a type object's handle: `&T`, or a cast of it to an object pointer. */
function typeAddress(api: RewriteApi, id: SyntaxNode, handle: string): SyntaxNode | null {
  const amp = id.parent;
  if (amp?.type !== 'pointer_expression' || amp.child(0)?.type !== '&') {
    api.report(id, `'${api.text(id)}' is used as a type object, not through its address`, {
      notes: [`HPy only has the handle '${handle}': PyTypeObject fields cannot be read (tp_name is HPyType_GetName(ctx, t))`],
      suggestion: `'${handle}' where the type object is meant; HPyType_GetName(ctx, ${handle}) for its name; other fields have no HPy form`,
    });
    return null;
  }
  let outer = amp;
  while (outer.parent?.type === 'parenthesized_expression') outer = outer.parent;
  const cast = outer.parent;
  if (cast?.type !== 'cast_expression') return amp;
  const type = cast.childForFieldName('type');
  if (type && OBJECT_CASTS.test(api.text(type))) return cast;
  api.report(cast, `'${api.text(amp)}' is cast to '${type ? api.text(type) : '?'}'`, {
    notes: [`a handle is not a pointer: use '${handle}' where an object is expected`],
    suggestion: `'${handle}' itself, without the cast, where an object is expected`,
  });
  return null;
}

/** `(PyObject *)Py_None` is the object itself: the cast goes with the rewrite. */
function stripObjectCast(id: SyntaxNode): SyntaxNode {
  let outer = id;
  while (outer.parent?.type === 'parenthesized_expression') outer = outer.parent;
  const cast = outer.parent;
  const type = cast?.type === 'cast_expression' ? cast.childForFieldName('type') : null;
  return cast && type && OBJECT_CASTS.test(type.text) ? cast : id;
}

/** Plans `expr` as `handle`, or its `==`/`!=` comparison as `HPy_Is`. */
function planHandle(pass: Pass, expr: SyntaxNode, name: string, handle: string): void {
  if (!pass.guard.allows(expr, name)) return;
  const cmp = identityComparison(expr);
  if (!cmp) {
    pass.sites.push({ node: expr, build: () => handle });
    return;
  }
  const { node, left, right, negate } = cmp;
  const callee = calleeName(unparenthesize(cmp.other));
  if (callee === 'PyErr_Occurred') {
    // Not an identity test in HPy: capi-call reports it (HPyErr_ExceptionMatches).
    pass.sites.push({ node: expr, build: () => handle });
    return;
  }
  if (callee === 'Py_TYPE') {
    pass.api.report(node, `'${pass.api.text(expr)}' is compared with '${pass.api.text(cmp.other)}'`, {
      notes: ['an exact type test (subclasses fail it), which takes several steps in HPy'],
      suggestion: `HPy t = HPy_Type(ctx, x); int same = HPy_Is(ctx, t, ${handle}); HPy_Close(ctx, t);`,
    });
    return;
  }
  // The operand's own site is rendered inside the comparison.
  pass.sites.push({ node: expr, build: () => handle });
  pass.sites.push({ node, build: (render) => `${negate ? '!' : ''}HPy_Is(ctx, ${render(left)}, ${render(right)})` });
}

interface Comparison {
  node: SyntaxNode;
  left: SyntaxNode;
  right: SyntaxNode;
  other: SyntaxNode;
  negate: boolean;
}

/** The `==`/`!=` expression that `expr` (through parentheses) is an operand of, if any. */
function identityComparison(expr: SyntaxNode): Comparison | null {
  let up = expr;
  while (up.parent?.type === 'parenthesized_expression') up = up.parent;
  const p = up.parent;
  const op = p?.type === 'binary_expression' ? p.childForFieldName('operator')?.type : undefined;
  if (!p || (op !== '==' && op !== '!=')) return null;
  const left = p.childForFieldName('left')!;
  const right = p.childForFieldName('right')!;
  const other = sameNode(left, up) ? right : left;
  if (unparenthesize(other).type === 'null') return null;
  return { node: p, left, right, other, negate: op === '!=' };
}

/** `Py_RETURN_X;` as a statement, also where a missing semicolon made it parse as something else. */
function planReturn(pass: Pass, node: SyntaxNode, name: string): void {
  const stmt = `return HPy_Dup(ctx, ${RETURN_MACROS[name]})`;
  const p = node.parent;
  const semicolon = p?.type === 'expression_statement' && p.namedChildCount === 1 ? p.lastChild : null;
  const asType = p?.type === 'declaration' && sameNode(p.childForFieldName('type'), node);
  const alone = p?.type === 'compound_statement' || p?.type === 'case_statement';
  if (!semicolon && !asType && !alone) {
    pass.api.report(node, `'${name}' is not a statement here`, { notes: ['tree-sitter cannot read it as a statement: is a semicolon missing?'], suggestion: `${stmt};` });
    return;
  }
  if (!pass.guard.allows(node, name)) return;
  const end = semicolon && semicolon.type === ';' && !semicolon.isMissing ? '' : ';';
  pass.sites.push({ node, build: () => stmt + end });
}

/** Names of the preprocessor itself: `#define X`, `#ifdef X`, `defined(X)`, `#if` conditions. */
function inPreprocessorSyntax(node: SyntaxNode, conditions: readonly SyntaxNode[]): boolean {
  if (node.parent && PREPROCESSOR_NAME_PARENTS.has(node.parent.type)) return true;
  return conditions.some((c) => c.startIndex <= node.startIndex && node.endIndex <= c.endIndex);
}

/** The name being declared (`extern PyObject *Py_None;`), not a use of it. */
function isDeclaredName(id: SyntaxNode): boolean {
  const p = id.parent;
  return !!p && p.childrenForFieldName('declarator').some((d) => sameNode(d, id));
}

function sameNode(a: SyntaxNode | null | undefined, b: SyntaxNode): boolean {
  return !!a && a.startIndex === b.startIndex && a.endIndex === b.endIndex && a.type === b.type;
}

/** Records the outermost sites; nested ones are rendered into their text. */
function applySites(api: RewriteApi, sites: Site[]): void {
  const unique = new Map<string, Site>();
  for (const s of sites) unique.set(`${s.node.startIndex}:${s.node.endIndex}`, s);
  const all = [...unique.values()].sort((a, b) => a.node.startIndex - b.node.startIndex || b.node.endIndex - a.node.endIndex);
  const render = (n: SyntaxNode): string => {
    const exact = unique.get(`${n.startIndex}:${n.endIndex}`);
    if (exact) return exact.build(render);
    return spliceInner(api, n, all, render);
  };
  for (const s of outermost(all)) api.replace(s.node, s.build(render));
}

/** The text of `n` with the outermost sites strictly inside it replaced. */
function spliceInner(api: RewriteApi, n: SyntaxNode, all: Site[], render: (n: SyntaxNode) => string): string {
  const inner = outermost(all.filter((s) => s.node.startIndex >= n.startIndex && s.node.endIndex <= n.endIndex && !(s.node.startIndex === n.startIndex && s.node.endIndex === n.endIndex)));
  let out = '';
  let at = n.startIndex;
  for (const s of inner) {
    out += api.text({ start: at, end: s.node.startIndex }) + s.build(render);
    at = s.node.endIndex;
  }
  return out + api.text({ start: at, end: n.endIndex });
}

/** Sites not contained in an earlier (wider) one; `sites` is sorted by start, widest first. */
function outermost(sites: Site[]): Site[] {
  const out: Site[] = [];
  for (const s of sites) {
    const last = out[out.length - 1];
    if (!last || s.node.startIndex >= last.node.endIndex) out.push(s);
  }
  return out;
}
