/**
 * Turns the `PyObject *` members of object structs into `HPyField`s: writes become
 * `HPyField_Store`, reads `HPyField_Load` (closed after use), and traverse visits them.
 *
 * ## Why
 * An `HPy` handle may not outlive the call that received it, so an object kept in a struct is an
 * `HPyField`, written with `HPyField_Store(ctx, owner, &p->f, h)` (which keeps its own reference)
 * and read with `HPyField_Load(ctx, owner, p->f)` (a new handle to close). HPy releases the fields
 * itself, through the type's `HPy_tp_traverse`, which must visit every field with `HPy_VISIT`
 * (porting guide, "HPyField": https://docs.hpyproject.org/en/latest/porting-guide.html, and
 * https://docs.hpyproject.org/en/latest/api-reference/hpy-field.html).
 *
 * ## Before
 * ```c
 * typedef struct {
 *     double x;
 *     PyObject *label;
 * } PointObject;
 *
 * HPyType_HELPERS(PointObject)
 *
 * static HPy Point_label_get(HPyContext *ctx, HPy self, void *closure)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     Py_INCREF(p->label);
 *     return p->label;
 * }
 *
 * static int Point_label_set(HPyContext *ctx, HPy self, HPy value, void *closure)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     Py_INCREF(value);
 *     Py_XDECREF(p->label);
 *     p->label = value;
 *     return 0;
 * }
 *
 * static int Point_traverse(void *object, HPyFunc_visitproc visit, void *arg)
 * {
 *     PointObject *p = (PointObject *)object;
 *     Py_VISIT(p->label);
 *     return 0;
 * }
 * ```
 * ## After
 * ```c
 * typedef struct {
 *     double x;
 *     HPyField label;
 * } PointObject;
 *
 * HPyType_HELPERS(PointObject)
 *
 * static HPy Point_label_get(HPyContext *ctx, HPy self, void *closure)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     return HPyField_Load(ctx, self, p->label);
 * }
 *
 * static int Point_label_set(HPyContext *ctx, HPy self, HPy value, void *closure)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     HPyField_Store(ctx, self, &p->label, value);
 *     return 0;
 * }
 *
 * static int Point_traverse(void *object, HPyFunc_visitproc visit, void *arg)
 * {
 *     PointObject *p = (PointObject *)object;
 *     HPy_VISIT(&p->label);
 *     return 0;
 * }
 * ```
 * ## Safety
 * review: each edit keeps the reference the C code held, but a reviewer must confirm:
 * - a store: `Py_INCREF(v); p->f = v;` and the swap through a saved old value become one
 *   `HPyField_Store` (it releases the old value); without `Py_INCREF`, the stored value was a new
 *   reference owned by the function, so it is closed right after the store (a call's result goes
 *   through a new local first). Check that the value really was owned, and that nothing after
 *   the store relied on the field holding the very same handle;
 * - a read: the field is loaded into a handle before the statement that reads it and closed after
 *   it (and before every `return`, `goto`, `break` or `continue` that leaves it); a statement
 *   that also tests the field for NULL loads it only when it is set. If code inside the statement
 *   can change the field (a call back into Python), the handle still holds the old object;
 * - `Py_INCREF(p->f); return p->f;` returns `HPyField_Load` (a new handle, as before);
 * - a NULL test of the field becomes `HPyField_IsNull`;
 * - `Py_VISIT(p->f)` becomes `HPy_VISIT(&p->f)` (the parameters are renamed `visit` and `arg` if
 *   needed); a field that no traverse visits gets a `HPy_VISIT`, and a type without traverse gets
 *   one (`HPyDef_SLOT_IMPL`, listed in its defines), since HPy releases fields through it. Add
 *   `HPy_TPFLAGS_HAVE_GC` by hand when the fields can form reference cycles;
 * - `Py_CLEAR`/`Py_XDECREF` of a field in an impl without `ctx` (`HPy_tp_destroy`) is deleted:
 *   HPy releases the fields itself.
 * The owner handle of `p->f` is the one `p` came from: `T *p = T_AsStruct(ctx, h)` (or a single
 * assignment of it) or `HPy h = HPy_New(ctx, type, &p)`. A store takes its `Py_INCREF(v)` along
 * across the `T *p = T_AsStruct(ctx, h);` that pyobject-head may put between them (that line stays,
 * first).
 *
 * With `--target hybrid`, the members of a legacy-layout struct that legacy code uses stay
 * `PyObject *` (a function without `ctx` cannot load or store an HPyField), and all of its members
 * do when its type keeps a C-API `Py_tp_dealloc` or `Py_tp_traverse` in `.legacy_slots` (those
 * handle `PyObject *` members only; shared analysis `memberUsesIn`/`legacyFunctions`, the one
 * pytype-spec decides the legacy slots with). They are noted, and HPy code reaches them through
 * the seams: a read becomes `HPy f = HPy_FromPyObject(ctx, p->f);` before its statement and
 * `HPy_Close(ctx, f);` after it (and before each exit), as for a field; `Py_INCREF(p->f); return
 * p->f;` becomes `return HPy_FromPyObject(ctx, p->f);`; a store of a handle becomes
 * `Py_XSETREF(p->f, HPy_AsPyObject(ctx, h));` (a new reference, the old one released), with the
 * same rules for the stored value as `HPyField_Store`. NULL tests, `Py_CLEAR(p->f)`, stores of
 * NULL, reference-count macros and `&p->f` stay as they are (plain C-API code on a `PyObject *`,
 * valid in hybrid ABI), and so do the uses in legacy functions.
 *
 * ## Limits
 * A member is converted only when every use of it in the file is: otherwise it stays `PyObject *`
 * with all its uses, and the first use per function that cannot be converted is reported.
 * Reported: uses where the owner handle is unknown (a struct pointer parameter, a pointer from
 * `tp_alloc`), uses in a callback without `ctx` other than a release in a destructor, uses in a
 * legacy traverse (`visitproc`), a member copied into a variable or returned without a new
 * reference (the handle would need closing at every exit), `&p->f`, a standalone
 * `Py_INCREF(p->f)` or `Py_XDECREF(p->f)`, a store of a value used again after the store or of an
 * expression that is neither a handle variable nor a call, and reads under a label, directly
 * under a `case` or in a statement that also writes the member. The project's helpers count as
 * having `ctx` (missing-context adds it; reported when it does not run). A struct defined in a
 * header is converted there; the other files convert their uses from the index facts, and leave a
 * struct whose type is still legacy in them alone (pyobject-head reports it). The traverse is
 * added in the file of the type spec, and only when its `defines` array is there too; a file that
 * has an `HPy_tp_traverse` that does not visit the struct is reported instead. Every finding says
 * what to write by hand (its `suggestion`: the `HPyField_Load`/`HPyField_Store` form of the use).
 */
import {
  callArguments,
  calleeName,
  contextGuard,
  contextGuardSuggestion,
  contextScope,
  declarationsOf,
  defineTransform,
  functionDeclarator,
  functionName,
  functionParams,
  hasContextParam,
  indentationAt,
  isHandleDeclaration,
  legacyFunctions,
  memberUsesIn,
  nextStatement,
  objectStructsOf,
  specOfStruct,
  structNamed,
  suggestingApi,
  typeSpecsOf,
  unparenthesize,
  writesOf,
  type ContextGuard,
  type ContextScope,
  type Declared,
  type ObjectStruct,
  type RewriteApi,
  type SourceFile,
  type Span,
  type SyntaxNode,
  type TypeSpec,
} from '../src/api/index.js';

const ACCESSES = '(field_expression argument: (_) @base field: (field_identifier) @field) @access';
const IDENTIFIERS = '(identifier) @id';
const RETURNS = '(return_statement) @stmt';
const JUMPS = '[(goto_statement) (break_statement) (continue_statement)] @stmt';
const LABELS = '(labeled_statement label: (statement_identifier) @label) @stmt';

/** A rewrite of one span; nested sites are rendered into it through `render`. */
interface Site extends Span {
  build(render: Render): string;
  note: string;
}

/** Renders a span with the sites inside it (other than `self`) applied. */
type Render = (target: SyntaxNode | Span, self?: Site) => string;

/** A group of sites that stand or fall together, with the members (`T.f`) they depend on. */
interface Unit {
  keys: Set<string>;
  sites: Site[];
  /** Left alone (its members stay `PyObject *`); `finding` is what is reported, if anything. */
  blocked?: boolean;
  finding?: { target: SyntaxNode | Span; message: string; notes: string[]; suggestion: string };
}

/** One `p->f` on a `PyObject *` member of an object struct. */
interface Access {
  node: SyntaxNode;
  key: string;
  struct: ObjectStruct;
  field: string;
  /** The handle of the object that owns the struct, if known. */
  owner: string | null;
  /** Hybrid: the member stays `PyObject *` for legacy code; HPy code reaches it through the seams. */
  seam: boolean;
}

/** What one function is, for the fields. */
type Role = 'context' | 'traverse' | 'legacy-traverse' | 'no-context';

/** One function being planned. */
interface FunctionPlan {
  fn: SyntaxNode;
  body: SyntaxNode;
  role: Role;
  decls: Map<string, Declared>;
  /** Identifiers already in use in the function (for new local names). */
  names: Set<string>;
  accesses: Access[];
  /** Releases deleted from a destructor: their spans and members. */
  released: { span: Span; key: string }[];
}

/** What every step needs. */
interface Context {
  api: RewriteApi;
  file: SourceFile;
  structs: ObjectStruct[];
  units: Unit[];
  /** The accesses that a pattern already took (by node id). */
  taken: Set<number>;
  /** The accesses that are NULL tests (by node id). */
  nullTests: Set<number>;
  specs: TypeSpec[];
  scope: ContextScope;
  guard: ContextGuard;
  /** Findings already reported, by function and member (one per pair is enough). */
  reported: Set<string>;
  /** Hybrid: members (`T.f`) that stay `PyObject *` because legacy code uses them. */
  seams: Set<string>;
}

export default defineTransform({
  id: 'pyobject-field',
  summary: 'PyObject * struct members become HPyField: HPyField_Store, HPyField_Load and HPy_VISIT',
  concern: 'handles',
  safety: 'review',
  default: false,
  after: ['pyobject-head'],
  rewrite(file, api) {
    const specs = typeSpecsOf(api);
    const candidates = fieldStructs(objectStructsOf(api, file), specs);
    const seams = api.target === 'hybrid' ? seamMembers(api, file, candidates, specs) : new Map<ObjectStruct, string[]>();
    const structs = candidates.filter((s) => seams.has(s) || !keepsLegacyDealloc(api, file, s, specs));
    if (structs.length === 0) return;
    const seamKeys = new Set([...seams].flatMap(([s, fields]) => fields.map((f) => keyOf(s, f))));
    const cx: Context = { api, file, structs, specs, scope: contextScope(api.index, file.text, api.target), guard: contextGuard(suggestingApi(api, contextGuardSuggestion)), units: [], taken: new Set(), nullTests: new Set(), reported: new Set(), seams: seamKeys };
    reportSeams(cx, seams);
    const plans = file.tree.rootNode.descendantsOfType('function_definition').map((fn) => planFunction(cx, fn)).filter((p): p is FunctionPlan => p !== null);
    for (const plan of plans) planUses(cx, plan);
    for (const s of structs) planDeclarations(cx, s);
    resolveOverlaps(cx);
    const blocked = blockedKeys(cx.units);
    planTraverse(cx, plans, blocked);
    report(cx);
    emit(cx, blocked);
  },
});

/**
 * Structs whose members this file converts: ported here (helpers written), or in another file
 * unless their type is still legacy here (pyobject-head reports that).
 */
function fieldStructs(all: ObjectStruct[], specs: TypeSpec[]): ObjectStruct[] {
  return all.filter((s) => {
    if (!s.name || s.objectFields.length === 0) return false;
    if (s.local) return s.helpers !== null;
    return s.head === 'PyObject_HEAD' && !specs.some((t) => t.kind !== 'HPyType_Spec' && specOfStruct(t, s));
  });
}

/**
 * A type whose legacy slots keep `Py_tp_dealloc` cannot get the `HPy_tp_traverse` that HPyFields
 * need (HPyType_FromSpec raises TypeError): its members stay, reported once.
 */
function keepsLegacyDealloc(api: RewriteApi, file: SourceFile, s: ObjectStruct, specs: TypeSpec[]): boolean {
  const spec = specs.find((t) => t.kind === 'HPyType_Spec' && specOfStruct(t, s) && t.fields.has('legacy_slots'));
  const name = spec?.fields.get('legacy_slots')?.childForFieldName('value');
  if (!spec || !name || name.type !== 'identifier') return false;
  const table = new RegExp(`\\b${api.text(name)}\\s*\\[\\s*\\]\\s*=\\s*\\{[^;]*\\bPy_tp_dealloc\\b`).exec(file.text);
  if (!table) return false;
  api.report(spec.fields.get('legacy_slots')!, `the members of '${s.name}' stay 'PyObject *': '${spec.name}' keeps a legacy 'Py_tp_dealloc'`, {
    notes: ["HPyFields need an HPy_tp_traverse, which HPy does not combine with a legacy Py_tp_dealloc: port the dealloc (pytype-spec turns it into HPy_tp_destroy) and run hpy-migrate again"],
    suggestion: `an HPy_tp_destroy impl ('static void f(void *object)', native frees only) in place of the legacy 'Py_tp_dealloc' of '${spec.name}', then run hpy-migrate again`,
  });
  return true;
}

/**
 * Hybrid: the members of legacy-layout structs that stay `PyObject *`. All of them when the type
 * keeps a C-API `Py_tp_dealloc` or `Py_tp_traverse` (HPy releases and visits HPyFields only, and
 * those slots handle every member); otherwise those that functions without `ctx` use, since they
 * cannot load or store an HPyField (shared analysis: `memberUsesIn`, `legacyFunctions`).
 */
function seamMembers(api: RewriteApi, file: SourceFile, structs: ObjectStruct[], specs: TypeSpec[]): Map<ObjectStruct, string[]> {
  const out = new Map<ObjectStruct, string[]>();
  const legacy = legacyFunctions(api, file.tree.rootNode, file.text);
  for (const s of structs) {
    if (!s.local || s.helpers !== 'legacy') continue;
    const spec = specs.find((t) => t.kind === 'HPyType_Spec' && specOfStruct(t, s) && t.fields.has('legacy_slots'));
    const table = spec ? legacySlotsText(api, file, spec) : '';
    const fields = /\bPy_tp_(dealloc|traverse)\b/.test(table) ? s.objectFields : [...new Set(memberUsesIn(api, s, legacy).map((u) => u.member))];
    if (fields.length > 0) out.set(s, fields);
  }
  return out;
}

/** The text of the `PyType_Slot` table named by a spec's `.legacy_slots` ('' if not in this file). */
function legacySlotsText(api: RewriteApi, file: SourceFile, spec: TypeSpec): string {
  const name = spec.fields.get('legacy_slots')?.childForFieldName('value');
  if (!name || name.type !== 'identifier') return '';
  return new RegExp(`\\b${api.text(name)}\\s*\\[\\s*\\]\\s*=\\s*\\{[^;]*`).exec(file.text)?.[0] ?? '';
}

/** One note per struct with members kept for legacy code. */
function reportSeams(cx: Context, seams: Map<ObjectStruct, string[]>): void {
  for (const [s, fields] of seams) {
    const names = fields.map((f) => `'${f}'`).join(', ');
    cx.api.report(s.local!.objectFieldNodes.get(fields[0])!, `${names} of '${s.name}' ${fields.length > 1 ? 'stay' : 'stays'} 'PyObject *': legacy code of the type uses ${fields.length > 1 ? 'them' : 'it'}`, {
      severity: 'note',
      notes: [
        "a function without 'ctx' cannot load or store an HPyField, and a C-API tp_dealloc/tp_traverse handles only 'PyObject *' members",
        "HPy code reads such a member as 'HPy h = HPy_FromPyObject(ctx, p->f)' (a new handle, closed after use) and stores a handle with 'Py_XSETREF(p->f, HPy_AsPyObject(ctx, h))'",
      ],
    });
  }
}

function keyOf(s: ObjectStruct, field: string): string {
  return `${s.name}.${field}`;
}

const MEMBER_NOTE = (a: Access) =>
  a.struct.local
    ? `the member '${a.field}' of '${a.struct.name}' stays 'PyObject *', with all its uses in this file, until this use is converted by hand`
    : `'${a.struct.name}' is defined in another file, where '${a.field}' becomes an HPyField: convert this use by hand`;

/** How HPy code reads the member of `a` into a new handle `v` (closed after use). */
function loadForm(cx: Context, a: Access, v: string): string {
  const acc = cx.api.text(a.node);
  return a.seam ? `HPy ${v} = HPy_FromPyObject(ctx, ${acc});` : `HPy ${v} = HPyField_Load(ctx, ${a.owner ?? 'h'}, ${acc});`;
}

/** How HPy code stores the handle `v` into the member of `a` (the member keeps its own reference). */
function storeForm(cx: Context, a: Access, v: string): string {
  const acc = cx.api.text(a.node);
  return a.seam ? `Py_XSETREF(${acc}, HPy_AsPyObject(ctx, ${v}));` : `HPyField_Store(ctx, ${a.owner ?? 'h'}, &${acc}, ${v});`;
}

/** A read loaded by hand around its statement. */
function readForm(cx: Context, a: Access): string {
  return `'${loadForm(cx, a, 'v')}' before the statement, 'v' in place of '${cx.api.text(a.node)}', 'HPy_Close(ctx, v);' after it (on every path)`;
}

const BRACES_FORM = "the statements of the case in braces ('case X: { ... break; }'), then run hpy-migrate again";

/** The function's role, declarations and resolved accesses (null: nothing for this transform). */
function planFunction(cx: Context, fn: SyntaxNode): FunctionPlan | null {
  const { api } = cx;
  const body = fn.childForFieldName('body');
  if (!body) return null;
  const params = functionDeclarator(fn)?.childForFieldName('parameters');
  const paramTypes = params ? api.text(params) : '';
  const name = functionName(fn) ?? '';
  // A helper of the project that missing-context gives a ctx counts as having one.
  const helper = !cx.scope.isCallback(name) && cx.scope.needsContext(name) && !cx.scope.isWithoutContext(name, functionParams(fn));
  const role: Role = /\bHPyFunc_visitproc\b/.test(paramTypes) ? 'traverse' : /\bvisitproc\b/.test(paramTypes) ? 'legacy-traverse' : hasContextParam(fn) || helper ? 'context' : 'no-context';
  const decls = declarationsOf(api, fn);
  const names = new Set(api.matches(IDENTIFIERS, fn).map((m) => api.text(m.id)));
  const plan: FunctionPlan = { fn, body, role, decls, names, accesses: [], released: [] };
  for (const m of api.matches(ACCESSES, body)) {
    if (!m.access.children.some((c) => c.type === '->')) continue;
    const a = resolveAccess(cx, plan, m.access, m.base, api.text(m.field));
    if (a) plan.accesses.push(a);
  }
  return plan.accesses.length > 0 || role === 'traverse' ? plan : null;
}

/** The member access `base->field`, if `base` is a pointer to a field struct. */
function resolveAccess(cx: Context, plan: FunctionPlan, node: SyntaxNode, base: SyntaxNode, field: string): Access | null {
  const { api } = cx;
  const b = unparenthesize(base);
  let s: ObjectStruct | undefined;
  let owner: string | null = null;
  if (b.type === 'identifier') {
    const d = plan.decls.get(api.text(b));
    if (d && d.pointers === 1) {
      s = structNamed(cx.structs, d.type);
      owner = ownerOf(cx, plan, d);
    }
  } else if (b.type === 'call_expression') {
    const m = /^(\w+)_AsStruct$/.exec(calleeName(b) ?? '');
    const args = callArguments(b);
    if (m && args.length === 2 && args[1].type === 'identifier') {
      s = structNamed(cx.structs, m[1]);
      owner = api.text(args[1]);
    }
  } else if (b.type === 'cast_expression') {
    const t = /^(struct \w+|\w+) ?\*$/.exec(api.text(b.childForFieldName('type')!).replace(/\s+/g, ' ').trim());
    s = t ? structNamed(cx.structs, t[1]) : undefined;
  }
  if (!s || !s.objectFields.includes(field)) return null;
  return { node, key: keyOf(s, field), struct: s, field, owner, seam: cx.seams.has(keyOf(s, field)) };
}

/** The handle a struct pointer variable was obtained from (`T_AsStruct(ctx, h)`, `HPy_New(ctx, t, &p)`). */
function ownerOf(cx: Context, plan: FunctionPlan, d: Declared): string | null {
  const { api } = cx;
  const writes = writesOf(api, plan.body, d.name);
  if (d.init) return writes.length === 0 ? asStructOwner(api, d.init) : null;
  if (writes.length !== 1) return null;
  const w = writes[0];
  if (w.type === 'assignment_expression' && w.childForFieldName('operator')?.type === '=') return asStructOwner(api, w.childForFieldName('right')!);
  return w.type === 'pointer_expression' ? newOwner(api, w) : null;
}

function asStructOwner(api: RewriteApi, value: SyntaxNode): string | null {
  const v = unparenthesize(value);
  if (v.type !== 'call_expression' || !/_AsStruct$/.test(calleeName(v) ?? '')) return null;
  const args = callArguments(v);
  return args.length === 2 && args[1].type === 'identifier' ? api.text(args[1]) : null;
}

/** `h` of `HPy h = HPy_New(ctx, type, &p)` or `h = HPy_New(ctx, type, &p)`, for the `&p` node. */
function newOwner(api: RewriteApi, address: SyntaxNode): string | null {
  const call = address.parent?.parent;
  if (!call || call.type !== 'call_expression' || calleeName(call) !== 'HPy_New' || callArguments(call)[2]?.id !== address.id) return null;
  const holder = call.parent;
  const target = holder?.type === 'init_declarator' ? holder.childForFieldName('declarator') : holder?.type === 'assignment_expression' ? holder.childForFieldName('left') : null;
  return target?.type === 'identifier' ? api.text(target) : null;
}

/** Plans every use of a member in one function: stores first (they take their neighbours), then the rest. */
function planUses(cx: Context, plan: FunctionPlan): void {
  if (plan.role === 'context' && !hasContextParam(plan.fn)) cx.guard.allows(plan.accesses[0].node, 'HPyField_Load');
  if (plan.role === 'context') {
    for (const a of plan.accesses) {
      if (a.seam && (bridged(cx, a) || keptStore(cx, a))) {
        cx.taken.add(a.node.id);
        continue;
      }
      const w = (a.owner || a.seam) && !cx.taken.has(a.node.id) ? writeOf(a) : null;
      if (w) planStore(cx, plan, a, w);
    }
  }
  const reads: Access[] = [];
  for (const a of plan.accesses) {
    if (cx.taken.has(a.node.id)) continue;
    if (a.seam && (planLoadReturn(cx, plan, a) || keptAsIs(cx, plan, a))) continue;
    if (plan.role === 'traverse' && isVisited(a)) continue;
    if (planNullTest(cx, plan, a) || planLoadReturn(cx, plan, a) || planRelease(cx, plan, a)) continue;
    const why = blockedUse(cx, plan, a);
    if (why) block(cx, a, why.message, why.notes, why.suggestion);
    else reads.push(a);
  }
  planReads(cx, plan, reads);
  if (plan.released.length > 0) dropUnusedPointer(cx, plan);
}

/**
 * A member kept `PyObject *` (hybrid) stays as it is in legacy code, in NULL tests, in reference
 * counting macros and behind `&`: plain C-API code on a `PyObject *`, valid in a hybrid build.
 */
function keptAsIs(cx: Context, plan: FunctionPlan, a: Access): boolean {
  const p = a.node.parent;
  const call = p?.type === 'argument_list' ? p.parent : null;
  const asIs =
    plan.role !== 'context' ||
    isNullTest(cx, a) ||
    (!!call && /^(Py_X?(INC|DEC)REF|Py_CLEAR)$/.test(calleeName(call) ?? '') && call.parent?.type === 'expression_statement') ||
    (p?.type === 'pointer_expression' && p.child(0)?.type === '&');
  if (!asIs) return false;
  cx.taken.add(a.node.id);
  if (plan.role === 'context' && isNullTest(cx, a)) cx.nullTests.add(a.node.id);
  return true;
}

/** Already bridged: `HPy_FromPyObject(ctx, p->f)`, `Py_XSETREF(p->f, HPy_AsPyObject(ctx, h))`. */
function bridged(cx: Context, a: Access): boolean {
  const call = a.node.parent?.type === 'argument_list' ? a.node.parent.parent : null;
  const args = call ? callArguments(call) : [];
  const callee = call ? calleeName(call) : null;
  if (callee === 'HPy_FromPyObject') return args[1]?.id === a.node.id;
  const value = args[1] ? unparenthesize(args[1]) : null;
  return callee === 'Py_XSETREF' && args[0]?.id === a.node.id && value?.type === 'call_expression' && calleeName(value) === 'HPy_AsPyObject';
}

/** A store of nothing into a kept member (`Py_CLEAR(p->f)`, `p->f = NULL;`): C-API code that stays. */
function keptStore(cx: Context, a: Access): boolean {
  const w = writeOf(a);
  return !!w && (!w.value || /^(NULL|0)$/.test(cx.api.text(unparenthesize(w.value))));
}

/** `p->f == NULL`, `p->f != NULL`, `!p->f`, or `p->f` tested for truth. */
function isNullTest(cx: Context, a: Access): boolean {
  const p = a.node.parent;
  if (!p) return false;
  const op = p.childForFieldName('operator')?.type;
  if (p.type === 'binary_expression' && (op === '==' || op === '!=')) {
    const other = p.childForFieldName('left')?.id === a.node.id ? p.childForFieldName('right') : p.childForFieldName('left');
    return !!other && /^(NULL|0)$/.test(cx.api.text(other));
  }
  return (p.type === 'unary_expression' && op === '!') || isTruthTested(a.node);
}

/** A destructor's struct pointer that only served the deleted releases goes too. */
function dropUnusedPointer(cx: Context, plan: FunctionPlan): void {
  const { api } = cx;
  const inReleased = (n: SyntaxNode) => plan.released.some((r) => r.span.start <= n.startIndex && n.endIndex <= r.span.end);
  for (const d of plan.decls.values()) {
    if (d.param || d.pointers !== 1 || !structNamed(cx.structs, d.type) || d.declaration.type !== 'declaration') continue;
    if (d.declaration.childrenForFieldName('declarator').length !== 1) continue;
    const uses = api.matches(IDENTIFIERS, plan.body).filter((m) => m.id.id !== d.node.id && api.text(m.id) === d.name);
    if (uses.length === 0 || !uses.every((m) => inReleased(m.id))) continue;
    const span = wholeLines(cx.file.text, d.declaration);
    cx.units.push({ keys: new Set(plan.released.map((r) => r.key)), sites: [{ ...span, note: `'${d.name}' is no longer used`, build: () => '' }] });
  }
}

/** Is the access the argument of `Py_VISIT` (converted with the traverse)? */
function isVisited(a: Access): boolean {
  const call = a.node.parent?.type === 'argument_list' ? a.node.parent.parent : null;
  return !!call && calleeName(call) === 'Py_VISIT';
}

/** Leaves the member alone in this file; the first finding per function and member is reported. */
function block(cx: Context, a: Access, message: string, notes: string[], suggestion: string): void {
  cx.taken.add(a.node.id);
  const fn = listedFunction(a.node);
  const once = `${fn?.startIndex ?? -1}:${a.key}`;
  const finding = cx.reported.has(once) ? undefined : { target: a.node, message, notes: [...notes, MEMBER_NOTE(a)], suggestion };
  cx.reported.add(once);
  cx.units.push({ keys: new Set([a.key]), sites: [], finding, blocked: true });
}

function listedFunction(node: SyntaxNode): SyntaxNode | null {
  for (let n: SyntaxNode | null = node; n; n = n.parent) if (n.type === 'function_definition') return n;
  return null;
}

/** Why a use that is not a known pattern cannot be read through a load, if it cannot. */
function blockedUse(cx: Context, plan: FunctionPlan, a: Access): Blocked | null {
  const { api } = cx;
  const acc = api.text(a.node);
  const fname = functionName(plan.fn) ?? '?';
  if (plan.role === 'legacy-traverse') return { message: `'${fname}' is a legacy traverse function ('visitproc'): '${acc}' is left alone`, notes: ["the pytype-spec transform turns it into an HPy_tp_traverse impl ('HPyFunc_visitproc'); run hpy-migrate with it"], suggestion: `an HPy traverse impl 'static int ${fname}(void *object, HPyFunc_visitproc visit, void *arg)' with 'HPy_VISIT(&p->${a.field});' (pytype-spec writes it when it ports the type)` };
  if (plan.role === 'traverse') return { message: `'${acc}' is used in the traverse impl '${fname}' other than in 'Py_VISIT': left alone`, notes: ["a traverse impl only visits: 'HPy_VISIT(&p->field)' for each HPyField"], suggestion: `only 'HPy_VISIT(&${acc});' for this member in '${fname}'; other work on it in an HPy impl with 'ctx'` };
  if (plan.role === 'no-context') return { message: `'${acc}' is used in '${fname}', which has no 'ctx': left alone`, notes: ["loading or storing an HPyField needs 'ctx' and the owner's handle; only a release in a destructor ('HPy_tp_destroy') is converted, by deleting it"], suggestion: `this use in a function that has 'ctx' and the owner's handle 'h': '${loadForm(cx, a, 'v')}' to read it (closed after use), '${storeForm(cx, a, 'v')}' to write it` };
  if (!a.owner) return { message: `'${acc}' is a member of '${a.struct.name}', but the handle of its object is not known here: left alone`, notes: [`HPyField_Load and HPyField_Store need the owner's handle: take the struct from a handle ('${a.struct.name} *p = ${a.struct.name}_AsStruct(ctx, h);' or 'HPy h = HPy_New(ctx, type, &p);'), or pass the handle to this function`], suggestion: a.seam ? readForm(cx, a) : `'${a.struct.name} *p = ${a.struct.name}_AsStruct(ctx, h);' from the object's handle 'h', then 'HPyField_Load(ctx, h, p->${a.field})' to read the member and 'HPyField_Store(ctx, h, &p->${a.field}, v)' to write it` };
  const p = a.node.parent;
  const call = p?.type === 'argument_list' ? p.parent : null;
  const callee = call ? calleeName(call) ?? '' : '';
  if (/^Py_X?(INC|DEC)REF$|^Py_CLEAR$|^Py_X?NewRef$|^Py_X?SETREF$/.test(callee)) {
    return { message: `'${api.text(call!)}' on a member is left alone`, notes: [`a member is read with 'HPyField_Load(ctx, owner, ${acc})' (a new handle) and written with 'HPyField_Store' (it keeps its own reference); write the use by hand`], suggestion: refcountForm(cx, a, callee) };
  }
  if (p?.type === 'pointer_expression' && p.child(0)?.type === '&') return { message: `'&${acc}' takes the address of a member: left alone`, notes: ["an HPyField is only written through 'HPyField_Store(ctx, owner, &p->field, h)'; convert this use by hand"], suggestion: `'${storeForm(cx, a, 'v')}' to write the member, '${loadForm(cx, a, 'v')}' to read it (closed after use)` };
  return null;
}

/** A use of a member left alone: what is reported, and what to write instead. */
interface Blocked {
  message: string;
  notes: string[];
  suggestion: string;
}

/** What replaces a reference-counting macro on a member. */
function refcountForm(cx: Context, a: Access, callee: string): string {
  if (/^Py_X?(INCREF|NewRef)$/.test(callee)) return `'${loadForm(cx, a, 'v')}' (a new handle) where the extra reference was needed, 'HPy_Close(ctx, v);' where it was released`;
  if (/^Py_X?SETREF$/.test(callee)) return `'${storeForm(cx, a, 'v')}' (it releases the old value; the member keeps its own reference to 'v')`;
  return `'${storeForm(cx, a, 'HPy_NULL')}' to release the member`;
}

/** The write of a member: `p->f = v;`, `Py_SETREF(p->f, v);`, `Py_CLEAR(p->f);` as a statement. */
interface Write {
  stmt: SyntaxNode;
  value: SyntaxNode | null;
}

function writeOf(a: Access): Write | null {
  const p = a.node.parent;
  if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === a.node.id) {
    if (p.childForFieldName('operator')?.type !== '=' || p.parent?.type !== 'expression_statement') return null;
    return { stmt: p.parent, value: p.childForFieldName('right') };
  }
  const call = p?.type === 'argument_list' ? p.parent : null;
  const args = call ? callArguments(call) : [];
  if (!call || call.parent?.type !== 'expression_statement' || args[0]?.id !== a.node.id) return null;
  const callee = calleeName(call);
  if ((callee === 'Py_SETREF' || callee === 'Py_XSETREF') && args.length === 2) return { stmt: call.parent, value: args[1] };
  if (callee === 'Py_CLEAR' && args.length === 1) return { stmt: call.parent, value: null };
  return null;
}

/** The statements a store takes with it, and the value it stores. */
interface StorePlan {
  start: SyntaxNode;
  end: SyntaxNode;
  incref: boolean;
  /** The local that held the old value (swap pattern), if any. */
  old: string | null;
  /** Statements between the taken ones that stay (pyobject-head's `T *p = T_AsStruct(ctx, h);`). */
  kept: SyntaxNode[];
}

function planStore(cx: Context, plan: FunctionPlan, a: Access, w: Write): void {
  const { api } = cx;
  const acc = api.text(a.node);
  const sp = storeNeighbours(cx, plan, a, w);
  if ('message' in sp) return block(cx, a, sp.message, sp.notes, sp.suggestion);
  const value = storedValue(cx, plan, a, w, sp);
  if ('message' in value) return block(cx, a, value.message, value.notes, value.suggestion);
  const inList = isListed(sp.start);
  if (value.lines.length > 1 && !inList) return block(cx, a, `the store into '${acc}' needs several statements where only one fits: left alone`, ['put the statement in braces and run hpy-migrate again'], "the statement in braces ('{ ... }'), then run hpy-migrate again");
  for (const other of plan.accesses) {
    if (other.key === a.key && other.node.startIndex >= sp.start.startIndex && other.node.endIndex <= sp.end.endIndex) cx.taken.add(other.node.id);
  }
  const how = a.seam ? "'Py_XSETREF' of a new reference made with 'HPy_AsPyObject' (it stays 'PyObject *' for legacy code)" : 'HPyField_Store';
  const note = a.seam ? value.note.replace(/HPyField_Store keeps its own reference/g, 'the member takes a reference of its own') : value.note;
  const sites: Site[] = [statementsSite(cx, sp.start, sp.end, value.lines, `'${acc}' is written with ${how}: ${note}`, sp.kept)];
  if (sp.old) {
    const removal = oldDeclarationSite(cx, plan, sp.old);
    if (removal) sites.push(removal);
  }
  cx.units.push({ keys: new Set([a.key]), sites });
}

/** Adjacent statements of the store: `Py_INCREF(v)`, `Py_XDECREF(p->f)`, `old = p->f` before, `Py_XDECREF(old)` after. */
function storeNeighbours(cx: Context, plan: FunctionPlan, a: Access, w: Write): StorePlan | Blocked {
  const { api } = cx;
  const acc = api.text(a.node);
  const valueText = w.value ? api.text(w.value) : null;
  const sp: StorePlan = { start: w.stmt, end: w.stmt, incref: false, old: null, kept: [] };
  if (!isListed(w.stmt)) return sp;
  let release = false;
  const passed: SyntaxNode[] = [];
  for (let p = previousStatement(w.stmt); p; p = previousStatement(p)) {
    if (!sp.incref && valueText !== null && macroCall(api, p, /^Py_X?INCREF$/, valueText)) sp.incref = true;
    else if (!release && !sp.old && macroCall(api, p, /^Py_X?DECREF$/, acc)) release = true;
    else if (!release && !sp.old && savedOld(cx, plan, p, acc)) sp.old = savedOld(cx, plan, p, acc);
    else if (valueText !== null && isStructPointerDeclaration(api, p, valueText)) {
      // pyobject-head puts `T *p = T_AsStruct(ctx, h);` before the first use of `p`: it may sit
      // between `Py_INCREF(v);` and the store; it stays (first), the INCREF still goes with the store.
      passed.push(p);
      continue;
    } else break;
    sp.start = p;
    sp.kept.push(...passed.splice(0));
  }
  if (!sp.old) return sp;
  const swap = `'${loadForm(cx, a, sp.old)}' before the store while the old value is needed ('HPy_Close(ctx, ${sp.old});' after its last use), then '${storeForm(cx, a, valueText ?? 'HPy_NULL')}' (it releases the old value)`;
  const next = nextStatement(w.stmt);
  if (!next || !macroCall(api, next, /^Py_X?DECREF$/, sp.old)) {
    return { message: `'${sp.old}' keeps the old value of '${acc}' beyond the store: left alone`, notes: ["HPyField_Store releases the old value itself; convert the store and the uses of the old value by hand"], suggestion: swap };
  }
  sp.end = next;
  const uses = api.matches(IDENTIFIERS, plan.body).filter((m) => api.text(m.id) === sp.old && !(m.id.startIndex >= sp.start.startIndex && m.id.endIndex <= sp.end.endIndex));
  const decl = plan.decls.get(sp.old);
  if (uses.some((m) => m.id.id !== decl?.node.id)) {
    return { message: `'${sp.old}', the old value of '${acc}', is used elsewhere: left alone`, notes: ["HPyField_Store releases the old value itself; convert the store and the uses of the old value by hand"], suggestion: swap };
  }
  return sp;
}

/** `T *p = T_AsStruct(ctx, h);` (one declarator) that does not mention `value`. */
function isStructPointerDeclaration(api: RewriteApi, stmt: SyntaxNode, value: string): boolean {
  if (stmt.type !== 'declaration' || stmt.childrenForFieldName('declarator').length !== 1) return false;
  const d = stmt.childForFieldName('declarator');
  const init = d?.type === 'init_declarator' ? d.childForFieldName('value') : null;
  if (!init || !/_AsStruct$/.test(init.type === 'call_expression' ? calleeName(init) ?? '' : '')) return false;
  return !new RegExp(`(^|[^\\w])${value.replace(/[^\w]/g, '\\$&')}([^\\w]|$)`).test(api.text(stmt));
}

/** `old = p->f;` or `PyObject *old = p->f;`: the name of the local that saves the old value. */
function savedOld(cx: Context, plan: FunctionPlan, stmt: SyntaxNode, acc: string): string | null {
  const { api } = cx;
  let target: SyntaxNode | null | undefined = null;
  let value: SyntaxNode | null | undefined = null;
  if (stmt.type === 'expression_statement' && stmt.namedChildren[0]?.type === 'assignment_expression') {
    const asg = stmt.namedChildren[0];
    if (asg.childForFieldName('operator')?.type !== '=') return null;
    target = asg.childForFieldName('left');
    value = asg.childForFieldName('right');
  } else if (stmt.type === 'declaration' && stmt.childrenForFieldName('declarator').length === 1) {
    const d = stmt.childForFieldName('declarator');
    if (d?.type !== 'init_declarator') return null;
    target = d.childForFieldName('declarator');
    while (target?.type === 'pointer_declarator') target = target.childForFieldName('declarator');
    value = d.childForFieldName('value');
  }
  if (target?.type !== 'identifier' || !value || squash(api.text(value)) !== squash(acc)) return null;
  return isHandleDeclaration(plan.decls.get(api.text(target))) ? api.text(target) : null;
}

/** The statements that replace the store, and what the reviewer must know. */
function storedValue(cx: Context, plan: FunctionPlan, a: Access, w: Write, sp: StorePlan): { lines: string[]; note: string } | Blocked {
  const { api } = cx;
  const acc = api.text(a.node);
  // A member kept `PyObject *` (hybrid) takes a new reference made from the handle; Py_XSETREF releases the old value.
  const store = (v: string) => (a.seam ? (v === 'HPy_NULL' ? `Py_CLEAR(${acc});` : `Py_XSETREF(${acc}, HPy_AsPyObject(ctx, ${v}));`) : `HPyField_Store(ctx, ${a.owner}, &${acc}, ${v});`);
  const swap = sp.old ? '; it releases the old value itself' : '';
  if (!w.value) return { lines: [store('HPy_NULL')], note: 'storing HPy_NULL releases the old value' };
  const v = unparenthesize(w.value);
  const text = api.text(w.value);
  if (sp.incref) return { lines: [store(text)], note: `it keeps its own reference, so the 'Py_INCREF' goes${swap}` };
  if (v.type === 'null' || /^(NULL|HPy_NULL)$/.test(text)) return { lines: [store('HPy_NULL')], note: `storing HPy_NULL releases the old value${swap}` };
  if (/^(Py_(None|True|False|NotImplemented|Ellipsis)|ctx->h_\w+)$/.test(text)) return { lines: [store(text)], note: `a built-in object is stored without 'Py_INCREF' here; HPyField_Store keeps its own reference${swap}` };
  if (v.type === 'identifier') {
    const d = plan.decls.get(text);
    if (!isHandleDeclaration(d)) return { message: `the value stored into '${api.text(a.node)}' is not a handle variable: left alone`, notes: ['store a handle with HPyField_Store by hand'], suggestion: `the value as an 'HPy' handle 'h', then '${storeForm(cx, a, 'h')}'` };
    if (d!.param) return { lines: [store(text)], note: `the parameter '${text}' was stored without 'Py_INCREF'; HPyField_Store keeps its own reference and the parameter stays open${swap}` };
    if (usedAfter(cx, plan, text, sp.end.endIndex)) return { message: `'${text}' is used after it is stored into '${api.text(a.node)}': left alone`, notes: [`HPyField_Store keeps its own reference: close '${text}' after its last use, by hand`], suggestion: `'${storeForm(cx, a, text)}', then 'HPy_Close(ctx, ${text});' after the last use of '${text}'` };
    return { lines: [store(text), `HPy_Close(ctx, ${text});`], note: `'${text}' held a new reference, now closed after the store (HPyField_Store keeps its own)${swap}` };
  }
  const newRef = v.type === 'call_expression' && /^Py_X?NewRef$/.test(calleeName(v) ?? '') ? callArguments(v) : null;
  if (newRef?.length === 1) return { lines: [store(api.text(newRef[0]))], note: `it keeps its own reference, so '${calleeName(v)}' goes${swap}` };
  if (v.type === 'call_expression') {
    if (w.stmt.parent?.type === 'case_statement') return { message: `the store into '${api.text(a.node)}' needs a new local right under a 'case' label: left alone`, notes: ['put the statements of the case in braces and run hpy-migrate again'], suggestion: BRACES_FORM };
    const temp = freshName(plan, a.field);
    return { lines: [`HPy ${temp} = ${text};`, store(temp), `HPy_Close(ctx, ${temp});`], note: `the new object goes through '${temp}', closed after the store (HPyField_Store keeps its own reference; a failed call stores HPy_NULL)${swap}` };
  }
  return { message: `the value stored into '${api.text(a.node)}' is neither a handle variable nor a call: left alone`, notes: ['assign it to a local handle first, then run hpy-migrate again'], suggestion: `'HPy v = ${text};' first, then '${storeForm(cx, a, 'v')}' ('HPy_Close(ctx, v);' after it if 'v' is a new handle)` };
}

function usedAfter(cx: Context, plan: FunctionPlan, name: string, after: number): boolean {
  return cx.api.matches(IDENTIFIERS, plan.body).some((m) => m.id.startIndex >= after && cx.api.text(m.id) === name);
}

/** Removes the declaration of the old-value local of a swap (the declarator, or the whole line). */
function oldDeclarationSite(cx: Context, plan: FunctionPlan, old: string): Site | null {
  const d = plan.decls.get(old);
  if (!d || d.declaration.type !== 'declaration' || d.init) return null;
  const declarators = d.declaration.childrenForFieldName('declarator');
  const mine = declarators.find((x) => x.startIndex <= d.node.startIndex && d.node.endIndex <= x.endIndex);
  if (!mine) return null;
  const note = `'${old}' is no longer needed`;
  if (declarators.length === 1) {
    const span = withBlankAfterBrace(cx.file.text, wholeLines(cx.file.text, d.declaration));
    return { ...span, note, build: () => '' };
  }
  const i = declarators.indexOf(mine);
  const span = i === 0 ? { start: mine.startIndex, end: declarators[1].startIndex } : { start: declarators[i - 1].endIndex, end: mine.endIndex };
  return { ...span, note, build: () => '' };
}

/** A NULL test of a member (`p->f == NULL`, `!p->f`, `if (p->f)`) becomes `HPyField_IsNull`. */
function planNullTest(cx: Context, plan: FunctionPlan, a: Access): boolean {
  if (plan.role === 'legacy-traverse') return false;
  const { api } = cx;
  const n = a.node;
  const p = n.parent;
  if (!p) return false;
  let target: SyntaxNode | null = null;
  let isNull = false;
  const op = p.childForFieldName('operator')?.type;
  if (p.type === 'binary_expression' && (op === '==' || op === '!=')) {
    const other = p.childForFieldName('left')?.id === n.id ? p.childForFieldName('right') : p.childForFieldName('left');
    if (other && /^(NULL|0)$/.test(api.text(other))) {
      target = p;
      isNull = op === '==';
    }
  } else if (p.type === 'unary_expression' && op === '!') {
    target = p;
    isNull = true;
  } else if (isTruthTested(n)) {
    target = n;
  }
  if (!target) return false;
  const acc = api.text(n);
  cx.taken.add(n.id);
  cx.nullTests.add(n.id);
  const text = `${isNull ? '' : '!'}HPyField_IsNull(${acc})`;
  cx.units.push({ keys: new Set([a.key]), sites: [{ start: target.startIndex, end: target.endIndex, note: `the NULL test of '${acc}' becomes 'HPyField_IsNull'`, build: () => text }] });
  return true;
}

/** Is the value of `n` only tested for truth (a condition, or an operand of `&&`, `||`)? */
function isTruthTested(n: SyntaxNode): boolean {
  const p = n.parent;
  if (!p) return false;
  if (p.type === 'parenthesized_expression') {
    const g = p.parent;
    return !!g && ['if_statement', 'while_statement', 'do_statement'].includes(g.type) && g.childForFieldName('condition')?.id === p.id;
  }
  if (p.type === 'binary_expression') return ['&&', '||'].includes(p.childForFieldName('operator')?.type ?? '');
  if (p.type === 'conditional_expression' || p.type === 'for_statement') return p.childForFieldName('condition')?.id === n.id;
  return false;
}

/** `Py_INCREF(p->f); return p->f;` and `return Py_NewRef(p->f);` return a loaded handle. */
function planLoadReturn(cx: Context, plan: FunctionPlan, a: Access): boolean {
  if (plan.role !== 'context' || (!a.owner && !a.seam)) return false;
  const { api } = cx;
  const call = a.node.parent?.type === 'argument_list' ? a.node.parent.parent : null;
  const callee = call ? calleeName(call) ?? '' : '';
  if (!call || callArguments(call).length !== 1) return false;
  const acc = api.text(a.node);
  const nullable = callee.startsWith('Py_X');
  // HPy_FromPyObject makes a new handle of a PyObject * kept for legacy code (HPy_NULL from NULL).
  const fieldLoad = a.seam ? `HPy_FromPyObject(ctx, ${acc})` : `HPyField_Load(ctx, ${a.owner}, ${acc})`;
  const load = nullable && !a.seam ? `HPyField_IsNull(${acc}) ? HPy_NULL : ${fieldLoad}` : fieldLoad;
  const note = `returns the member as a new handle (${a.seam ? 'HPy_FromPyObject' : 'HPyField_Load'})${nullable ? ', or HPy_NULL when it is not set' : ''}`;
  if (/^Py_X?NewRef$/.test(callee) && call.parent?.type === 'return_statement') {
    cx.taken.add(a.node.id);
    cx.units.push({ keys: new Set([a.key]), sites: [{ start: call.startIndex, end: call.endIndex, note, build: () => load }] });
    return true;
  }
  const stmt = call.parent;
  if (!/^Py_X?INCREF$/.test(callee) || stmt?.type !== 'expression_statement' || !isListed(stmt)) return false;
  const ret = nextStatement(stmt);
  const value = ret?.type === 'return_statement' ? ret.namedChildren.find((c) => c.type !== 'comment') : null;
  if (!ret || !value || squash(api.text(value)) !== squash(acc)) return false;
  for (const other of plan.accesses) if (other.node.startIndex >= stmt.startIndex && other.node.endIndex <= ret.endIndex) cx.taken.add(other.node.id);
  cx.units.push({ keys: new Set([a.key]), sites: [statementsSite(cx, stmt, ret, [`return ${load};`], note)] });
  return true;
}

/** A release of a member in an impl without `ctx` (`HPy_tp_destroy`): HPy releases fields itself. */
function planRelease(cx: Context, plan: FunctionPlan, a: Access): boolean {
  if (plan.role !== 'no-context') return false;
  const call = a.node.parent?.type === 'argument_list' ? a.node.parent.parent : null;
  const stmt = call?.parent;
  if (!call || !/^(Py_CLEAR|Py_X?DECREF)$/.test(calleeName(call) ?? '') || stmt?.type !== 'expression_statement' || !isListed(stmt)) return false;
  cx.taken.add(a.node.id);
  const span = wholeLines(cx.file.text, stmt);
  plan.released.push({ span, key: a.key });
  cx.units.push({ keys: new Set([a.key]), sites: [{ ...span, note: `'${cx.api.text(call)}' goes: HPy releases HPyField members itself`, build: () => '' }] });
  return true;
}

/** Statements `first`..`last` of one block: the scope of the handles loaded for some reads. */
interface Range extends Span {
  first: SyntaxNode;
  last: SyntaxNode;
  reads: Access[];
}

/**
 * Reads load the member before their statement and close it after (and before every exit). The
 * reads of several statements of one block share one load when nothing between them writes the
 * member; a statement inside another one that reads it shares the outer one's.
 */
function planReads(cx: Context, plan: FunctionPlan, reads: Access[]): void {
  const ranges: Range[] = [];
  for (const r of reads) {
    const stmt = listedStatement(r.node);
    if (!stmt) {
      block(cx, r, `'${cx.api.text(r.node)}' is read outside a statement: left alone`, ['load it by hand'], readForm(cx, r));
      continue;
    }
    const g = ranges.find((x) => x.first.id === stmt.id);
    if (g) g.reads.push(r);
    else ranges.push({ first: stmt, last: stmt, start: stmt.startIndex, end: stmt.endIndex, reads: [r] });
  }
  ranges.sort((x, y) => x.start - y.start || y.end - x.end);
  const merged: Range[] = [];
  for (const g of ranges) {
    const outer = merged.find((m) => m.start <= g.start && g.end <= m.end);
    const prev = merged[merged.length - 1];
    if (outer) outer.reads.push(...g.reads);
    else if (prev && prev.last.parent?.id === g.first.parent?.id && !writtenBetween(cx, plan, prev, g)) {
      prev.last = g.last;
      prev.end = g.end;
      prev.reads.push(...g.reads);
    } else merged.push(g);
  }
  for (const g of merged) planReadRange(cx, plan, g);
}

/** Is a member read in `b` written (or otherwise taken) between the start of `a` and the end of `b`? */
function writtenBetween(cx: Context, plan: FunctionPlan, a: Range, b: Range): boolean {
  const keys = new Set([...a.reads, ...b.reads].map((r) => r.key));
  return plan.accesses.some((o) => keys.has(o.key) && o.node.startIndex >= a.start && o.node.endIndex <= b.end && cx.taken.has(o.node.id) && !cx.nullTests.has(o.node.id));
}

/** One handle loaded for a range of statements. */
interface Loaded {
  key: string;
  owner: string;
  name: string;
  /** The range also tests the member for NULL: load only when set. */
  guarded: boolean;
  access: string;
  seam: boolean;
}

function planReadRange(cx: Context, plan: FunctionPlan, range: Range): void {
  const { api } = cx;
  const why = rangeProblem(cx, plan, range);
  if (why) {
    for (const r of range.reads) block(cx, r, why.message(api.text(r.node)), why.notes, why.suggestion(r));
    return;
  }
  const loaded = new Map<string, Loaded>();
  for (const r of range.reads) {
    const id = `${r.owner}\u0000${r.key}`;
    cx.taken.add(r.node.id);
    if (loaded.has(id)) continue;
    const guarded = plan.accesses.some((o) => o.key === r.key && cx.nullTests.has(o.node.id) && o.node.startIndex >= range.start && o.node.endIndex <= range.end);
    loaded.set(id, { key: r.key, owner: r.owner!, name: freshName(plan, r.field), guarded, access: api.text(r.node), seam: r.seam });
  }
  const all = [...loaded.values()];
  const sites: Site[] = range.reads.map((r) => ({ start: r.node.startIndex, end: r.node.endIndex, note: '', build: () => loaded.get(`${r.owner}\u0000${r.key}`)!.name }));
  sites.push(...exitSites(cx, plan, range, all));
  sites.push(rangeSite(cx, plan, range, all));
  cx.units.push({ keys: new Set(range.reads.map((r) => r.key)), sites });
}

/** The statements of a range. */
function statementsOf(range: Range): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let n: SyntaxNode | null = range.first; n && n.startIndex <= range.last.startIndex; n = n.nextNamedSibling) out.push(n);
  return out;
}

/** Why the reads of a range cannot be given a load and closes, if they cannot. */
function rangeProblem(cx: Context, plan: FunctionPlan, range: Range): { message: (acc: string) => string; notes: string[]; suggestion: (r: Access) => string } | null {
  const { api } = cx;
  const stmts = statementsOf(range);
  if (stmts.some((st) => st.type === 'labeled_statement' || api.matches(LABELS, st).length > 0)) {
    return { message: (acc) => `'${acc}' is read in a statement that holds a label: left alone`, notes: ['a jump to the label would skip the load; load the member by hand'], suggestion: (r) => readForm(cx, r) };
  }
  if (range.first.parent?.type === 'case_statement') {
    return { message: (acc) => `'${acc}' is read directly under a 'case' label: left alone`, notes: ['put the statements of the case in braces and run hpy-migrate again'], suggestion: () => BRACES_FORM };
  }
  if (stmts.some((st) => st.type.startsWith('preproc'))) return { message: (acc) => `'${acc}' is read inside a preprocessor conditional: left alone`, notes: ['load the member by hand'], suggestion: (r) => readForm(cx, r) };
  for (const r of range.reads) {
    const p = r.node.parent;
    if (p?.type === 'return_statement') {
      return { message: (acc) => `'return ${acc};' hands out the member without a new reference: left alone`, notes: [`if the caller gets a new reference, return 'HPyField_Load(ctx, ${r.owner}, ${api.text(r.node)})'; otherwise load the member where it is used and close it there`], suggestion: (x) => `'return ${x.seam ? `HPy_FromPyObject(ctx, ${api.text(x.node)})` : `HPyField_Load(ctx, ${x.owner ?? 'h'}, ${api.text(x.node)})`};' if the caller gets a new reference; else the member loaded where it is used, closed there` };
    }
    let copied = p?.type === 'init_declarator' && p.childForFieldName('value')?.id === r.node.id ? p.childForFieldName('declarator') : p?.type === 'assignment_expression' && p.childForFieldName('right')?.id === r.node.id ? p.childForFieldName('left') : null;
    while (copied?.type === 'pointer_declarator') copied = copied.childForFieldName('declarator');
    if (copied && (copied.type !== 'identifier' || isHandleDeclaration(plan.decls.get(api.text(copied))))) {
      return { message: (acc) => `'${acc}' is copied into a variable: left alone`, notes: [`write '${api.text(copied)} = HPyField_Load(ctx, ${r.owner}, ${api.text(r.node)});' and close it after its last use, on every path`], suggestion: (x) => `'${api.text(copied)} = ${x.seam ? `HPy_FromPyObject(ctx, ${api.text(x.node)})` : `HPyField_Load(ctx, ${x.owner ?? 'h'}, ${api.text(x.node)})`};' ('${api.text(copied)}' an HPy), then 'HPy_Close(ctx, ${api.text(copied)});' after its last use, on every path` };
    }
  }
  if (writtenBetween(cx, plan, range, range)) return { message: (acc) => `'${acc}' is read and written in one statement: left alone`, notes: ['split the statement, or convert it by hand'], suggestion: () => 'the read and the write of the member in statements of their own, then run hpy-migrate again' };
  return null;
}

/** The range with its loads before it and its closes after it (or before its final `return`). */
function rangeSite(cx: Context, plan: FunctionPlan, range: Range, all: Loaded[]): Site {
  const { api, file } = cx;
  const indent = indentationAt(file.text, range.start);
  const names = all.map((l) => `'${l.access}'`).join(', ');
  const note = `${names} ${all.length > 1 ? 'are' : 'is'} loaded into a handle for ${range.first.id === range.last.id ? 'this statement' : 'these statements'} and closed after ${range.first.id === range.last.id ? 'it' : 'them'}: check that nothing in between changes the member${all.some((l) => l.guarded) ? ' (loaded only when set)' : ''}`;
  const site: Site = {
    start: range.start,
    end: range.end,
    note,
    build: (render) => {
      const lines = all.map(loadLine);
      if (range.last.type !== 'return_statement') {
        lines.push(render(range, site), ...all.map(closeLine));
      } else {
        if (range.first.id !== range.last.id) lines.push(render({ start: range.start, end: range.last.startIndex }, site).replace(/\s+$/, ''));
        lines.push(...returnLines(cx, plan, range.last, all, render, true));
      }
      return lines.join(`${api.eol}${indent}`);
    },
  };
  return site;
}

function loadLine(l: Loaded): string {
  if (l.seam) return `HPy ${l.name} = HPy_FromPyObject(ctx, ${l.access});`;
  const load = `HPyField_Load(ctx, ${l.owner}, ${l.access})`;
  return `HPy ${l.name} = ${l.guarded ? `HPyField_IsNull(${l.access}) ? HPy_NULL : ${load}` : load};`;
}

function closeLine(l: Loaded): string {
  return l.guarded ? `if (!HPy_IsNull(${l.name})) HPy_Close(ctx, ${l.name});` : `HPy_Close(ctx, ${l.name});`;
}

/** `return e;` with the loaded handles closed first (through a new local when `e` reads them). */
function returnLines(cx: Context, plan: FunctionPlan, ret: SyntaxNode, all: Loaded[], render: Render, always: boolean): string[] {
  const value = ret.namedChildren.find((c) => c.type !== 'comment');
  const closes = all.map(closeLine);
  if (!value) return [...closes, cx.api.text(ret)];
  const reads = always || plan.accesses.some((a) => cx.taken.has(a.node.id) && a.node.startIndex >= value.startIndex && a.node.endIndex <= value.endIndex && all.some((l) => l.key === a.key));
  if (!reads) return [...closes, `return ${render(value)};`];
  const result = freshName(plan, 'result');
  return [`${returnTypeOf(cx, plan.fn)} ${result} = ${render(value)};`, ...closes, `return ${result};`];
}

/** Closes before each `return`, `goto`, `break` or `continue` that leaves the range. */
function exitSites(cx: Context, plan: FunctionPlan, range: Range, all: Loaded[]): Site[] {
  const { api, file } = cx;
  const sites: Site[] = [];
  const stmts = statementsOf(range);
  const labels = new Set(stmts.flatMap((st) => api.matches(LABELS, st).map((m) => api.text(m.label))));
  const exits = stmts.flatMap((st) => [...api.matches(RETURNS, st), ...api.matches(JUMPS, st)].map((m) => m.stmt));
  for (const exit of exits) {
    if (exit.id === range.last.id && exit.type === 'return_statement') continue;
    if (!leaves(api, exit, range, labels)) continue;
    const listed = isListed(exit);
    const indent = indentationAt(file.text, exit.startIndex);
    // A lone body on its own line (`if (c)\n    return x;`) gets braces around it, on their own lines.
    const before = exit.previousSibling;
    const own = !listed && before && /^[ \t]*\r?\n[ \t]*$/.test(file.text.slice(before.endIndex, exit.startIndex));
    const site: Site = {
      start: own ? before.endIndex : exit.startIndex,
      end: exit.endIndex,
      note: 'the loaded handles are closed before leaving',
      build: (render) => {
        const lines = exit.type === 'return_statement' ? returnLines(cx, plan, exit, all, render, false) : [...all.map(closeLine), render(exit, site)];
        if (listed) return lines.join(`${api.eol}${indent}`);
        if (!own) return `{ ${lines.join(' ')} }`;
        const outer = indentationAt(file.text, before.startIndex);
        return ` {${api.eol}${indent}${lines.join(`${api.eol}${indent}`)}${api.eol}${outer}}`;
      },
    };
    sites.push(site);
  }
  return sites;
}

/** Does the jump leave the range (a `return`, a `goto` to a label outside, a `break`/`continue` of an outer loop)? */
function leaves(api: RewriteApi, jump: SyntaxNode, range: Range, labels: Set<string>): boolean {
  if (jump.type === 'return_statement') return true;
  if (jump.type === 'goto_statement') return !labels.has(api.text(jump.childForFieldName('label')!));
  const targets = jump.type === 'break_statement' ? ['for_statement', 'while_statement', 'do_statement', 'switch_statement'] : ['for_statement', 'while_statement', 'do_statement'];
  for (let n = jump.parent; n && n.startIndex >= range.start; n = n.parent) {
    if (targets.includes(n.type)) return n.endIndex > range.end;
  }
  return true;
}

/** The declaration of the member declarations: `PyObject *f;` becomes `HPyField f;`. */
function planDeclarations(cx: Context, s: ObjectStruct): void {
  if (!s.local) return;
  const { api } = cx;
  for (const decl of new Set(s.local.objectFieldNodes.values())) {
    const declarators = decl.childrenForFieldName('declarator');
    const names = declarators.map((d) => api.text(d.childForFieldName('declarator') ?? d));
    const kept = names.filter((n) => cx.seams.has(keyOf(s, n)));
    if (kept.length > 0) {
      // Declared with a member that stays `PyObject *`: the others stay too.
      const others = names.filter((n) => !kept.includes(n));
      if (others.length > 0) {
        const notes = [`declare them on lines of their own ('PyObject *${kept[0]};'), then run hpy-migrate again`];
        notes.push(`or write 'HPyField ${others[0]};' on a line of its own by hand`);
        cx.units.push({ keys: new Set(others.map((n) => keyOf(s, n))), sites: [], blocked: true, finding: { target: decl, message: `${others.map((n) => `'${n}'`).join(', ')} ${others.length > 1 ? 'are' : 'is'} declared with ${kept.map((n) => `'${n}'`).join(', ')}, which legacy code keeps 'PyObject *': left alone`, notes, suggestion: `'PyObject *${kept[0]};' and '${others.map((n) => `PyObject *${n};`).join(' ')}' on lines of their own, then run hpy-migrate again` } });
      }
      continue;
    }
    const type = decl.childForFieldName('type')!;
    const end = declarators[declarators.length - 1].endIndex;
    // Keep a trailing comment in its column: `PyObject *f;   /* ... */`.
    const tail = /^;([ \t]+)(?=\/[*/])/.exec(cx.file.text.slice(end));
    const head = `HPyField ${names.join(', ')}`;
    const text = tail ? `${head};${' '.repeat(Math.max(1, end - type.startIndex + tail[1].length - head.length))}` : head;
    const site: Site = { start: type.startIndex, end: tail ? end + tail[0].length : end, note: `'${names.join("', '")}' ${names.length > 1 ? 'become HPyFields' : 'becomes an HPyField'}: read with HPyField_Load, written with HPyField_Store, visited by the traverse`, build: () => text };
    cx.units.push({ keys: new Set(names.map((n) => keyOf(s, n))), sites: [site] });
  }
}

/** Is the statement directly in a block (or a case), where it may become several statements? */
function isListed(stmt: SyntaxNode): boolean {
  return stmt.parent?.type === 'compound_statement' || stmt.parent?.type === 'case_statement';
}

/** The innermost statement around `node` that sits directly in a block. */
function listedStatement(node: SyntaxNode): SyntaxNode | null {
  for (let n: SyntaxNode | null = node; n; n = n.parent) {
    if (n.type === 'function_definition') return null;
    if (isListed(n)) return n;
  }
  return null;
}

/** The statement before `stmt` in its block, skipping comments. */
function previousStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.previousNamedSibling;
  while (n && n.type === 'comment') n = n.previousNamedSibling;
  return n;
}

/** Is `stmt` the statement `NAME(arg);` with a callee matching `callee`? */
function macroCall(api: RewriteApi, stmt: SyntaxNode, callee: RegExp, arg: string): boolean {
  const call = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : null;
  if (call?.type !== 'call_expression' || !callee.test(calleeName(call) ?? '')) return false;
  const args = callArguments(call);
  return args.length === 1 && squash(api.text(args[0])) === squash(arg);
}

/** Text without spaces and outer parentheses, to compare expressions. */
function squash(text: string): string {
  let t = text.replace(/\s+/g, '');
  while (/^\((?:[^()]|\([^()]*\))*\)$/.test(t)) t = t.slice(1, -1);
  return t;
}

/** The statements `start`..`end` (siblings) replaced by `lines`, comments between them kept first. */
function statementsSite(cx: Context, start: SyntaxNode, end: SyntaxNode, lines: string[], note: string, kept: SyntaxNode[] = []): Site {
  const { api, file } = cx;
  const comments: string[] = [];
  for (let n = start.nextNamedSibling; n && n.startIndex < end.startIndex; n = n.nextNamedSibling) {
    if (n.type === 'comment' || kept.some((k) => k.id === n!.id)) comments.push(api.text(n));
  }
  const indent = indentationAt(file.text, start.startIndex);
  const text = [...comments, ...lines].join(`${api.eol}${indent}`);
  return { start: start.startIndex, end: end.endIndex, note, build: () => text };
}

/**
 * Removed lines right after a `{` take the blank line that follows them along (the declarations
 * of a block followed by a blank line, `{ PyObject *old; <blank> ...`): no blank line opens the block.
 */
function withBlankAfterBrace(text: string, span: Span): Span {
  const before = text.slice(0, span.start);
  if (span.start === 0 || !/\{[ \t]*\r?\n$/.test(before)) return span;
  const blank = /^[ \t]*\r?\n/.exec(text.slice(span.end));
  return blank ? { start: span.start, end: span.end + blank[0].length } : span;
}

/** The lines a node stands on, line break included, when it is alone on them; else the node. */
function wholeLines(text: string, node: SyntaxNode): Span {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const rest = /^[ \t]*(\r?\n)/.exec(text.slice(node.endIndex));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, node.startIndex))) return { start: lineStart, end: node.endIndex + rest[0].length };
  return { start: node.startIndex, end: node.endIndex };
}

const C_WORDS = new Set(['auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'int', 'long', 'register', 'return', 'short', 'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while', 'ctx']);

/** A new local name for the function: `base`, else `base_h`, `base_h2`, ... */
function freshName(plan: FunctionPlan, base: string): string {
  const candidates = [base, `${base}_h`];
  for (let i = 2; ; i++) {
    const name = candidates.shift() ?? `${base}_h${i}`;
    if (!plan.names.has(name) && !C_WORDS.has(name)) {
      plan.names.add(name);
      return name;
    }
  }
}

/** The return type of a function as written (`HPy`, `int`, `const char *`). */
function returnTypeOf(cx: Context, fn: SyntaxNode): string {
  let stars = '';
  for (let d = fn.childForFieldName('declarator'); d && d.type === 'pointer_declarator'; d = d.childForFieldName('declarator')) stars += '*';
  const type = cx.api.text(fn.childForFieldName('type')!);
  return stars ? `${type} ${stars}` : type;
}

/** The members blocked by a finding, and those that share a unit with a blocked one. */
function blockedKeys(units: Unit[]): Set<string> {
  const blocked = new Set<string>();
  for (const u of units) if (u.blocked) for (const k of u.keys) blocked.add(k);
  for (let changed = true; changed; ) {
    changed = false;
    for (const u of units) {
      if (![...u.keys].some((k) => blocked.has(k))) continue;
      for (const k of u.keys) {
        if (!blocked.has(k)) {
          blocked.add(k);
          changed = true;
        }
      }
    }
  }
  return blocked;
}

function live(u: Unit, blocked: Set<string>): boolean {
  return !u.blocked && ![...u.keys].some((k) => blocked.has(k));
}

/** Reports the uses left alone. */
function report(cx: Context): void {
  for (const u of cx.units) if (u.finding) cx.api.report(u.finding.target, u.finding.message, { notes: u.finding.notes, suggestion: u.finding.suggestion });
}

/** Records the outermost sites of the live units as edits, nested ones rendered into them. */
function emit(cx: Context, blocked: Set<string>): void {
  const { api } = cx;
  const unique = new Map<string, Site>();
  for (const u of cx.units) if (live(u, blocked)) for (const s of u.sites) if (!unique.has(`${s.start}:${s.end}`)) unique.set(`${s.start}:${s.end}`, s);
  const sites = [...unique.values()].sort((a, b) => a.start - b.start || b.end - a.end);
  const render: Render = (target, self) => {
    const span = 'startIndex' in target ? { start: target.startIndex, end: target.endIndex } : target;
    let out = '';
    let at = span.start;
    for (const s of outermost(sites.filter((x) => x !== self && x.start >= span.start && x.end <= span.end && x.start >= at))) {
      if (s.start < at) continue;
      out += api.text({ start: at, end: s.start }) + s.build(render);
      at = s.end;
    }
    return out + api.text({ start: at, end: span.end });
  };
  for (const s of outermost(sites)) api.replace(s, s.build(render), { note: s.note });
}

/** Two units whose sites overlap without nesting cannot both be applied: both are reported. */
function resolveOverlaps(cx: Context): void {
  const owned = cx.units.filter((u) => !u.blocked).flatMap((u) => u.sites.map((site) => ({ site, unit: u })));
  owned.sort((a, b) => a.site.start - b.site.start || b.site.end - a.site.end);
  for (let i = 0; i < owned.length; i++) {
    for (let j = i + 1; j < owned.length && owned[j].site.start < owned[i].site.end; j++) {
      const [a, b] = [owned[i], owned[j]];
      if (b.site.end <= a.site.end || a.unit === b.unit) continue;
      for (const u of [a.unit, b.unit]) {
        const at = u === a.unit ? a.site : b.site;
        u.finding ??= { target: { start: at.start, end: at.end }, message: 'two rewrites of members overlap here: left alone', notes: ['convert this part by hand'], suggestion: "this part by hand: 'HPy v = HPyField_Load(ctx, owner, p->f);' to read a member (closed after use), 'HPyField_Store(ctx, owner, &p->f, v);' to write it" };
        u.blocked = true;
      }
    }
  }
}

/** Sites not inside an earlier one (sorted by start, widest first). */
function outermost(sites: Site[]): Site[] {
  const out: Site[] = [];
  for (const s of sites) {
    const last = out[out.length - 1];
    if (!last || s.start >= last.end) out.push(s);
  }
  return out;
}

const VISITS = '(call_expression function: (identifier) @fn (#eq? @fn "Py_VISIT") arguments: (argument_list . (_) @arg .)) @call';
const HPYDEF_ARRAYS = '(declaration type: (type_identifier) @type (#eq? @type "HPyDef") declarator: (init_declarator value: (initializer_list) @list) @init) @decl';

/** Visits in the traverse impls, missing visits, and a traverse for types that have none. */
function planTraverse(cx: Context, plans: FunctionPlan[], blocked: Set<string>): void {
  const traverses = plans.filter((p) => p.role === 'traverse');
  for (const t of traverses) planVisits(cx, t, blocked);
  for (const s of cx.structs) {
    const fields = s.objectFields.filter((f) => !blocked.has(keyOf(s, f)) && !cx.seams.has(keyOf(s, f)));
    if (fields.length === 0) continue;
    const t = traverses.find((p) => traverseStruct(cx, p) === s);
    if (t) addMissingVisits(cx, t, s, fields);
    else generateTraverse(cx, s, fields);
  }
}

/** The object struct a traverse impl walks (from its accesses or its struct pointer local). */
function traverseStruct(cx: Context, t: FunctionPlan): ObjectStruct | undefined {
  if (t.accesses.length > 0) return t.accesses[0].struct;
  for (const d of t.decls.values()) {
    const s = d.pointers === 1 ? structNamed(cx.structs, d.type) : undefined;
    if (s) return s;
  }
  return undefined;
}

/** `Py_VISIT(p->f)` becomes `HPy_VISIT(&p->f)`; `Py_VISIT(Py_TYPE(p))` goes. */
function planVisits(cx: Context, t: FunctionPlan, blocked: Set<string>): void {
  const { api } = cx;
  const renames = renameSites(cx, t);
  for (const { call, arg } of api.matches(VISITS, t.body)) {
    const a = t.accesses.find((x) => x.node.id === unparenthesize(arg).id);
    if (a?.seam) {
      cx.api.report(call, `'${api.text(call)}' visits '${api.text(a.node)}', which legacy code keeps 'PyObject *': an HPy traverse visits HPyFields only`, {
        notes: ["keep the type's tp_traverse (and tp_dealloc, tp_clear) on the C API in '.legacy_slots' (pytype-spec does so in hybrid), or port the legacy functions that use the member"],
        suggestion: `list the C-API traverse as '{Py_tp_traverse, f}' in '.legacy_slots' with tp_dealloc and tp_clear, instead of this HPy_tp_traverse`,
      });
      continue;
    }
    if (a && !blocked.has(a.key)) {
      const text = `HPy_VISIT(&${api.text(a.node)})`;
      cx.units.push({ keys: new Set([a.key]), sites: [{ start: call.startIndex, end: call.endIndex, note: `'${api.text(call)}' becomes '${text}'`, build: () => text }, ...renames] });
      continue;
    }
    const inner = unparenthesize(arg);
    const stmt = call.parent;
    if (inner.type === 'call_expression' && calleeName(inner) === 'Py_TYPE' && stmt?.type === 'expression_statement' && isListed(stmt)) {
      const span = wholeLines(cx.file.text, stmt);
      cx.units.push({ keys: new Set(), sites: [{ ...span, note: `'${api.text(call)}' goes: an HPy traverse never visits the type`, build: () => '' }] });
    }
  }
}

/** `HPy_VISIT` needs the parameters to be named `visit` and `arg`: renames them (and their uses). */
function renameSites(cx: Context, t: FunctionPlan): Site[] {
  const { api } = cx;
  const params = [...t.decls.values()].filter((d) => d.param);
  const visit = params.find((d) => d.type === 'HPyFunc_visitproc');
  const arg = params.find((d) => d !== visit && d.type === 'void' && d.pointers === 1 && d.declaration.startIndex > (visit?.declaration.startIndex ?? 0));
  const sites: Site[] = [];
  for (const [d, name] of [[visit, 'visit'], [arg, 'arg']] as const) {
    if (!d || d.name === name || t.names.has(name)) continue;
    for (const m of api.matches(IDENTIFIERS, t.fn)) {
      if (api.text(m.id) === d.name) sites.push({ start: m.id.startIndex, end: m.id.endIndex, note: `'${d.name}' is renamed '${name}': HPy_VISIT uses that name`, build: () => name });
    }
  }
  return sites;
}

/** Each HPyField must be visited: HPy releases the fields through the traverse. */
function addMissingVisits(cx: Context, t: FunctionPlan, s: ObjectStruct, fields: string[]): void {
  const { api, file } = cx;
  const body = api.text(t.body);
  const visited = (f: string) => t.accesses.some((a) => a.field === f && a.struct === s && isVisited(a)) || new RegExp(`HPy_VISIT\\s*\\(\\s*&[^;]*->\\s*${f}\\s*\\)`).test(body);
  const missing = fields.filter((f) => !visited(f));
  if (missing.length === 0) return;
  const local = [...t.decls.values()].find((d) => !d.param && d.pointers === 1 && structNamed(cx.structs, d.type) === s);
  const object = [...t.decls.values()].find((d) => d.param && d.type === 'void');
  const ptr = local ? local.name : `((${s.name} *)${object?.name ?? 'object'})`;
  const last = t.body.namedChildren.filter((c) => c.type !== 'comment').pop();
  const at = last?.type === 'return_statement' ? last.startIndex : t.body.endIndex - 1;
  const lineStart = file.text.lastIndexOf('\n', at - 1) + 1;
  const indent = last ? indentationAt(file.text, last.startIndex) : '    ';
  const text = missing.map((f) => `${indent}HPy_VISIT(&${ptr}->${f});${api.eol}`).join('');
  const site: Site = { start: lineStart, end: lineStart, note: `${missing.map((f) => `'${f}'`).join(', ')} ${missing.length > 1 ? 'were' : 'was'} not visited: HPy releases HPyField members through the traverse, so each one is visited`, build: () => text };
  cx.units.push({ keys: new Set(missing.map((f) => keyOf(s, f))), sites: [site, ...renameSites(cx, t)] });
}

/** A struct with HPyFields and no traverse gets one, listed in its type's defines. */
function generateTraverse(cx: Context, s: ObjectStruct, fields: string[]): void {
  const { api, file } = cx;
  const spec = cx.specs.find((t) => t.kind === 'HPyType_Spec' && specOfStruct(t, s));
  const where = s.local ? s.local.objectFieldNodes.get(fields[0])! : null;
  // The file of the type spec adds the traverse (a header's struct is ported in the header).
  if (!spec) return;
  const array = definesArray(cx, spec);
  if (!array || /\bHPy_tp_traverse\b/.test(file.text)) {
    api.report(where ?? spec.declaration, `'${s.name}' gets HPyField members, but no HPy_tp_traverse impl of this file visits them`, {
      notes: [traverseNote(s, fields)],
      suggestion: `${fields.map((f) => `'HPy_VISIT(&p->${f});'`).join(', ')} in the HPy_tp_traverse impl of '${spec.name}' (p the '${s.name} *' of its 'void *object')`,
    });
    return;
  }
  const name = unusedWord(file.text, `${spec.name.replace(/_spec$/, '') || s.name}_traverse`);
  const eol = api.eol;
  const tab = indentUnit(cx);
  const header = headerOnOwnLine(cx) ? `static int${eol}${name}` : `static int ${name}`;
  const lines = [
    `${header}(void *object, HPyFunc_visitproc visit, void *arg)`,
    '{',
    `${tab}${s.name} *self = (${s.name} *)object;`,
    ...fields.map((f) => `${tab}HPy_VISIT(&self->${f});`),
    `${tab}return 0;`,
    '}',
    '',
    `HPyDef_SLOT_IMPL(${name}_slot, ${name}, HPy_tp_traverse)`,
    '',
    '',
  ];
  const lineStart = file.text.lastIndexOf('\n', array.decl.startIndex - 1) + 1;
  const keys = new Set(fields.map((f) => keyOf(s, f)));
  const fnText = lines.join(eol);
  const sites: Site[] = [{ start: lineStart, end: lineStart, note: `'${s.name}' gets an HPy_tp_traverse: HPy releases HPyField members through it; add HPy_TPFLAGS_HAVE_GC to '${spec.name}' if they can form reference cycles`, build: () => fnText }];
  const entry = definesEntry(cx, array.list, `&${name}_slot`);
  if (entry) sites.push(entry);
  cx.units.push({ keys, sites });
}

function traverseNote(s: ObjectStruct, fields: string[]): string {
  return `write 'static int T_traverse(void *object, HPyFunc_visitproc visit, void *arg)' visiting ${fields.map((f) => `'HPy_VISIT(&((${s.name} *)object)->${f})'`).join(', ')}, register it with 'HPyDef_SLOT_IMPL(T_traverse_slot, T_traverse, HPy_tp_traverse)' and list it in the type's defines: HPy releases HPyField members through it`;
}

/** The `HPyDef *X[] = {...}` array named by the spec's `.defines`. */
function definesArray(cx: Context, spec: TypeSpec): { decl: SyntaxNode; list: SyntaxNode } | null {
  const { api } = cx;
  const pair = spec.fields.get('defines');
  const value = pair?.childForFieldName('value');
  if (!value || value.type !== 'identifier') return null;
  for (const m of api.matches(HPYDEF_ARRAYS)) {
    let d: SyntaxNode | null = m.init.childForFieldName('declarator');
    while (d && d.type !== 'identifier') d = d.childForFieldName('declarator');
    if (d && api.text(d) === api.text(value)) return { decl: m.decl, list: m.list };
  }
  return null;
}

/** Inserts `entry,` before the array's terminating `NULL`. */
function definesEntry(cx: Context, list: SyntaxNode, entry: string): Site | null {
  const { api, file } = cx;
  const end = list.namedChildren.find((c) => /^(NULL|0)$/.test(api.text(c)));
  if (!end) return null;
  const lineStart = file.text.lastIndexOf('\n', end.startIndex - 1) + 1;
  const ownLine = /^[ \t]*$/.test(file.text.slice(lineStart, end.startIndex));
  const text = ownLine ? `${entry},${api.eol}${indentationAt(file.text, end.startIndex)}` : `${entry}, `;
  return { start: end.startIndex, end: end.startIndex, note: `'${entry}' is listed in the type's defines`, build: () => text };
}

/** `base`, or `base2`, ...: the first that is not a word of `text`. */
function unusedWord(text: string, base: string): string {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? base : `${base}${i}`;
    if (!new RegExp(`\\b${candidate}\\b`).test(text)) return candidate;
  }
}

/** The file's indentation step (from its first indented function body), else four spaces. */
function indentUnit(cx: Context): string {
  const m = /\n\{\r?\n([ \t]+)\S/.exec(cx.file.text) ?? /\)\s*\{\r?\n([ \t]+)\S/.exec(cx.file.text);
  return m ? m[1] : '    ';
}

/** Does the file write function names at the start of the line after their return type? */
function headerOnOwnLine(cx: Context): boolean {
  const own = (cx.file.text.match(/^static [\w *]+\r?\n\w+\(/gm) ?? []).length;
  const same = (cx.file.text.match(/^static [\w *]+ \**\w+\(/gm) ?? []).length;
  return own > same;
}
