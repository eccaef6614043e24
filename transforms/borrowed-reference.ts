/**
 * Turns the borrowed getters (`PyList_GET_ITEM`, `PyTuple_GetItem`, `PyDict_GetItemString`, ...)
 * into HPy calls that return a new handle, closed exactly once on every path out of its scope.
 *
 * ## Why
 * HPy has no borrowed references: `HPy_GetItem_i`, `HPy_GetItem` and `HPy_GetItem_s` return a
 * new handle that the caller must close exactly once, or hand over by returning it (porting
 * guide, "Handles" and "Handles vs PyObject *":
 * https://docs.hpyproject.org/en/latest/porting-guide.html). A port that only renames the call
 * compiles, then leaks one handle per call (HPy's debug mode reports each one), and the
 * `Py_INCREF(x); return x;` that made a borrowed result the caller's would now make two.
 *
 * ## Before
 * ```c
 * static HPy
 * Matrix_row_sum(HPyContext *ctx, HPy self, HPy rows)
 * {
 *     long total = 0;
 *     for (HPy_ssize_t i = 0; i < HPy_Length(ctx, rows); i++) {
 *         PyObject *row = PyList_GET_ITEM(rows, i);
 *         if (!PyTuple_Check(row))
 *             return NULL;
 *         total += PyLong_AsLong(PyTuple_GET_ITEM(row, 0));
 *     }
 *     return PyLong_FromLong(total);
 * }
 * ```
 * ## After
 * ```c
 * static HPy
 * Matrix_row_sum(HPyContext *ctx, HPy self, HPy rows)
 * {
 *     long total = 0;
 *     for (HPy_ssize_t i = 0; i < HPy_Length(ctx, rows); i++) {
 *         PyObject *row = HPy_GetItem_i(ctx, rows, i);
 *         if (!PyTuple_Check(row)) {
 *             HPy_Close(ctx, row);
 *             return NULL;
 *         }
 *         HPy row_item = HPy_GetItem_i(ctx, row, 0);
 *         total += PyLong_AsLong(row_item);
 *         HPy_Close(ctx, row_item);
 *         HPy_Close(ctx, row);
 *     }
 *     return PyLong_FromLong(total);
 * }
 * ```
 * ## Safety
 * review: the closes are placed by a proof over the code as written, but the calls change
 * meaning for subclasses: HPy 0.9.0 has no concrete-type getters, so `HPy_GetItem_i` and
 * `HPy_GetItem` go through the item protocol (a list or tuple subclass's `__getitem__`, a dict
 * subclass's `__missing__`, negative indices counted from the end), where the CPython getters read
 * the storage. A reviewer checks that the containers are exact lists, tuples and dicts (or that
 * the difference does not matter). What is converted:
 * - `PyObject *x = GETTER(...);` and `x = GETTER(...);` (`x` a local object variable): `x` owns
 *   the handle in the block of that statement, up to the end of the block or a later statement
 *   of the block that assigns `x` again. `HPy_Close(ctx, x);` goes after the last statement of
 *   that range that uses `x` (or a C pointer into its object, such as `PyUnicode_AsUTF8(x)`
 *   kept in a variable), unless that statement never falls through, and before every jump that
 *   leaves the range earlier: `return` and `Py_RETURN_*` at any depth, `break`/`continue` of a
 *   loop (or switch) around the block, `goto` to a label outside the block or after the last use.
 *   A `return` whose value reads `x` computes it into a new local `result` of the function's
 *   return type first. A lone jump gets braces. No close where `x` is known to be null: in the
 *   branch of `if (x == NULL)`, `if (!x)`, the `else` of `if (x != NULL)` (tests combined with
 *   `&&`/`||` that imply it count too), and after an `if` one branch of which never falls
 *   through, what the other branch knows holds. `Py_INCREF(x); PyList_SET_ITEM(l, i, x);` is the
 *   stolen-reference transform's, which runs first and leaves `x` ours (a builder `Set`).
 * - The dict getters keep the CPython meaning of a missing key: `HPy_GetItem` raises KeyError,
 *   so `if (HPy_IsNull(x)) HPyErr_Clear(ctx);` follows the call (`PyDict_GetItem` and
 *   `PyDict_GetItemString` swallowed every error; for `PyDict_GetItemWithError` only a KeyError
 *   is cleared: `HPyErr_ExceptionMatches(ctx, ctx->h_KeyError)`). As their result may be null
 *   without an error, their closes are written `if (!HPy_IsNull(x)) HPy_Close(ctx, x);` wherever
 *   a test has not shown `x` to be non-null (closing HPy_NULL is undocumented). The list and
 *   tuple getters are assumed to succeed where the code did not test their result, as CPython's
 *   unchecked macros did: their closes are plain, except where a combined test leaves `x` maybe
 *   null.
 * - `PyTuple_GetItem(t, i)` and `PyList_GetItem(l, i)` raised IndexError for a negative index,
 *   which `HPy_GetItem_i` counts from the end: unless the index is a literal, an unsigned variable
 *   or the counter of a loop around the call that starts at 0, counts up and is not written in
 *   the loop's body, the call becomes `i < 0 ? HPyErr_SetString(ctx, ctx->h_IndexError, "tuple
 *   index out of range") : HPy_GetItem_i(ctx, t, i)` (`HPyErr_SetString` returns `HPy_NULL` in
 *   0.9.0), the index being free of side effects. The unchecked macros (`*_GET_ITEM`) get no test.
 * - `Py_INCREF(x); return x;` (adjacent) and `return Py_NewRef(x);` hand the handle over: the
 *   `Py_INCREF` goes, the `return x;` stays, nothing is closed there.
 * - A getter passed to a call or compared (`PyLong_AsLong(PyTuple_GET_ITEM(t, 0))`): a handle for
 *   one statement, named after the container (`t_item`, unused in the function), opened before
 *   the statement and closed after it (docs/PORTING-PIPELINE.md, "Handles for one statement"); a
 *   `return` computes its value into `result` first; an `if` whose condition reads it closes it
 *   first thing in each branch. `return Py_NewRef(GETTER(...));` returns the new handle.
 * The `PyObject *` declarations, the null tests and the rest of each statement are left to the
 * transforms that run after this one (pyobject-pointer, capi-call, refcount-macro, ...).
 *
 * ## Limits
 * Reported (warning) with the form to write by hand, and left exactly as it is (a method or slot
 * holding such a call keeps its C-API signature, whole: `borrowedCallProblem` in
 * `src/api/borrowed-references.ts`):
 * - `x` stored or copied anywhere (a struct member, a global, another variable), its address
 *   taken, a field of it read, any other reference counting on it (`Py_DECREF(x)`, a `Py_INCREF`
 *   not followed by `return x;`), passed to a stealing call, returned without `Py_INCREF`
 *   (CPython handed out a borrowed reference: a bug in the original, or a pattern to port by hand);
 * - `x` assigned inside its range other than by a statement `x = ...;` of its block, or by one
 *   that reads `x`; for `x = GETTER(...);`, `x` read after the block (unless assigned again
 *   first on every path) or earlier in a loop around it before being assigned;
 * - a label among the statements that use `x`, a `goto` back into its scope, a macro of the file
 *   whose body jumps, a preprocessor directive in the block after the acquisition, a C pointer
 *   into the object read after the range;
 * - a getter whose result is returned as is, passed to `Py_INCREF`-like macros or to a stealing
 *   call, kept as a C pointer (`s = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, 0))`), evaluated only
 *   under `&&`/`||`/`?:`, in a loop header, a `switch`, an `else if` condition, or in a statement
 *   that assigns a variable its arguments read; a dict getter passed on directly (its NULL needs a
 *   test of its own); a checked getter whose index has side effects; any getter sharing its
 *   statement with one left alone.
 * `PyTuple_GET_ITEM(args, i)` on the `const HPy *args` of a converted method or slot is
 * pymethoddef's and pytype-spec's (`args[i]`): one still there is reported. Functions that keep a
 * C-API signature are left alone and reported once (`src/api/context-guard.ts`);
 * `PySequence_Fast_GET_ITEM` and the struct-sequence getters are left to capi-call's report.
 */
import {
  applyNestedSites,
  type ArgumentPlan,
  BORROWED_GETTER_NAMES,
  type BorrowedGetter,
  borrowedPlan,
  type BorrowedProblem,
  callArguments,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  type EditOptions,
  functionReturnType,
  type HandleArrayPlan,
  handleCloseLine,
  indentationAt,
  indentUnit,
  isInStatementList,
  isReturnMacroStatement,
  type NestedSite,
  type RewriteApi,
  type Span,
  startsLine,
  suggestingApi,
  type SyntaxNode,
  unusedName,
  type VariablePlan,
} from '../src/api/index.js';

const GETTER_CALLS = `(call_expression function: (identifier) @fn (#match? @fn "^(${BORROWED_GETTER_NAMES.join('|')})$") arguments: (argument_list)) @call`;
const JUMP_TYPES = new Set(['return_statement', 'goto_statement', 'break_statement', 'continue_statement']);
const SUBCLASS_NOTE = "HPy goes through the item protocol: a subclass's __getitem__/__missing__ and negative indices now count";

/** A statement that opens handles before it, writes lines after it, or closes handles around it. */
interface StatementPlan {
  stmt: SyntaxNode;
  fn: SyntaxNode;
  /** `condition`: handles opened for the condition of this `if`, closed first thing in each branch. */
  kind: 'statement' | 'condition';
  /** Handles for one statement: the call's end (inner calls first) and the open line. */
  opens: { end: number; name: string; text: (render: Render) => string }[];
  /** Lines right after an acquiring statement (the dict getters' error clearing). */
  after: string[];
  /** Variable closes: after the statement, or before it for a jump; later acquisitions first. */
  closes: { from: number; name: string; line: string }[];
  /** A `return` whose value reads a closed handle: computed into `result` first. */
  valueReads: boolean;
  /** Lone branch bodies of this `if` whose own plan is written inside its braces. */
  merged: Map<number, StatementPlan>;
  /** Written by the plan of the `if` it is the lone branch of. */
  inside: boolean;
}

type Render = (target: SyntaxNode | Span) => string;

/** One pass over a file. */
interface Pass {
  api: RewriteApi;
  text: string;
  sites: NestedSite[];
  statements: Map<number, StatementPlan>;
  /** Names taken in each function by this pass. */
  taken: Map<number, Set<string>>;
  /** Review notes by edited span. */
  notes: Map<string, string>;
}

export default defineTransform({
  id: 'borrowed-reference',
  summary: 'borrowed getters (PyList_GET_ITEM, PyDict_GetItemString, ...) become new handles, closed on every path out of their scope',
  concern: 'refcounts',
  safety: 'review',
  default: false,
  // Signatures, struct, field and global rewrites first (docs/PORTING-PIPELINE.md); stolen-reference
  // first too: it turns `Py_INCREF(x); PyList_SET_ITEM(l, i, x);` into a builder Set that keeps x ours.
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field', 'stolen-reference'],
  rewrite(file, api) {
    const pass: Pass = { api, text: file.text, sites: [], statements: new Map(), taken: new Map(), notes: new Map() };
    const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
    for (const { call } of api.matches(GETTER_CALLS)) {
      const plan = borrowedPlan(api, call, { forecast: false });
      if (plan.kind === 'problem') reportProblem(api, plan);
      else if (plan.kind === 'handle-array') reportHandleArray(api, plan);
      else if (guard.allows(call, api.text(call.childForFieldName('function')!))) {
        if (plan.kind === 'variable') planVariable(pass, plan);
        else if (plan.kind === 'argument') planArgument(pass, plan);
        else addSite(pass, plan.replaced, (render) => hpyCall(plan, render), `'${plan.getter.name}' became '${plan.getter.hpy}': the new handle is the new reference returned (${SUBCLASS_NOTE})`);
      }
    }
    mergeBranchBodies(pass);
    for (const plan of pass.statements.values()) if (!plan.inside) pass.sites.push(statementSite(pass, plan));
    applyNestedSites(notingApi(pass), pass.sites);
  },
});

function reportProblem(api: RewriteApi, p: BorrowedProblem): void {
  api.report(p.at, p.message, { notes: p.notes, suggestion: p.suggestion });
}

function reportHandleArray(api: RewriteApi, p: HandleArrayPlan): void {
  const index = callArguments(p.call)[1];
  api.report(p.call, `'${p.array}' is an array of handles now, not a tuple: left alone`, {
    notes: [`'${p.array}[i]' is the item, owned by the caller (never close it); pymethoddef and pytype-spec write it for the methods and slots they convert`],
    suggestion: `${p.array}[${index ? api.text(index) : 'i'}]`,
  });
}

// ---------------------------------------------------------------------------------------------
// Planning

function statementPlan(pass: Pass, stmt: SyntaxNode, fn: SyntaxNode): StatementPlan {
  let plan = pass.statements.get(stmt.id);
  if (!plan) {
    plan = { stmt, fn, kind: 'statement', opens: [], after: [], closes: [], valueReads: false, merged: new Map(), inside: false };
    pass.statements.set(stmt.id, plan);
  }
  return plan;
}

function takenIn(pass: Pass, fn: SyntaxNode): Set<string> {
  let taken = pass.taken.get(fn.id);
  if (!taken) pass.taken.set(fn.id, (taken = new Set()));
  return taken;
}

function addSite(pass: Pass, node: SyntaxNode, build: (render: Render) => string, note: string): void {
  pass.sites.push({ start: node.startIndex, end: node.endIndex, build });
  pass.notes.set(`${node.startIndex}:${node.endIndex}`, note);
}

/** `x = GETTER(...)`: the HPy call, the error clearing of a dict getter, the closes, the hand-overs. */
function planVariable(pass: Pass, plan: VariablePlan): void {
  const { api } = pass;
  const { getter, name } = plan;
  addSite(pass, plan.replaced, (render) => hpyCall(plan, render), `'${getter.name}' became '${getter.hpy}': '${name}' owns a new handle, closed after its last use and before each jump out of its block (${SUBCLASS_NOTE})`);
  if (getter.clear) statementPlan(pass, plan.stmt, plan.fn).after.push(getter.clear(name));
  for (const c of plan.closes) {
    const s = statementPlan(pass, c.stmt, plan.fn);
    s.closes.push({ from: plan.stmt.startIndex, name, line: handleCloseLine(name, c.guarded) });
    s.valueReads ||= c.valueReads;
  }
  for (const incref of plan.increfs) {
    const span = wholeLines(pass.text, incref);
    pass.sites.push({ ...span, build: () => '' });
    pass.notes.set(`${span.start}:${span.end}`, `'${api.text(incref)}' goes: the handle in '${name}' is handed to the caller`);
  }
  for (const newRef of plan.newRefs) {
    const arg = callArguments(newRef)[0];
    addSite(pass, newRef, (render) => render(arg), `'${api.text(newRef)}' becomes '${name}': the handle is handed to the caller`);
  }
}

/** `f(GETTER(...))`: a handle opened before the host statement, closed after it. */
function planArgument(pass: Pass, plan: ArgumentPlan): void {
  const taken = takenIn(pass, plan.fn);
  const name = unusedName(pass.api.text(plan.fn), plan.base, taken);
  taken.add(name);
  addSite(pass, plan.replaced, () => name, `'${plan.getter.name}' became a handle '${name}' opened before the statement and closed after it (${SUBCLASS_NOTE})`);
  const s = statementPlan(pass, plan.host.stmt, plan.fn);
  if (plan.host.kind === 'condition') s.kind = 'condition';
  s.opens.push({ end: plan.call.endIndex, name, text: (render) => `HPy ${name} = ${hpyCall(plan, render)};` });
  s.opens.sort((a, b) => a.end - b.end);
}

/** The lone branch bodies of an `if` that opens handles are written by that `if`'s plan. */
function mergeBranchBodies(pass: Pass): void {
  for (const plan of pass.statements.values()) {
    if (plan.kind !== 'condition') continue;
    for (const body of branchBodies(plan.stmt)) {
      const inner = pass.statements.get(body.id);
      if (!inner || body.type === 'compound_statement') continue;
      inner.inside = true;
      plan.merged.set(body.id, inner);
    }
  }
}

function branchBodies(ifStmt: SyntaxNode): SyntaxNode[] {
  const alt = elseBody(ifStmt);
  return [ifStmt.childForFieldName('consequence')!, ...(alt ? [alt] : [])];
}

function elseBody(ifStmt: SyntaxNode): SyntaxNode | null {
  return ifStmt.childForFieldName('alternative')?.namedChildren.find((c) => c.type !== 'comment') ?? null;
}

// ---------------------------------------------------------------------------------------------
// Building the text

/**
 * `HPy_GetItem_i(ctx, l, i)` from `PyList_GET_ITEM(l, i)`, its arguments rendered in place; with
 * `checkIndex`, a negative index raises IndexError first, as CPython's checked getters did
 * (`HPyErr_SetString` returns `HPy_NULL` in HPy 0.9.0).
 */
function hpyCall(plan: { call: SyntaxNode; getter: BorrowedGetter; checkIndex: boolean }, render: Render): string {
  const list = plan.call.childForFieldName('arguments')!;
  const inner = render({ start: list.startIndex + 1, end: list.endIndex - 1 });
  const hpy = plan.getter.hpy;
  const call = /^[ \t]*\r?\n/.test(inner) ? `${hpy}(ctx,${inner})` : `${hpy}(ctx, ${inner.replace(/^[ \t]+/, '')})`;
  if (!plan.checkIndex) return call;
  return `${render(callArguments(plan.call)[1])} < 0 ? HPyErr_SetString(ctx, ctx->h_IndexError, "${plan.getter.negativeIndexError}") : ${call}`;
}

function isJump(api: RewriteApi, stmt: SyntaxNode): boolean {
  return JUMP_TYPES.has(stmt.type) || isReturnMacroStatement(api, stmt);
}

/** The statements that replace a statement plan's statement (its handles opened and closed around it). */
function planLines(pass: Pass, plan: StatementPlan, render: Render): string[] {
  const { api } = pass;
  const opens = plan.opens.map((o) => o.text(render));
  const handleCloses = [...plan.opens].reverse().map((o) => `HPy_Close(ctx, ${o.name});`);
  const closes = [...plan.closes].sort((a, b) => b.from - a.from).map((c) => c.line);
  const stmt = plan.stmt;
  if (!isJump(api, stmt)) return [...opens, render(stmt), ...plan.after, ...handleCloses, ...closes];
  const value = stmt.type === 'return_statement' ? stmt.namedChildren.find((c) => c.type !== 'comment') : undefined;
  if (value && (plan.opens.length > 0 || plan.valueReads)) {
    const taken = takenIn(pass, plan.fn);
    const result = unusedName(api.text(plan.fn), 'result', taken);
    taken.add(result);
    return [...opens, `${functionReturnType(api, plan.fn)} ${result} = ${render(value)};`, ...handleCloses, ...closes, `return ${result};`];
  }
  return [...opens, ...handleCloses, ...closes, render(stmt)];
}

function statementSite(pass: Pass, plan: StatementPlan): NestedSite {
  const { api, text } = pass;
  const stmt = plan.stmt;
  const listed = isInStatementList(stmt);
  const before = stmt.previousSibling;
  const own = !listed && !!before && /^[ \t]*\r?\n[ \t]*$/.test(text.slice(before.endIndex, stmt.startIndex));
  const span: Span = own ? { start: before!.endIndex, end: stmt.endIndex } : { start: stmt.startIndex, end: stmt.endIndex };
  pass.notes.set(`${span.start}:${span.end}`, statementNote(plan));
  const indent = indentationAt(text, stmt.startIndex);
  const eol = api.eol;
  return {
    ...span,
    build: (render) => {
      if (plan.kind === 'condition') return conditionText(pass, plan, render);
      const lines = planLines(pass, plan, render);
      if (listed) return lines.join(startsLine(text, stmt) ? `${eol}${indent}` : ' ');
      if (!own) return `{ ${lines.join(' ')} }`;
      return ` {${eol}${indent}${lines.join(`${eol}${indent}`)}${eol}${indentationAt(text, before!.startIndex)}}`;
    },
  };
}

function statementNote(plan: StatementPlan): string {
  const parts: string[] = [];
  if (plan.opens.length > 0) parts.push(`handles for this statement (${plan.opens.map((o) => `'${o.name}'`).join(', ')}) are opened before it and closed after it`);
  if (plan.after.length > 0) parts.push('a missing key gives NULL without an exception again, as in CPython');
  if (plan.closes.length > 0) parts.push(`${[...new Set(plan.closes.map((c) => `'${c.name}'`))].join(', ')} closed here, its last use or a jump out of its block`);
  return `${parts.join('; ')} (${SUBCLASS_NOTE})`;
}

/**
 * `if (cond) A else B` whose condition reads handles for one statement: opened before the `if`,
 * closed first thing in A and in B (an `else` is added when there is none); closes of variables
 * whose last use is this `if` follow it.
 */
function conditionText(pass: Pass, plan: StatementPlan, render: Render): string {
  const { api, text } = pass;
  const stmt = plan.stmt;
  const eol = api.eol;
  const indent = indentationAt(text, stmt.startIndex);
  const condition = stmt.childForFieldName('condition')!;
  const consequence = stmt.childForFieldName('consequence')!;
  const alternative = stmt.childForFieldName('alternative');
  const alt = elseBody(stmt);
  const unit = indentUnit(text, stmt, indent);
  const closes = [...plan.opens].reverse().map((o) => `HPy_Close(ctx, ${o.name});`);
  const sep = startsLine(text, stmt) ? `${eol}${indent}` : ' ';
  let out = [...plan.opens.map((o) => o.text(render)), ''].join(sep) + render({ start: stmt.startIndex, end: condition.endIndex });
  out += branch(pass, plan, closes, render, condition.endIndex, consequence, indent, unit);
  if (alternative && alt) {
    out += render({ start: consequence.endIndex, end: alternative.child(0)!.endIndex });
    out += branch(pass, plan, closes, render, alternative.child(0)!.endIndex, alt, indent, unit);
  } else {
    out += ` else {${eol}${indent}${unit}${closes.join(`${eol}${indent}${unit}`)}${eol}${indent}}`;
  }
  const after = [...plan.closes].sort((a, b) => b.from - a.from).map((c) => c.line);
  return after.length > 0 ? [out, ...after].join(sep) : out;
}

/** A branch that closes the handles before anything else; `from` is where the text before it ends. */
function branch(pass: Pass, plan: StatementPlan, closes: string[], render: Render, from: number, body: SyntaxNode, indent: string, unit: string): string {
  const { api, text } = pass;
  const eol = api.eol;
  const gap = text.slice(from, body.startIndex);
  if (body.type === 'compound_statement') {
    const first = body.namedChildren[0];
    const inner = first && /\n[ \t]*$/.test(text.slice(body.startIndex, first.startIndex)) ? indentationAt(text, first.startIndex) : `${indent}${unit}`;
    return `${gap}{${eol}${inner}${closes.join(`${eol}${inner}`)}${render({ start: body.startIndex + 1, end: body.endIndex })}`;
  }
  const merged = plan.merged.get(body.id);
  const lines = [...closes, ...(merged ? planLines(pass, merged, render) : [render(body)])];
  if (/\n/.test(gap)) {
    const inner = indentationAt(text, body.startIndex);
    return ` {${eol}${inner}${lines.join(`${eol}${inner}`)}${eol}${indent}}`;
  }
  return `${gap}{ ${lines.join(' ')} }`;
}

/** The lines a node stands on, line break included, when it is alone on them; else the node. */
function wholeLines(text: string, node: SyntaxNode): Span {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const rest = /^[ \t]*(\r?\n)/.exec(text.slice(node.endIndex));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, node.startIndex))) return { start: lineStart, end: node.endIndex + rest[0].length };
  return { start: node.startIndex, end: node.endIndex };
}

/** The api, with each recorded edit given the review note of its span. */
function notingApi(pass: Pass): RewriteApi {
  const { api, notes } = pass;
  const replace = (target: SyntaxNode | Span, text: string, options?: EditOptions): void => {
    const key = 'startIndex' in target ? `${target.startIndex}:${target.endIndex}` : `${target.start}:${target.end}`;
    api.replace(target, text, { ...options, note: notes.get(key) ?? `borrowed getters became new handles (${SUBCLASS_NOTE})` });
  };
  return { ...api, replace };
}
