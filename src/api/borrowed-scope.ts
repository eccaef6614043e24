/**
 * Where a handle made from a formerly borrowed getter must be closed: the variable `x` of
 * `PyObject *x = GETTER(...);` or `x = GETTER(...);` owns a new handle under HPy, closed exactly
 * once on every path out of its scope (the block of the acquiring statement), after its last use.
 * This module reads one acquisition and answers with the places to close it and the hand-overs
 * (`Py_INCREF(x); return x;`), or with why the code is too irregular to be sure.
 *
 * The scope is the acquiring statement's block, from the statement to its end or to a later
 * statement of the block that assigns `x` again (a "kill"). The handle is closed after the
 * last statement of that range that uses `x` (or a C pointer into its object), unless that
 * statement never falls through, and before every jump out of the statements up to it:
 * `return` and `Py_RETURN_*` at any depth, `break`/`continue` whose loop (or switch) encloses the
 * block, `goto` to a label outside the block or after the last use. A jump taken where `x` is
 * known to be null (the branch of `if (x == NULL)`, `if (!x)`, ...) closes nothing.
 */
import { callArguments, calleeName, unparenthesize } from './c-syntax.js';
import { writesOf } from './c-declarations.js';
import { INCREF_NAMES, isReturnMacroStatement, jumpingMacros, NEW_REF_NAMES, RAW_POINTER_CALLS, REFCOUNT_NAMES, stealsArgument, withoutCasts, type BorrowedGetter } from './borrowed-getters.js';
import { objectCastsAround } from './object-globals.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** One acquisition to analyse. */
export interface Acquisition {
  getter: BorrowedGetter;
  /** The acquiring statement (a declaration or an expression statement), directly in `block`. */
  stmt: SyntaxNode;
  block: SyntaxNode;
  fn: SyntaxNode;
  /** The variable that receives the handle. */
  name: string;
  /** `PyObject *x = ...;` (the variable lives in the block) rather than `x = ...;`. */
  declared: boolean;
  /** The declaration of an assigned variable (for `declared: false`). */
  declaration: SyntaxNode | null;
  /**
   * Judge the code as it will be when this analysis runs inside the transform (the signature
   * and stolen-reference transforms having run), rather than as it is now.
   */
  forecast: boolean;
}

/** Where the handle is closed. */
export interface ClosePoint {
  stmt: SyntaxNode;
  /** After the statement (the last use), or before it (a jump out of the scope). */
  where: 'after' | 'before';
  /** The handle may be null there: the close is guarded by a null test. */
  guarded: boolean;
  /** A `return` whose value reads the handle: computed into a local before the close. */
  valueReads: boolean;
}

/** What an acquisition becomes. */
export interface ScopePlan {
  closes: ClosePoint[];
  /** `Py_INCREF(x);` statements right before a `return x;` that now hands the handle over. */
  increfs: SyntaxNode[];
  /** `Py_NewRef(x)` calls in `return Py_NewRef(x);`: they become `x`. */
  newRefs: SyntaxNode[];
}

/** Why an acquisition is left as it is. */
export interface ScopeProblem {
  at: SyntaxNode;
  message: string;
  notes: string[];
}

const IDENTIFIERS = '(identifier) @id';
const JUMPS = '[(return_statement) (goto_statement) (break_statement) (continue_statement) (labeled_statement) (expression_statement)] @jump';
const LABELS = '(labeled_statement label: (statement_identifier) @label) @stmt';
const LOOPS = new Set(['for_statement', 'while_statement', 'do_statement']);
const JUMP_TYPES = new Set(['return_statement', 'goto_statement', 'break_statement', 'continue_statement']);

type NullState = 'null' | 'nonnull' | 'maybe';

/** One use of `x` in its range. */
type Use =
  | { kind: 'plain' }
  | { kind: 'incref'; stmt: SyntaxNode; ret: SyntaxNode }
  | { kind: 'new-ref'; call: SyntaxNode; ret: SyntaxNode }
  | { kind: 'return' }
  | { kind: 'derived'; name: string }
  | { kind: 'problem'; problem: ScopeProblem };

/** The closes of one acquisition, or why it is left. */
export function scopePlan(api: RewriteApi, a: Acquisition): ScopePlan | ScopeProblem {
  const range = statementRange(api, a);
  if ('message' in range) return range;
  const uses = rangeUses(api, a, range.statements);
  if ('message' in uses) return uses;
  const last = lastUse(api, range.statements, [a.name, ...uses.derived]);
  const derived = derivedProblem(api, a, range, uses.derived);
  if (derived) return derived;
  const jumps = rangeJumps(api, a, range.statements, last);
  if ('message' in jumps) return jumps;
  if (!a.declared) {
    const outside = outsideProblem(api, a, range, jumps.leaving);
    if (outside) return outside;
  }
  return { closes: closePoints(api, a, last, jumps.leaving, uses), increfs: uses.increfs, newRefs: uses.newRefs };
}

// ---------------------------------------------------------------------------------------------
// The range: the statements after the acquisition, up to a kill or the end of the block

interface Range {
  statements: SyntaxNode[];
  kill: SyntaxNode | null;
  /** Where the handle stops being the variable's value (the kill, or the end of the block). */
  end: number;
}

function statementRange(api: RewriteApi, a: Acquisition): Range | ScopeProblem {
  const statements: SyntaxNode[] = [];
  let kill: SyntaxNode | null = null;
  for (let s = a.stmt.nextNamedSibling; s; s = s.nextNamedSibling) {
    if (s.type === 'comment') continue;
    if (s.type.startsWith('preproc')) {
      return problem(s, `a preprocessor directive follows '${a.name}' in its block`, ['the paths out of the block depend on the configuration: close the handle by hand on each of them']);
    }
    if (isPlainAssignment(api, s, a.name)) {
      kill = s;
      break;
    }
    const writes = writesOf(api, s, a.name);
    if (writes.length > 0) {
      const what = writes[0].type === 'pointer_expression' ? `the address of '${a.name}' is taken` : `'${a.name}' is assigned`;
      return problem(writes[0], `${what} in '${firstLine(api.text(s))}' while it holds the handle`, [`a handle must be closed before its variable takes another value, which cannot be followed here: ${CLOSE_BY_HAND(a.name)}`]);
    }
    statements.push(s);
  }
  if (kill && identifiersIn(api, kill.namedChildren[0].childForFieldName('right')!, a.name).length > 0) {
    return problem(kill, `'${firstLine(api.text(kill))}' reads '${a.name}' to replace it`, [`the old handle must stay open while the new value is computed: keep it in a variable of its own and close it after this statement`]);
  }
  return { statements, kill, end: kill ? kill.startIndex : a.block.endIndex };
}

/** `x = expr;` as a statement of its own. */
function isPlainAssignment(api: RewriteApi, s: SyntaxNode, name: string): boolean {
  if (s.type !== 'expression_statement') return false;
  const e = s.namedChildren[0];
  if (e?.type !== 'assignment_expression' || e.childForFieldName('operator')?.type !== '=') return false;
  const left = e.childForFieldName('left');
  return left?.type === 'identifier' && api.text(left) === name;
}

// ---------------------------------------------------------------------------------------------
// The uses in the range

interface Uses {
  increfs: SyntaxNode[];
  newRefs: SyntaxNode[];
  /** `return` statements that hand the handle over (no close before them). */
  handovers: Set<number>;
  /** Variables holding a pointer into the object (`s = PyUnicode_AsUTF8(x)`). */
  derived: string[];
}

function rangeUses(api: RewriteApi, a: Acquisition, statements: readonly SyntaxNode[]): Uses | ScopeProblem {
  const out: Uses = { increfs: [], newRefs: [], handovers: new Set(), derived: [] };
  const returns: SyntaxNode[] = [];
  for (const s of statements) {
    for (const id of identifiersIn(api, s, a.name)) {
      const use = classifyUse(api, a, id);
      if (use.kind === 'problem') return use.problem;
      if (use.kind === 'incref') {
        out.increfs.push(use.stmt);
        out.handovers.add(use.ret.id);
      } else if (use.kind === 'new-ref') {
        out.newRefs.push(use.call);
        out.handovers.add(use.ret.id);
      } else if (use.kind === 'derived') out.derived.push(use.name);
      else if (use.kind === 'return') returns.push(id);
    }
  }
  for (const id of returns) {
    const ret = objectCastsAround(api, id).parent!;
    if (!out.handovers.has(ret.id)) {
      return problem(ret, `'${firstLine(api.text(ret))}' returns the borrowed '${a.name}' without a new reference`, [
        `the caller owns what a function returns, so the original lacks a 'Py_INCREF(${a.name});' here (a reference-count bug?): add it and run hpy-migrate again (the handle is then handed over), or port it by hand`,
      ]);
    }
  }
  return out;
}

function classifyUse(api: RewriteApi, a: Acquisition, id: SyntaxNode): Use {
  const u = objectCastsAround(api, id);
  const p = u.parent;
  const fail = (message: string, notes: string[]): Use => ({ kind: 'problem', problem: problem(id, message, notes) });
  if (!p) return fail(`'${a.name}' is used in an unexpected place`, [CLOSE_BY_HAND(a.name)]);
  if (p.type === 'argument_list') return argumentUse(api, a, id, p.parent!);
  if (p.type === 'binary_expression') {
    const op = p.childForFieldName('operator')?.type ?? '';
    if (['==', '!=', '&&', '||'].includes(op)) return { kind: 'plain' };
  }
  if (p.type === 'unary_expression' && p.childForFieldName('operator')?.type === '!') return { kind: 'plain' };
  if (p.childForFieldName('condition')?.id === u.id) return { kind: 'plain' };
  if (p.type === 'return_statement') return { kind: 'return' };
  if (p.type === 'cast_expression' && isStructAccess(p)) return { kind: 'plain' };
  if (p.type === 'pointer_expression') return fail(`the address of '${a.name}' is taken`, [`what is done through '&${a.name}' cannot be followed: ${CLOSE_BY_HAND(a.name)}`]);
  if (p.type === 'field_expression') return fail(`'${api.text(p)}' reads a field of the object`, ['HPy objects have no visible fields: read it through the API (or the type\'s _AsStruct helper), then run hpy-migrate again']);
  const into = p.type === 'init_declarator' ? api.text(p.childForFieldName('declarator')!) : p.type === 'assignment_expression' ? api.text(p.childForFieldName('left')!) : null;
  if (into !== null) {
    return fail(`'${a.name}' is copied into '${firstLine(into)}'`, [`the copy would outlive the handle closed after the last use of '${a.name}' (a struct member or a global needs its own reference: HPyField_Store / HPyGlobal_Store, then close): port it by hand`]);
  }
  return fail(`'${a.name}' is used in '${firstLine(api.text(p))}'`, [`only calls, null tests and comparisons of '${a.name}' are understood: ${CLOSE_BY_HAND(a.name)}`]);
}

/** `((T *)x)->f`: a struct access through a cast (pyobject-head makes it `T_AsStruct(ctx, x)->f`). */
function isStructAccess(cast: SyntaxNode): boolean {
  let n = cast;
  while (n.parent?.type === 'parenthesized_expression') n = n.parent;
  return n.parent?.type === 'field_expression' && n.parent.childForFieldName('argument')?.id === n.id;
}

/** `x` passed to a call. */
function argumentUse(api: RewriteApi, a: Acquisition, id: SyntaxNode, call: SyntaxNode): Use {
  const callee = calleeName(call) ?? '';
  const fail = (message: string, notes: string[]): Use => ({ kind: 'problem', problem: problem(id, message, notes) });
  if (INCREF_NAMES.test(callee)) return increfUse(api, a, id, call, callee);
  if (NEW_REF_NAMES.test(callee)) {
    const outer = objectCastsAround(api, call);
    if (outer.parent?.type === 'return_statement') return { kind: 'new-ref', call, ret: outer.parent };
    return fail(`'${api.text(call)}' makes a new reference that is not returned`, [`a second handle would be 'HPy_Dup(ctx, ${a.name})', closed on its own: port it by hand`]);
  }
  if (REFCOUNT_NAMES.test(callee) || callee === 'HPy_Close' || callee === 'HPy_Dup') {
    return fail(`'${firstLine(api.text(call))}' changes the reference count of the borrowed '${a.name}'`, [`the code balances references it never owned here; under HPy '${a.name}' is one handle, closed once: port it by hand`]);
  }
  if (stealsArgument(callee)) {
    if (a.forecast && api.isRegistered('stolen-reference') && followsIncref(api, call, a.name)) return { kind: 'plain' };
    return fail(`'${callee}' steals the borrowed '${a.name}'`, [`CPython takes a reference the code does not own (a bug in the original?); HPy never steals: pass the handle, then close it`]);
  }
  if (RAW_POINTER_CALLS.has(callee)) return derivedUse(api, a, id, call, callee);
  return { kind: 'plain' };
}

/** `Py_INCREF(x);` right before `return x;` (or before a stealing call, for stolen-reference). */
function increfUse(api: RewriteApi, a: Acquisition, id: SyntaxNode, call: SyntaxNode, callee: string): Use {
  const stmt = objectCastsAround(api, call).parent;
  const next = stmt?.type === 'expression_statement' && stmt.parent?.type === 'compound_statement' ? nextCodeSibling(stmt) : null;
  if (next?.type === 'return_statement') {
    const value = next.namedChildren.find((c) => c.type !== 'comment');
    if (value && withoutCasts(value).type === 'identifier' && api.text(withoutCasts(value)) === a.name) return { kind: 'incref', stmt: stmt!, ret: next };
  }
  // `Py_INCREF(x); PyList_SET_ITEM(l, i, x);` is the stolen-reference transform's: a builder Set
  // that keeps the handle ours. By the time this transform runs, the Py_INCREF is gone.
  if (a.forecast && api.isRegistered('stolen-reference') && next && passesToStealer(api, next, a.name)) return { kind: 'plain' };
  return {
    kind: 'problem',
    problem: problem(id, `'${callee}(${a.name})' is not followed by 'return ${a.name};'`, [
      `HPy has no in-place reference: a second reference is a second handle, 'HPy_Dup(ctx, ${a.name})', closed on its own (a reference given to a stealing call is the stolen-reference transform's); port it by hand`,
    ]),
  };
}

/** Is the statement of `call` right after `Py_INCREF(name);`? */
function followsIncref(api: RewriteApi, call: SyntaxNode, name: string): boolean {
  let stmt: SyntaxNode | null = call;
  while (stmt && stmt.type !== 'expression_statement') stmt = stmt.parent;
  let prev = stmt?.previousNamedSibling ?? null;
  while (prev && prev.type === 'comment') prev = prev.previousNamedSibling;
  const e = prev?.type === 'expression_statement' ? prev.namedChildren[0] : null;
  if (e?.type !== 'call_expression' || !INCREF_NAMES.test(calleeName(e) ?? '')) return false;
  const arg = callArguments(e)[0];
  return !!arg && withoutCasts(arg).type === 'identifier' && api.text(withoutCasts(arg)) === name;
}

function passesToStealer(api: RewriteApi, stmt: SyntaxNode, name: string): boolean {
  return identifiersIn(api, stmt, name).some((id) => {
    const list = objectCastsAround(api, id).parent;
    return list?.type === 'argument_list' && stealsArgument(calleeName(list.parent!) ?? '');
  });
}

/** `s = PyUnicode_AsUTF8(x)`: `s` points into the object, so it extends the life of the handle. */
function derivedUse(api: RewriteApi, a: Acquisition, id: SyntaxNode, call: SyntaxNode, callee: string): Use {
  const outer = objectCastsAround(api, call);
  const p = outer.parent;
  if (p?.type === 'argument_list' || p?.type === 'binary_expression') return { kind: 'plain' };
  let target: SyntaxNode | null = null;
  if (p?.type === 'init_declarator') {
    target = p.childForFieldName('declarator');
    while (target?.type === 'pointer_declarator') target = target.childForFieldName('declarator');
  } else if (p?.type === 'assignment_expression') target = p.childForFieldName('left');
  if (target?.type === 'identifier') return { kind: 'derived', name: api.text(target) };
  return {
    kind: 'problem',
    problem: problem(id, `the pointer '${callee}' returns is kept in '${p ? firstLine(api.text(p)) : callee}'`, [
      `it points into the object of '${a.name}', valid only while the handle is open: keep it in a local variable, or port it by hand`,
    ]),
  };
}

/** The last statement of the range that reads the handle or a pointer into its object (else the acquisition). */
function lastUse(api: RewriteApi, statements: readonly SyntaxNode[], names: readonly string[]): SyntaxNode | null {
  let last: SyntaxNode | null = null;
  for (const s of statements) if (names.some((n) => identifiersIn(api, s, n).length > 0)) last = s;
  return last;
}

/** A pointer into the object must not be read once the handle is closed (after the range). */
function derivedProblem(api: RewriteApi, a: Acquisition, range: Range, derived: readonly string[]): ScopeProblem | null {
  const body = a.fn.childForFieldName('body')!;
  for (const name of derived) {
    const late = identifiersIn(api, body, name).find((id) => id.startIndex >= range.end);
    if (late) {
      return problem(late, `'${name}' points into the object of '${a.name}' and is read after '${a.name}' stops being used`, [
        `the pointer is valid only while the handle is open: keep '${a.name}' open until then and close it by hand`,
      ]);
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The jumps out of the range

interface Jumps {
  /** Jumps that leave the scope while the handle is open (before the close after the last use). */
  leaving: SyntaxNode[];
}

function rangeJumps(api: RewriteApi, a: Acquisition, statements: readonly SyntaxNode[], last: SyntaxNode | null): Jumps | ScopeProblem {
  const leaving: SyntaxNode[] = [];
  const macros = jumpingMacros(api, a.stmt.tree);
  const labels = api.matches(LABELS, a.fn);
  // With no use, the handle is closed right after the acquisition: no jump comes before that.
  for (const s of last ? statements.filter((x) => x.startIndex <= last.startIndex) : []) {
    for (const id of api.matches(IDENTIFIERS, s).map((m) => m.id)) {
      if (macros.has(api.text(id))) return problem(id, `the macro '${api.text(id)}' may jump out of the scope of '${a.name}'`, [`a jump hidden in a macro cannot be given the close it needs: expand it, or close '${a.name}' by hand`]);
    }
    for (const { jump } of api.matches(JUMPS, s)) {
      if (jump.type === 'expression_statement' && !isReturnMacroStatement(api, jump)) continue;
      if (jump.type === 'labeled_statement') {
        return problem(jump, `the label '${api.text(jump.childForFieldName('label')!)}' is among the statements that use '${a.name}'`, [`a jump to it would skip '${a.name} = ...': close '${a.name}' by hand on every path`]);
      }
      const leaves = leavesScope(api, a, jump, last, labels);
      if (typeof leaves === 'object') return leaves;
      if (leaves) leaving.push(jump);
    }
  }
  return { leaving };
}

/** Does the jump leave the scope with the handle open? */
function leavesScope(api: RewriteApi, a: Acquisition, jump: SyntaxNode, last: SyntaxNode | null, labels: ReturnType<RewriteApi['matches']>): boolean | ScopeProblem {
  if (jump.type === 'return_statement' || jump.type === 'expression_statement') return true;
  if (jump.type === 'goto_statement') {
    const name = api.text(jump.childForFieldName('label')!);
    const target = labels.find((m) => api.text(m.label) === name)?.stmt;
    if (!target) return problem(jump, `'goto ${name}' jumps to a label of another function`, [CLOSE_BY_HAND(a.name)]);
    const inside = target.startIndex >= a.block.startIndex && target.endIndex <= a.block.endIndex;
    if (inside && target.startIndex <= (last ?? a.stmt).endIndex) {
      return problem(jump, `'goto ${name}' jumps back into the scope of '${a.name}'`, [`the handle would be acquired again or used after its close: close '${a.name}' by hand on every path`]);
    }
    return true;
  }
  for (let n = jump.parent; n && n.id !== a.block.id; n = n.parent) {
    if (LOOPS.has(n.type) || (jump.type === 'break_statement' && n.type === 'switch_statement')) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The closes

function closePoints(api: RewriteApi, a: Acquisition, last: SyntaxNode | null, leaving: readonly SyntaxNode[], uses: Uses): ClosePoint[] {
  const out: ClosePoint[] = [];
  const names = [a.name, ...uses.derived];
  for (const jump of leaving) {
    if (uses.handovers.has(jump.id)) continue;
    const state = nullState(api, a, jump, false);
    if (state === 'null') continue;
    const value = jump.type === 'return_statement' ? jump.namedChildren.find((c) => c.type !== 'comment') : undefined;
    const valueReads = !!value && names.some((n) => identifiersIn(api, value, n).length > 0);
    out.push({ stmt: jump, where: 'before', guarded: state === 'maybe', valueReads });
  }
  const end = last ?? a.stmt;
  if (!alwaysLeaves(api, end)) {
    const state = nullState(api, a, end, true);
    if (state !== 'null') out.push({ stmt: end, where: 'after', guarded: state === 'maybe', valueReads: false });
  }
  return out;
}

/** Does control never fall through the end of `s`? */
export function alwaysLeaves(api: RewriteApi, s: SyntaxNode): boolean {
  if (JUMP_TYPES.has(s.type) || isReturnMacroStatement(api, s)) return true;
  if (s.type === 'compound_statement') {
    const inner = s.namedChildren.filter((c) => c.type !== 'comment');
    return inner.length > 0 && alwaysLeaves(api, inner[inner.length - 1]);
  }
  if (s.type === 'if_statement') {
    const alt = elseBody(s);
    return !!alt && alwaysLeaves(api, s.childForFieldName('consequence')!) && alwaysLeaves(api, alt);
  }
  return false;
}

function elseBody(ifStmt: SyntaxNode): SyntaxNode | null {
  return ifStmt.childForFieldName('alternative')?.namedChildren.find((c) => c.type !== 'comment') ?? null;
}

/**
 * Is the handle null at `node` (a jump, or the point right after the last use when `self`)? Read
 * off the nearest test of `x` on the way: an enclosing `if` branch, or an earlier `if` of the
 * range one branch of which never falls through. Without one: null only for a getter whose null
 * result is normal (a dict lookup): 'maybe'.
 */
function nullState(api: RewriteApi, a: Acquisition, node: SyntaxNode, self: boolean): NullState {
  let n = node;
  let withSelf = self;
  for (let p = n.parent; p; n = p, p = p.parent, withSelf = false) {
    if (p.type === 'compound_statement') {
      for (let s: SyntaxNode | null = withSelf ? n : n.previousNamedSibling; s && s.startIndex > a.stmt.startIndex; s = s.previousNamedSibling) {
        const known = stateAfter(api, a.name, s);
        if (known) return known;
      }
      if (p.id === a.block.id) break;
    } else if (p.type === 'if_statement' && p.childForFieldName('consequence')?.id === n.id) {
      const known = branchState(api, a.name, p, true);
      if (known) return known;
    } else if (p.type === 'else_clause' && p.parent?.type === 'if_statement') {
      const known = branchState(api, a.name, p.parent, false);
      if (known) return known;
    }
  }
  return a.getter.nullable ? 'maybe' : 'nonnull';
}

function branchState(api: RewriteApi, name: string, ifStmt: SyntaxNode, taken: boolean): NullState | null {
  const condition = ifStmt.childForFieldName('condition')!;
  return testState(api, condition, name, taken) ?? (mentionsNullTest(api, condition, name) ? 'maybe' : null);
}

/** After an `if` one branch of which never falls through, the other branch's knowledge holds. */
function stateAfter(api: RewriteApi, name: string, s: SyntaxNode): NullState | null {
  if (s.type !== 'if_statement') return null;
  const leavesThen = alwaysLeaves(api, s.childForFieldName('consequence')!);
  const alt = elseBody(s);
  const leavesElse = !!alt && alwaysLeaves(api, alt);
  if (leavesThen === leavesElse) return null;
  return testState(api, s.childForFieldName('condition')!, name, leavesElse);
}

/** What a condition being `outcome` says about `name`: null, not null, or nothing. */
function testState(api: RewriteApi, cond: SyntaxNode, name: string, outcome: boolean): 'null' | 'nonnull' | null {
  const c = unparenthesize(cond);
  const isName = (n: SyntaxNode) => {
    const w = withoutCasts(n);
    return w.type === 'identifier' && api.text(w) === name;
  };
  if (isName(c)) return outcome ? 'nonnull' : 'null';
  if (c.type === 'unary_expression' && c.childForFieldName('operator')?.type === '!') return testState(api, c.childForFieldName('argument')!, name, !outcome);
  if (c.type === 'call_expression' && calleeName(c) === 'HPy_IsNull' && callArguments(c).length === 1 && isName(callArguments(c)[0])) return outcome ? 'null' : 'nonnull';
  if (c.type !== 'binary_expression') return null;
  const op = c.childForFieldName('operator')?.type;
  const left = c.childForFieldName('left')!;
  const right = c.childForFieldName('right')!;
  if (op === '==' || op === '!=') {
    const compared = (isName(left) && isNull(right)) || (isName(right) && isNull(left));
    if (!compared) return null;
    return (op === '==') === outcome ? 'null' : 'nonnull';
  }
  if (op === '&&' && outcome) return testState(api, left, name, true) ?? testState(api, right, name, true);
  if (op === '||' && !outcome) return testState(api, left, name, false) ?? testState(api, right, name, false);
  return null;
}

function isNull(n: SyntaxNode): boolean {
  const w = withoutCasts(n);
  return w.type === 'null' || (w.type === 'number_literal' && w.text === '0') || (w.type === 'identifier' && w.text === 'HPy_NULL');
}

/** Does the condition test `name` for null somewhere (inside a larger expression)? */
function mentionsNullTest(api: RewriteApi, cond: SyntaxNode, name: string): boolean {
  return identifiersIn(api, cond, name).some((id) => {
    const u = objectCastsAround(api, id);
    const p = u.parent;
    if (!p) return false;
    if (p.type === 'unary_expression') return p.childForFieldName('operator')?.type === '!';
    if (p.type === 'binary_expression') {
      const op = p.childForFieldName('operator')?.type ?? '';
      if (op === '&&' || op === '||') return true;
      if (op === '==' || op === '!=') return isNull(p.childForFieldName('left')!) || isNull(p.childForFieldName('right')!);
    }
    return p.type === 'argument_list' && calleeName(p.parent!) === 'HPy_IsNull';
  });
}

// ---------------------------------------------------------------------------------------------
// `x = GETTER(...);` with `x` declared elsewhere: no stale read of the closed handle

/**
 * Outside the range, `x` may be read only where a later assignment makes it another value:
 * before the acquisition (but then not in a loop around it, unless assigned first in that
 * iteration), or after the block once assigned again on every path from it.
 */
function outsideProblem(api: RewriteApi, a: Acquisition, range: Range, leaving: readonly SyntaxNode[]): ScopeProblem | null {
  const scope = a.declaration?.parent ?? a.fn.childForFieldName('body')!;
  const declared = a.declaration ? identifiersIn(api, a.declaration, a.name) : [];
  const onlyReturns = leaving.every((j) => j.type === 'return_statement' || j.type === 'expression_statement');
  const after = leavingLandings(api, a, leaving);
  for (const id of identifiersIn(api, scope, a.name)) {
    if (declared.some((d) => d.id === id.id) || within(id, a.stmt)) continue;
    if (id.startIndex > a.stmt.startIndex && id.endIndex <= a.block.endIndex) continue;
    if (id.startIndex < a.stmt.startIndex) {
      const loop = loopsAround(a.stmt).find((l) => within(id, l) && !killedBefore(api, a.name, id, l.childForFieldName('body'), l.startIndex));
      if (loop) {
        return problem(id, `'${a.name}' is read in the loop around '${firstLine(api.text(a.stmt))}' before it is assigned`, [
          `the next iteration would read the handle closed at the end of the previous one: set '${a.name}' before this use in each iteration, or close it by hand`,
        ]);
      }
      continue;
    }
    if (range.kill && onlyReturns) continue;
    if (isAssignedHere(api, id) || killedBefore(api, a.name, id, scope, Math.max(a.block.endIndex, ...after.filter((x) => x < id.startIndex)))) continue;
    return problem(id, `'${a.name}' is read after the block of '${firstLine(api.text(a.stmt))}'`, [
      `the handle is closed at the end of that block; CPython code may keep a borrowed reference longer: give the later use a handle of its own, or port it by hand`,
    ]);
  }
  return null;
}

/** Where the jumps that leave the block other than by `return` land (a later assignment must come after). */
function leavingLandings(api: RewriteApi, a: Acquisition, leaving: readonly SyntaxNode[]): number[] {
  const out: number[] = [];
  for (const j of leaving) {
    if (j.type === 'goto_statement') {
      const name = api.text(j.childForFieldName('label')!);
      const target = api.matches(LABELS, a.fn).find((m) => api.text(m.label) === name)?.stmt;
      if (target) out.push(target.startIndex);
    } else if (j.type === 'break_statement') {
      for (let n = j.parent; n; n = n.parent) {
        if (LOOPS.has(n.type) || n.type === 'switch_statement') {
          out.push(n.endIndex);
          break;
        }
      }
    }
  }
  return out;
}

function loopsAround(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let n = node.parent; n && n.type !== 'function_definition'; n = n.parent) if (LOOPS.has(n.type)) out.push(n);
  return out;
}

/** `x` as the left of `x = ...;`. */
function isAssignedHere(api: RewriteApi, id: SyntaxNode): boolean {
  const p = id.parent;
  return p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === id.id && p.parent?.type === 'expression_statement' && isPlainAssignment(api, p.parent, api.text(id));
}

/**
 * Is `x` assigned (or declared) by a statement that runs before `id` on every path through
 * `bound`: an earlier statement of a block around `id`, inside `bound`, starting at or after `from`?
 */
function killedBefore(api: RewriteApi, name: string, id: SyntaxNode, bound: SyntaxNode | null, from: number): boolean {
  if (!bound) return false;
  for (let n: SyntaxNode = id; n.parent && n.id !== bound.id; n = n.parent) {
    if (n.parent.type !== 'compound_statement') continue;
    for (let s = n.previousNamedSibling; s && s.startIndex >= from; s = s.previousNamedSibling) {
      if (isPlainAssignment(api, s, name) || declares(api, s, name)) return true;
    }
  }
  return false;
}

function declares(api: RewriteApi, s: SyntaxNode, name: string): boolean {
  if (s.type !== 'declaration') return false;
  return s.childrenForFieldName('declarator').some((d) => {
    let n: SyntaxNode | null = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
    while (n?.type === 'pointer_declarator') n = n.childForFieldName('declarator');
    return n?.type === 'identifier' && api.text(n) === name;
  });
}

// ---------------------------------------------------------------------------------------------

/** Identifiers named `name` under `node`. */
export function identifiersIn(api: RewriteApi, node: SyntaxNode, name: string): SyntaxNode[] {
  return api.matches(IDENTIFIERS, node).map((m) => m.id).filter((id) => api.text(id) === name);
}

function within(node: SyntaxNode, outer: SyntaxNode): boolean {
  return node.startIndex >= outer.startIndex && node.endIndex <= outer.endIndex;
}

function nextCodeSibling(s: SyntaxNode): SyntaxNode | null {
  let n = s.nextNamedSibling;
  while (n && n.type === 'comment') n = n.nextNamedSibling;
  return n;
}

function problem(at: SyntaxNode, message: string, notes: string[]): ScopeProblem {
  return { at, message, notes };
}

const CLOSE_BY_HAND = (name: string) => `port it by hand: the handle in '${name}' must be closed exactly once on every path out of its block`;

/** The first line of a text, marked with `...` when there is more. */
export function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0];
  return line.length < s.length ? `${line.trimEnd()} ...` : line;
}
