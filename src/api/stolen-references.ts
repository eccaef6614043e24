/**
 * Stolen references (porting-concepts §a, §h; the api-map rows whose `refs` is `steals`): where
 * CPython hands an object over to a container and HPy never does. The analysis of one function
 * says which `PyTuple_New(n)`/`PyList_New(n)` are filled in place and become builders (where
 * each is built, which releases become a cancel, where its allocation test goes), which
 * `PyList_SetItem` calls on an existing list and which `Py_BuildValue` "N" arguments become a
 * call plus a close, and why any other use of these names is left alone.
 *
 * Facts it relies on (HPy 0.9.0 sources, runtime/ctx_tuplebuilder.c, ctx_listbuilder.c and the
 * debug context): `HPy*Builder_New` never raises: on allocation failure it returns a null
 * builder and clears the error; `Set` on a null builder does nothing and never steals; `Build`
 * of a null builder raises MemoryError and returns `HPy_NULL`; `Cancel` accepts a null builder.
 * So the test `t == NULL` after `PyTuple_New` has nothing to test in HPy: the failure shows at
 * the build, where the test moves (or goes, when the build is `return t;`, which then returns
 * `HPy_NULL` with the error set). `HPy_BuildValue` with "O" and `HPy_NULL` returns `HPy_NULL`
 * and keeps the pending error, as "N" did with NULL.
 *
 * Pure: it records nothing. The stolen-reference transform writes the text; signature
 * transforms ask {@link stolenCallProblem} (through `unconvertedCallReason`) before they give
 * a function HPy types.
 */
import { apiEntry } from './api-map.js';
import { buildValueProblem, stringLiteralValue } from './call-forms.js';
import { declarationsOf, type Declared } from './c-declarations.js';
import { callArguments, calleeName, enclosingFunction, isInStatementList, nextStatement, unparenthesize } from './c-syntax.js';
import { handleHost, type HandleHost } from './statement-handles.js';
import type { RewriteApi, Span, SyntaxNode, Tree } from './types.js';

/** What is built: a tuple or a list. */
export type ContainerKind = 'tuple' | 'list';

/** Something left alone, with what to write by hand. */
export interface StolenProblem {
  at: SyntaxNode;
  message: string;
  notes: string[];
  suggestion: string;
}

/** An object handed over to a stealing call, and how HPy gets it. */
export interface HandedValue {
  /** The argument as written. */
  arg: SyntaxNode;
  /** What HPy receives: the argument without its casts, or `x` of `Py_NewRef(x)`. */
  passed: SyntaxNode;
  /**
   * `close`: a local variable, closed after the call; `hoist`: a call making a new object,
   * computed into a new local first and closed after the call; `keep`: a reference the caller
   * keeps (`Py_INCREF(x);` right before, or `Py_NewRef(x)`), passed as it is.
   */
  how: 'close' | 'hoist' | 'keep';
  /** The `Py_INCREF(x);` statement right before, which goes. */
  incref: SyntaxNode | null;
}

/** One item set into a container being built. */
export interface BuilderSet {
  call: SyntaxNode;
  /** The expression statement of the call, or the `if` that tests its result (the test goes). */
  stmt: SyntaxNode;
  index: SyntaxNode;
  value: HandedValue;
}

/** `if (t == NULL) body` right after the creation (or the creation inside the condition). */
export interface AllocationTest {
  stmt: SyntaxNode;
  condition: SyntaxNode;
  body: SyntaxNode;
}

/** A container filled in place, which becomes a builder. */
export interface BuilderPlan {
  kind: ContainerKind;
  variable: string;
  /** The `PyTuple_New(n)` / `PyList_New(n)` call, and its size argument. */
  call: SyntaxNode;
  size: SyntaxNode;
  /** The statement that creates it: a declaration, an assignment, or an `if` testing the assignment. */
  creation: SyntaxNode;
  /** Does the creation declare the variable? */
  declares: boolean;
  test: AllocationTest | null;
  /** Does the test move after the build (true), or go (false: the build is `return t;`)? */
  moveTest: boolean;
  sets: BuilderSet[];
  /** `Py_DECREF(t);` (or X/CLEAR) statements that release the unfinished object: they cancel. */
  cancels: SyntaxNode[];
  /** `goto` statements of the filling code whose label releases `t` with `Py_XDECREF`: they cancel first. */
  cancelBefore: SyntaxNode[];
  /** The statement before which the object is built; after which, when `buildAfter` (end of its block). */
  build: SyntaxNode;
  buildAfter: boolean;
}

/** A stealing call that stays a call: `PyList_SetItem` on an existing list, `Py_BuildValue` with "N". */
export interface HandOver {
  kind: 'set-item' | 'build-value';
  call: SyntaxNode;
  host: HandleHost;
  values: HandedValue[];
  /** The format argument of `Py_BuildValue`. */
  format: SyntaxNode | null;
}

/** `PyTuple_New(0)` / `PyList_New(0)`: an empty container, made in one call. */
export interface EmptyContainer {
  kind: ContainerKind;
  call: SyntaxNode;
}

/** The analysis of one function. */
export interface StolenPlan {
  builders: BuilderPlan[];
  handOvers: HandOver[];
  empties: EmptyContainer[];
  /** To report (each once). */
  problems: StolenProblem[];
  /** Why a call is not converted, by the call's start index. */
  callProblems: Map<number, string>;
}

const CREATORS: Readonly<Record<string, ContainerKind>> = { PyTuple_New: 'tuple', PyList_New: 'list' };
const SETTERS: Readonly<Record<string, ContainerKind>> = {
  PyTuple_SET_ITEM: 'tuple',
  PyTuple_SetItem: 'tuple',
  PyList_SET_ITEM: 'list',
  PyList_SetItem: 'list',
};
const RELEASES = new Set(['Py_DECREF', 'Py_XDECREF', 'Py_CLEAR']);
const NULL_TOLERANT_RELEASES = new Set(['Py_XDECREF', 'Py_CLEAR']);
const BUILTIN_OBJECTS = new Set(['Py_None', 'Py_True', 'Py_False', 'Py_NotImplemented', 'Py_Ellipsis']);
const LOOPS = new Set(['for_statement', 'while_statement', 'do_statement']);
const BUILD_VALUE_ARG_UNITS = new Set('iIklLKnfdsOSN');

/** The HPy builder type of a container kind. */
export function builderType(kind: ContainerKind): 'HPyTupleBuilder' | 'HPyListBuilder' {
  return kind === 'tuple' ? 'HPyTupleBuilder' : 'HPyListBuilder';
}

/**
 * Does the stolen-reference analysis judge this call? The names it owns (`CALL_OWNERS`), and a
 * `Py_BuildValue` whose format has "N" (without "N", the call is a plain rename).
 */
export function isStolenReferenceCall(name: string, call: SyntaxNode): boolean {
  if (name in CREATORS || name in SETTERS) return true;
  if (name !== 'Py_BuildValue') return false;
  const format = callArguments(call)[0];
  return !!format && (stringLiteralValue(format.text) ?? '').includes('N');
}

/**
 * Why the stolen-reference transform leaves this call as it is, or null when it converts it
 * (for `Py_BuildValue`, null also needs capi-call, which renames the call once "N" is gone).
 */
export function stolenCallProblem(api: RewriteApi, call: SyntaxNode): string | null {
  // A review transform: outside '--all'/'--transforms' it does not run (as borrowed-reference).
  if (!api.isSelected('stolen-reference')) {
    return "the stolen-reference transform that converts it is a review transform, not part of this run (run it with '--all' or '--transforms')";
  }
  const fn = enclosingFunction(call);
  if (!fn) return 'it is outside a function';
  const problem = stolenPlanOf(api, fn).callProblems.get(call.startIndex);
  if (problem) return problem;
  if (calleeName(call) === 'Py_BuildValue' && !api.isRegistered('capi-call')) return 'no transform converts it';
  return null;
}

const PLANS = new WeakMap<Tree, Map<number, StolenPlan>>();

/** The analysis of one function definition (cached per tree). */
export function stolenPlanOf(api: RewriteApi, fn: SyntaxNode): StolenPlan {
  let byFunction = PLANS.get(fn.tree);
  if (!byFunction) PLANS.set(fn.tree, (byFunction = new Map()));
  let plan = byFunction.get(fn.startIndex);
  if (!plan) byFunction.set(fn.startIndex, (plan = analyse(api, fn)));
  return plan;
}

/** What the analysis of one function works with. */
interface Scope {
  api: RewriteApi;
  fn: SyntaxNode;
  body: SyntaxNode;
  /** Identifiers of the body, in source order. */
  ids: SyntaxNode[];
  declared: Map<string, Declared>;
  labels: Map<string, SyntaxNode>;
  gotos: SyntaxNode[];
  plan: StolenPlan;
}

function analyse(api: RewriteApi, fn: SyntaxNode): StolenPlan {
  const plan: StolenPlan = { builders: [], handOvers: [], empties: [], problems: [], callProblems: new Map() };
  const body = fn.childForFieldName('body');
  if (!body) return plan;
  const s: Scope = {
    api,
    fn,
    body,
    ids: body.descendantsOfType('identifier'),
    declared: declarationsOf(api, fn),
    labels: new Map(body.descendantsOfType('labeled_statement').map((l) => [api.text(l.childForFieldName('label')!), l])),
    gotos: body.descendantsOfType('goto_statement'),
    plan,
  };
  const calls = body.descendantsOfType('call_expression').filter((c) => {
    const name = calleeName(c);
    return !!name && isStolenReferenceCall(name, c);
  });
  const claimed = new Set<number>();
  for (const call of calls) if (calleeName(call)! in CREATORS) planCreation(s, call, calls, claimed);
  for (const call of calls) if (calleeName(call)! in SETTERS && !claimed.has(call.startIndex)) planLooseSet(s, call, calls);
  for (const call of calls) if (calleeName(call) === 'Py_BuildValue') planBuildValue(s, call);
  return plan;
}

/** Records a problem, reported at `at`, for every call in `calls`. */
function fail(s: Scope, problem: StolenProblem, calls: readonly SyntaxNode[], report = true): void {
  if (report) s.plan.problems.push(problem);
  for (const c of calls) s.plan.callProblems.set(c.startIndex, problem.message);
}

function usesIn(s: Scope, name: string, span: Span): SyntaxNode[] {
  return s.ids.filter((u) => u.startIndex >= span.start && u.endIndex <= span.end && s.api.text(u) === name);
}

function spanOfNode(n: SyntaxNode): Span {
  return { start: n.startIndex, end: n.endIndex };
}

function contains(outer: SyntaxNode | Span, inner: SyntaxNode): boolean {
  const o = 'startIndex' in outer ? spanOfNode(outer) : outer;
  return inner.startIndex >= o.start && inner.endIndex <= o.end;
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0];
  return line.length < text.length ? `${line.trimEnd()} ...` : line;
}

/** The statement inside labels (`out: return x;` gives `return x;`). */
function unlabeled(stmt: SyntaxNode): SyntaxNode {
  let n = stmt;
  while (n.type === 'labeled_statement') {
    const inner = n.namedChildren.find((c) => c.type !== 'statement_identifier' && c.type !== 'comment');
    if (!inner) break;
    n = inner;
  }
  return n;
}

function previousStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.previousNamedSibling;
  while (n && n.type === 'comment') n = n.previousNamedSibling;
  return n;
}

/** The expression without parentheses and `(PyObject *)` casts. */
function stripCasts(api: RewriteApi, node: SyntaxNode): SyntaxNode {
  let n = unparenthesize(node);
  while (n.type === 'cast_expression' && /^\(\s*PyObject\s*\*\s*\)$/.test(api.text(n).slice(0, api.text(n).indexOf(')') + 1))) {
    n = unparenthesize(n.childForFieldName('value')!);
  }
  return n;
}

function isNullLiteral(api: RewriteApi, n: SyntaxNode | null | undefined): boolean {
  return !!n && (n.type === 'null' || api.text(n) === 'NULL' || api.text(n) === '0');
}

/** The suggestion for a container built by hand. */
function builderSuggestion(kind: ContainerKind, size: string, variable: string): string {
  const K = builderType(kind);
  return `${K} b = ${K}_New(ctx, ${size}); ${K}_Set(ctx, b, i, item); HPy_Close(ctx, item); ... HPy ${variable} = ${K}_Build(ctx, b); (${K}_Cancel(ctx, b) on the error paths before the build)`;
}

// ---------------------------------------------------------------------------------------------
// Creation

interface Creation {
  stmt: SyntaxNode;
  variable: string;
  declares: boolean;
  test: AllocationTest | null;
}

function planCreation(s: Scope, call: SyntaxNode, calls: readonly SyntaxNode[], claimed: Set<number>): void {
  const { api } = s;
  const kind = CREATORS[calleeName(call)!];
  const args = callArguments(call);
  if (args.length === 1 && api.text(args[0]).trim() === '0') {
    s.plan.empties.push({ kind, call });
    return;
  }
  const found = args.length === 1 ? creationOf(s, call) : null;
  if (!found) {
    const K = builderType(kind);
    fail(s, {
      at: call,
      message: `'${firstLine(api.text(call))}' is not assigned to a variable in a statement of its own: left alone`,
      notes: [`HPy fills a ${kind} through an ${K} before the ${kind} exists: assign it to a local variable in a statement of its own, set its items, then use it; then run hpy-migrate again`],
      suggestion: builderSuggestion(kind, args[0] ? api.text(args[0]) : 'n', 'result'),
    }, [call]);
    return;
  }
  const mine = setsOfCreation(s, found, calls);
  for (const c of mine) claimed.add(c.startIndex);
  const built = planBuilder(s, kind, call, args[0], found, mine);
  if ('problem' in built) fail(s, built.problem, [call, ...mine]);
  else s.plan.builders.push(built);
}

/** The creation statement around `call`: `T *t = New(n);`, `t = New(n);`, `if (!(t = New(n))) ...`. */
function creationOf(s: Scope, call: SyntaxNode): Creation | null {
  const { api } = s;
  const p = call.parent;
  if (p?.type === 'init_declarator' && p.childForFieldName('value')?.id === call.id) {
    const decl = p.parent;
    const id = p.childForFieldName('declarator');
    let d = id;
    while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
    if (decl?.type !== 'declaration' || decl.parent?.type !== 'compound_statement' || decl.childrenForFieldName('declarator').length !== 1 || d?.type !== 'identifier') return null;
    return { stmt: decl, variable: api.text(d), declares: true, test: null };
  }
  if (p?.type !== 'assignment_expression' || p.childForFieldName('right')?.id !== call.id || p.childForFieldName('operator')?.type !== '=') return null;
  const left = p.childForFieldName('left');
  if (left?.type !== 'identifier') return null;
  const q = p.parent;
  if (q?.type === 'expression_statement' && q.parent?.type === 'compound_statement') return { stmt: q, variable: api.text(left), declares: false, test: null };
  const test = q?.type === 'parenthesized_expression' ? testAround(api, q) : null;
  return test && test.stmt.parent?.type === 'compound_statement' ? { stmt: test.stmt, variable: api.text(left), declares: false, test } : null;
}

/** `if (!(t = New(n)))` or `if ((t = New(n)) == NULL)`, without `else`, around `(t = New(n))`. */
function testAround(api: RewriteApi, assignment: SyntaxNode): AllocationTest | null {
  const r = assignment.parent;
  const negated = r?.type === 'unary_expression' && r.childForFieldName('operator')?.type === '!';
  const compared = r?.type === 'binary_expression' && r.childForFieldName('operator')?.type === '==' && r.childForFieldName('left')?.id === assignment.id && isNullLiteral(api, r.childForFieldName('right'));
  const condition = negated || compared ? r!.parent : null;
  const stmt = condition?.type === 'parenthesized_expression' ? condition.parent : null;
  if (stmt?.type !== 'if_statement' || stmt.childForFieldName('condition')?.id !== condition!.id || stmt.childForFieldName('alternative')) return null;
  return { stmt, condition: condition!, body: stmt.childForFieldName('consequence')! };
}

/** `if (t == NULL)`, `if (NULL == t)` or `if (!t)` without `else`, as the statement `stmt`. */
function nullTestOf(s: Scope, stmt: SyntaxNode | null, t: string): AllocationTest | null {
  if (stmt?.type !== 'if_statement' || stmt.childForFieldName('alternative')) return null;
  const condition = stmt.childForFieldName('condition')!;
  const e = unparenthesize(condition);
  const isT = (n: SyntaxNode | null) => !!n && unparenthesize(n).type === 'identifier' && s.api.text(unparenthesize(n)) === t;
  let ok = false;
  if (e.type === 'unary_expression' && e.childForFieldName('operator')?.type === '!') ok = isT(e.childForFieldName('argument'));
  if (e.type === 'binary_expression' && e.childForFieldName('operator')?.type === '==') {
    const [l, r] = [e.childForFieldName('left'), e.childForFieldName('right')];
    ok = (isT(l) && isNullLiteral(s.api, r)) || (isT(r) && isNullLiteral(s.api, l));
  }
  return ok ? { stmt, condition, body: stmt.childForFieldName('consequence')! } : null;
}

/** The first statement after `stmt` in its block that uses `t` (the allocation test, if it is one). */
function firstUse(s: Scope, stmt: SyntaxNode, t: string): SyntaxNode | null {
  let n = nextStatement(stmt);
  while (n && usesIn(s, t, spanOfNode(n)).length === 0) n = nextStatement(n);
  return n;
}

/** Calls that set items of the variable created here, up to its next creation. */
function setsOfCreation(s: Scope, c: Creation, calls: readonly SyntaxNode[]): SyntaxNode[] {
  const next = calls.find((k) => calleeName(k)! in CREATORS && k.startIndex > c.stmt.endIndex && creationOf(s, k)?.variable === c.variable);
  const end = next ? next.startIndex : s.body.endIndex;
  return calls.filter((k) => calleeName(k)! in SETTERS && k.startIndex > c.stmt.startIndex && k.startIndex < end && setTarget(s, k) === c.variable);
}

function setTarget(s: Scope, call: SyntaxNode): string | null {
  const first = callArguments(call)[0];
  const t = first ? stripCasts(s.api, first) : null;
  return t?.type === 'identifier' ? s.api.text(t) : null;
}

// ---------------------------------------------------------------------------------------------
// The filling code: from the creation to the first other use

type Outcome<T> = T | { problem: StolenProblem };

function problemAt(at: SyntaxNode, message: string, notes: string[], suggestion: string): { problem: StolenProblem } {
  return { problem: { at, message, notes, suggestion } };
}

function planBuilder(s: Scope, kind: ContainerKind, call: SyntaxNode, size: SyntaxNode, c: Creation, mine: SyntaxNode[]): Outcome<BuilderPlan> {
  const { api } = s;
  const t = c.variable;
  const suggestion = builderSuggestion(kind, api.text(size), t);
  const test = c.test ?? nullTestOf(s, firstUse(s, c.stmt, t), t);
  const walked = walkFilling(s, kind, c, test, suggestion);
  if ('problem' in walked) return walked;
  const region: Span = { start: c.stmt.endIndex, end: walked.buildAfter ? walked.build.endIndex : walked.build.startIndex };
  const outside = mine.find((k) => !contains(region, k));
  if (outside) {
    const use = walked.buildAfter ? 'the end of its block' : `its first other use, '${firstLine(api.text(walked.build))}'`;
    return problemAt(outside, `'${firstLine(api.text(outside))}' fills '${t}' after it was used: left alone`, [`HPy fills a ${kind} only before it is built, at ${use}: set every item before that use, then run hpy-migrate again`], suggestion);
  }
  if (mine.length === 0) return notFilled(api, kind, call, t, suggestion);
  const sets = planSets(s, mine, walked.tested);
  if ('problem' in sets) return { problem: { ...sets.problem, suggestion: sets.problem.suggestion || suggestion } };
  const plan: BuilderPlan = { kind, variable: t, call, size, creation: c.stmt, declares: c.declares, test, moveTest: false, sets, cancels: walked.releases, cancelBefore: [], build: walked.build, buildAfter: walked.buildAfter };
  plan.moveTest = !!test && !isReturnOf(api, walked.build, t, walked.buildAfter);
  const labelled = checkLabels(s, plan, region, suggestion);
  if (labelled) return labelled;
  const tested = test ? checkTest(s, plan, region, suggestion) : null;
  if (tested) return tested;
  const jumps = planJumps(s, plan, region, walked.dropped, suggestion);
  return jumps ?? plan;
}

function notFilled(api: RewriteApi, kind: ContainerKind, call: SyntaxNode, t: string, suggestion: string): { problem: StolenProblem } {
  const why = kind === 'tuple'
    ? 'an HPy tuple cannot be filled after it is built: fill it where it is created, with an HPyTupleBuilder'
    : "a list made with n > 0 starts with NULL slots, which HPy cannot fill ('HPyList_New(ctx, n)' + 'HPy_SetItem_i' crashes on CPython): fill it where it is created with an HPyListBuilder, or start from 'HPyList_New(ctx, 0)' and append";
  return problemAt(call, `'${firstLine(api.text(call))}' is not filled in this function: '${t}' is left alone`, [why], suggestion);
}

function isReturnOf(api: RewriteApi, stmt: SyntaxNode, t: string, after: boolean): boolean {
  if (after || stmt.type !== 'return_statement') return false;
  const value = stmt.namedChildren.find((n) => n.type !== 'comment');
  return !!value && unparenthesize(value).type === 'identifier' && api.text(unparenthesize(value)) === t;
}

interface Filling {
  build: SyntaxNode;
  buildAfter: boolean;
  releases: SyntaxNode[];
  /** `if (PyTuple_SetItem(...) < 0)` statements: their test goes with its branch. */
  tested: Map<number, SyntaxNode>;
  /** The branches that go with their test (their jumps and releases are not paths any more). */
  dropped: SyntaxNode[];
}

/** Walks the statements after the creation (and its test) up to the first other use of `t`. */
function walkFilling(s: Scope, kind: ContainerKind, c: Creation, test: AllocationTest | null, suggestion: string): Outcome<Filling> {
  const { api } = s;
  const t = c.variable;
  const block = c.stmt.parent!;
  const out: Filling = { build: c.stmt, buildAfter: false, releases: [], tested: new Map(), dropped: [] };
  for (let stmt = nextStatement(c.stmt); stmt; stmt = nextStatement(stmt)) {
    const uses = usesIn(s, t, spanOfNode(stmt));
    out.build = stmt;
    if (uses.length === 0 || stmt.id === test?.stmt.id) continue;
    // Releases and tested sets count only when the statement belongs to the filling code: in the
    // build statement (`if (use(t) < 0) { Py_DECREF(t); ... }`) a release closes the built object.
    const scratch: Filling = { ...out, releases: [], tested: new Map(), dropped: [] };
    const kinds = uses.map((u) => useKind(s, kind, t, u, block, scratch));
    const bad = kinds.find((k) => typeof k === 'object');
    if (bad) return bad as { problem: StolenProblem };
    if (kinds.every((k) => k === 'set' || k === 'release' || k === 'dropped')) {
      out.releases.push(...scratch.releases);
      for (const [k, v] of scratch.tested) out.tested.set(k, v);
      out.dropped.push(...scratch.dropped);
      continue;
    }
    if (kinds.some((k) => k === 'set')) {
      return problemAt(stmt, `'${t}' is used in '${firstLine(api.text(stmt))}' while it is being filled: left alone`, [`an ${builderType(kind)} gives the ${kind} only once it is built: move the other uses of '${t}' after the last item is set, then run hpy-migrate again`], suggestion);
    }
    if (stmt.type === 'labeled_statement') {
      return problemAt(stmt, `'${t}' is first used after the label '${api.text(stmt.childForFieldName('label')!)}': left alone`, [`the ${kind} is built right before its first use, which a jump to the label would skip: build it by hand`], suggestion);
    }
    return { ...out, buildAfter: false };
  }
  return buildAtBlockEnd(s, kind, c, block, out, suggestion);
}

/** No other use in the block: the object is built at its end, for the uses after the block. */
function buildAtBlockEnd(s: Scope, kind: ContainerKind, c: Creation, block: SyntaxNode, out: Filling, suggestion: string): Outcome<Filling> {
  const { api } = s;
  const t = c.variable;
  const last = out.build;
  const later = s.ids.some((u) => u.startIndex >= block.endIndex && api.text(u) === t);
  if (c.declares || block.id === s.body.id || !later) {
    return problemAt(c.stmt, `'${t}' is never used after it is filled: left alone`, [`nothing would receive the built ${kind}: check the code, then convert it by hand`], suggestion);
  }
  if (last.id === c.stmt.id || isJump(unlabeled(last))) {
    return problemAt(c.stmt, `the block that fills '${t}' ends with a jump: left alone`, [`the ${kind} is built at the end of the block, which is never reached: build it by hand`], suggestion);
  }
  return { ...out, build: last, buildAfter: true };
}

function isJump(n: SyntaxNode): boolean {
  return ['return_statement', 'goto_statement', 'break_statement', 'continue_statement'].includes(n.type);
}

type UseKind = 'set' | 'release' | 'dropped' | 'other' | { problem: StolenProblem };

/** What one use of `t` in the filling code is. */
function useKind(s: Scope, kind: ContainerKind, t: string, u: SyntaxNode, block: SyntaxNode, out: Filling): UseKind {
  const { api } = s;
  if (out.dropped.some((d) => contains(d, u))) return 'dropped';
  let outer = u;
  while (outer.parent?.type === 'parenthesized_expression' || (outer.parent?.type === 'cast_expression' && stripCasts(api, outer.parent).id === u.id)) outer = outer.parent;
  const p = outer.parent;
  if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === outer.id) {
    return problemAt(p, `'${t}' is assigned again while it is being filled: left alone`, ['convert this code by hand'], builderSuggestion(kind, 'n', t));
  }
  const call = p?.type === 'argument_list' ? p.parent! : null;
  const name = call ? calleeName(call) : null;
  if (!call || !name) return 'other';
  const args = callArguments(call);
  if (name in SETTERS && args[0]?.id === outer.id) return setUse(s, kind, t, call, name, out);
  if (RELEASES.has(name) && args.length === 1 && call.parent?.type === 'expression_statement') {
    if (!exitsAfter(s, call.parent, t, block)) return 'other';
    out.releases.push(call.parent);
    return 'release';
  }
  return 'other';
}

function setUse(s: Scope, kind: ContainerKind, t: string, call: SyntaxNode, name: string, out: Filling): UseKind {
  const { api } = s;
  if (SETTERS[name] !== kind) {
    return problemAt(call, `'${name}' fills '${t}', which is a ${kind}: left alone`, ['check the code: the set and the creation do not agree'], builderSuggestion(kind, 'n', t));
  }
  const stmt = setStatement(api, call);
  if (!stmt) {
    return problemAt(call, `the result of '${firstLine(api.text(call))}' is used as a value: left alone`, [`'${builderType(kind)}_Set' returns nothing (it cannot fail): call it as a statement of its own, then run hpy-migrate again`], builderSuggestion(kind, 'n', t));
  }
  if (stmt.type === 'if_statement') {
    out.tested.set(call.startIndex, stmt);
    out.dropped.push(stmt.childForFieldName('consequence')!);
  }
  return 'set';
}

/**
 * The statement of a set call: its expression statement, or an `if` (in a block, without `else`)
 * whose whole condition tests the result (`< 0`, `!= 0`, `== -1`, or the call itself).
 */
function setStatement(api: RewriteApi, call: SyntaxNode): SyntaxNode | null {
  if (call.parent?.type === 'expression_statement') return call.parent;
  let e = call;
  const p = e.parent;
  if (p?.type === 'binary_expression' && p.childForFieldName('left')?.id === e.id) {
    const op = p.childForFieldName('operator')?.type;
    const right = api.text(p.childForFieldName('right')!).replace(/\s+/g, '');
    if (!((op === '<' && right === '0') || (op === '!=' && right === '0') || (op === '==' && right === '-1'))) return null;
    e = p;
  }
  const condition = e.parent;
  const stmt = condition?.type === 'parenthesized_expression' ? condition.parent : null;
  if (stmt?.type !== 'if_statement' || stmt.childForFieldName('condition')?.id !== condition!.id) return null;
  return !stmt.childForFieldName('alternative') && stmt.parent?.type === 'compound_statement' ? stmt : null;
}

/** Is the release statement followed, in its block, by a jump out of the filling code (no use of `t` between)? */
function exitsAfter(s: Scope, stmt: SyntaxNode, t: string, block: SyntaxNode): boolean {
  if (stmt.parent?.type !== 'compound_statement') return false;
  for (let n = nextStatement(stmt); n; n = nextStatement(n)) {
    if (usesIn(s, t, spanOfNode(n)).length > 0) return false;
    const inner = unlabeled(n);
    if (inner.type === 'return_statement' || inner.type === 'goto_statement') return true;
    if (inner.type === 'break_statement' || inner.type === 'continue_statement') return leavesBlock(inner, block);
  }
  return false;
}

/** Does a `break`/`continue` leave `block` (no loop or switch of its own between them)? */
function leavesBlock(jump: SyntaxNode, block: SyntaxNode): boolean {
  for (let n = jump.parent; n && n.id !== block.id; n = n.parent) {
    if (LOOPS.has(n.type) || (jump.type === 'break_statement' && n.type === 'switch_statement')) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Items

function planSets(s: Scope, calls: readonly SyntaxNode[], tested: Map<number, SyntaxNode>): Outcome<BuilderSet[]> {
  const sets: BuilderSet[] = [];
  for (const call of calls) {
    const args = callArguments(call);
    const stmt = tested.get(call.startIndex) ?? call.parent!;
    if (args.length !== 3) return problemAt(call, `'${calleeName(call)}' with ${args.length} arguments: left alone`, ['convert it by hand'], `${builderType(SETTERS[calleeName(call)!])}_Set(ctx, b, i, item); HPy_Close(ctx, item);`);
    const value = handedValue(s, call, args[2], stmt);
    if ('problem' in value) return value;
    sets.push({ call, stmt, index: args[1], value });
  }
  return sets;
}

function handedValue(s: Scope, call: SyntaxNode, arg: SyntaxNode, stmt: SyntaxNode): Outcome<HandedValue> {
  const { api } = s;
  const v = stripCasts(api, arg);
  const callName = calleeName(call) ?? 'the call';
  const hand = `'${callName}' hands over '${firstLine(api.text(v))}'`;
  if (v.type === 'call_expression' && calleeName(v) === 'Py_NewRef' && callArguments(v).length === 1) {
    return { arg, passed: stripCasts(api, callArguments(v)[0]), how: 'keep', incref: null };
  }
  if (v.type === 'call_expression') {
    const inner = calleeName(v);
    if (inner && apiEntry(inner)?.refs === 'borrowed') {
      return problemAt(arg, `${hand}, a borrowed reference: left alone`, [`'${callName}' stole a reference the code did not own: write 'Py_INCREF' first if the item is meant to stay in both places, then run hpy-migrate again`], `PyObject *item = ${firstLine(api.text(v))}; Py_INCREF(item); then hand 'item' over (HPy then passes it without closing it)`);
    }
    return { arg, passed: v, how: 'hoist', incref: null };
  }
  if (v.type !== 'identifier') {
    return problemAt(arg, `${hand}, which is neither a variable nor a call: left alone`, ['assign it to a local variable first, then run hpy-migrate again'], `PyObject *item = ${firstLine(api.text(v))}; then hand 'item' over`);
  }
  const name = api.text(v);
  const incref = previousStatement(stmt);
  if (incref && isIncrefOf(api, incref, name) && isInStatementList(stmt)) return { arg, passed: v, how: 'keep', incref };
  if (BUILTIN_OBJECTS.has(name)) {
    return problemAt(arg, `${hand} without 'Py_INCREF': left alone`, [`the call stole a reference to a built-in object the code did not own: add 'Py_INCREF(${name});' right before it if that is what was meant`], `Py_INCREF(${name}); right before the call (HPy then passes '${name}' without closing it)`);
  }
  return localValue(s, arg, v, stmt, callName);
}

function localValue(s: Scope, arg: SyntaxNode, v: SyntaxNode, stmt: SyntaxNode, callName: string): Outcome<HandedValue> {
  const name = s.api.text(v);
  const hand = `'${callName}' hands over '${name}'`;
  const d = s.declared.get(name);
  if (!d) return problemAt(arg, `${hand}, which is not a local variable: left alone`, ['only a local variable that owns its reference is handed over and closed: convert this call by hand'], `PyObject *item = ${name}; Py_INCREF(item); then hand 'item' over`);
  if (d.param) {
    return problemAt(arg, `${hand}, a parameter the function does not own: left alone`, [`the call stole a reference the caller still owns: add 'Py_INCREF(${name});' right before it if that is what was meant, then run hpy-migrate again`], `Py_INCREF(${name}); right before the call (HPy then passes '${name}' without closing it)`);
  }
  const later = useAfter(s, name, stmt);
  if (later) {
    return problemAt(arg, `'${name}' is used after '${callName}' took it: left alone`, [`HPy never steals: the handle is closed right after the call, so a later use ('${firstLine(s.api.text(statementOf(later)))}') would read a closed handle; use it before, or take a handle of its own with 'HPy_Dup'`], `move the later uses of '${name}' before the call, or keep one: 'Py_INCREF(${name});' right before it and 'Py_DECREF(${name});' after the last use`);
  }
  return { arg, passed: v, how: 'close', incref: null };
}

/** The statement (or declaration) around a node. */
function statementOf(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.parent && !n.type.endsWith('_statement') && n.type !== 'declaration') n = n.parent;
  return n.type === 'if_statement' || n.type === 'while_statement' ? n.childForFieldName('condition') ?? n : n;
}

function isIncrefOf(api: RewriteApi, stmt: SyntaxNode, name: string): boolean {
  const call = stmt.type === 'expression_statement' ? stmt.firstNamedChild : null;
  if (call?.type !== 'call_expression' || calleeName(call) !== 'Py_INCREF') return false;
  const args = callArguments(call);
  return args.length === 1 && api.text(stripCasts(api, args[0])) === name;
}

/** The first use of `name` that reads the handed-over value after `stmt` (a later assignment ends it). */
function useAfter(s: Scope, name: string, stmt: SyntaxNode): SyntaxNode | null {
  const uses = s.ids.filter((u) => s.api.text(u) === name);
  const next = uses.find((u) => u.startIndex >= stmt.endIndex);
  if (next && !isWriteOrDeclaration(next)) return next;
  // In a loop, the next iteration reaches the uses before the statement again.
  for (let n = stmt.parent; n && n.id !== s.body.id; n = n.parent) {
    if (!LOOPS.has(n.type)) continue;
    const loop = n;
    const first = uses.find((u) => contains(loop, u));
    if (first && !isWriteOrDeclaration(first)) return first;
  }
  return null;
}

function isWriteOrDeclaration(u: SyntaxNode): boolean {
  const p = u.parent;
  if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === u.id) return p.childForFieldName('operator')?.type === '=';
  let d = u;
  while (d.parent?.type === 'pointer_declarator') d = d.parent;
  const q = d.parent;
  return (q?.type === 'init_declarator' && q.childForFieldName('declarator')?.id === d.id) || q?.type === 'declaration';
}

// ---------------------------------------------------------------------------------------------
// Labels, jumps and the allocation test

/** A label among the filling statements, or a build statement that carries a label: reported. */
function checkLabels(s: Scope, plan: BuilderPlan, region: Span, suggestion: string): { problem: StolenProblem } | null {
  for (const label of s.labels.values()) {
    if (!contains(region, label)) continue;
    const name = s.api.text(label.childForFieldName('label')!);
    return problemAt(label, `the label '${name}' is among the statements that fill '${plan.variable}': left alone`, ['a jump to it would skip the builder or its items: fill the object without labels in between, or convert it by hand'], suggestion);
  }
  return null;
}

/** Where a jump comes from, relative to the filling code. */
type Origin = 'before' | 'filling' | 'after';

function originOf(plan: BuilderPlan, region: Span, at: number): Origin {
  if (at < plan.creation.startIndex) return 'before';
  return at >= region.start && at < region.end ? 'filling' : 'after';
}

/**
 * The jumps that leave the filling code for a label whose code releases `t`: when every path to
 * that release comes from the filling code (and the label is in the builder's block), the release
 * cancels; when it is a null-tolerant release and `t` is still NULL on those paths, the builder
 * is cancelled before each jump; otherwise reported.
 */
function planJumps(s: Scope, plan: BuilderPlan, region: Span, dropped: SyntaxNode[], suggestion: string): { problem: StolenProblem } | null {
  const { api } = s;
  const t = plan.variable;
  const testJump = plan.test ? plan.test.stmt : null;
  const jumps = s.gotos.filter((g) => contains(region, g) && !dropped.some((d) => contains(d, g)) && !(testJump && contains(testJump, g)));
  const targets = new Set(jumps.map((g) => api.text(g.childForFieldName('label')!)));
  for (const name of targets) {
    const label = s.labels.get(name);
    if (!label) continue;
    if (label.startIndex < plan.creation.startIndex) {
      return problemAt(label, `'goto ${name}' jumps back to before '${t}' is created: left alone`, ['convert this loop by hand'], suggestion);
    }
    for (const use of labelCodeUses(s, label, t)) {
      const problem = planRelease(s, plan, region, use, suggestion);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * The uses of `t` in the code that runs from `label` to the first return of its block, following a
 * `goto` that ends it (chained cleanup labels).
 */
function labelCodeUses(s: Scope, label: SyntaxNode, t: string, seen = new Set<number>()): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  seen.add(label.startIndex);
  for (let n: SyntaxNode | null = label; n; n = nextStatement(n)) {
    out.push(...usesIn(s, t, spanOfNode(n)));
    const inner = unlabeled(n);
    if (inner.type === 'return_statement') break;
    if (inner.type === 'goto_statement') {
      const next = s.labels.get(s.api.text(inner.childForFieldName('label')!));
      if (next && !seen.has(next.startIndex)) out.push(...labelCodeUses(s, next, t, seen));
      break;
    }
  }
  return out;
}

function planRelease(s: Scope, plan: BuilderPlan, region: Span, use: SyntaxNode, suggestion: string): { problem: StolenProblem } | null {
  const { api } = s;
  const t = plan.variable;
  const K = builderType(plan.kind);
  const release = releaseStatement(api, use);
  if (!release) {
    return problemAt(use, `the cleanup code after a jump from the filling of '${t}' uses it in '${firstLine(api.text(use.parent ?? use))}': left alone`, [`on that path '${t}' is not built yet: cancel the builder before the jump (${K}_Cancel), and convert this code by hand`], suggestion);
  }
  const entries = entriesOf(s, release.stmt);
  const origins = entries.map((e) => (plan.moveTest && plan.test && contains(plan.test.stmt, e) ? 'after' : originOf(plan, region, e.startIndex)));
  if (origins.every((o) => o === 'filling') && contains(plan.creation.parent!, release.stmt) && release.stmt.startIndex > plan.creation.endIndex) {
    plan.cancels.push(release.stmt);
    return null;
  }
  const fromFilling = entries.filter((e, i) => origins[i] === 'filling');
  if (NULL_TOLERANT_RELEASES.has(release.macro) && isNullBefore(s, plan) && fromFilling.every((e) => e.type === 'goto_statement')) {
    for (const g of fromFilling) if (!precededByRelease(api, g, t) && !plan.cancelBefore.some((c) => c.id === g.id)) plan.cancelBefore.push(g);
    return null;
  }
  return problemAt(release.stmt, `'${firstLine(api.text(release.stmt))}' releases '${t}' both where it is built and where it is still being filled: left alone`, [
    `HPy closes the built ${plan.kind} with HPy_Close and drops an unfinished one with ${K}_Cancel: initialize '${t}' to NULL, cancel the builder before each jump from the filling code, and release '${t}' with Py_XDECREF at the label`,
  ], `${K}_Cancel(ctx, b); goto <label>;`);
}

function releaseStatement(api: RewriteApi, use: SyntaxNode): { stmt: SyntaxNode; macro: string } | null {
  const call = use.parent?.type === 'argument_list' ? use.parent.parent : null;
  const macro = call ? calleeName(call) : null;
  if (!call || !macro || !RELEASES.has(macro) || call.parent?.type !== 'expression_statement') return null;
  let stmt = call.parent;
  while (stmt.parent?.type === 'labeled_statement') stmt = stmt.parent;
  return stmt.parent?.type === 'compound_statement' ? { stmt: call.parent, macro } : null;
}

/** The jumps and fall-throughs that reach a statement of a cleanup block (through the labels above it). */
function entriesOf(s: Scope, stmt: SyntaxNode): SyntaxNode[] {
  const { api } = s;
  let top = stmt;
  while (top.parent?.type === 'labeled_statement') top = top.parent;
  const entries: SyntaxNode[] = [];
  for (let cur: SyntaxNode = top; ; ) {
    for (let l: SyntaxNode | null = cur; l?.type === 'labeled_statement'; l = l.namedChildren.find((c) => c.type === 'labeled_statement') ?? null) {
      const name = api.text(l.childForFieldName('label')!);
      entries.push(...s.gotos.filter((g) => api.text(g.childForFieldName('label')!) === name));
    }
    const prev = previousStatement(cur);
    if (!prev) {
      entries.push(cur.parent!);
      break;
    }
    if (isJump(unlabeled(prev))) break;
    if (prev.type !== 'labeled_statement') {
      entries.push(prev);
      break;
    }
    cur = prev;
  }
  return entries;
}

/** Is `t` NULL when the filling code runs (declared `= NULL`, never assigned before, not in a loop)? */
function isNullBefore(s: Scope, plan: BuilderPlan): boolean {
  const d = s.declared.get(plan.variable);
  if (plan.declares || !d || !isNullLiteral(s.api, d.init)) return false;
  const written = s.ids.some((u) => u.startIndex < plan.creation.startIndex && s.api.text(u) === plan.variable && u.parent?.type === 'assignment_expression' && u.parent.childForFieldName('left')?.id === u.id);
  if (written) return false;
  for (let n = plan.creation.parent; n && n.id !== s.body.id; n = n.parent) if (LOOPS.has(n.type)) return false;
  return true;
}

function precededByRelease(api: RewriteApi, jump: SyntaxNode, t: string): boolean {
  const prev = previousStatement(jump);
  const call = prev?.type === 'expression_statement' ? prev.firstNamedChild : null;
  return call?.type === 'call_expression' && RELEASES.has(calleeName(call) ?? '') && api.text(stripCasts(api, callArguments(call)[0] ?? call)) === t;
}

/**
 * The allocation test: it goes when the build is `return t;` (the HPy_NULL result already tells
 * the caller), else it moves after the build. Its body must leave (return or goto), must not use
 * `t`, and must mean the same there: nothing it names changes in the filling code and, for a
 * `return`, no object made in the filling code is still held at the build.
 */
function checkTest(s: Scope, plan: BuilderPlan, region: Span, suggestion: string): { problem: StolenProblem } | null {
  const { api } = s;
  const test = plan.test!;
  const t = plan.variable;
  const K = builderType(plan.kind);
  const fail = (why: string) => problemAt(test.stmt, `the allocation test of '${t}' cannot move to its build: ${why}: left alone`, [
    `${K}_New never fails: an allocation failure shows at ${K}_Build, which returns HPy_NULL with MemoryError set; test the built handle with HPy_IsNull and leave the function from there by hand`,
  ], suggestion);
  const last = test.body.type === 'compound_statement' ? test.body.namedChildren.filter((c) => c.type !== 'comment').pop() : test.body;
  if (!last || (last.type !== 'return_statement' && last.type !== 'goto_statement')) return fail('its branch does not leave the function');
  if (usesIn(s, t, spanOfNode(test.body)).length > 0) return fail(`its branch uses '${t}'`);
  if (!plan.moveTest) return null;
  const filling: Span = { start: test.stmt.endIndex, end: region.end };
  for (const id of test.body.descendantsOfType('identifier')) {
    const name = api.text(id);
    if (id.parent?.type === 'call_expression' || name === 'NULL') continue;
    if (changedIn(s, name, filling)) return fail(`'${name}', which its branch uses, changes while '${t}' is filled`);
  }
  if (last.type === 'return_statement') {
    const held = heldAt(s, plan, filling, region.end);
    if (held) return fail(`'${held}' is still held at the build`);
  }
  return null;
}

/** Is `name` assigned, or released on a path that goes on, in `span`? */
function changedIn(s: Scope, name: string, span: Span): boolean {
  return usesIn(s, name, span).some((u) => {
    if (u.parent?.type === 'assignment_expression' && u.parent.childForFieldName('left')?.id === u.id) return true;
    const call = u.parent?.type === 'argument_list' ? u.parent.parent : null;
    if (!call || !RELEASES.has(calleeName(call) ?? '') || call.parent?.type !== 'expression_statement') return false;
    return !exitsAfter(s, call.parent, name, s.body);
  });
}

/** An object variable given a value in the filling code and used after the build, if any. */
function heldAt(s: Scope, plan: BuilderPlan, filling: Span, end: number): string | null {
  const written = new Set<string>();
  for (const u of s.ids) {
    if (u.startIndex < filling.start || u.endIndex > filling.end || !isWriteOrDeclaration(u)) continue;
    const name = s.api.text(u);
    const d = s.declared.get(name);
    if (name !== plan.variable && d && isObjectVariable(d)) written.add(name);
  }
  for (const name of written) if (s.ids.some((u) => u.startIndex >= end && s.api.text(u) === name)) return name;
  return null;
}

function isObjectVariable(d: Declared): boolean {
  return (d.type === 'HPy' && d.pointers === 0) || (d.type === 'PyObject' && d.pointers === 1);
}

// ---------------------------------------------------------------------------------------------
// Stealing calls that stay calls, and sets left alone

function planLooseSet(s: Scope, call: SyntaxNode, calls: readonly SyntaxNode[]): void {
  const { api } = s;
  const name = calleeName(call)!;
  const kind = SETTERS[name];
  const t = setTarget(s, call);
  const created = t !== null && calls.some((k) => calleeName(k)! in CREATORS && k.startIndex < call.startIndex && creationOf(s, k)?.variable === t && api.text(callArguments(k)[0] ?? k).trim() !== '0');
  if (name === 'PyList_SetItem' && !created) return planListSetItem(s, call);
  const K = builderType(kind);
  const replace = kind === 'list' ? " or, to replace an item of a full list, 'HPy_SetItem_i(ctx, list, i, item)' then close 'item'" : '';
  fail(s, {
    at: call,
    message: created ? `'${firstLine(api.text(call))}' fills '${t}' after it was used: left alone` : `'${firstLine(api.text(call))}' fills a ${kind} that is not created in this function: left alone`,
    notes: [`HPy fills a ${kind} only through an ${K} before the ${kind} is built (HPy never steals, and ${kind === 'tuple' ? 'tuples are immutable' : "a new list's NULL slots cannot be set"}): build it where it is created${replace}`],
    suggestion: builderSuggestion(kind, 'n', t ?? kind),
  }, [call]);
}

function planListSetItem(s: Scope, call: SyntaxNode): void {
  const { api } = s;
  const args = callArguments(call);
  const host = handleHost(call, true);
  const suggestion = "HPy_SetItem_i(ctx, list, i, item); HPy_Close(ctx, item); (on success and on failure: PyList_SetItem stole 'item' in both cases)";
  if (args.length !== 3) return fail(s, { at: call, message: `'PyList_SetItem' with ${args.length} arguments: left alone`, notes: ['convert it by hand'], suggestion }, [call]);
  if ('problem' in host) {
    return fail(s, { at: call, message: `'${firstLine(api.text(call))}' is not in a statement, a declaration, a 'return' or the condition of an 'if' in a block${host.problem === 'conditional' ? ', or runs only under a condition' : ''}: left alone`, notes: ["the item is closed right after the statement: give the call a statement of its own, then run hpy-migrate again"], suggestion }, [call]);
  }
  const value = handedValue(s, call, args[2], host.stmt);
  if ('problem' in value) return fail(s, { ...value.problem, suggestion: value.problem.suggestion || suggestion }, [call]);
  s.plan.handOvers.push({ kind: 'set-item', call, host, values: [value], format: null });
}

function planBuildValue(s: Scope, call: SyntaxNode): void {
  const { api } = s;
  const args = callArguments(call);
  const format = args[0];
  const value = stringLiteralValue(api.text(format)) ?? '';
  const suggestion = "HPy_BuildValue(ctx, \"O\", item) then HPy_Close(ctx, item) (HPy_BuildValue has no 'N': 'O' does not steal)";
  const other = buildValueProblem(api.text(format).replace(/N/g, 'O'));
  // Units HPy lacks anyway: capi-call reports the call; nothing to say here.
  if (other) return fail(s, { at: call, message: other, notes: [], suggestion }, [call], false);
  const stolen: SyntaxNode[] = [];
  let next = 1;
  for (const unit of value) {
    if (!BUILD_VALUE_ARG_UNITS.has(unit)) continue;
    if (unit === 'N' && args[next]) stolen.push(args[next]);
    next++;
  }
  if (next !== args.length || stolen.length === 0) {
    return fail(s, { at: call, message: `the format of '${firstLine(api.text(call))}' does not match its ${args.length - 1} arguments: left alone`, notes: ['check the call, then convert it by hand'], suggestion }, [call]);
  }
  const host = handleHost(call, true);
  if ('problem' in host) {
    return fail(s, { at: call, message: `'${firstLine(api.text(call))}' with 'N' is not in a statement, a declaration, a 'return' or the condition of an 'if' in a block${host.problem === 'conditional' ? ', or runs only under a condition' : ''}: left alone`, notes: ["the 'N' arguments are closed right after the statement: give the call a statement of its own, then run hpy-migrate again"], suggestion }, [call]);
  }
  const values: HandedValue[] = [];
  for (const arg of stolen) {
    const v = handedValue(s, call, arg, host.stmt);
    if ('problem' in v) return fail(s, { ...v.problem, suggestion: v.problem.suggestion || suggestion }, [call]);
    values.push(v);
  }
  s.plan.handOvers.push({ kind: 'build-value', call, host, values, format });
}
