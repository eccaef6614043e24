/**
 * What becomes of one call to a borrowed getter (`PyList_GET_ITEM`, `PyDict_GetItemString`, ...)
 * under HPy, where the replacement returns a new handle: a variable that now owns it (closed on
 * every path out of its block, `src/api/borrowed-scope.ts`), a handle that lives for one
 * statement (an argument of a call, docs/PORTING-PIPELINE.md "Handles for one statement"), a
 * new reference handed to the caller, or a problem that keeps the code as it is. Shared by the
 * borrowed-reference transform and by the signature transforms, which keep a function whole on
 * the C API when one of its getters cannot be converted (`unconvertedCallReason`).
 */
import { declarationsOf, isHandleDeclaration, writesOf } from './c-declarations.js';
import { callArguments, calleeName, enclosingFunction, functionParams, unparenthesize } from './c-syntax.js';
import { FILE_SCOPE_NOTE, fileScopeMessage } from './context-guard.js';
import { BORROWED_GETTERS, borrowedGetterOf, NEW_REF_NAMES, RAW_POINTER_CALLS, REFCOUNT_NAMES, stealsArgument, type BorrowedGetter } from './borrowed-getters.js';
import { firstLine, identifiersIn, scopePlan, type ClosePoint } from './borrowed-scope.js';
import { objectCastsAround } from './object-globals.js';
import { handleHost, type HandleHost } from './statement-handles.js';
import type { RewriteApi, SyntaxNode } from './types.js';

interface PlanBase {
  call: SyntaxNode;
  getter: BorrowedGetter;
  fn: SyntaxNode;
  /**
   * The index may be negative, where CPython's checked getter raised IndexError: the HPy call is
   * written `i < 0 ? HPyErr_SetString(ctx, ctx->h_IndexError, "...") : HPy_GetItem_i(ctx, t, i)`.
   */
  checkIndex: boolean;
}

/** `PyObject *x = GETTER(...);` or `x = GETTER(...);`: `x` owns the handle in its block. */
export interface VariablePlan extends PlanBase {
  kind: 'variable';
  /** The call with the casts around it: replaced by the HPy call. */
  replaced: SyntaxNode;
  /** The acquiring statement. */
  stmt: SyntaxNode;
  name: string;
  closes: ClosePoint[];
  /** `Py_INCREF(x);` statements before a `return x;` that now hands the handle over: removed. */
  increfs: SyntaxNode[];
  /** `Py_NewRef(x)` in `return Py_NewRef(x);`: becomes `x`. */
  newRefs: SyntaxNode[];
}

/** `f(GETTER(...))`: a handle opened before the host statement, closed after it. */
export interface ArgumentPlan extends PlanBase {
  kind: 'argument';
  replaced: SyntaxNode;
  host: HandleHost;
  /** The base of the handle's name (`row_item`). */
  base: string;
}

/** `return Py_NewRef(GETTER(...));`: the new handle is the new reference. */
export interface NewReferencePlan extends PlanBase {
  kind: 'new-reference';
  /** The `Py_NewRef(...)` call, replaced by the HPy call. */
  replaced: SyntaxNode;
}

/** `PyTuple_GET_ITEM(args, i)` on the `const HPy *args` of a converted method or slot. */
export interface HandleArrayPlan extends PlanBase {
  kind: 'handle-array';
  array: string;
}

/** Why the call is left as it is, and what to write by hand. */
export interface BorrowedProblem extends Omit<PlanBase, 'fn' | 'getter' | 'checkIndex'> {
  kind: 'problem';
  getter: BorrowedGetter | undefined;
  at: SyntaxNode;
  message: string;
  notes: string[];
  suggestion: string;
}

/** What one getter call becomes. */
export type BorrowedPlan = VariablePlan | ArgumentPlan | NewReferencePlan | HandleArrayPlan | BorrowedProblem;

/** Options of {@link borrowedPlan}. */
export interface BorrowedPlanOptions {
  /**
   * Judge the call as the transform will see it, after the transforms that run before it (a
   * signature transform asking about a function it has not converted yet): a `Py_INCREF` that
   * the stolen-reference transform absorbs into a builder is then no problem.
   */
  forecast: boolean;
}

const GETTER_CALLS = '(call_expression function: (identifier) @fn arguments: (argument_list)) @call';
const STATEMENT_TYPES = /(_statement|^declaration)$/;

/**
 * The plan of a getter call. A call whose statement holds another getter call that is left (an
 * argument of it, or a neighbour in the same statement) is left too: the statement would mix a
 * handle with a C-API call.
 */
export function borrowedPlan(api: RewriteApi, call: SyntaxNode, options: BorrowedPlanOptions): BorrowedPlan {
  const plan = ownPlan(api, call, options);
  if (plan.kind === 'problem' || plan.kind === 'handle-array') return plan;
  const stmt = statementOf(call);
  if (!stmt) return plan;
  for (const { call: other } of api.matches(GETTER_CALLS, stmt)) {
    if (other.id === call.id || !borrowedGetterOf(other) || statementOf(other)?.id !== stmt.id) continue;
    const left = ownPlan(api, other, options);
    if (left.kind !== 'problem') continue;
    return problemOf(api, call, plan.getter, `'${firstLine(api.text(call))}' shares its statement with '${firstLine(api.text(other))}', which is left alone`, ['a statement is converted whole or not at all: see the warning about the other call'], localForm(api, call, plan.getter, 'item'));
  }
  return plan;
}

/**
 * Why the borrowed-reference transform does not convert this getter call in this run, or null
 * when it does (for `unconvertedCallReason`: a method or slot with such a call keeps its C-API
 * signature, whole). The transform is a review transform: outside `--all`/`--transforms` it does
 * not run, and a body left with the getter would not compile.
 */
export function borrowedCallProblem(api: RewriteApi, call: SyntaxNode): string | null {
  if (!api.isSelected('borrowed-reference')) {
    return "the borrowed-reference transform that converts it is a review transform, not part of this run (run it with '--all' or '--transforms')";
  }
  const plan = borrowedPlan(api, call, { forecast: true });
  return plan.kind === 'problem' ? plan.message.replace(/: left alone$/, '') : null;
}

/** The statement a call belongs to (the `if` for a call in its condition). */
function statementOf(node: SyntaxNode): SyntaxNode | null {
  for (let n = node.parent; n; n = n.parent) if (STATEMENT_TYPES.test(n.type)) return n;
  return null;
}

function ownPlan(api: RewriteApi, call: SyntaxNode, options: BorrowedPlanOptions): BorrowedPlan {
  const getter = borrowedGetterOf(call)!;
  const fn = enclosingFunction(call);
  const name = getter.name;
  if (!fn) return problemOf(api, call, getter, fileScopeMessage(name), [FILE_SCOPE_NOTE], hpyCall(api, call, getter));
  const args = callArguments(call);
  if (args.length !== 2) return problemOf(api, call, getter, `'${name}' is called with ${args.length} arguments`, ['it takes two: port it by hand'], hpyCall(api, call, getter));
  const array = args[0].type === 'identifier' ? functionParams(fn).find((p) => p.name === api.text(args[0]) && /^HPy \*$/.test(p.type)) : undefined;
  if (array) return { kind: 'handle-array', call, getter, fn, checkIndex: false, array: array.name };
  const checkIndex = negativeIndexCheck(api, fn, getter, args[1]);
  if (typeof checkIndex === 'string') {
    const list = api.text(args[0]).replace(/\s+/g, ' ');
    return problemOf(api, call, getter, checkIndex, [`HPy_GetItem_i counts a negative index from the end where '${name}' raised IndexError, so the index is tested first: assign it to a local variable, then run hpy-migrate again`],
      `HPy_ssize_t index = ${api.text(args[1])}; HPy item = index < 0 ? HPyErr_SetString(ctx, ctx->h_IndexError, "${getter.negativeIndexError}") : HPy_GetItem_i(ctx, ${list}, index); ... HPy_Close(ctx, item);`);
  }
  const base = { call, getter, fn, checkIndex };
  const outer = objectCastsAround(api, call);
  const p = outer.parent;
  if (p?.type === 'init_declarator' && p.childForFieldName('value')?.id === outer.id) return declaredPlan(api, base, outer, p, options);
  if (p?.type === 'assignment_expression' && p.childForFieldName('right')?.id === outer.id) return assignedPlan(api, base, outer, p, options);
  if (p?.type === 'argument_list') return argumentPlan(api, base, outer, p.parent!);
  const op = p?.type === 'binary_expression' ? p.childForFieldName('operator')?.type : undefined;
  if (op === '==' || op === '!=') return nestedPlan(api, base, outer);
  if (p?.type === 'return_statement') {
    return problemOf(api, call, getter, `'${firstLine(api.text(call))}' is returned as a borrowed reference`, [
      `the caller owns what a function returns, so the original lacks a new reference here (a reference-count bug?): write 'return Py_NewRef(${firstLine(api.text(call))});' and run hpy-migrate again, or port it by hand`,
    ], `return ${hpyCall(api, call, getter)};`);
  }
  return problemOf(api, call, getter, `'${firstLine(api.text(call))}' is used in '${firstLine(api.text(p ?? call))}'`, [
    `the new handle would have to be closed after this use: assign the result to a local variable first ('PyObject *item = ${firstLine(api.text(call))};'), then run hpy-migrate again`,
  ], localForm(api, call, getter, 'item'));
}

// ---------------------------------------------------------------------------------------------
// A variable that owns the handle

function declaredPlan(api: RewriteApi, base: PlanBase, outer: SyntaxNode, init: SyntaxNode, options: BorrowedPlanOptions): BorrowedPlan {
  const decl = init.parent!;
  const { call, getter } = base;
  let id: SyntaxNode | null = init.childForFieldName('declarator');
  let stars = 0;
  for (; id?.type === 'pointer_declarator'; stars++) id = id.childForFieldName('declarator');
  const type = decl.type === 'declaration' ? api.text(decl.childForFieldName('type')!) : '';
  const name = id?.type === 'identifier' ? api.text(id) : 'item';
  const handleType = (type === 'PyObject' && stars === 1) || (type === 'HPy' && stars === 0);
  if (decl.type !== 'declaration' || decl.childrenForFieldName('declarator').length !== 1 || id?.type !== 'identifier' || !handleType || decl.parent?.type !== 'compound_statement') {
    return problemOf(api, call, getter, `'${firstLine(api.text(decl))}' is not the declaration of one object variable in a block`, [
      `declare 'PyObject *${name} = ${firstLine(api.text(call))};' on its own, in a block, then run hpy-migrate again`,
    ], localForm(api, call, getter, name));
  }
  return variablePlan(api, base, outer, { stmt: decl, name, declared: true, declaration: null }, options);
}

function assignedPlan(api: RewriteApi, base: PlanBase, outer: SyntaxNode, assignment: SyntaxNode, options: BorrowedPlanOptions): BorrowedPlan {
  const { call, getter, fn } = base;
  const left = assignment.childForFieldName('left')!;
  const stmt = assignment.parent;
  const name = api.text(left);
  const local = left.type === 'identifier' ? declarationsOf(api, fn).get(name) : undefined;
  if (!local || local.param || !isHandleDeclaration(local)) {
    return problemOf(api, call, getter, `'${firstLine(api.text(call))}' is stored in '${firstLine(name)}', which is not a local object variable`, [
      `a struct member or a global keeps its own reference under HPy (HPyField_Store, HPyGlobal_Store), and a parameter is owned by the caller: port it by hand`,
    ], localForm(api, call, getter, 'item'));
  }
  if (assignment.childForFieldName('operator')?.type !== '=' || stmt?.type !== 'expression_statement' || stmt.parent?.type !== 'compound_statement') {
    return problemOf(api, call, getter, `'${firstLine(api.text(assignment))}' is not a statement of its own in a block`, [
      `write '${name} = ${firstLine(api.text(call))};' as a statement of its own, then run hpy-migrate again`,
    ], localForm(api, call, getter, name));
  }
  if (identifiersIn(api, call, name).length > 0) {
    return problemOf(api, call, getter, `'${firstLine(api.text(stmt))}' reads '${name}' to replace it`, [
      `the old handle must stay open while the new one is made: keep the container in a variable of its own`,
    ], localForm(api, call, getter, name));
  }
  return variablePlan(api, base, outer, { stmt, name, declared: false, declaration: local.declaration }, options);
}

interface Acquiring {
  stmt: SyntaxNode;
  name: string;
  declared: boolean;
  declaration: SyntaxNode | null;
}

function variablePlan(api: RewriteApi, base: PlanBase, outer: SyntaxNode, v: Acquiring, options: BorrowedPlanOptions): BorrowedPlan {
  const scope = scopePlan(api, { ...v, getter: base.getter, block: v.stmt.parent!, fn: base.fn, forecast: options.forecast });
  if ('message' in scope) {
    return problemOf(api, base.call, base.getter, `'${v.name}' from '${firstLine(api.text(base.call))}': ${scope.message}`, [...scope.notes, ROW_NOTE(base.getter)], localForm(api, base.call, base.getter, v.name));
  }
  return { kind: 'variable', ...base, replaced: outer, stmt: v.stmt, name: v.name, ...scope };
}

// ---------------------------------------------------------------------------------------------
// A handle for one statement

function argumentPlan(api: RewriteApi, base: PlanBase, outer: SyntaxNode, callee: SyntaxNode): BorrowedPlan {
  const { call, getter } = base;
  const name = calleeName(callee) ?? '';
  const text = firstLine(api.text(call));
  if (NEW_REF_NAMES.test(name)) {
    const around = objectCastsAround(api, callee);
    if (around.parent?.type === 'return_statement' && !getter.nullable) return { kind: 'new-reference', ...base, replaced: callee };
    return problemOf(api, call, getter, `'${firstLine(api.text(callee))}' makes a new reference that is not simply returned`, [
      `assign the item to a local variable first ('PyObject *item = ${text};'), then run hpy-migrate again`,
    ], localForm(api, call, getter, 'item'));
  }
  if (REFCOUNT_NAMES.test(name)) {
    return problemOf(api, call, getter, `'${firstLine(api.text(callee))}' changes the reference count of a borrowed result`, ['under HPy the result is a new handle, closed once: port it by hand'], localForm(api, call, getter, 'item'));
  }
  if (stealsArgument(name)) {
    return problemOf(api, call, getter, `'${name}' steals the borrowed '${text}'`, [
      `CPython takes a reference the code does not own (a bug in the original?); HPy never steals: assign the item to a local variable and 'Py_INCREF' it before the call, then run hpy-migrate again`,
    ], localForm(api, call, getter, 'item'));
  }
  if (RAW_POINTER_CALLS.has(name) && objectCastsAround(api, callee).parent?.type !== 'argument_list') {
    return problemOf(api, call, getter, `'${firstLine(api.text(callee))}' keeps a pointer into '${text}'`, [
      `the pointer is valid only while the handle is open, and a handle for one statement is closed after it: assign the item to a local variable first ('PyObject *item = ${text};'), then run hpy-migrate again`,
    ], localForm(api, call, getter, 'item'));
  }
  return nestedPlan(api, base, outer);
}

function nestedPlan(api: RewriteApi, base: PlanBase, outer: SyntaxNode): BorrowedPlan {
  const { call, getter } = base;
  const text = firstLine(api.text(call));
  const local = `assign it to a local variable first ('PyObject *item = ${text};'), then run hpy-migrate again`;
  if (getter.nullable) {
    return problemOf(api, call, getter, `'${text}' is passed on directly, but a missing key makes it NULL`, [
      `under HPy a missing key raises KeyError, and the NULL case needs a test of its own: ${local}`,
    ], localForm(api, call, getter, 'value'));
  }
  const host = handleHost(call, true);
  if ('problem' in host) {
    const where = host.problem === 'conditional' ? "runs only under a condition ('&&', '||', '?:')" : "is not in an expression statement, a declaration, a 'return' or the condition of an 'if' in a block";
    return problemOf(api, call, getter, `'${text}' ${where}`, [`its handle is opened before the statement and closed after it: ${local}`], localForm(api, call, getter, 'item'));
  }
  const args = callArguments(call);
  const target = host.kind === 'condition' ? host.stmt.childForFieldName('condition')! : host.stmt;
  const assigned = args.flatMap((a) => api.matches('(identifier) @id', a).map((m) => api.text(m.id))).find((n) => writesOf(api, target, n).length > 0);
  if (assigned) {
    return problemOf(api, call, getter, `'${text}' is in a statement that assigns '${assigned}'`, [`its handle is opened before the statement: split the statement, then run hpy-migrate again`], localForm(api, call, getter, 'item'));
  }
  const container = args[0].type === 'identifier' ? `${api.text(args[0])}_item` : 'item';
  return { kind: 'argument', ...base, replaced: outer, host, base: container };
}

// ---------------------------------------------------------------------------------------------

const UNSIGNED = /^(size_t|unsigned\b.*|uint\w*_t|Py_uhash_t)$/;
const SIDE_EFFECTS = ['call_expression', 'assignment_expression', 'update_expression', 'comma_expression'];

/**
 * Must the index be tested for a negative value (a checked getter, an index that is neither a
 * literal nor an unsigned variable)? A string says why it cannot be (it would be evaluated twice).
 */
function negativeIndexCheck(api: RewriteApi, fn: SyntaxNode, getter: BorrowedGetter, index: SyntaxNode): boolean | string {
  if (!getter.negativeIndexError) return false;
  const bare = unparenthesize(index);
  if (bare.type === 'number_literal' && !/^-/.test(api.text(bare))) return false;
  if (bare.type === 'identifier') {
    const d = declarationsOf(api, fn).get(api.text(bare));
    if (d && d.pointers === 0 && UNSIGNED.test(d.type)) return false;
    if (countsUpFromZero(api, bare)) return false;
  }
  const impure = SIDE_EFFECTS.includes(index.type) || index.descendantsOfType(SIDE_EFFECTS).length > 0;
  return impure ? `the index '${firstLine(api.text(index))}' of '${getter.name}' has side effects` : true;
}

/** Is `i` the counter of a loop around it, `for (i = 0; ...; i++)`, that its body never writes? */
function countsUpFromZero(api: RewriteApi, id: SyntaxNode): boolean {
  const name = api.text(id);
  for (let n = id.parent; n && n.type !== 'function_definition'; n = n.parent) {
    if (n.type !== 'for_statement') continue;
    const init = n.childForFieldName('initializer');
    const update = n.childForFieldName('update');
    const body = n.childForFieldName('body');
    if (!init || !update || !body || !within(id, body)) continue;
    const start = init.type === 'assignment_expression' && api.text(init.childForFieldName('left')!) === name ? init.childForFieldName('right')
      : init.type === 'declaration' ? init.childrenForFieldName('declarator').find((d) => d.type === 'init_declarator' && api.text(d.childForFieldName('declarator')!) === name)?.childForFieldName('value')
      : null;
    const steps = update.type === 'update_expression' && api.text(update).includes('++') && api.text(update.childForFieldName('argument')!) === name;
    if (start?.type === 'number_literal' && !api.text(start).startsWith('-') && steps && writesOf(api, body, name).length === 0) return true;
  }
  return false;
}

function within(node: SyntaxNode, outer: SyntaxNode): boolean {
  return node.startIndex >= outer.startIndex && node.endIndex <= outer.endIndex;
}

function problemOf(api: RewriteApi, call: SyntaxNode, getter: BorrowedGetter | undefined, message: string, notes: string[], suggestion: string): BorrowedProblem {
  return { kind: 'problem', call, getter, at: call, message: `${message}: left alone`, notes, suggestion };
}

/**
 * `HPy_GetItem_i(ctx, l, i)` for `PyList_GET_ITEM(l, i)` (argument texts as written), with the
 * test of a negative index that a checked getter needs.
 */
export function hpyCall(api: RewriteApi, call: SyntaxNode, getter: BorrowedGetter): string {
  const args = callArguments(call).map((a) => api.text(a).replace(/\s+/g, ' '));
  const plain = `${getter.hpy}(ctx, ${args.join(', ')})`;
  const fn = enclosingFunction(call);
  const index = callArguments(call)[1];
  if (!fn || !index || negativeIndexCheck(api, fn, getter, index) !== true) return plain;
  return `${args[1]} < 0 ? HPyErr_SetString(ctx, ctx->h_IndexError, "${getter.negativeIndexError}") : ${plain}`;
}

/** The hand-written form with a local handle, closed on every path. */
function localForm(api: RewriteApi, call: SyntaxNode, getter: BorrowedGetter, name: string): string {
  const clear = getter.clear ? ` ${getter.clear(name)}` : '';
  return `HPy ${name} = ${hpyCall(api, call, getter)};${clear} ... HPy_Close(ctx, ${name}); (once on every path out of its block, after its last use)`;
}

const ROW_NOTE = (getter: BorrowedGetter) =>
  getter.nullable
    ? `'${getter.hpy}' returns a new handle, and raises KeyError where '${getter.name}' returned NULL without an exception`
    : `'${getter.hpy}' returns a new handle that must be closed exactly once`;

/** The CPython names of the getters (for queries). */
export const BORROWED_GETTER_NAMES: readonly string[] = Object.keys(BORROWED_GETTERS);
