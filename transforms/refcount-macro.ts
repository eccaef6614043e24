/**
 * Turns the reference-counting macros into `HPy_Dup` and `HPy_Close`.
 *
 * ## Why
 * HPy has no reference counts to adjust: every handle is closed exactly once with `HPy_Close`,
 * and a second reference is a second handle made by `HPy_Dup` (porting guide, "Handles" and
 * "Handles vs PyObject *": https://docs.hpyproject.org/en/latest/porting-guide.html). The CPython
 * macros do not exist in a universal HPy build, and `Py_INCREF(x); return x;` has no in-place
 * counterpart: it becomes one `return HPy_Dup(ctx, x);`.
 *
 * ## Before
 * ```c
 * static HPy get_default(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     HPy tmp = HPy_GetAttr_s(ctx, arg, "default");
 *     Py_XDECREF(tmp);
 *     Py_INCREF(arg);
 *     return arg;
 * }
 * ```
 * ## After
 * ```c
 * static HPy get_default(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     HPy tmp = HPy_GetAttr_s(ctx, arg, "default");
 *     if (!HPy_IsNull(tmp)) HPy_Close(ctx, tmp);
 *     return HPy_Dup(ctx, arg);
 * }
 * ```
 * ## Safety
 * safe: each rewrite keeps the ownership the macro expressed. `Py_DECREF(x)` closes one handle
 * (`HPy_Close(ctx, x)`), `Py_XDECREF` and `Py_CLEAR` keep their null test (`HPy_Close` on
 * `HPy_NULL` is undocumented), `Py_NewRef` and `Py_INCREF(x); return x;` make the one new handle
 * the caller will own, and `Py_SETREF(dst, src)` keeps its order: save, assign, then close the
 * old value through a temporary whose name is unused in the file. An expression written twice by a
 * rewrite (`Py_XDECREF`, `Py_XNewRef`, `Py_CLEAR`) must be free of side effects (names, members,
 * subscripts, casts), else the macro is reported instead. A replacement that is an `if` statement
 * is wrapped in braces when it is the lone body of `if`/`else`/`for`/`while`, so that it can never
 * capture an `else`. A comment between `Py_INCREF(x);` and `return x;` is kept, above the return;
 * a return already written as `return HPy_Dup(ctx, x);` just absorbs the `Py_INCREF(x);` before it.
 * `Py_None` may be renamed `ctx->h_None` by builtin-constant before or after this transform: both
 * orders give the same text.
 *
 * ## Limits
 * Reported (warning) and left alone:
 * - a standalone `Py_INCREF(x);` or `Py_XINCREF(x);` not followed by `return x;` or by `y = x;`
 *   (which become `return HPy_Dup(ctx, x);` and `y = HPy_Dup(ctx, x);`): HPy has no
 *   in-place incref, so the new handle must be named and closed by hand;
 * - any macro applied to a context constant (`Py_None`, `PyExc_*`, `ctx->h_*`), which HPy never closes;
 * - a macro applied to an object-struct member (`self->field`): members become `HPyField`s,
 *   which the pyobject-field transform handles (with `--target hybrid`, a member that stays
 *   `PyObject *` for the legacy code of its type keeps its macros, without a finding; so does a
 *   `PyObject *` local handed to `HPy_FromPyObject`, `bridgedObjectLocals`);
 * - `Py_CLEAR(x)`/`Py_SETREF(x, v)` where `x` is not a local variable or parameter of the function
 *   (a file-scope object becomes an `HPyGlobal`) or not a plain name (`items[i]`);
 * - a statement macro used inside an expression (`Py_DECREF(x), y`), and the macros in `#define`
 *   bodies, which tree-sitter does not parse;
 * - an argument with side effects that a rewrite would have to write twice.
 *
 * Conversions in a function without an `HPyContext *ctx` parameter are made and reported once
 * per function. `Py_VISIT` is left to the traverse-function transforms.
 */
import {
  isBridgedObject,
  declaredNames,
  declaredIdentifier,
  apiEntry,
  callArguments,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  enclosingFunction,
  isInStatementList,
  nextStatement,
  suggestingApi,
  unparenthesize,
  type RewriteApi,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const REFCOUNT_CALL = `
(call_expression
  function: (identifier) @name
  (#match? @name "^(Py_X?INCREF|Py_X?DECREF|Py_CLEAR|Py_X?NewRef|Py_X?SETREF)$")
  arguments: (argument_list)) @call`;

const MACRO_BODY = `
[
  (preproc_def name: (identifier) @macro value: (preproc_arg) @body)
  (preproc_function_def name: (identifier) @macro value: (preproc_arg) @body)
]`;

const MACRO_USE = /\b(Py_X?INCREF|Py_X?DECREF|Py_CLEAR|Py_X?NewRef|Py_X?SETREF)\s*\(/g;

/** One text change, in the offsets of the text the transform sees. */
interface Change extends Span {
  text: string;
}

/** Something reported instead of rewritten. */
interface Finding {
  target: SyntaxNode;
  message: string;
  notes: string[];
  /** What to write by hand (one line). */
  suggestion: string;
}

/** What to do with one macro call. */
type Plan = { changes: Change[] } | { finding: Finding };

const NEVER_CLOSE_NOTE =
  "HPy never closes the 'ctx->h_*' constants (they are not owned); delete this call, and the 'Py_INCREF' that matched it";
const TWICE_NOTE = 'assign it to a local variable first, then run hpy-migrate again';

export default defineTransform({
  id: 'refcount-macro',
  summary: 'Py_INCREF/DECREF/XDECREF/CLEAR/NewRef/SETREF become HPy_Dup and HPy_Close',
  concern: 'refcounts',
  safety: 'safe',
  default: true,
  // Signatures first: bodies are converted once their functions have ctx (docs/PORTING-PIPELINE.md).
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field', 'stolen-reference', 'borrowed-reference'],
  rewrite(_file, api) {
    const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
    for (const { call, name } of api.matches(REFCOUNT_CALL)) {
      const plan = planCall(api, call, api.text(name));
      if ('finding' in plan) {
        api.report(plan.finding.target, plan.finding.message, { severity: 'warning', notes: plan.finding.notes, suggestion: plan.finding.suggestion });
        continue;
      }
      if (!guard.allows(call, api.text(name))) continue;
      for (const c of plan.changes) api.replace(c, c.text);
    }
    reportMacroBodies(api);
  },
});

/** Decides what to do with one macro call (matching only: no edits). */
function planCall(api: RewriteApi, call: SyntaxNode, macro: string): Plan {
  const args = callArguments(call);
  const arity = macro.endsWith('SETREF') ? 2 : 1;
  if (args.length !== arity) {
    return finding(call, `'${macro}' with ${args.length} arguments is left alone`, ['convert it by hand'], MACRO_FORMS[macro] ?? 'HPy_Dup(ctx, x) for a new reference, HPy_Close(ctx, x) to release one');
  }
  if (macro === 'Py_NewRef' || macro === 'Py_XNewRef') return planNewRef(api, call, macro, args[0]);
  const stmt = call.parent;
  if (!stmt || stmt.type !== 'expression_statement') {
    return finding(call, `'${macro}' used inside an expression is left alone`, ['write it as a statement of its own, then run hpy-migrate again'], `'${api.text(call)};' as a statement of its own: ${macroForm(macro, api.text(args[0]))}`);
  }
  const target = args[0];
  // Hybrid: a 'PyObject *' local handed to HPy_FromPyObject stays C-API code (src/api/bridged-objects.ts).
  if (isBridgedObject(api, target)) return { changes: [] };
  const incref = macro.endsWith('INCREF');
  if (isMemberAccess(target) && !isContextConstant(api, target)) {
    // Hybrid: a member that stays 'PyObject *' (legacy code of its type uses it) keeps its macros.
    if (api.target === 'hybrid' && isObjectPointerMember(api, target)) return { changes: [] };
    return memberFinding(api, call, macro);
  }
  if (incref) return planIncref(api, stmt, macro, target);
  if (isContextConstant(api, target)) {
    return finding(call, `'${api.text(call)}' would close a context constant: left alone`, [NEVER_CLOSE_NOTE], `nothing: delete '${api.text(call)}'`);
  }
  if (macro === 'Py_DECREF') return { changes: renameWithContext(call, 'HPy_Close') };
  if (macro === 'Py_XDECREF') return planXdecref(api, stmt, target);
  if (macro === 'Py_CLEAR') return planClear(api, stmt, target);
  return planSetref(api, stmt, macro, target, args[1]);
}

/** What a macro does to a struct member, and what replaces it once the member is an `HPyField`. */
const MEMBER_USES: Record<'incref' | 'setref' | 'release', [string, string]> = {
  incref: ['takes a new reference to', "nothing: 'HPyField_Load(ctx, owner, p->field)' already returns a new handle, and 'HPyField_Store' keeps its own reference"],
  setref: ['assigns', "HPyField_Store(ctx, owner, &p->field, value), then HPy_Close(ctx, value) if 'value' was a new handle (the store does not steal)"],
  release: ['releases', "HPyField_Store(ctx, owner, &p->field, HPy_NULL); in a destructor ('HPy_tp_destroy') nothing: HPy releases the fields itself"],
};

/** Members are left to the pyobject-field transform; the note says what replaces the macro. */
function memberFinding(api: RewriteApi, call: SyntaxNode, macro: string): Plan {
  const use = macro.endsWith('INCREF') ? 'incref' : macro.endsWith('SETREF') ? 'setref' : 'release';
  const [what, how] = MEMBER_USES[use];
  return finding(call, `'${api.text(call)}' ${what} a struct member: left alone`, ["object-struct members become 'HPyField's (pyobject-field transform)"], how);
}

function finding(target: SyntaxNode, message: string, notes: string[], suggestion: string): Plan {
  return { finding: { target, message, notes, suggestion } };
}

/** `Py_DECREF(x)` and `Py_NewRef(x)` keep their argument list: rename, and `ctx, ` goes before `x`. */
function renameWithContext(call: SyntaxNode, name: string): Change[] {
  const fn = call.childForFieldName('function')!;
  const first = callArguments(call)[0];
  return [
    { start: fn.startIndex, end: fn.endIndex, text: name },
    { start: first.startIndex, end: first.startIndex, text: 'ctx, ' },
  ];
}

/** Parents in which a conditional expression needs no parentheses of its own. */
const NO_PARENS_NEEDED = new Set(['return_statement', 'assignment_expression', 'init_declarator', 'argument_list', 'parenthesized_expression', 'expression_statement']);

function planNewRef(api: RewriteApi, call: SyntaxNode, macro: string, arg: SyntaxNode): Plan {
  // A context constant is never null, so Py_XNewRef needs no guard either.
  if (macro === 'Py_NewRef' || isContextConstant(api, arg)) return { changes: renameWithContext(call, 'HPy_Dup') };
  if (!isPure(arg)) return finding(call, `the argument of '${macro}' would be evaluated twice: left alone`, [TWICE_NOTE], `HPy tmp = ${api.text(arg)}; then HPy_IsNull(tmp) ? HPy_NULL : HPy_Dup(ctx, tmp)`);
  const text = dupExpression(api.text(unparenthesize(arg)), true);
  const bare = NO_PARENS_NEEDED.has(call.parent?.type ?? '');
  return { changes: [spanChange(call, bare ? text : `(${text})`)] };
}

function planIncref(api: RewriteApi, stmt: SyntaxNode, macro: string, target: SyntaxNode): Plan {
  const ret = nextStatement(outermostLabeled(stmt));
  if (ret && isPure(target) && returnsSameHandle(api, ret, target)) {
    const between = api.text({ start: stmt.endIndex, end: ret.startIndex }).trimStart();
    const nullable = macro === 'Py_XINCREF' && !isContextConstant(api, target);
    const text = `${between}return ${dupExpression(api.text(unparenthesize(target)), nullable)};`;
    return { changes: [{ start: stmt.startIndex, end: ret.endIndex, text }] };
  }
  const assign = ret && isPure(target) ? assignedSameHandle(api, ret, target) : null;
  if (assign) {
    // `Py_INCREF(x); y = x;`: y now owns a reference of its own, which is what HPy_Dup gives.
    const between = api.text({ start: stmt.endIndex, end: ret!.startIndex }).trimStart();
    const dup = dupExpression(api.text(unparenthesize(target)), macro === 'Py_XINCREF' && !isContextConstant(api, target));
    return { changes: [{ start: stmt.startIndex, end: ret!.endIndex, text: `${between}${api.text(assign)} = ${dup};` }] };
  }
  const x = api.text(unparenthesize(target));
  return finding(
    stmt,
    `HPy has no in-place incref: '${api.text(stmt.firstNamedChild!)}' is left alone`,
    ['a second reference is a second handle, which must be named and closed on its own', 'before a store into a struct member, just delete it: once the member is an HPyField, HPyField_Store keeps its own reference'],
    `HPy y = ${dupExpression(x, macro === 'Py_XINCREF')}; where the extra reference is used, and HPy_Close(ctx, y) when it is no longer needed`,
  );
}

/** A labelled statement's label goes with it: `out: Py_INCREF(x);` is followed by what follows `out:`. */
function outermostLabeled(stmt: SyntaxNode): SyntaxNode {
  let s = stmt;
  while (s.parent?.type === 'labeled_statement') s = s.parent;
  return s;
}

/** The left side of `y = x;` (a plain local, not a struct member) when `stmt` is that statement. */
function assignedSameHandle(api: RewriteApi, stmt: SyntaxNode, target: SyntaxNode): SyntaxNode | null {
  const e = stmt.type === 'expression_statement' ? stmt.firstNamedChild : null;
  if (!e || e.type !== 'assignment_expression' || e.childForFieldName('operator')?.text !== '=') return null;
  const left = e.childForFieldName('left');
  const right = e.childForFieldName('right');
  if (!left || !right || left.type !== 'identifier') return null;
  return sameExpression(api, right, target) ? left : null;
}

/** Is `ret` `return x;` or an already converted `return HPy_Dup(ctx, x);`? */
function returnsSameHandle(api: RewriteApi, ret: SyntaxNode, target: SyntaxNode): boolean {
  if (ret.type !== 'return_statement') return false;
  const value = ret.namedChildren.find((n) => n.type !== 'comment');
  if (!value) return false;
  let v = unparenthesize(value);
  // `return (PyObject *)self;`: the cast to the object type goes (a handle needs none).
  if (v.type === 'cast_expression' && /^\(\s*PyObject\s*\*\s*\)$/.test(api.text(v).slice(0, api.text(v).indexOf(')') + 1))) {
    v = unparenthesize(v.childForFieldName('value') ?? v);
  }
  if (sameExpression(api, v, target)) return true;
  const fn = v.type === 'call_expression' ? v.childForFieldName('function') : null;
  if (!fn || api.text(fn) !== 'HPy_Dup') return false;
  const args = callArguments(v);
  return args.length === 2 && api.text(args[0]) === 'ctx' && sameExpression(api, args[1], target);
}

function planXdecref(api: RewriteApi, stmt: SyntaxNode, target: SyntaxNode): Plan {
  if (!isPure(target)) return finding(stmt, `the argument of 'Py_XDECREF' would be evaluated twice: left alone`, [TWICE_NOTE], `HPy tmp = ${api.text(target)}; if (!HPy_IsNull(tmp)) HPy_Close(ctx, tmp);`);
  const text = guardedClose(api.text(unparenthesize(target)));
  return { changes: [spanChange(stmt, bracedIfLoneBody(stmt, text))] };
}

function planClear(api: RewriteApi, stmt: SyntaxNode, target: SyntaxNode): Plan {
  const x = unparenthesize(target);
  const kind = variableKind(api, stmt, x);
  if (kind !== 'local') {
    return finding(stmt, `'${api.text(stmt.firstNamedChild!)}' does not clear a local variable: left alone`, [nonLocalWhy(kind)], nonLocalNote(api.text(x), kind, 'HPy_NULL'));
  }
  return { changes: [spanChange(stmt, bracedIfLoneBody(stmt, clearStatement(api.text(x))))] };
}

function planSetref(api: RewriteApi, stmt: SyntaxNode, macro: string, dst: SyntaxNode, src: SyntaxNode): Plan {
  const x = unparenthesize(dst);
  const kind = variableKind(api, stmt, x);
  if (kind !== 'local') {
    return finding(stmt, `'${macro}(${api.text(x)}, ...)' does not assign a local variable: left alone`, [nonLocalWhy(kind)], nonLocalNote(api.text(x), kind, api.text(src)));
  }
  const name = api.text(x);
  const temp = unusedName(api.text({ start: 0, end: stmt.tree.rootNode.endIndex }), `${name}_old`);
  const [head, tail] = setrefText(name, temp, macro === 'Py_XSETREF');
  return {
    changes: [
      { start: stmt.startIndex, end: src.startIndex, text: head },
      { start: src.endIndex, end: stmt.endIndex, text: tail },
    ],
  };
}

/** `local`: declared in the function (a local variable or a parameter); `global`: a name declared elsewhere. */
type VariableKind = 'local' | 'global' | 'other';

/** Why a `Py_CLEAR`/`Py_SETREF` target is not converted. */
function nonLocalWhy(kind: VariableKind): string {
  if (kind === 'other') return 'only a local variable or a parameter is rewritten';
  return "a file-scope object becomes an 'HPyGlobal' (pyobject-global transform), which is stored, not assigned";
}

/** What replaces a `Py_CLEAR`/`Py_SETREF` of something else than a local variable. */
function nonLocalNote(name: string, kind: VariableKind, value: string): string {
  if (kind === 'other') return `{ HPy old = ${name}; ${name} = ${value}; if (!HPy_IsNull(old)) HPy_Close(ctx, old); } where '${name}' may hold a handle`;
  return value === 'HPy_NULL' ? `HPyGlobal_Store(ctx, &${name}, HPy_NULL)` : `HPyGlobal_Store(ctx, &${name}, h) with 'h' the handle of ${value}, then HPy_Close(ctx, h) if it is a new one`;
}

/** {@link MACRO_FORMS} for the argument `x`. */
function macroForm(macro: string, x: string): string {
  return (MACRO_FORMS[macro] ?? 'HPy_Close(ctx, x);').replace(/\bx\b/g, x);
}

/** The HPy form of each macro, for the findings about macros left alone. */
const MACRO_FORMS: Readonly<Record<string, string>> = {
  Py_INCREF: 'HPy y = HPy_Dup(ctx, x);',
  Py_XINCREF: 'HPy y = HPy_IsNull(x) ? HPy_NULL : HPy_Dup(ctx, x);',
  Py_DECREF: 'HPy_Close(ctx, x);',
  Py_XDECREF: 'if (!HPy_IsNull(x)) HPy_Close(ctx, x);',
  Py_CLEAR: 'if (!HPy_IsNull(x)) { HPy_Close(ctx, x); x = HPy_NULL; }',
  Py_NewRef: 'HPy_Dup(ctx, x)',
  Py_XNewRef: 'HPy_IsNull(x) ? HPy_NULL : HPy_Dup(ctx, x)',
  Py_SETREF: '{ HPy old = x; x = value; HPy_Close(ctx, old); }',
  Py_XSETREF: '{ HPy old = x; x = value; if (!HPy_IsNull(old)) HPy_Close(ctx, old); }',
};

function variableKind(api: RewriteApi, stmt: SyntaxNode, x: SyntaxNode): VariableKind {
  const fn = enclosingFunction(stmt);
  if (x.type !== 'identifier' || !fn) return 'other';
  return declaredNames(fn).has(api.text(x)) ? 'local' : 'global';
}

/** Is `node` a member reached through a pointer (`self->field`, `((T *)self)->field`)? */
function isMemberAccess(node: SyntaxNode): boolean {
  const n = unparenthesize(node);
  return n.type === 'field_expression' && n.children.some((c) => c.type === '->');
}

const OBJECT_MEMBERS = `(field_declaration type: (type_identifier) @type declarator: (pointer_declarator declarator: (field_identifier) @name))`;

/** Is the member `p->f` declared `PyObject *f;` in a struct of this file (not converted to an HPyField)? */
function isObjectPointerMember(api: RewriteApi, node: SyntaxNode): boolean {
  const field = unparenthesize(node).childForFieldName('field');
  if (!field) return false;
  const name = api.text(field);
  return api.matches(OBJECT_MEMBERS).some((m) => api.text(m.type) === 'PyObject' && api.text(m.name) === name);
}

/** `Py_None`, `PyExc_TypeError`, `&PyLong_Type`, `ctx->h_None`: handles that HPy owns. */
function isContextConstant(api: RewriteApi, node: SyntaxNode): boolean {
  let n = unparenthesize(node);
  if (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value') ?? n);
  if (n.type === 'pointer_expression' && n.child(0)?.type === '&') n = n.childForFieldName('argument') ?? n;
  if (n.type === 'identifier') return apiEntry(api.text(n))?.hpy.startsWith('ctx->h_') ?? false;
  return n.type === 'field_expression' && /^ctx\s*->\s*h_\w+$/.test(api.text(n));
}

const PURE_LEAVES = new Set(['identifier', 'field_identifier', 'number_literal', 'type_descriptor', 'null', 'true', 'false', 'comment']);
const PURE_WRAPPERS = new Set(['field_expression', 'subscript_expression', 'parenthesized_expression', 'pointer_expression', 'cast_expression']);

/** Can the expression be evaluated twice with the same result and no side effect? (no calls, no assignments) */
function isPure(node: SyntaxNode): boolean {
  if (PURE_LEAVES.has(node.type)) return true;
  return PURE_WRAPPERS.has(node.type) && node.namedChildren.every(isPure);
}

/** Same expression, whitespace and outer parentheses aside? */
function sameExpression(api: RewriteApi, a: SyntaxNode, b: SyntaxNode): boolean {
  const norm = (n: SyntaxNode) => api.text(unparenthesize(n)).replace(/\s+/g, '');
  return norm(a) === norm(b);
}

/**
 * Can `stmt` be replaced by an `if` statement as it is? Not as the lone body of a control
 * statement, where an `if` without braces would capture a following `else`. Labels and
 * preprocessor conditionals are looked through: their statements belong to the enclosing list.
 */
function acceptsIfStatement(stmt: SyntaxNode): boolean {
  let s = stmt;
  while (s.parent && (s.parent.type === 'labeled_statement' || s.parent.type.startsWith('preproc_'))) s = s.parent;
  return isInStatementList(s);
}

function bracedIfLoneBody(stmt: SyntaxNode, text: string): string {
  return acceptsIfStatement(stmt) ? text : `{ ${text} }`;
}

function spanChange(node: SyntaxNode, text: string): Change {
  return { start: node.startIndex, end: node.endIndex, text };
}

/** `name_old`, or `name_old2`, ...: the first that appears nowhere in `text`. */
function unusedName(text: string, base: string): string {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? base : `${base}${i}`;
    if (!new RegExp(`\\b${candidate}\\b`).test(text)) return candidate;
  }
}

/** Reports refcount macros inside `#define` bodies, which tree-sitter leaves as plain text. */
function reportMacroBodies(api: RewriteApi): void {
  for (const { macro, body } of api.matches(MACRO_BODY)) {
    for (const m of api.text(body).matchAll(MACRO_USE)) {
      const start = body.startIndex + (m.index ?? 0);
      api.report({ start, end: start + m[1].length }, `'${m[1]}' inside the macro '${api.text(macro)}' is left alone`, {
        severity: 'warning',
        notes: ["tree-sitter does not read macro bodies, and the HPy form needs 'ctx' wherever the macro is expanded"],
        suggestion: `${MACRO_FORMS[m[1]]} in the macro, with 'ctx' in scope wherever it is expanded`,
      });
    }
  }
}

/** `HPy_Dup(ctx, x)`, or its null-tolerant form for the `Py_X*` macros. */
function dupExpression(x: string, nullable: boolean): string {
  return nullable ? `HPy_IsNull(${x}) ? HPy_NULL : HPy_Dup(ctx, ${x})` : `HPy_Dup(ctx, ${x})`;
}

/** `Py_XDECREF(x);` as HPy. */
function guardedClose(x: string): string {
  return `if (!HPy_IsNull(${x})) HPy_Close(ctx, ${x});`;
}

/** `Py_CLEAR(x);` as HPy. */
function clearStatement(x: string): string {
  return `if (!HPy_IsNull(${x})) { HPy_Close(ctx, ${x}); ${x} = HPy_NULL; }`;
}

/** The text before and after `src` of a `Py_SETREF(x, src);` or `Py_XSETREF` rewrite. */
function setrefText(x: string, temp: string, nullable: boolean): [string, string] {
  const close = nullable ? guardedClose(temp) : `HPy_Close(ctx, ${temp});`;
  return [`{ HPy ${temp} = ${x}; ${x} = `, `; ${close} }`];
}
