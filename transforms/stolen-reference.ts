/**
 * Turns the C-API calls that steal a reference into HPy code that closes its own handles:
 * tuples and lists filled in place become builders, `PyList_SetItem` and `Py_BuildValue` "N"
 * become a call plus a close.
 *
 * ## Why
 * HPy never steals a handle (porting guide, "Handles" and "Building tuples and lists":
 * https://docs.hpyproject.org/en/latest/porting-guide.html). Code that hands a new reference to
 * `PyTuple_SET_ITEM`, `PyList_SET_ITEM`, `PyList_SetItem` or to an "N" unit leaks it once the
 * call is renamed, and HPy has no way to fill a tuple after it exists: it is made by an
 * `HPyTupleBuilder`. A list made with `PyList_New(n)`, n > 0, has NULL slots that
 * `HPyList_New(ctx, n)` + `HPy_SetItem_i` cannot fill (it crashes on CPython): it is made by an
 * `HPyListBuilder`. `HPy_BuildValue` rejects "N" with a SystemError.
 *
 * ## Before
 * ```c
 * static HPy pair(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     PyObject *t = PyTuple_New(2);
 *     if (t == NULL)
 *         return HPy_NULL;
 *     PyObject *n = PyLong_FromLong(1);
 *     if (n == NULL) {
 *         Py_DECREF(t);
 *         return HPy_NULL;
 *     }
 *     PyTuple_SET_ITEM(t, 0, n);
 *     Py_INCREF(arg);
 *     PyTuple_SET_ITEM(t, 1, arg);
 *     return t;
 * }
 * ```
 * ## After
 * ```c
 * static HPy pair(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     HPyTupleBuilder t_builder = HPyTupleBuilder_New(ctx, 2);
 *     PyObject *n = PyLong_FromLong(1);
 *     if (n == NULL) {
 *         HPyTupleBuilder_Cancel(ctx, t_builder);
 *         return HPy_NULL;
 *     }
 *     HPyTupleBuilder_Set(ctx, t_builder, 0, n);
 *     HPy_Close(ctx, n);
 *     HPyTupleBuilder_Set(ctx, t_builder, 1, arg);
 *     return HPyTupleBuilder_Build(ctx, t_builder);
 * }
 * ```
 * ## Safety
 * review. What is proved from the text (`stolenPlanOf` in `src/api/stolen-references.ts`): every
 * set and every release of the unfinished object lies between its creation and its first other
 * use (the build point, a statement of the creation's block, or the end of that block); an item
 * handed over is closed right after the set and never read again before it is reassigned (loops
 * included), unless the original kept its own reference (`Py_INCREF(v);` right before, or
 * `Py_NewRef(v)`), in which case the incref goes and nothing is closed; a release of the
 * unfinished object on a path that leaves (`Py_DECREF(t); return NULL;`, also at a cleanup label
 * reached only from the filling code) becomes `Cancel`, and a `Py_XDECREF(t)` at a label reached
 * from elsewhere too is kept, with a `Cancel` added before each jump from the filling code (`t`
 * is still NULL there: declared `= NULL`, not assigned before, not in a loop). What a reviewer
 * must confirm: `HPy*Builder_New` never fails (verified in HPy 0.9.0's ctx_tuplebuilder.c and
 * ctx_listbuilder.c: a failed allocation gives a null builder whose `Set` does nothing and whose
 * `Build` raises MemoryError), so the `t == NULL` test after the creation moves after the build
 * (or goes, when the build is `return t;`, which then returns `HPy_NULL` with the error set): the
 * code that made the items now runs before the failure is seen, and the test leaves the function
 * from a later point (it is moved only when nothing its branch names changes in between and, for
 * a `return`, no object made in between is still held). An item computed by a call is moved into
 * a local before the set, without the NULL test the original did not have either: `Set` with
 * `HPy_NULL` crashes where CPython stored a NULL item. `PyList_SetItem(l, i, v)` on a list that
 * is not built here becomes `HPy_SetItem_i` + `HPy_Close(ctx, v)` on both paths (CPython stole
 * `v` on failure too); the list must be full (no NULL slot). `Py_BuildValue` "N" becomes "O" with
 * its arguments closed after the statement ("Handles for one statement", statement-handles.ts).
 *
 * ## Limits
 * Reported (warning, with the hand-written form as `suggestion`) and left alone: a container
 * not assigned to a variable in a statement of its own, not filled in the function that creates
 * it, used (passed on, read, assigned) while it is being filled, filled after that first use or in
 * another function, a label among the filling statements or on the build statement, a jump back
 * to before the creation, a cleanup label reached both from the filling code and from elsewhere
 * that is not a null-tolerant release of a variable known to be NULL, an allocation test that
 * cannot move (its branch does not leave, uses the container, names something that changes, or a
 * `return` while another new object is held); an item that is a parameter, a built-in object or
 * a borrowed result handed over without `Py_INCREF`, a variable read after it was handed over, or
 * an expression that is neither a variable nor a call; a stealing call not in a statement, a
 * declaration, a `return` or the condition of an `if` in a block (or under `&&`, `||`, `?:`);
 * `PyList_SET_ITEM`/`PyTuple_SET_ITEM`/`PyTuple_SetItem` on a container not built here. A
 * `Py_BuildValue` format with units HPy lacks besides "N" is left to capi-call, which reports it.
 * Backward `goto`s other than to before the creation are not followed. `PyModule_AddObject` is
 * pymoduledef's; `PyTuple_Pack` is a rename (capi-call); other stealing calls (`PyModule_Add`,
 * `PyStructSequence_SetItem`, ...) are reported by capi-call. Nothing is converted in a function
 * that keeps its C-API signature.
 */
import {
  applyNestedSites,
  builderType,
  callArguments,
  calleeName,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  functionReturnType,
  handleStatementSite,
  indentationAt,
  isInStatementList,
  stolenPlanOf,
  suggestingApi,
  unparenthesize,
  unusedName,
  type BuilderPlan,
  type BuilderSet,
  type HandedValue,
  type HandleStatement,
  type HandOver,
  type NestedSite,
  type RewriteApi,
  type Span,
  type StolenPlan,
  type SyntaxNode,
} from '../src/api/index.js';

const FUNCTIONS = '(function_definition body: (compound_statement)) @fn';
const STOLEN_NAMES = /\b(?:PyTuple_New|PyList_New|PyTuple_SET_ITEM|PyTuple_SetItem|PyList_SET_ITEM|PyList_SetItem|Py_BuildValue)\b/;

/** A planned rewrite and the note of its edit (review edits carry one). */
interface Site extends NestedSite {
  note: string;
}

/** What the sites of one function are built from. */
interface Work {
  api: RewriteApi;
  text: string;
  /** The function's text: new names are free in it. */
  fnText: string;
  fn: SyntaxNode;
  taken: Set<string>;
  /** Sites in wrapping order: a later site with the same span wraps an earlier one. */
  inner: Site[];
  hosts: Site[];
  builds: Site[];
  regions: Site[];
}

export default defineTransform({
  id: 'stolen-reference',
  summary: 'tuples and lists filled in place become builders; PyList_SetItem and Py_BuildValue "N" close what they handed over',
  concern: 'refcounts',
  safety: 'review',
  default: false,
  // Signatures first: bodies are converted once their functions have ctx (docs/PORTING-PIPELINE.md).
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field'],
  rewrite(file, api) {
    const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
    const sites: Site[] = [];
    for (const { fn } of api.matches(FUNCTIONS)) {
      if (!STOLEN_NAMES.test(api.text(fn))) continue;
      const plan = stolenPlanOf(api, fn);
      for (const p of plan.problems) api.report(p.at, p.message, { notes: p.notes, suggestion: p.suggestion });
      const first = firstConverted(plan);
      if (!first || !guard.allows(first, calleeName(first) ?? 'PyTuple_New')) continue;
      sites.push(...functionSites({ api, text: file.text, fnText: api.text(fn), fn, taken: new Set(), inner: [], hosts: [], builds: [], regions: [] }, plan));
    }
    applySites(api, sites);
  },
});

function firstConverted(plan: StolenPlan): SyntaxNode | null {
  const calls = [...plan.builders.map((b) => b.call), ...plan.handOvers.map((h) => h.call), ...plan.empties.map((e) => e.call)];
  return calls.sort((a, b) => a.startIndex - b.startIndex)[0] ?? null;
}

function functionSites(w: Work, plan: StolenPlan): Site[] {
  for (const e of plan.empties) {
    const text = e.kind === 'list' ? 'HPyList_New(ctx, 0)' : 'HPyTuple_FromArray(ctx, NULL, 0)';
    w.inner.push({ start: e.call.startIndex, end: e.call.endIndex, note: `'${w.api.text(e.call)}' becomes '${text}'`, build: () => text });
  }
  for (const b of plan.builders) builderSites(w, b);
  const byHost = new Map<number, HandOver[]>();
  for (const h of plan.handOvers) byHost.set(h.host.stmt.startIndex, [...(byHost.get(h.host.stmt.startIndex) ?? []), h]);
  for (const group of byHost.values()) handOverSites(w, group);
  // Builds at one statement: the later site wraps the earlier, so the first created is pushed last.
  return [...w.inner, ...w.hosts, ...w.builds.reverse(), ...w.regions];
}

// ---------------------------------------------------------------------------------------------
// Builders

function builderSites(w: Work, b: BuilderPlan): void {
  const { api } = w;
  const K = builderType(b.kind);
  const name = unusedName(w.fnText, `${b.variable}_builder`, w.taken);
  w.taken.add(name);
  const note = builderNote(b);
  const creation = b.creation;
  w.inner.push({ start: creation.startIndex, end: creation.endIndex, note, build: (render) => `${K} ${name} = ${K}_New(ctx, ${render(b.size)});` });
  if (b.test && b.test.stmt.id !== creation.id) w.inner.push({ ...wholeLines(w.text, b.test.stmt), note, build: () => '' });
  for (const set of b.sets) setSites(w, b, set, name, note);
  for (const c of b.cancels) w.inner.push({ start: c.startIndex, end: c.endIndex, note, build: () => `${K}_Cancel(ctx, ${name});` });
  for (const g of b.cancelBefore) w.inner.push({ ...statementsSpan(w, g), note, build: (render) => statementLines(w, g, [`${K}_Cancel(ctx, ${name});`, render(g)]) });
  w.builds.push({ start: b.build.startIndex, end: b.build.endIndex, note, build: (render) => buildText(w, b, name, render) });
  const region: Span = { start: creation.startIndex, end: b.build.endIndex };
  w.regions.push({ ...region, note, build: (render) => render(region) });
}

function builderNote(b: BuilderPlan): string {
  const K = builderType(b.kind);
  const test = !b.test ? '' : b.moveTest ? `; the allocation test moves after ${K}_Build (${K}_New never fails)` : `; the allocation test goes (${K}_New never fails: ${K}_Build returns HPy_NULL with MemoryError set)`;
  return `'${b.variable}' is made by an ${K}: items are handed over with ${K}_Set and closed unless the code kept a reference, releases before the build cancel the builder${test}: check the error paths`;
}

function setSites(w: Work, b: BuilderPlan, set: BuilderSet, builder: string, note: string): void {
  const K = builderType(b.kind);
  const hoisted = set.value.how === 'hoist' ? unusedName(w.fnText, `${b.variable}_item`, w.taken) : null;
  if (hoisted) w.taken.add(hoisted);
  if (set.value.incref) w.inner.push({ ...increfSpan(w, set.value.incref), note, build: () => '' });
  w.inner.push({
    ...statementsSpan(w, set.stmt),
    note,
    build: (render) => {
      const handle = hoisted ?? render(set.value.passed);
      const lines = hoisted ? [`HPy ${hoisted} = ${renderCall(w, set.value.passed, render)};`] : [];
      lines.push(`${K}_Set(ctx, ${builder}, ${render(set.index)}, ${handle});`);
      if (set.value.how !== 'keep') lines.push(`HPy_Close(ctx, ${handle});`);
      return statementLines(w, set.stmt, lines);
    },
  });
}

/** The build (and the moved allocation test) before the build statement, or after it at the end of the block. */
function buildText(w: Work, b: BuilderPlan, builder: string, render: (t: SyntaxNode | Span) => string): string {
  const K = builderType(b.kind);
  const t = b.variable;
  const stmt = b.build;
  const value = stmt.type === 'return_statement' ? stmt.namedChildren.find((c) => c.type !== 'comment') : undefined;
  const returnsT = !b.buildAfter && !!value && unparenthesize(value).type === 'identifier' && w.api.text(unparenthesize(value)) === t;
  if (returnsT && b.declares) return `return ${K}_Build(ctx, ${builder});`;
  const lines = [`${b.declares ? 'HPy ' : ''}${t} = ${K}_Build(ctx, ${builder});`];
  if (b.moveTest && b.test) lines.push(`if (HPy_IsNull(${t}))${render({ start: b.test.condition.endIndex, end: b.test.stmt.endIndex })}`);
  const sep = separator(w, stmt);
  return b.buildAfter ? [render(stmt), ...lines].join(sep) : [...lines, render(stmt)].join(sep);
}

// ---------------------------------------------------------------------------------------------
// Calls that stay calls: PyList_SetItem on an existing list, Py_BuildValue with 'N'

function handOverSites(w: Work, group: HandOver[]): void {
  const { api } = w;
  const host = group[0].host;
  const hoists: { name: string; node: SyntaxNode }[] = [];
  const closes: string[] = [];
  const notes: string[] = [];
  for (const h of group) {
    const handles = h.values.map((v) => valueHandle(w, v, hoists, closes));
    notes.push(handOverNote(api, h));
    if (h.kind === 'set-item') setItemSite(w, h, handles[0], notes[notes.length - 1]);
    else buildValueSites(w, h, handles, notes[notes.length - 1]);
    for (const v of h.values) {
      if (!v.incref) continue;
      w.inner.push({ ...increfSpan(w, v.incref), note: notes[notes.length - 1], build: () => '' });
      // One edit for the incref that goes and the statement that now keeps the reference.
      const span: Span = { start: v.incref.startIndex, end: host.stmt.endIndex };
      w.regions.push({ ...span, note: notes[notes.length - 1], build: (render) => render(span) });
    }
  }
  if (closes.length === 0) return;
  const result = host.stmt.type === 'return_statement' ? unusedName(w.fnText, 'result', w.taken) : '';
  if (result) w.taken.add(result);
  const h: HandleStatement = { host, opens: [], closes, result, returnType: functionReturnType(api, w.fn), valueReads: true };
  const site = handleStatementSite(api, w.text, h);
  w.hosts.push({
    start: site.start,
    end: site.end,
    note: notes.join('; '),
    build: (render) => {
      h.opens = hoists.map((x) => `HPy ${x.name} = ${renderCall(w, x.node, render)};`);
      return site.build(render);
    },
  });
}

/** The text HPy passes for a handed-over value; records the local it is moved into and what is closed. */
function valueHandle(w: Work, v: HandedValue, hoists: { name: string; node: SyntaxNode }[], closes: string[]): (render: (t: SyntaxNode | Span) => string) => string {
  if (v.how === 'hoist') {
    const name = unusedName(w.fnText, 'item', w.taken);
    w.taken.add(name);
    hoists.push({ name, node: v.passed });
    closes.push(name);
    return () => name;
  }
  if (v.how === 'close' && !closes.includes(w.api.text(v.passed))) closes.push(w.api.text(v.passed));
  return (render) => render(v.passed);
}

function handOverNote(api: RewriteApi, h: HandOver): string {
  const names = h.values.filter((v) => v.how !== 'keep').map((v) => (v.how === 'hoist' ? `the new object '${firstLine(api.text(v.passed))}'` : `'${api.text(v.passed)}'`));
  const closed = names.length ? `, so ${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} closed after the statement` : '';
  return h.kind === 'set-item'
    ? `'PyList_SetItem' stole its item (on failure too) and 'HPy_SetItem_i' does not${closed}; the list must have no NULL slot`
    : `'N' stole its argument and 'O' does not${closed}`;
}

function setItemSite(w: Work, h: HandOver, handle: (render: (t: SyntaxNode | Span) => string) => string, note: string): void {
  const [list, index] = callArguments(h.call);
  w.inner.push({ start: h.call.startIndex, end: h.call.endIndex, note, build: (render) => `HPy_SetItem_i(ctx, ${render(list)}, ${render(index)}, ${handle(render)})` });
}

function buildValueSites(w: Work, h: HandOver, handles: ((render: (t: SyntaxNode | Span) => string) => string)[], note: string): void {
  const format = h.format!;
  const text = w.api.text(format).replace(/N/g, 'O');
  w.inner.push({ start: format.startIndex, end: format.endIndex, note, build: () => text });
  h.values.forEach((v, i) => {
    if (v.how !== 'close') w.inner.push({ start: v.arg.startIndex, end: v.arg.endIndex, note, build: (render) => handles[i](render) });
  });
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/**
 * A call moved into a local, rendered from its parts: the call's own span is the argument that
 * the local's name replaces.
 */
function renderCall(w: Work, call: SyntaxNode, render: (t: SyntaxNode | Span) => string): string {
  const args = call.childForFieldName('arguments')!;
  return `${w.api.text({ start: call.startIndex, end: args.startIndex })}${render(args)}`;
}

/**
 * The span that statements replacing `stmt` take: `stmt`, or for a lone body on a line of its
 * own, from the end of what precedes it (the condition, `else`), so that the braces can open there.
 */
function statementsSpan(w: Work, stmt: SyntaxNode): Span {
  const before = stmt.previousSibling;
  if (isInStatementList(stmt) || !before || !/^[ \t]*\r?\n[ \t]*$/.test(w.text.slice(before.endIndex, stmt.startIndex))) return { start: stmt.startIndex, end: stmt.endIndex };
  return { start: before.endIndex, end: stmt.endIndex };
}

/** Statements that replace `stmt` (over {@link statementsSpan}): on lines of their own, braced where `stmt` is a lone body. */
function statementLines(w: Work, stmt: SyntaxNode, lines: string[]): string {
  // A declaration may not follow a `case` label (before C23): the lines get a block of their own there.
  if (stmt.parent?.type === 'case_statement' && lines[0].startsWith('HPy ') && separator(w, stmt) !== ' ') {
    const indent = indentationAt(w.text, stmt.startIndex);
    return `{${w.api.eol}${indent}    ${lines.join(`${w.api.eol}${indent}    `)}${w.api.eol}${indent}}`;
  }
  if (isInStatementList(stmt)) return lines.join(separator(w, stmt));
  const span = statementsSpan(w, stmt);
  if (span.start === stmt.startIndex) return `{ ${lines.join(' ')} }`;
  const indent = indentationAt(w.text, stmt.startIndex);
  const outer = indentationAt(w.text, stmt.parent!.startIndex);
  return ` {${w.api.eol}${indent}${lines.join(`${w.api.eol}${indent}`)}${w.api.eol}${outer}}`;
}

function separator(w: Work, stmt: SyntaxNode): string {
  const lineStart = w.text.lastIndexOf('\n', stmt.startIndex - 1) + 1;
  const own = /^[ \t]*$/.test(w.text.slice(lineStart, stmt.startIndex));
  return own ? `${w.api.eol}${indentationAt(w.text, stmt.startIndex)}` : ' ';
}

/** A `Py_INCREF(x);` that goes, with the line break and indentation after it (the next statement takes its place). */
function increfSpan(w: Work, incref: SyntaxNode): Span {
  const after = /^[ \t]*(?:\r?\n[ \t]*)?/.exec(w.text.slice(incref.endIndex))![0];
  return { start: incref.startIndex, end: incref.endIndex + after.length };
}

/** The lines a node stands on, line break included, when it is alone on them; else the node. */
function wholeLines(text: string, node: SyntaxNode): Span {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const rest = /^[ \t]*(\r?\n)/.exec(text.slice(node.endIndex));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, node.startIndex))) return { start: lineStart, end: node.endIndex + rest[0].length };
  return { start: node.startIndex, end: node.endIndex };
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0];
  return line.length < s.length ? `${line.trimEnd()} ...` : line;
}

/**
 * Records the outermost sites as edits, each with the note of the site that spans it (a builder's
 * whole filling code is one edit); nested sites are rendered into their text.
 */
function applySites(api: RewriteApi, sites: Site[]): void {
  const sorted = [...sites].sort((a, b) => a.start - b.start || b.end - a.end);
  const outer: Site[] = [];
  for (const s of sorted) {
    const last = outer[outer.length - 1];
    if (!last || s.start >= last.end) outer.push(s);
  }
  for (const o of outer) {
    const group = sites.filter((s) => s.start >= o.start && s.end <= o.end);
    const wrapper = group.filter((s) => s.start === o.start && s.end === o.end).pop()!;
    applyNestedSites(api, group, { note: wrapper.note });
  }
}
