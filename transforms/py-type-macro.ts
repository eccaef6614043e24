/**
 * Turns `Py_TYPE(x)` passed to a call into a type handle made by `HPy_Type(ctx, x)` before the
 * statement and closed after it.
 *
 * ## Why
 * `Py_TYPE(x)` gives a borrowed pointer to the type object; HPy has no type pointer, and
 * `HPy_Type(ctx, x)` returns a new handle that must be closed exactly once (porting guide,
 * "Handles" and the `Py_TYPE` row of the API mapping:
 * https://docs.hpyproject.org/en/latest/porting-guide.html). Left inline, the handle of
 * `f(HPy_Type(ctx, x))` would leak, which HPy's debug mode reports.
 *
 * ## Before
 * ```c
 * static HPy
 * Point_copy(HPyContext *ctx, HPy self)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     return point_new(Py_TYPE(self), p->x, p->y);
 * }
 * ```
 * ## After
 * ```c
 * static HPy
 * Point_copy(HPyContext *ctx, HPy self)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     HPy self_type = HPy_Type(ctx, self);
 *     HPy result = point_new(self_type, p->x, p->y);
 *     HPy_Close(ctx, self_type);
 *     return result;
 * }
 * ```
 * ## Safety
 * safe: the callee gets a handle to the same type object, valid for the whole call, as the
 * borrowed pointer was; the handle is closed right after the statement (a `return` computes its
 * value into a new local `result` of the function's return type first, then closes, then returns
 * it; an `if` whose condition passes the type closes it first thing in each branch, with an
 * `else` added when there is none). `HPy_Type(ctx, x)` moves in front of the statement, so `x`
 * must be a variable that the statement does not assign, and the `Py_TYPE(x)` must run whenever
 * the statement runs (under `&&`, `||` or `?:` `x` may be NULL), unless the statement already
 * makes the handle of `x` unconditionally: one handle serves every `Py_TYPE(x)` of `x` in the
 * statement. Casts of it to `PyObject *` or `PyTypeObject *` go. A lone body of `if`/`else`/loops
 * gets braces. `PyTypeObject *tp = Py_TYPE(x);` becomes `HPy tp = HPy_Type(ctx, x);` when every
 * later use of `tp` is an argument of a call; `tp` is closed after the last statement of its
 * block that uses it and before every `return`, `goto`, `break` or `continue` that leaves those
 * statements earlier (a `return` whose value reads `tp` computes it first); a declaration without
 * uses goes. Generated names (`x_type`, `result`) are unused in the function.
 *
 * ## Limits
 * Reported (warning) and left alone: `Py_TYPE(x)` used other than as a call argument (a field read
 * such as `Py_TYPE(x)->tp_name`, which becomes `HPyType_GetName(ctx, t)` by hand; a comparison of
 * types, an exact type test to write with `HPy_Type` and `HPy_Is`), `Py_TYPE` of an expression
 * that is not a variable, a `Py_TYPE` evaluated only under a condition, one in a loop header, a
 * `switch`, an `else if` condition or a declaration outside a block, in a statement that assigns
 * its object, passed to a function of the file (or of the index) whose parameter is still a
 * `PyTypeObject *`; a `tp` variable that is assigned, used other than as a call argument, or has
 * a label among the statements that use it (a jump there would skip `HPy_Type`). Functions without
 * `ctx` that keep a C-API signature are left alone and reported once (`PyTypeObject *tp =
 * Py_TYPE(self);` in a `tp_dealloc` is pytype-spec's, which drops it); comparisons with
 * `&Py*_Type` are reported by builtin-constant.
 *
 * With `--target hybrid`, a function that stays on the C API on purpose (`legacyFunctionCheck`: listed
 * in a C-API table a signature transform of the run kept, or a legacy helper) is left whole without
 * a warning: a hybrid build runs its `Py_TYPE(x)->tp_free`, its type comparisons and the rest as
 * they are (a legacy helper gets the one shared note). Under the universal target a legacy helper
 * is left the same way: the one shared warning says why.
 */
import {
  apiEntry,
  applyNestedSites,
  callArguments,
  calleeName,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  enclosingFunction,
  functionName,
  functionParams,
  functionReturnType,
  handleHost,
  handleStatementSite,
  legacyFunctionCheck,
  isTypeObject,
  objectCastsAround,
  suggestingApi,
  unparenthesize,
  unusedName,
  writesOf,
  type ContextGuard,
  type HandleHost,
  type HostProblem,
  type NestedSite,
  type RewriteApi,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const PY_TYPE_CALLS = '(call_expression function: (identifier) @fn (#eq? @fn "Py_TYPE") arguments: (argument_list)) @call';
const FUNCTIONS = '[(function_definition) (declaration)] @fn';
const IDENTIFIERS = '(identifier) @id';
const EXITS = '[(return_statement) (goto_statement) (break_statement) (continue_statement) (labeled_statement)] @exit';

const ROW_NOTE = apiEntry('Py_TYPE')?.notes ?? "'HPy_Type(ctx, o)' returns a new handle that must be closed";
/** The hand-written form of `Py_TYPE(x)` as an argument (what the transform writes when it can). */
const TYPE_FORM = "HPy t = HPy_Type(ctx, x); before the statement, 't' in place of 'Py_TYPE(x)', and HPy_Close(ctx, t); after it on every path";
/** The hand-written form of a `PyTypeObject *tp = Py_TYPE(x);` variable. */
const DECLARED_FORM = "HPy tp = HPy_Type(ctx, x); then HPy_Close(ctx, tp); after its last use, on every path out (returns, gotos, breaks)";
const LOOPS = new Set(['for_statement', 'while_statement', 'do_statement']);

/** A statement that opens type handles before it and closes handles after it (or before it, when it leaves). */
interface StatementPlan {
  host: HandleHost;
  /** Handles made for `Py_TYPE(x)` arguments of this statement: name to the object `x`. */
  opens: Map<string, string>;
  /** Handles closed after it (its own, and `tp` variables whose last use it holds), or before it when it is a jump. */
  closes: string[];
  /** Does the value of this `return` read a handle closed here (it is computed into `result` first)? */
  valueReads: boolean;
}

/** One function's state: names taken by this pass, statements to rewrite. */
interface FunctionPass {
  fn: SyntaxNode;
  taken: Set<string>;
  statements: Map<number, StatementPlan>;
}

/** What the whole file offers. */
interface Pass {
  api: RewriteApi;
  text: string;
  guard: ContextGuard;
  sites: NestedSite[];
  functions: Map<number, FunctionPass>;
  /** Parameter types of the functions defined or declared in this file, by name. */
  params: Map<string, string[]>;
  /** Comparisons already reported (both operands may be a `Py_TYPE`). */
  reported: Set<number>;
  /** Hybrid: does the function stay on the C API on purpose (`legacyFunctionCheck`)? Nothing in it is reported. */
  legacy: (fn: SyntaxNode) => boolean;
}

export default defineTransform({
  id: 'py-type-macro',
  summary: 'Py_TYPE(x) passed to a call becomes a handle from HPy_Type(ctx, x), closed after the statement',
  concern: 'handles',
  safety: 'safe',
  default: true,
  // Signatures and the struct, field and global rewrites first: bodies are converted once their
  // functions have ctx (docs/PORTING-PIPELINE.md).
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field', 'stolen-reference', 'borrowed-reference'],
  rewrite(file, api) {
    const pass: Pass = { api, text: file.text, guard: contextGuard(suggestingApi(api, contextGuardSuggestion)), sites: [], functions: new Map(), params: new Map(), reported: new Set(), legacy: legacyFunctionCheck(api) };
    for (const { fn } of api.matches(FUNCTIONS)) {
      const name = functionName(fn);
      if (name && (fn.type === 'function_definition' || !pass.params.has(name))) pass.params.set(name, functionParams(fn).map((p) => p.type));
    }
    const deferred: SyntaxNode[] = [];
    for (const { call } of api.matches(PY_TYPE_CALLS)) planCall(pass, call, deferred);
    // A Py_TYPE that runs only under a condition may share the handle its statement already opens.
    for (const call of deferred) planConditional(pass, call);
    for (const f of pass.functions.values()) for (const s of f.statements.values()) pass.sites.push(statementSite(pass, f, s));
    applyNestedSites(api, pass.sites);
  },
});

function planCall(pass: Pass, call: SyntaxNode, deferred: SyntaxNode[]): void {
  const { api } = pass;
  // Hybrid: a function kept on the C API on purpose keeps its Py_TYPE uses, without a warning.
  const fn = enclosingFunction(call);
  if (fn && pass.legacy(fn)) return;
  const outer = objectCastsAround(api, call);
  const p = outer.parent;
  if (p?.type === 'init_declarator' && p.childForFieldName('value')?.id === outer.id && p.parent?.type === 'declaration') {
    return planDeclared(pass, call, p.parent);
  }
  if (p?.type !== 'argument_list') return reportOtherUse(pass, call, outer);
  const host = handleHost(call, true);
  if ('problem' in host && host.problem === 'conditional') deferred.push(call);
  else planArgument(pass, call, outer, host);
}

/** The object of `Py_TYPE(x)` when it is a plain variable; reported otherwise. */
function objectOf(pass: Pass, call: SyntaxNode): string | null {
  const args = callArguments(call);
  const obj = args.length === 1 ? unparenthesize(args[0]) : null;
  if (obj?.type === 'identifier') return pass.api.text(obj);
  pass.api.report(call, `'${pass.api.text(call)}' takes an expression that is not a variable: left alone`, {
    notes: ["'HPy_Type(ctx, x)' is evaluated before the statement, so its object must be a variable", ROW_NOTE],
    suggestion: `HPy o = ${callArguments(call).map((a) => pass.api.text(a)).join(', ')}; first (closed after use if it is a new handle), then run hpy-migrate again; or by hand: ${TYPE_FORM}`,
  });
  return null;
}

function functionPass(pass: Pass, fn: SyntaxNode): FunctionPass {
  let f = pass.functions.get(fn.startIndex);
  if (!f) {
    f = { fn, taken: new Set(), statements: new Map() };
    pass.functions.set(fn.startIndex, f);
  }
  return f;
}

/** The plan of a host statement; null when it already has a plan of the other kind. */
function statementPlan(f: FunctionPass, host: HandleHost): StatementPlan | null {
  let s = f.statements.get(host.stmt.startIndex);
  if (!s) {
    s = { host, opens: new Map(), closes: [], valueReads: false };
    f.statements.set(host.stmt.startIndex, s);
  }
  return s.host.kind === host.kind ? s : null;
}

// ---------------------------------------------------------------------------------------------
// `f(..., Py_TYPE(x), ...)` in a statement

function planArgument(pass: Pass, call: SyntaxNode, outer: SyntaxNode, host: HandleHost | { problem: HostProblem }): void {
  const { api } = pass;
  if ('problem' in host) {
    api.report(call, `'${api.text(call)}' is not in an expression statement, a declaration, a 'return' or the condition of an 'if' in a block: left alone`, {
      notes: ['the type handle is opened before the statement and closed after it: compute the value into a local first (outside a loop header), then run hpy-migrate again', ROW_NOTE],
      suggestion: TYPE_FORM,
    });
    return;
  }
  const obj = objectOf(pass, call);
  if (!obj || !calleeTakesHandle(pass, call, outer)) return;
  if (writesOf(api, host.kind === 'condition' ? host.stmt.childForFieldName('condition')! : host.stmt, obj).length > 0) {
    api.report(call, `'${api.text(call)}' is in a statement that assigns '${obj}': left alone`, {
      notes: ["'HPy_Type' moves in front of the statement: split the statement, then run hpy-migrate again"],
      suggestion: `the assignment of '${obj}' in a statement of its own, then ${TYPE_FORM}`,
    });
    return;
  }
  const fn = enclosingFunction(call)!;
  if (!pass.guard.allows(call, 'Py_TYPE')) return;
  const f = functionPass(pass, fn);
  const plan = statementPlan(f, host);
  if (!plan) {
    api.report(call, `'${api.text(call)}' is in the last statement that uses a type variable: left alone`, { notes: ['the variable is closed after that statement; compute this value into a local first, then run hpy-migrate again'], suggestion: TYPE_FORM });
    return;
  }
  let name = [...plan.opens].find(([, o]) => o === obj)?.[0];
  if (!name) {
    name = unusedName(api.text(fn), `${obj}_type`, f.taken);
    f.taken.add(name);
    plan.opens.set(name, obj);
    plan.closes.unshift(name);
    plan.valueReads = true;
  }
  const handle = name;
  pass.sites.push({ start: outer.startIndex, end: outer.endIndex, build: () => handle });
}

/** A `Py_TYPE(x)` under `&&`, `||` or `?:`: converted only when its statement already opens a handle for `x`. */
function planConditional(pass: Pass, call: SyntaxNode): void {
  const { api } = pass;
  const host = handleHost(call, false);
  const fn = enclosingFunction(call);
  const obj = callArguments(call).length === 1 ? unparenthesize(callArguments(call)[0]) : null;
  const plan = fn && 'stmt' in host ? pass.functions.get(fn.startIndex)?.statements.get(host.stmt.startIndex) : undefined;
  const name = plan && obj ? [...plan.opens].find(([, o]) => o === api.text(obj))?.[0] : undefined;
  if (name && calleeTakesHandle(pass, call, objectCastsAround(api, call))) {
    const outer = objectCastsAround(api, call);
    pass.sites.push({ start: outer.startIndex, end: outer.endIndex, build: () => name });
    return;
  }
  api.report(call, `'${api.text(call)}' runs only under a condition: left alone`, {
    notes: ["'HPy_Type(ctx, x)' would run before the statement, also where the object may be NULL: give the branch a statement of its own, then run hpy-migrate again", ROW_NOTE],
    suggestion: `in the branch that runs it: ${TYPE_FORM}`,
  });
}

/** A function of this file whose parameter at this position is still a `PyTypeObject *` cannot take a handle. */
function calleeTakesHandle(pass: Pass, call: SyntaxNode, outer: SyntaxNode): boolean {
  const { api } = pass;
  const outerCall = outer.parent!.parent;
  const callee = outerCall ? calleeName(outerCall) : null;
  if (!outerCall || !callee) return true;
  const index = callArguments(outerCall).findIndex((a) => a.id === outer.id);
  const own = pass.params.get(callee) ?? api.index.functions.find((f) => f.name === callee)?.params.map((p) => p.type);
  if (!own || !/\bPyTypeObject\b/.test(own[index] ?? '')) return true;
  api.report(call, `'${api.text(call)}' is passed to '${callee}', whose parameter is still a 'PyTypeObject *': left alone`, {
    notes: [`'${callee}' must take an 'HPy' type handle first (port its use of the type by hand), then run hpy-migrate again`],
    suggestion: `an 'HPy' parameter in '${callee}', then ${TYPE_FORM}`,
  });
  return false;
}

// ---------------------------------------------------------------------------------------------
// `PyTypeObject *tp = Py_TYPE(x);`

function planDeclared(pass: Pass, call: SyntaxNode, decl: SyntaxNode): void {
  const { api } = pass;
  const declarators = decl.childrenForFieldName('declarator');
  const type = api.text(decl.childForFieldName('type')!);
  let id: SyntaxNode | null = declarators[0]?.childForFieldName('declarator') ?? null;
  let stars = 0;
  for (; id?.type === 'pointer_declarator'; stars++) id = id.childForFieldName('declarator');
  const fail = (message: string, notes: string[]) => api.report(call, message, { notes: [...notes, ROW_NOTE], suggestion: DECLARED_FORM });
  if (declarators.length !== 1 || id?.type !== 'identifier' || stars !== 1 || !/^(PyTypeObject|PyObject)$/.test(type) || decl.parent?.type !== 'compound_statement') {
    return fail(`'${api.text(decl)}' is not a declaration of one type variable in a block: left alone`, ["declare 'PyTypeObject *tp = Py_TYPE(x);' on its own, then run hpy-migrate again"]);
  }
  const obj = objectOf(pass, call);
  if (!obj) return;
  const fn = enclosingFunction(call)!;
  const name = api.text(id);
  const uses = api.matches(IDENTIFIERS, fn.childForFieldName('body')!).map((m) => m.id).filter((u) => u.id !== id!.id && api.text(u) === name);
  const problem = usesProblem(pass, uses, name, fn);
  if (problem) return fail(problem.message, problem.notes);
  const exits = rangeExits(pass, decl, uses, name);
  if ('message' in exits) return fail(exits.message, exits.notes);
  if (!pass.guard.allows(call, 'Py_TYPE')) return;
  const f = functionPass(pass, fn);
  if (uses.length === 0) {
    const span = wholeLines(pass.text, decl);
    pass.sites.push({ ...span, build: () => '' });
    return;
  }
  const last = lastRangeStatement(decl, uses)!;
  const plans = [...exits.list, last].map((stmt) => statementPlan(f, { stmt, kind: 'statement' }));
  if (plans.some((p) => !p)) return fail(`'${name}' is last used in a statement whose condition opens type handles of its own: left alone`, [`close '${name}' by hand after that statement`]);
  const text = `HPy ${name} = HPy_Type(ctx, ${obj});`;
  pass.sites.push({ start: decl.startIndex, end: decl.endIndex, build: () => text });
  for (const u of uses) {
    const outer = objectCastsAround(api, u);
    if (outer.id !== u.id) pass.sites.push({ start: outer.startIndex, end: outer.endIndex, build: () => name });
  }
  // Closed before each exit from the statements that use it, and after the last of them.
  for (const plan of plans as StatementPlan[]) {
    if (plan.closes.includes(name)) continue;
    plan.closes.push(name);
    const value = plan.host.stmt.type === 'return_statement' ? plan.host.stmt.namedChildren.find((c) => c.type !== 'comment') : null;
    if (value && uses.some((u) => u.startIndex >= value.startIndex && u.endIndex <= value.endIndex)) plan.valueReads = true;
  }
}

/** Every use of `tp` must be an argument of a call, and `tp` never assigned. */
function usesProblem(pass: Pass, uses: SyntaxNode[], name: string, fn: SyntaxNode): { message: string; notes: string[] } | null {
  const { api } = pass;
  if (writesOf(api, fn.childForFieldName('body')!, name).length > 0) {
    return { message: `'${name}' is assigned again after its declaration: left alone`, notes: ['a type handle must be closed before it is replaced: convert this variable by hand'] };
  }
  const other = uses.find((u) => objectCastsAround(api, u).parent?.type !== 'argument_list');
  if (!other) return null;
  const at = other.parent?.type === 'field_expression' ? `'${api.text(other.parent)}' reads a field of the type object` : `'${name}' is used as a type pointer in '${firstLine(api.text(other.parent ?? other))}'`;
  return { message: `${at}: '${name}' is left alone`, notes: ["only a type variable passed to calls becomes an 'HPy' handle"] };
}

/**
 * The jumps that leave the statements from the declaration to the last use (they close the handle
 * first); a label among those statements is reported (a jump to it would skip the declaration).
 */
function rangeExits(pass: Pass, decl: SyntaxNode, uses: SyntaxNode[], name: string): { list: SyntaxNode[] } | { message: string; notes: string[] } {
  const { api } = pass;
  const last = lastRangeStatement(decl, uses);
  const list: SyntaxNode[] = [];
  if (!last) return { list };
  for (let s: SyntaxNode | null = decl.nextNamedSibling; s && s.startIndex <= last.startIndex; s = s.nextNamedSibling) {
    for (const { exit } of api.matches(EXITS, s)) {
      if (exit.type === 'labeled_statement') {
        return { message: `the label '${api.text(exit.childForFieldName('label')!)}' is among the statements that use '${name}': left alone`, notes: [`a jump to it would skip 'HPy_Type': close '${name}' by hand on every path`] };
      }
      if ((exit.type === 'break_statement' || exit.type === 'continue_statement') && !leavesStatement(exit, s)) continue;
      if (exit.id !== last.id) list.push(exit);
    }
  }
  return { list };
}

/** Does a `break`/`continue` jump out of `stmt` (its loop or switch encloses `stmt`)? */
function leavesStatement(jump: SyntaxNode, stmt: SyntaxNode): boolean {
  for (let n = jump.parent; n && n.id !== stmt.id; n = n.parent) {
    if (LOOPS.has(n.type) || (jump.type === 'break_statement' && n.type === 'switch_statement')) return false;
  }
  return true;
}

/** The statement of the declaration's block that holds the last use. */
function lastRangeStatement(decl: SyntaxNode, uses: SyntaxNode[]): SyntaxNode | null {
  let last: SyntaxNode | null = null;
  for (let s: SyntaxNode | null = decl.nextNamedSibling; s; s = s.nextNamedSibling) {
    if (uses.some((u) => u.startIndex >= s!.startIndex && u.endIndex <= s!.endIndex)) last = s;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Everything else

function reportOtherUse(pass: Pass, call: SyntaxNode, outer: SyntaxNode): void {
  const { api } = pass;
  const p = outer.parent;
  if (p?.type === 'field_expression') {
    const field = api.text(p.childForFieldName('field') ?? p);
    api.report(p, `'${api.text(p)}' reads a field of the type object: left alone`, {
      notes: [ROW_NOTE],
      suggestion: field === 'tp_name' ? 'HPy t = HPy_Type(ctx, x); const char *name = HPyType_GetName(ctx, t); ... HPy_Close(ctx, t); (the name is valid while t is open)' : `no HPy form for '${field}': HPy 0.9.0 does not expose type slots; keep this code on the C API (--target hybrid) or test the type with HPy_TypeCheck`,
    });
    return;
  }
  const op = p?.type === 'binary_expression' ? p.childForFieldName('operator')?.type : undefined;
  if (op === '==' || op === '!=') {
    const other = unparenthesize(p!.childForFieldName('left')!.id === outer.id ? p!.childForFieldName('right')! : p!.childForFieldName('left')!);
    const target = other.type === 'pointer_expression' ? other.namedChildren[0] : null;
    if (target?.type === 'identifier' && isTypeObject(api.text(target))) return; // builtin-constant reports it
    if (pass.reported.has(p!.id)) return;
    pass.reported.add(p!.id);
    api.report(p!, `'${api.text(p!)}' compares type objects: left alone`, {
      notes: ['an exact type test takes several steps in HPy, with the other type as a handle (an HPyGlobal for a type of the module)'],
      suggestion: 'HPy t = HPy_Type(ctx, x); int same = HPy_Is(ctx, t, type); HPy_Close(ctx, t);',
    });
    return;
  }
  api.report(call, `'${api.text(call)}' is not passed to a call: left alone`, {
    notes: ["'HPy_Type(ctx, x)' returns a new handle that must be closed on every path: convert this use by hand", ROW_NOTE],
    suggestion: TYPE_FORM,
  });
}

// ---------------------------------------------------------------------------------------------
// Building the text

/** The statement with its handles opened before it and closed after it (or before its `return`). */
function statementSite(pass: Pass, f: FunctionPass, s: StatementPlan): NestedSite {
  const { api } = pass;
  const isReturn = s.host.kind === 'statement' && s.host.stmt.type === 'return_statement' && s.valueReads;
  const result = isReturn ? unusedName(api.text(f.fn), 'result', f.taken) : '';
  f.taken.add(result);
  const opens = [...s.opens].map(([name, obj]) => `HPy ${name} = HPy_Type(ctx, ${obj});`);
  return handleStatementSite(api, pass.text, { host: s.host, opens, closes: s.closes, result, returnType: functionReturnType(api, f.fn), valueReads: s.valueReads });
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0];
  return line.length < s.length ? `${line.trimEnd()} ...` : line;
}

/** The lines a node stands on, line break included, when it is alone on them; else the node. */
function wholeLines(text: string, node: SyntaxNode): Span {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const rest = /^[ \t]*(\r?\n)/.exec(text.slice(node.endIndex));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, node.startIndex))) return { start: lineStart, end: node.endIndex + rest[0].length };
  return { start: node.startIndex, end: node.endIndex };
}
