/**
 * Turns `PyType_Spec` types and static `PyTypeObject`s into an `HPyType_Spec` with `HPyDef`
 * slots, members and get-sets, and gives the slot functions their HPy signatures.
 *
 * ## Why
 * A universal HPy module has no `PyTypeObject`, `PyType_Slot`, `PyMemberDef` or `PyGetSetDef`
 * (the types are incomplete there): a type is an `HPyType_Spec` whose `defines` list the slots
 * (`HPyDef_SLOT`), methods, members (`HPyDef_MEMBER`) and get-sets (`HPyDef_GET`/`SET`/`GETSET`),
 * and every slot function takes `HPyContext *ctx` and handles (porting guide, "Porting types":
 * https://docs.hpyproject.org/en/latest/porting-guide.html; `hpy/hpydef.h`, `hpy/hpytype.h`).
 * HPy allocates and frees the objects itself, so `tp_alloc`, `tp_free` and `tp_clear` go, and
 * `tp_dealloc` becomes an `HPy_tp_destroy` that releases native resources only.
 *
 * ## Before
 * ```c
 * typedef struct {
 *     PyObject_HEAD
 *     long count;
 * } CounterObject;
 *
 * static PyObject *
 * Counter_repr(CounterObject *self)
 * {
 *     return PyUnicode_FromFormat("Counter(%ld)", self->count);
 * }
 *
 * static PyMemberDef Counter_members[] = {
 *     {"count", T_LONG, offsetof(CounterObject, count), READONLY, "the count"},
 *     {NULL}
 * };
 *
 * static PyType_Slot Counter_slots[] = {
 *     {Py_tp_repr, (reprfunc)Counter_repr},
 *     {Py_tp_members, Counter_members},
 *     {0, NULL}
 * };
 *
 * static PyType_Spec Counter_spec = {
 *     "tally.Counter", sizeof(CounterObject), 0, Py_TPFLAGS_DEFAULT, Counter_slots
 * };
 * ```
 * ## After
 * ```c
 * typedef struct {
 *     PyObject_HEAD
 *     long count;
 * } CounterObject;
 *
 * static HPy
 * Counter_repr(HPyContext *ctx, HPy self)
 * {
 *     return PyUnicode_FromFormat("Counter(%ld)", ((CounterObject *)self)->count);
 * }
 *
 * HPyDef_MEMBER(Counter_count_member, "count", HPyMember_LONG, offsetof(CounterObject, count), .readonly = 1, .doc = "the count")
 *
 * HPyDef_SLOT_IMPL(Counter_repr_slot, Counter_repr, HPy_tp_repr)
 *
 * static HPyDef *Counter_defines[] = {
 *     &Counter_repr_slot,
 *     &Counter_count_member,
 *     NULL
 * };
 *
 * static HPyType_Spec Counter_spec = {
 *     .name = "tally.Counter",
 *     .basicsize = sizeof(CounterObject),
 *     .flags = HPy_TPFLAGS_DEFAULT,
 *     .defines = Counter_defines,
 * };
 * ```
 * ## Safety
 * safe: a type is converted whole or not at all, and only when every function it names is defined
 * in the same file and used nowhere but in the type's tables (HPy's definition macros declare the
 * impl `static`; a function without `static` gets it). Names stay: a slot function `f` becomes the
 * impl of `HPyDef_SLOT_IMPL(f_slot, f, HPy_xxx)`, a getter and setter keep theirs through
 * `HPyDef_GETSET_IMPL(<table>_<attr>_getset, ...)`, a member is `<table>_<attr>_member`, a
 * `PyType_Spec X_spec` stays `X_spec` with `X_defines`, a `PyTypeObject XType` becomes
 * `XType_spec` with `XType_defines`; the method table (already `HPyDef *[]`, pymethoddef) is
 * inlined into the defines and removed when nothing else uses it. Each slot function gets the exact
 * 0.9.0 impl signature, keeping its own parameter names (`int op` becomes `HPy_RichCmpOp op` and
 * `Py_LT`... become `HPy_LT`...; `tp_new`/`tp_init` get `const HPy *args, HPy_ssize_t nargs` and
 * keep the keyword dict). A parameter that was an object-struct pointer (`PointObject *self`)
 * becomes `HPy self` and its uses as a struct become the cast the old type implied, which
 * pyobject-head turns into `PointObject_AsStruct(ctx, self)`. In `tp_new`, `T *self =
 * (T *)type->tp_alloc(type, 0)` (or `PyObject_New(T, type)`) becomes `T *self; HPy h_self =
 * HPy_New(ctx, type, &self);`, its NULL tests `HPy_IsNull(h_self)`, and its uses as an object
 * (`(PyObject *)self`, `Py_DECREF(self)`, `return self`) `h_self`. The same holds for any other
 * function of the file that allocates an instance of a converted type from a `PyTypeObject *`
 * parameter (`vec2_alloc(PyTypeObject *type, ...)`, called by `tp_new` and by methods with the
 * object's type): the parameter becomes `HPy type` (in its prototypes too) and the function gets
 * `ctx` from missing-context (reported when that does not run). `tp_dealloc` loses what HPy now
 * does (`PyObject_GC_UnTrack`, `tp_free`, `PyObject_Del`, releasing object members, calling
 * `tp_clear`, the heap type's `Py_DECREF(Py_TYPE(self))`) and keeps its native work as an
 * `HPy_tp_destroy` impl (`void f(void *object)`); with nothing left it disappears, and so does
 * `tp_clear` (HPy synthesises it from `tp_traverse`). `tp_traverse` receives `void *object`, from
 * which the struct pointer is declared. `PyType_GenericNew` needs no impl when the type has a
 * `tp_init` (the inherited `object.__new__` allocates the same zeroed object and accepts the
 * arguments then); without one, a one-line impl calling `HPyType_GenericNew` is written. One
 * function serving two definitions of a type (`tp_repr` and `tp_str`) is the impl of the first and
 * is called by a one-line wrapper for the second: the macros declare one enum per impl name. Flags map
 * to `HPy_TPFLAGS_*` (`Py_TPFLAGS_HEAPTYPE` and `_HAVE_VERSION_TAG` are in `HPy_TPFLAGS_DEFAULT`).
 *
 * ## Limits
 * Reported (warning), and the whole type is left as it was (hybrid ABI can keep it through
 * `.legacy_slots` of a legacy type):
 * - a slot function that calls something no transform converts (`PyObject_GetIter`, a borrowed
 *   or stealing call, ...): its HPy signature would wrap a body left on the C API;
 * - slots without an HPy 0.9.0 counterpart (`tp_iter`, `tp_iternext`, `tp_getattro`,
 *   `tp_setattro`, `tp_descr_get`/`set`, `tp_del`, `am_*`), `tp_base`/`tp_bases` (type
 *   parameters), non-zero `tp_itemsize`, `tp_weaklistoffset`, `tp_dictoffset`,
 *   `tp_vectorcall_offset`, and the slots left to other work (`tp_call`, the buffer slots);
 * - a slot function defined in another file, called directly, used elsewhere, shared with another
 *   type, or with the wrong number of parameters; member types and flags HPy lacks; tables with
 *   preprocessor lines or initializers it cannot place; a method table still of `PyMethodDef`;
 * - a static type object used outside the module init function (`&XType` in a type test: the
 *   type then exists only as a handle, to be kept in an `HPyGlobal`);
 * - a `tp_dealloc` doing other C-API work (it belongs in `HPy_tp_finalize`), a `tp_new` whose
 *   allocation is not the plain pattern above, a `tp_new`/`tp_init` that uses its argument tuple
 *   other than through `PyTuple_GET_ITEM(args, i)` / `PyTuple_GET_SIZE(args)` (rewritten to
 *   `args[i]` / `nargs`) and argument parsing that pyarg-parse converts: like pymethoddef, a type
 *   whose `tp_new`/`tp_init` parses its arguments is converted only when pyarg-parse runs too (it is
 *   a review transform) and accepts the call's format.
 * An allocating helper whose allocation is not the plain pattern, or whose type parameter is used
 * for more than allocating and being passed on (`type->tp_name`, `type == &T`), is reported and
 * left as it was (the type is converted anyway; pyobject-head then keeps the struct's head).
 * A type flag HPy lacks is dropped with a warning; a `T_OBJECT`/`T_OBJECT_EX` member is converted
 * with a note (its field must become an `HPyField`, pyobject-field). `.builtin_shape` is
 * pyobject-head's, `PyType_FromSpec`/`PyType_Ready` and adding the type to the module are
 * pymoduledef's, and `Py_VISIT` in traverse is pyobject-field's. A static type without `tp_new`
 * becomes instantiable from Python (heap types inherit `object.__new__`): noted.
 */
import {
  unconvertedCallReason,
  functionName,
  declaredIdentifier,
  apiEntry,
  argParseProblem,
  callArguments,
  calleeName,
  contextGuard,
  defineTransform,
  functionDeclarator,
  GETSET_DEF_FIELDS,
  hpySlotOf,
  IMPL_SIGNATURES,
  implSignatureOf,
  IMPLIED_TYPE_FLAGS,
  indentationAt,
  initializerElements,
  MEMBER_DEF_FIELDS,
  memberTypeOf,
  METHOD_SUITES,
  READONLY_MEMBER_FLAGS,
  readInitializer,
  renderParam,
  RICHCMP_OPS,
  structPointerUses,
  TYPE_OBJECT_FIELDS,
  TYPE_SLOT_FIELDS,
  TYPE_SPEC_FIELDS,
  typeFlagOf,
  typeSpecsOf,
  unparenthesize,
  unusedName,
  type ImplSignature,
  type InitializedField,
  type RewriteApi,
  type SourceFile,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const TYPE_DECLARATIONS = `
(declaration
  type: (type_identifier) @type (#match? @type "^(PyType_Spec|PyTypeObject)$")
  declarator: (init_declarator declarator: (identifier) @name value: (initializer_list) @init)) @decl`;
const TOP_DECLARATIONS = '(translation_unit (declaration) @decl)';
const TOP_FUNCTIONS = '(translation_unit (function_definition) @fn)';
const IDENTIFIERS = '(identifier) @id';

const LEGACY_NOTE = "in hybrid ABI the type can keep it: make the struct a legacy type ('HPyType_LEGACY_HELPERS', 'PyObject_HEAD' kept) and list the slot in '.legacy_slots'";
const SAME_FILE_NOTE = "'HPyDef_SLOT_IMPL' declares its impl 'static': the function must be defined in the file of the type";
const FREE_FUNCTIONS = new Set(['PyObject_Del', 'PyObject_DEL', 'PyObject_GC_Del', 'PyObject_Free', 'PyObject_FREE']);
const ALLOC_FUNCTIONS = new Set(['PyType_GenericAlloc']);
const NEW_MACROS = new Set(['PyObject_New', 'PyObject_NEW', 'PyObject_GC_New']);
const RELEASE_MACROS = new Set(['Py_DECREF', 'Py_XDECREF', 'Py_CLEAR']);
const API_NAME = /^(_?Py|PY_|HPy)/;
const ARGUMENT_PARSERS = new Set(['PyArg_ParseTuple', 'PyArg_ParseTupleAndKeywords', 'PyArg_UnpackTuple']);

/** One text change, in the offsets of the text the transform sees. */
interface Change extends Span {
  text: string;
}

/** Something reported: a reason to leave the type alone, or (severity note/warning) a remark. */
interface Finding {
  at: SyntaxNode | Span;
  message: string;
  notes: string[];
  severity?: 'warning' | 'note';
}

/** What the whole file offers the planning of each type. */
interface FileModel {
  api: RewriteApi;
  file: SourceFile;
  declarations: Map<string, SyntaxNode>;
  functions: Map<string, SyntaxNode>;
  prototypes: Map<string, SyntaxNode[]>;
  /** Declarations without initializer (`static PyTypeObject XType;`), by name. */
  forwards: Map<string, SyntaxNode[]>;
  uses: Map<string, SyntaxNode[]>;
  /** Names written by this pass (for unique symbols). */
  taken: Set<string>;
  /** Functions converted by a type of this pass, with the type. */
  claimed: Map<string, string>;
  /** Object structs of the types that are HPy types once this pass is done. */
  converted: Set<string>;
}

/** One slot of a type: the CPython field (`tp_init`, `sq_item`) and its value. */
interface Entry {
  field: string;
  value: SyntaxNode;
  site: SyntaxNode;
}

/** Everything decided about one type before any edit is made. */
interface TypePlan {
  model: FileModel;
  decl: SyntaxNode;
  kind: 'spec' | 'static';
  /** The C variable (`Vec2_spec`, `RingType`). */
  variable: string;
  spec: { name?: SyntaxNode; basicsize?: SyntaxNode; itemsize?: SyntaxNode; flags?: SyntaxNode; doc?: string };
  /** The struct of `sizeof(T)` in the basic size, if it is a plain name. */
  struct: string | null;
  /** Where the slot definitions and the defines go (the slot table, or the type itself). */
  anchor: SyntaxNode;
  entries: Entry[];
  problems: Finding[];
  remarks: Finding[];
  changes: Change[];
  consumed: Span[];
  /** Functions whose every use must lie in consumed spans. */
  exclusive: { name: string; at: SyntaxNode }[];
  wrappers: string[];
  slotLines: string[];
  defines: string[];
  /** Impl functions used by this type's definitions, with the `HPyFunc_*` kind. */
  impls: Map<string, string>;
  hasInit: boolean;
  genericNew: SyntaxNode | null;
  hasNew: boolean;
  dealloc: { name: string; at: SyntaxNode } | null;
  clear: { name: string; at: SyntaxNode } | null;
}

export default defineTransform({
  id: 'pytype-spec',
  summary: 'PyType_Spec/PyType_Slot and static PyTypeObject become HPyType_Spec with HPyDef slots, members and get-sets',
  concern: 'type-specs',
  safety: 'safe',
  default: true,
  after: ['pymethoddef'],
  rewrite(file, api) {
    const model = fileModel(api, file);
    for (const m of api.matches(TYPE_DECLARATIONS)) {
      if (m.decl.parent?.type !== 'translation_unit') {
        api.report(m.decl, `'${api.text(m.name)}' is defined inside a function or a preprocessor conditional: left alone`, { notes: ['move the type definition to file scope, then run hpy-migrate again'] });
        continue;
      }
      const plan = planType(model, m.decl, api.text(m.type) === 'PyType_Spec' ? 'spec' : 'static', api.text(m.name), m.init);
      if (plan.problems.length > 0) {
        for (const p of plan.problems) api.report(p.at, p.message, { notes: p.notes });
        continue;
      }
      for (const name of plan.impls.keys()) model.claimed.set(name, plan.variable);
      if (plan.struct) model.converted.add(plan.struct);
      for (const c of plan.changes) api.replace(c, c.text);
      for (const r of plan.remarks) api.report(r.at, r.message, { severity: r.severity ?? 'note', notes: r.notes });
    }
    for (const spec of typeSpecsOf(api)) if (spec.kind === 'HPyType_Spec' && spec.basicsize) model.converted.add(spec.basicsize);
    planAllocatingHelpers(model);
  },
});

function fileModel(api: RewriteApi, file: SourceFile): FileModel {
  const declarations = new Map<string, SyntaxNode>();
  const prototypes = new Map<string, SyntaxNode[]>();
  const forwards = new Map<string, SyntaxNode[]>();
  const add = (map: Map<string, SyntaxNode[]>, name: string, decl: SyntaxNode) => map.set(name, [...(map.get(name) ?? []), decl]);
  for (const { decl } of api.matches(TOP_DECLARATIONS)) {
    const fdecl = functionDeclarator(decl);
    const name = fdecl ? fdecl.childForFieldName('declarator') : declaredIdentifier(decl.childForFieldName('declarator'));
    if (!name || name.type !== 'identifier') continue;
    if (fdecl) add(prototypes, api.text(name), decl);
    else if (initializerOf(decl)) declarations.set(api.text(name), decl);
    else add(forwards, api.text(name), decl);
  }
  const functions = new Map<string, SyntaxNode>();
  for (const { fn } of api.matches(TOP_FUNCTIONS)) {
    const name = functionDeclarator(fn)?.childForFieldName('declarator');
    if (name?.type === 'identifier') functions.set(api.text(name), fn);
  }
  const uses = new Map<string, SyntaxNode[]>();
  for (const { id } of api.matches(IDENTIFIERS)) {
    const t = api.text(id);
    uses.set(t, [...(uses.get(t) ?? []), id]);
  }
  return { api, file, declarations, functions, prototypes, forwards, uses, taken: new Set(), claimed: new Map(), converted: new Set() };
}

// ---------------------------------------------------------------------------------------------
// Planning a type

function planType(model: FileModel, decl: SyntaxNode, kind: 'spec' | 'static', variable: string, init: SyntaxNode): TypePlan {
  const plan: TypePlan = {
    model, decl, kind, variable, spec: {}, struct: null, anchor: decl, entries: [], problems: [], remarks: [], changes: [],
    consumed: [{ start: decl.startIndex, end: decl.endIndex }], exclusive: [], wrappers: [], slotLines: [], defines: [],
    impls: new Map(), hasInit: false, genericNew: null, hasNew: false, dealloc: null, clear: null,
  };
  if (decl.childrenForFieldName('declarator').length !== 1) {
    problem(plan, decl, `'${variable}' shares its declaration with other variables: left as it was`, ['declare each type on its own, then run hpy-migrate again']);
    return plan;
  }
  if (decl.hasError) {
    problem(plan, decl, `'${variable}' does not parse: left as it was`, ['check the macros in its initializer (a Python 2 head under #if cannot be read); fix them and run hpy-migrate again']);
    return plan;
  }
  if (kind === 'spec') readSpec(plan, init);
  else readStatic(plan, init);
  const basicsize = plan.spec.basicsize ? /^sizeof\s*\(\s*(\w+)\s*\)$/.exec(model.api.text(plan.spec.basicsize)) : null;
  plan.struct = basicsize && basicsize[1] !== 'PyObject' ? basicsize[1] : null;
  plan.hasInit = plan.entries.some((e) => e.field === 'tp_init');
  if (plan.spec.itemsize) {
    problem(plan, plan.spec.itemsize, `'${variable}' has items (a non-zero item size): ${leftAlone(plan)}`, ['HPy 0.9.0 does not support var-sized objects; keep the items in a separately allocated buffer', LEGACY_NOTE]);
  }
  for (const forward of model.forwards.get(variable) ?? []) removeDeclaration(plan, forward);
  for (const entry of plan.entries) planEntry(plan, entry);
  planGenericNew(plan);
  planDeallocAndClear(plan);
  if (kind === 'static' && !plan.hasNew) {
    plan.remarks.push({ at: decl, message: `'${variable}' has no 'tp_new': as an HPy type it inherits 'object.__new__'`, notes: ['Python code can now create instances (zero-filled); add an HPy_tp_new slot that raises TypeError if that must stay impossible'] });
  }
  const flags = flagsText(plan);
  checkExclusiveUses(plan);
  checkSlotCalls(plan);
  checkTypeUses(plan);
  if (plan.problems.length === 0) emitType(plan, flags);
  return plan;
}

/** What a function that allocates instances works on: a type's plan, or a helper's own. */
type AllocationScope = Pick<TypePlan, 'model' | 'variable' | 'changes' | 'problems'>;

function problem(plan: AllocationScope, at: SyntaxNode | Span, message: string, notes: string[]): void {
  plan.problems.push({ at, message, notes });
}

function leftAlone(plan: AllocationScope): string {
  return `'${plan.variable}' is left as it was`;
}

function readSpec(plan: TypePlan, init: SyntaxNode): void {
  const { api } = plan.model;
  const reading = readInitializer(initializerElements(init), TYPE_SPEC_FIELDS);
  for (const u of reading.unreadable) problem(plan, u, `this initializer of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write the PyType_Spec with plain positional or designated fields']);
  let slots: InitializedField | undefined;
  for (const f of reading.fields) {
    if (f.field === 'slots') slots = f;
    else if (f.field !== 'itemsize' || !isEmptyValue(api, f.value)) plan.spec[f.field as 'name'] = f.value;
  }
  if (!slots || stripCasts(slots.value).type !== 'identifier') {
    problem(plan, slots?.value ?? plan.decl, `the slots of '${plan.variable}' are not a table of this file: ${leftAlone(plan)}`, ["write '.slots = X_slots' with 'static PyType_Slot X_slots[]' defined above it"]);
    return;
  }
  const name = api.text(stripCasts(slots.value));
  const table = plan.model.declarations.get(name);
  const list = table ? initializerOf(table) : null;
  if (!table || !list || !/^PyType_Slot$/.test(api.text(table.childForFieldName('type')!))) {
    problem(plan, slots.value, `'${name}' is not a 'PyType_Slot' table of this file: ${leftAlone(plan)}`, ['define the slot table in the file of the spec']);
    return;
  }
  plan.anchor = table;
  consume(plan, table);
  plan.exclusive.push({ name, at: slots.value });
  readSlotTable(plan, list);
}

function readSlotTable(plan: TypePlan, list: SyntaxNode): void {
  const { api } = plan.model;
  for (const element of initializerElements(list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), TYPE_SLOT_FIELDS) : null;
    const slot = reading?.fields.find((f) => f.field === 'slot')?.value;
    const value = reading?.fields.find((f) => f.field === 'pfunc')?.value;
    if (!reading || reading.unreadable.length > 0 || !slot) {
      problem(plan, element, `this entry of the slot table of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write each slot as {Py_tp_xxx, function}, without preprocessor lines']);
      continue;
    }
    if (isEmptyValue(api, slot)) break;
    const id = api.text(slot);
    if (!/^Py_\w+$/.test(id) || !value) {
      problem(plan, element, `'${id}' is not a slot id: ${leftAlone(plan)}`, ['write each slot as {Py_tp_xxx, function}']);
      continue;
    }
    if (!isEmptyValue(api, value)) plan.entries.push({ field: id.slice(3), value, site: element });
  }
}

function readStatic(plan: TypePlan, init: SyntaxNode): void {
  const { api } = plan.model;
  const elements = initializerElements(init);
  // The head macros are masked as one element; `PyObject_HEAD_INIT(t) 0,` has the size after it.
  // The mask leaves a one-character node at the macro's start: read the name from the text.
  let skip = 0;
  const text = plan.model.file.text;
  const at = elements[0]?.startIndex ?? -1;
  if (text.startsWith('PyVarObject_HEAD_INIT', at)) skip = 1;
  else if (text.startsWith('PyObject_HEAD_INIT', at)) skip = 2;
  const reading = readInitializer(elements.slice(skip), TYPE_OBJECT_FIELDS);
  for (const u of reading.unreadable) problem(plan, u, `this initializer of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write the PyTypeObject with plain positional or designated fields']);
  for (const f of reading.fields) {
    if (isEmptyValue(api, f.value)) continue;
    if (f.field === 'tp_name' || f.field === 'tp_basicsize' || f.field === 'tp_itemsize' || f.field === 'tp_flags') {
      plan.spec[f.field.slice(3) as 'name'] = f.value;
    } else if (f.field in METHOD_SUITES) {
      readSuite(plan, f);
    } else {
      plan.entries.push({ field: f.field, value: f.value, site: f.element });
    }
  }
}

/** `tp_as_sequence = &X_as_sequence`: the suite's non-null entries become slots of the type. */
function readSuite(plan: TypePlan, f: InitializedField): void {
  const { api } = plan.model;
  const suite = METHOD_SUITES[f.field];
  const value = stripCasts(f.value);
  const target = value.type === 'pointer_expression' && value.child(0)?.type === '&' ? value.childForFieldName('argument') : null;
  const decl = target?.type === 'identifier' ? plan.model.declarations.get(api.text(target)) : undefined;
  const list = decl ? initializerOf(decl) : null;
  if (!decl || !list || api.text(decl.childForFieldName('type')!) !== suite.struct) {
    problem(plan, f.value, `'${f.field}' does not point to a '${suite.struct}' of this file: ${leftAlone(plan)}`, [`define 'static ${suite.struct} X = {...};' in the file of the type`]);
    return;
  }
  removeDeclaration(plan, decl);
  plan.exclusive.push({ name: api.text(target!), at: f.value });
  const reading = readInitializer(initializerElements(list), suite.fields);
  for (const u of reading.unreadable) problem(plan, u, `this entry of '${api.text(target!)}' cannot be read: ${leftAlone(plan)}`, ['write the suite with plain positional or designated fields']);
  for (const s of reading.fields) {
    if (!isEmptyValue(api, s.value)) plan.entries.push({ field: s.field, value: s.value, site: s.element });
  }
}

/** Decides what one slot becomes (matching only: the texts are built by `emitType`). */
function planEntry(plan: TypePlan, entry: Entry): void {
  const { api } = plan.model;
  const value = stripCasts(entry.value);
  switch (entry.field) {
    case 'tp_doc':
      plan.spec.doc = api.text(value);
      return;
    case 'tp_methods':
      return planMethods(plan, entry, value);
    case 'tp_members':
      return planMembers(plan, entry, value);
    case 'tp_getset':
      return planGetsets(plan, entry, value);
    case 'tp_dealloc':
      plan.dealloc = functionReference(plan, entry, value);
      return;
    case 'tp_clear':
      plan.clear = functionReference(plan, entry, value);
      return;
    case 'tp_free':
    case 'tp_alloc':
      if (!(entry.field === 'tp_free' ? FREE_FUNCTIONS : ALLOC_FUNCTIONS).has(api.text(value))) {
        problem(plan, entry.site, `'${entry.field}' is a custom allocator: ${leftAlone(plan)}`, [apiEntry(`Py_${entry.field}`)?.notes ?? 'HPy allocates and frees objects itself', LEGACY_NOTE]);
      }
      return;
    case 'tp_new':
      plan.hasNew = true;
      if (api.text(value) === 'PyType_GenericNew') {
        plan.genericNew = entry.site;
        return;
      }
  }
  planSlot(plan, entry, value);
}

function planSlot(plan: TypePlan, entry: Entry, value: SyntaxNode): void {
  const hpySlot = hpySlotOf(entry.field);
  const sig = hpySlot ? implSignatureOf(hpySlot) : undefined;
  if (!hpySlot) {
    // A slot id has an api-map row (and a legacy escape); the other fields are type fields.
    const row = apiEntry(`Py_${entry.field}`);
    const notes = row ? [row.notes, LEGACY_NOTE] : ['HPy 0.9.0 has no such type field: keep the type as it is until it can do without it'];
    problem(plan, entry.site, `'${entry.field}' has no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, notes);
    return;
  }
  if (!sig || hpySlot === 'HPy_tp_destroy') {
    problem(plan, entry.site, `'${entry.field}' is not converted by this transform: ${leftAlone(plan)}`, [slotLeftNote(hpySlot), LEGACY_NOTE]);
    return;
  }
  const fn = functionReference(plan, entry, value);
  if (!fn) return;
  const impl = convertImpl(plan, fn.name, sig, entry.field, entry.site, hpySlot);
  if (impl) addSlot(plan, impl, hpySlot);
}

function slotLeftNote(hpySlot: string): string {
  if (hpySlot === 'HPy_tp_call') return "its body must read an argument array and a kwnames tuple: write an 'HPy_tp_call' slot with the HPyFunc_KEYWORDS signature by hand ('HPyHelpers_PackArgsAndKeywords' rebuilds the tuple and dict)";
  return `write the '${hpySlot}' impl by hand: its 'Py_buffer' becomes an 'HPy_buffer' whose 'obj' is a new handle`;
}

function addSlot(plan: TypePlan, impl: string, hpySlot: string): void {
  const sym = symbol(plan, `${impl}_slot`);
  plan.slotLines.push(`HPyDef_SLOT_IMPL(${sym}, ${impl}, ${hpySlot})`);
  plan.defines.push(`&${sym}`);
}

/** The function a slot names, which must be defined in this file. */
function functionReference(plan: TypePlan, entry: Entry, value: SyntaxNode): { name: string; at: SyntaxNode } | null {
  const { api } = plan.model;
  if (value.type !== 'identifier') {
    problem(plan, entry.site, `'${entry.field}' of '${plan.variable}' is not a function name: ${leftAlone(plan)}`, ['name the slot function directly']);
    return null;
  }
  const name = api.text(value);
  if (!plan.model.functions.has(name)) {
    problem(plan, entry.site, `'${name}' is not defined in this file: ${leftAlone(plan)}`, [SAME_FILE_NOTE]);
    return null;
  }
  return { name, at: entry.site };
}

/**
 * Gives `name` the impl signature `sig`, or, when this type already uses it for another
 * definition of the same kind, writes a wrapper (the macros declare an enum per impl name, so
 * one function cannot be the impl of two definitions). Returns the impl name.
 */
function convertImpl(plan: TypePlan, name: string, sig: ImplSignature, role: string, at: SyntaxNode, hpySlot?: string): string | null {
  const owner = plan.model.claimed.get(name);
  if (owner) {
    problem(plan, at, `'${name}' is also a slot function of '${owner}': ${leftAlone(plan)}`, ['give each type its own function (one can call the other)']);
    return null;
  }
  const used = plan.impls.get(name);
  if (used !== undefined) {
    if (used !== sig.func) {
      problem(plan, at, `'${name}' serves definitions with different HPy signatures: ${leftAlone(plan)}`, ['write one function per kind of slot']);
      return null;
    }
    return wrapper(plan, name, sig, role);
  }
  const fn = plan.model.functions.get(name)!;
  if (!convertSignature(plan, fn, name, sig, role, at, hpySlot)) return null;
  plan.impls.set(name, sig.func);
  plan.exclusive.push({ name, at });
  return name;
}

/** A second definition with the same impl: `static R name_role(...) { return name(...); }`. */
function wrapper(plan: TypePlan, name: string, sig: ImplSignature, role: string): string {
  const wrapperName = symbol(plan, `${name}_${role.replace(/^(tp|nb|sq|mp)_/, '')}`);
  const params = sig.params.map((p) => ({ type: p.type, name: p.name }));
  const call = `${name}(${params.map((p) => p.name).join(', ')})`;
  plan.wrappers.push(functionText(plan, sig.returns, wrapperName, params, sig.returns === 'void' ? `${call};` : `return ${call};`));
  plan.impls.set(wrapperName, sig.func);
  return wrapperName;
}

function functionText(plan: TypePlan, returns: string, name: string, params: { type: string; name: string }[], body: string): string {
  const eol = plan.model.api.eol;
  return `static ${returns}${eol}${name}(${params.map(renderParam).join(', ')})${eol}{${eol}    ${body}${eol}}`;
}

/** `PyType_GenericNew`: nothing when `tp_init` exists, else a one-line impl. */
function planGenericNew(plan: TypePlan): void {
  if (!plan.genericNew || plan.hasInit) return;
  const sig = IMPL_SIGNATURES.HPyFunc_NEWFUNC;
  const params = sig.params.map((p) => ({ type: p.type, name: p.name }));
  const name = symbol(plan, `${typePrefix(plan)}_new`);
  plan.wrappers.push(functionText(plan, sig.returns, name, params, `return HPyType_GenericNew(${params.map((p) => p.name).join(', ')});`));
  addSlot(plan, name, 'HPy_tp_new');
}

function typePrefix(plan: TypePlan): string {
  const stripped = plan.kind === 'spec' ? plan.variable.replace(/_?[sS]pec$/, '') : plan.variable.replace(/_?[tT]ype$/, '');
  return stripped || plan.variable;
}

// ---------------------------------------------------------------------------------------------
// Tables: methods, members, get-sets

function tableDeclaration(plan: TypePlan, entry: Entry, value: SyntaxNode, types: RegExp): { decl: SyntaxNode; list: SyntaxNode; name: string } | null {
  const { api } = plan.model;
  const name = value.type === 'identifier' ? api.text(value) : null;
  const decl = name ? plan.model.declarations.get(name) : undefined;
  const list = decl ? initializerOf(decl) : null;
  if (!name || !decl || !list || !types.test(api.text(decl.childForFieldName('type')!))) {
    problem(plan, entry.site, `'${entry.field}' of '${plan.variable}' is not a table of this file: ${leftAlone(plan)}`, ['define the table in the file of the type']);
    return null;
  }
  // Its definitions replace it in place and the defines array goes where the slots are: the table
  // must come first, without a forward declaration that would outlive it.
  if (decl.startIndex > plan.anchor.startIndex || plan.model.forwards.has(name)) {
    problem(plan, entry.site, `'${name}' is declared after the slots of '${plan.variable}' or forward-declared: ${leftAlone(plan)}`, ['define the table, without a forward declaration, above the slot table or the type, then run hpy-migrate again']);
    return null;
  }
  return { decl, list, name };
}

function planMethods(plan: TypePlan, entry: Entry, value: SyntaxNode): void {
  const { api } = plan.model;
  const table = tableDeclaration(plan, entry, value, /^(HPyDef|PyMethodDef)$/);
  if (!table) return;
  if (api.text(table.decl.childForFieldName('type')!) === 'PyMethodDef') {
    problem(plan, entry.site, `the method table '${table.name}' is still a 'PyMethodDef' table: ${leftAlone(plan)}`, ['the pymethoddef transform converts it (or reports why not); convert it first, then run hpy-migrate again']);
    return;
  }
  for (const element of initializerElements(table.list)) {
    if (isEmptyValue(api, element)) break;
    if (element.type !== 'pointer_expression') {
      problem(plan, element, `this entry of '${table.name}' is not '&definition': ${leftAlone(plan)}`, ['list the HPyDef symbols by address']);
      continue;
    }
    plan.defines.push(api.text(element));
  }
  const others = outsideUses(plan, table.name, [table.decl]);
  if (others.length === 0) removeDeclaration(plan, table.decl);
}

function planMembers(plan: TypePlan, entry: Entry, value: SyntaxNode): void {
  const { api } = plan.model;
  const table = tableDeclaration(plan, entry, value, /^(struct\s+)?PyMemberDef$/);
  if (!table) return;
  consume(plan, table.decl);
  plan.exclusive.push({ name: table.name, at: entry.site });
  const prefix = table.name.replace(/_?members$/i, '') || table.name;
  const lines: string[] = [];
  for (const element of initializerElements(table.list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), MEMBER_DEF_FIELDS) : null;
    const field = (f: string) => reading?.fields.find((x) => x.field === f)?.value;
    if (reading && (reading.fields.length === 0 || isEmptyValue(api, field('name')!))) break;
    const line = reading && reading.unreadable.length === 0 ? memberLine(plan, element, prefix, field) : null;
    if (line) lines.push(line);
    else if (!reading || reading.unreadable.length > 0) problem(plan, element, `this entry of '${table.name}' cannot be read: ${leftAlone(plan)}`, ['write each member as {"name", T_xxx, offsetof(T, field), flags, doc}']);
  }
  plan.changes.push({ start: table.decl.startIndex, end: table.decl.endIndex, text: lines.join(plan.model.api.eol) });
}

function memberLine(plan: TypePlan, element: SyntaxNode, prefix: string, field: (f: string) => SyntaxNode | undefined): string | null {
  const { api } = plan.model;
  const [name, type, offset, flags, doc] = MEMBER_DEF_FIELDS.map(field);
  if (!name || name.type !== 'string_literal' || !type || !offset) {
    problem(plan, element, `this member of '${plan.variable}' is not '{"name", type, offset, ...}': ${leftAlone(plan)}`, ['write the member name as a string literal']);
    return null;
  }
  const hpyType = memberTypeOf(api.text(type));
  if (!hpyType) {
    problem(plan, type, `member type '${api.text(type)}' has no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, ['expose the value through a getter (HPyDef_GET) instead']);
    return null;
  }
  const options: string[] = [];
  const flagNames = flags && !isEmptyValue(api, flags) ? api.text(flags).split('|').map((s) => s.trim().replace(/^\(|\)$/g, '')) : [];
  const unknown = flagNames.filter((f) => !READONLY_MEMBER_FLAGS.includes(f) && f !== '0');
  if (unknown.length > 0) {
    problem(plan, flags!, `member flags '${unknown.join(' | ')}' have no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, ["HPyDef_MEMBER knows only '.readonly = 1'"]);
    return null;
  }
  if (flagNames.some((f) => READONLY_MEMBER_FLAGS.includes(f))) options.push('.readonly = 1');
  if (doc && !isEmptyValue(api, doc)) options.push(`.doc = ${api.text(doc)}`);
  const attribute = api.text(name).slice(1, -1);
  if (/OBJECT/.test(hpyType)) {
    plan.remarks.push({ at: type, message: `member '${attribute}' is exposed as '${hpyType}': its field must be an 'HPyField'`, notes: ['the pyobject-field transform turns the PyObject * field into an HPyField'] });
  }
  const sym = symbol(plan, `${prefix}_${identifierPart(attribute)}_member`);
  plan.defines.push(`&${sym}`);
  return `HPyDef_MEMBER(${[sym, api.text(name), hpyType, api.text(offset), ...options].join(', ')})`;
}

function planGetsets(plan: TypePlan, entry: Entry, value: SyntaxNode): void {
  const { api } = plan.model;
  const table = tableDeclaration(plan, entry, value, /^(struct\s+)?PyGetSetDef$/);
  if (!table) return;
  consume(plan, table.decl);
  plan.exclusive.push({ name: table.name, at: entry.site });
  const prefix = table.name.replace(/_?(getsets?|getseters|getsetters|properties)$/i, '') || table.name;
  const lines: string[] = [];
  for (const element of initializerElements(table.list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), GETSET_DEF_FIELDS) : null;
    const field = (f: string) => reading?.fields.find((x) => x.field === f)?.value;
    if (reading && (reading.fields.length === 0 || isEmptyValue(api, field('name')!))) break;
    const line = reading && reading.unreadable.length === 0 ? getsetLine(plan, element, prefix, field) : null;
    if (line) lines.push(line);
    else if (!reading || reading.unreadable.length > 0) problem(plan, element, `this entry of '${table.name}' cannot be read: ${leftAlone(plan)}`, ['write each get-set as {"name", getter, setter, doc, closure}']);
  }
  plan.changes.push({ start: table.decl.startIndex, end: table.decl.endIndex, text: lines.join(plan.model.api.eol) });
}

function getsetLine(plan: TypePlan, element: SyntaxNode, prefix: string, field: (f: string) => SyntaxNode | undefined): string | null {
  const { api } = plan.model;
  const [name, get, set, doc, closure] = GETSET_DEF_FIELDS.map(field);
  if (!name || name.type !== 'string_literal') {
    problem(plan, element, `this get-set of '${plan.variable}' has no string name: ${leftAlone(plan)}`, ['write the attribute name as a string literal']);
    return null;
  }
  const attribute = api.text(name).slice(1, -1);
  const impl = (node: SyntaxNode | undefined, kind: 'HPyFunc_GETTER' | 'HPyFunc_SETTER'): string | null | undefined => {
    if (!node || isEmptyValue(api, node)) return undefined;
    const v = stripCasts(node);
    const fn = functionReference(plan, { field: `${attribute} ${kind === 'HPyFunc_GETTER' ? 'getter' : 'setter'}`, value: v, site: element }, v);
    return fn ? convertImpl(plan, fn.name, IMPL_SIGNATURES[kind], `${identifierPart(attribute)}_${kind === 'HPyFunc_GETTER' ? 'get' : 'set'}`, element) : null;
  };
  const getter = impl(get, 'HPyFunc_GETTER');
  const setter = impl(set, 'HPyFunc_SETTER');
  if (getter === null || setter === null) return null;
  if (!getter && !setter) return '';
  const options: string[] = [];
  if (doc && !isEmptyValue(api, doc)) options.push(`.doc = ${api.text(doc)}`);
  if (closure && !isEmptyValue(api, closure)) options.push(`.closure = ${api.text(closure)}`);
  const sym = symbol(plan, `${prefix}_${identifierPart(attribute)}_getset`);
  plan.defines.push(`&${sym}`);
  const macro = getter && setter ? 'HPyDef_GETSET_IMPL' : getter ? 'HPyDef_GET_IMPL' : 'HPyDef_SET_IMPL';
  return `${macro}(${[sym, api.text(name), ...[getter, setter].filter((x): x is string => !!x), ...options].join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Slot functions: signatures and bodies

/** A parameter of a CPython function: its name, its type text and its pointer type if any. */
interface OldParam {
  name: string;
  /** `RingObject` of `RingObject *self`; null if not a single pointer to a named type. */
  pointee: string | null;
  node: SyntaxNode;
}

function oldParams(api: RewriteApi, fn: SyntaxNode): OldParam[] {
  const list = functionDeclarator(fn)?.childForFieldName('parameters');
  const out: OldParam[] = [];
  for (const p of list?.namedChildren ?? []) {
    if (p.type !== 'parameter_declaration') continue;
    const text = api.text(p);
    if (/^void$/.test(text.trim())) continue;
    const unused = /Py_UNUSED\s*\(\s*(\w+)\s*\)/.exec(text);
    const id = declaredIdentifier(p.childForFieldName('declarator'));
    const type = p.childForFieldName('type');
    const pointer = p.childForFieldName('declarator')?.type === 'pointer_declarator' && p.childForFieldName('declarator')?.childForFieldName('declarator')?.type === 'identifier';
    out.push({ name: unused ? unused[1] : id ? api.text(id) : '', pointee: pointer && type ? api.text(type).replace(/^struct\s+/, 'struct ') : null, node: p });
  }
  return out;
}

/** Object types whose pointers become plain handles (no struct behind them to reach). */
const OBJECT_TYPES = new Set(['PyObject', 'PyTypeObject', 'void']);

function convertSignature(plan: TypePlan, fn: SyntaxNode, name: string, sig: ImplSignature, role: string, at: SyntaxNode, hpySlot?: string): boolean {
  const { api } = plan.model;
  const params = oldParams(api, fn);
  const missingClosure = (sig.func === 'HPyFunc_GETTER' || sig.func === 'HPyFunc_SETTER') && params.length === sig.arity - 1;
  if (params.length !== sig.arity && !missingClosure) {
    problem(plan, at, `'${name}' takes ${params.length} parameters where '${role}' takes ${sig.arity}: ${leftAlone(plan)}`, ['fix the signature of the function, then run hpy-migrate again']);
    return false;
  }
  if (fn.children.some((c) => c.type === 'storage_class_specifier' && api.text(c) === 'extern')) {
    problem(plan, at, `'${name}' is declared 'extern': ${leftAlone(plan)}`, [SAME_FILE_NOTE]);
    return false;
  }
  const bodyText = api.text(fn.childForFieldName('body') ?? fn);
  const noContext = sig.params[0].name !== 'ctx';
  const selfName = params[0]?.name ?? 'self';
  const newParams = sig.params.map((p, i) => {
    if (i === 0 && noContext) return { type: p.type, name: unusedName(bodyText, selfName === 'object' ? 'object_ptr' : 'object') };
    const old = p.from !== undefined ? params[p.from]?.name : undefined;
    return { type: p.type, name: old || (p.name === 'ctx' ? 'ctx' : unusedName(bodyText, p.name)) };
  });
  const paramsText = newParams.map(renderParam).join(', ');
  plan.changes.push(...headerChanges(api, fn, sig.returns, paramsText));
  for (const proto of plan.model.prototypes.get(name) ?? []) plan.changes.push(...headerChanges(api, proto, sig.returns, paramsText));
  if (noContext) return contextFreeBody(plan, fn, name, params[0], newParams[0].name, at);
  if (!structParamUses(plan, fn, name, sig, params)) return false;
  if (hpySlot === 'HPy_tp_richcompare') richcompareOps(plan, fn);
  if (hpySlot === 'HPy_tp_new' || hpySlot === 'HPy_tp_init') {
    if (!argumentTupleUses(plan, fn, name, params[1].name, newParams[3].name, at)) return false;
  }
  if (hpySlot === 'HPy_tp_new') return newBody(plan, fn, name, params[0].name, at);
  return true;
}

/** Replaces the return type (and the `*` before the name) and the parameter list; adds `static`. */
function headerChanges(api: RewriteApi, node: SyntaxNode, returns: string, params: string): Change[] {
  const type = node.childForFieldName('type')!;
  const fdecl = functionDeclarator(node)!;
  const nameNode = fdecl.childForFieldName('declarator')!;
  const paramsNode = fdecl.childForFieldName('parameters')!;
  const between = api.text({ start: type.endIndex, end: nameNode.startIndex });
  const nl = between.search(/\r?\n/);
  const sep = nl >= 0 ? between.slice(nl).replace(/\*/g, '') : ' ';
  const isStatic = node.children.some((c) => c.type === 'storage_class_specifier' && api.text(c) === 'static');
  const start = isStatic ? type.startIndex : node.startIndex;
  const head = `${isStatic ? '' : 'static '}${api.text({ start, end: type.startIndex })}${returns}${sep}`;
  const out: Change[] = [];
  if (api.text({ start, end: nameNode.startIndex }) !== head) out.push({ start, end: nameNode.startIndex, text: head });
  if (api.text(paramsNode) !== `(${params})`) out.push({ start: paramsNode.startIndex, end: paramsNode.endIndex, text: `(${params})` });
  return out;
}

/** Struct-pointer parameters that become handles: their struct uses become casts (typed-params). */
function structParamUses(plan: TypePlan, fn: SyntaxNode, name: string, sig: ImplSignature, params: OldParam[]): boolean {
  for (const p of sig.params) {
    const old = p.from !== undefined ? params[p.from] : undefined;
    if (p.type !== 'HPy' || !old?.pointee || OBJECT_TYPES.has(old.pointee)) continue;
    const uses = structPointerUses(fn, old.name, old.pointee);
    if (!uses) {
      problem(plan, old.node, `'${old.name}' is redeclared, assigned or has its address taken in '${name}': ${leftAlone(plan)}`, [`it becomes an 'HPy' handle: port these uses by hand (the struct is '${old.pointee}_AsStruct(ctx, ${old.name})')`]);
      return false;
    }
    for (const u of uses) plan.changes.push({ start: u.node.startIndex, end: u.node.endIndex, text: u.text });
  }
  return true;
}

/** Traverse and destroy impls receive `void *object`: the struct pointer is declared from it. */
function contextFreeBody(plan: TypePlan, fn: SyntaxNode, name: string, first: OldParam, param: string, at: SyntaxNode): boolean {
  const { api } = plan.model;
  const body = fn.childForFieldName('body')!;
  const used = body.descendantsOfType('identifier').some((id) => api.text(id) === first.name);
  if (!used) return true;
  const struct = first.pointee && !OBJECT_TYPES.has(first.pointee) ? first.pointee : plan.struct;
  if (!struct) {
    problem(plan, at, `the struct of '${first.name}' in '${name}' is unknown: ${leftAlone(plan)}`, [`declare '${first.name}' with the object struct type, then run hpy-migrate again`]);
    return false;
  }
  const statements = body.namedChildren.filter((n) => n.type !== 'comment');
  const indent = statements.length > 0 ? indentationAt(plan.model.file.text, statements[0].startIndex) : '    ';
  const open = body.child(0)!;
  plan.changes.push({ start: open.endIndex, end: open.endIndex, text: `${api.eol}${indent}${struct} *${first.name} = (${struct} *)${param};` });
  return true;
}

function richcompareOps(plan: TypePlan, fn: SyntaxNode): void {
  const { api } = plan.model;
  for (const id of fn.childForFieldName('body')?.descendantsOfType('identifier') ?? []) {
    const op = RICHCMP_OPS[api.text(id)];
    if (op) plan.changes.push({ start: id.startIndex, end: id.endIndex, text: op });
  }
}

/**
 * The argument tuple of `tp_new`/`tp_init` is now an array: `PyTuple_GET_SIZE(args)` is `nargs`,
 * `PyTuple_GET_ITEM(args, i)` is `args[i]`; the argument parsers are pyarg-parse's.
 */
function argumentTupleUses(plan: TypePlan, fn: SyntaxNode, name: string, args: string, nargs: string, at: SyntaxNode): boolean {
  const { api } = plan.model;
  for (const id of fn.childForFieldName('body')?.descendantsOfType('identifier') ?? []) {
    if (api.text(id) !== args) continue;
    const call = id.parent?.type === 'argument_list' ? id.parent.parent : null;
    const callee = call ? calleeName(call) : null;
    const first = call ? callArguments(call)[0]?.id === id.id : false;
    if (callee && ARGUMENT_PARSERS.has(callee) && first) {
      if (!parseCallAccepted(plan, call!, callee, name)) return false;
      continue;
    }
    if (callee && first && /^PyTuple_(GET_SIZE|Size)$/.test(callee)) {
      plan.changes.push({ start: call!.startIndex, end: call!.endIndex, text: nargs });
      continue;
    }
    if (callee === 'PyTuple_GET_ITEM' && first && callArguments(call!).length === 2) {
      plan.changes.push({ start: call!.startIndex, end: call!.endIndex, text: `${args}[${api.text(callArguments(call!)[1])}]` });
      continue;
    }
    problem(plan, id, `'${name}' uses its argument tuple '${args}' in a way that does not fit an array: ${leftAlone(plan)}`, [`the tuple becomes 'const HPy *${args}' with 'HPy_ssize_t ${nargs}': rewrite this use by hand, then run hpy-migrate again`]);
    return false;
  }
  return true;
}

/** A parse call on the tuple stays for pyarg-parse: only when it runs and accepts the format. */
function parseCallAccepted(plan: TypePlan, call: SyntaxNode, callee: string, name: string): boolean {
  const { api } = plan.model;
  const why = argParseProblem(callee, callArguments(call).map((a) => api.text(a)), 'dict');
  if (why) {
    problem(plan, call, `'${callee}' in '${name}' cannot become an HPyArg call (${why}): ${leftAlone(plan)}`, ['port the parsing by hand, then run hpy-migrate again']);
    return false;
  }
  if (!api.isSelected('pyarg-parse')) {
    const how = api.isRegistered('pyarg-parse') ? "it is a review transform: run it with '--all' or '--transforms'" : 'no transform of this release converts it';
    problem(plan, call, `'${callee}' in '${name}' needs the pyarg-parse transform, which is not part of this run: ${leftAlone(plan)}`, [`${how}, or port the parsing by hand`]);
    return false;
  }
  return true;
}

/** The allocation in `tp_new`: `T *self = (T *)type->tp_alloc(type, 0)` or `PyObject_New(T, type)`. */
function newBody(plan: AllocationScope, fn: SyntaxNode, name: string, type: string, at: SyntaxNode): boolean {
  const { api } = plan.model;
  const body = fn.childForFieldName('body')!;
  const allocs = body.descendantsOfType('call_expression').filter((c) => isAllocation(api, c, type));
  const typeUses = body.descendantsOfType('identifier').filter((id) => api.text(id) === type && id.parent?.type === 'field_expression');
  const unclear = (where: SyntaxNode, why: string) => {
    problem(plan, where, `the allocation in '${name}' is not the plain pattern (${why}): ${leftAlone(plan)}`, [`write 'T *self; HPy h_self = HPy_New(ctx, ${type}, &self);' by hand, return 'h_self', then run hpy-migrate again`]);
    return false;
  };
  if (allocs.length === 0) return typeUses.length === 0 ? true : unclear(typeUses[0], `'${type}' is used as a struct`);
  if (allocs.length > 1) return unclear(allocs[1], 'several allocations');
  if (typeUses.some((u) => !allocs[0].descendantsOfType('identifier').some((x) => x.id === u.id))) return unclear(typeUses[0], `'${type}' is used as a struct`);
  const site = allocationSite(api, allocs[0], body);
  if (!site) return unclear(allocs[0], 'the result is not stored in a local of the function body');
  const decl = declarationOf(api, body, site.variable);
  const struct = decl && decl.pointee && !OBJECT_TYPES.has(decl.pointee) ? decl.pointee : null;
  if (!struct) return unclear(allocs[0], `'${site.variable}' is not declared as a pointer to the object struct`);
  const handle = unusedName(api.text(body), `h_${site.variable}`, plan.model.taken);
  const create = `HPy ${handle} = HPy_New(ctx, ${type}, &${site.variable});`;
  const indent = indentationAt(plan.model.file.text, site.statement.startIndex);
  plan.changes.push({ start: site.statement.startIndex, end: site.statement.endIndex, text: site.declared ? `${struct} *${site.variable};${api.eol}${indent}${create}` : create });
  return objectUses(plan, body, site.statement, site.variable, handle, name);
}

function isAllocation(api: RewriteApi, call: SyntaxNode, type: string): boolean {
  const callee = call.childForFieldName('function')!;
  const args = callArguments(call);
  if (callee.type === 'field_expression') {
    const base = callee.childForFieldName('argument');
    return api.text(callee.childForFieldName('field')!) === 'tp_alloc' && !!base && api.text(base) === type;
  }
  const n = calleeName(call);
  const typeArg = n && NEW_MACROS.has(n) ? args[1] : n && ALLOC_FUNCTIONS.has(n) ? args[0] : undefined;
  return !!typeArg && api.text(stripCasts(typeArg)) === type;
}

/** `x = alloc;` or `T *x = alloc;` directly in the function body. */
function allocationSite(api: RewriteApi, alloc: SyntaxNode, body: SyntaxNode): { statement: SyntaxNode; variable: string; declared: boolean } | null {
  let value: SyntaxNode = alloc;
  while (value.parent && (value.parent.type === 'cast_expression' || value.parent.type === 'parenthesized_expression')) value = value.parent;
  const p = value.parent;
  if (p?.type === 'assignment_expression' && p.childForFieldName('right')?.id === value.id && p.parent?.type === 'expression_statement' && p.parent.parent?.id === body.id) {
    const left = p.childForFieldName('left')!;
    return left.type === 'identifier' ? { statement: p.parent, variable: api.text(left), declared: false } : null;
  }
  if (p?.type === 'init_declarator' && p.parent?.type === 'declaration' && p.parent.parent?.id === body.id && p.parent.childrenForFieldName('declarator').length === 1) {
    const id = declaredIdentifier(p.childForFieldName('declarator'));
    return id ? { statement: p.parent, variable: api.text(id), declared: true } : null;
  }
  return null;
}

/** The declaration of a local in the function body, as a parameter-like record. */
function declarationOf(api: RewriteApi, body: SyntaxNode, variable: string): { pointee: string | null } | null {
  for (const decl of body.namedChildren.filter((n) => n.type === 'declaration')) {
    for (const d of decl.childrenForFieldName('declarator')) {
      const inner = d.type === 'init_declarator' ? d.childForFieldName('declarator')! : d;
      if (inner.type === 'pointer_declarator' && inner.childForFieldName('declarator')?.type === 'identifier' && api.text(inner.childForFieldName('declarator')!) === variable) {
        return { pointee: api.text(decl.childForFieldName('type')!) };
      }
    }
  }
  return null;
}

/** After `HPy_New`, uses of the struct pointer as an object go to the handle. */
function objectUses(plan: AllocationScope, body: SyntaxNode, site: SyntaxNode, variable: string, handle: string, name: string): boolean {
  const { api } = plan.model;
  for (const id of body.descendantsOfType('identifier')) {
    if (api.text(id) !== variable || id.startIndex < site.endIndex) continue;
    const use = objectUse(api, id);
    if (use === 'struct') continue;
    if (!use) {
      problem(plan, id, `'${variable}' is used in '${name}' in a way this transform cannot place: ${leftAlone(plan)}`, [`after 'HPy_New', '${variable}' is the struct and '${handle}' the object: port this use by hand`]);
      return false;
    }
    plan.changes.push({ start: use.node.startIndex, end: use.node.endIndex, text: use.text(handle) });
  }
  return true;
}

/** How one use of the allocated struct pointer ports: `struct` (stays), or the node to replace. */
function objectUse(api: RewriteApi, id: SyntaxNode): 'struct' | { node: SyntaxNode; text: (h: string) => string } | null {
  const p = id.parent!;
  if (p.type === 'field_expression' && p.childForFieldName('argument')?.id === id.id) return 'struct';
  if (p.type === 'cast_expression') {
    const type = api.text(p.childForFieldName('type')!).replace(/\s+/g, '');
    return type === 'PyObject*' ? { node: p, text: (h) => h } : null;
  }
  if (p.type === 'return_statement') return { node: id, text: (h) => h };
  if (p.type === 'binary_expression' && /^[!=]=$/.test(p.childForFieldName('operator')?.type ?? '')) {
    const other = p.childForFieldName('left')?.id === id.id ? p.childForFieldName('right')! : p.childForFieldName('left')!;
    if (other.type !== 'null') return null;
    const negate = p.childForFieldName('operator')!.type === '!=';
    return { node: p, text: (h) => `${negate ? '!' : ''}HPy_IsNull(${h})` };
  }
  if (p.type === 'unary_expression' && api.text(p.childForFieldName('operator')!) === '!') return { node: p, text: (h) => `HPy_IsNull(${h})` };
  if (p.type === 'parenthesized_expression' && p.parent?.type === 'if_statement') return { node: id, text: (h) => `!HPy_IsNull(${h})` };
  if (p.type === 'argument_list') {
    const callee = p.parent ? calleeName(p.parent) : null;
    if (callee && (RELEASE_MACROS.has(callee) || callee === 'PyObject_GC_Track')) return { node: id, text: (h) => h };
    if (callee && !API_NAME.test(callee)) return 'struct';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Helpers that allocate instances

/**
 * Functions of the file other than slots (`vec2_alloc(PyTypeObject *type, ...)`) that allocate an
 * instance of a converted type from a type they receive: the allocation becomes `HPy_New`, as in
 * `tp_new`, and the `PyTypeObject *` parameter an `HPy`.
 */
function planAllocatingHelpers(model: FileModel): void {
  const { api } = model;
  for (const [name, fn] of model.functions) {
    const body = fn.childForFieldName('body');
    if (!body || model.claimed.has(name) || api.index.callbacks.includes(name)) continue;
    const params = oldParams(api, fn);
    const index = params.findIndex((p) => p.pointee === 'PyTypeObject' && allocatedStruct(model, body, p.name));
    if (index >= 0) planAllocatingHelper(model, fn, name, params[index], index);
  }
}

/** The converted struct that `body` allocates from the type `type`, if it allocates one. */
function allocatedStruct(model: FileModel, body: SyntaxNode, type: string): string | null {
  const { api } = model;
  const alloc = body.descendantsOfType('call_expression').find((c) => isAllocation(api, c, type));
  if (!alloc) return null;
  let value: SyntaxNode = alloc;
  while (value.parent?.type === 'parenthesized_expression') value = value.parent;
  const cast = value.parent?.type === 'cast_expression' ? /^(\w+)\s*\*$/.exec(api.text(value.parent.childForFieldName('type')!).trim()) : null;
  const site = allocationSite(api, alloc, body);
  const struct = cast ? cast[1] : site ? declarationOf(api, body, site.variable)?.pointee ?? null : null;
  return struct && model.converted.has(struct) ? struct : null;
}

function planAllocatingHelper(model: FileModel, fn: SyntaxNode, name: string, param: OldParam, index: number): void {
  const { api } = model;
  const scope: AllocationScope = { model, variable: name, changes: [], problems: [] };
  if (typeParamUses(scope, fn, name, param.name) && newBody(scope, fn, name, param.name, param.node)) {
    scope.changes.push({ start: param.node.startIndex, end: param.node.endIndex, text: `HPy ${param.name}` });
    for (const proto of model.prototypes.get(name) ?? []) {
      const p = functionDeclarator(proto)?.childForFieldName('parameters')?.namedChildren.filter((c) => c.type === 'parameter_declaration')[index];
      const id = p ? declaredIdentifier(p.childForFieldName('declarator')) : null;
      if (p) scope.changes.push({ start: p.startIndex, end: p.endIndex, text: id ? `HPy ${api.text(id)}` : 'HPy' });
    }
  }
  for (const p of scope.problems) api.report(p.at, p.message, { notes: p.notes });
  // A helper gets its `ctx` from missing-context (reported once when that does not run).
  if (scope.problems.length > 0 || !contextGuard(api).allows(fn.childForFieldName('body')!, 'HPy_New')) return;
  for (const c of scope.changes) api.replace(c, c.text);
}

/** The type parameter of an allocating helper may only allocate or be passed on (as a handle). */
function typeParamUses(scope: AllocationScope, fn: SyntaxNode, name: string, type: string): boolean {
  const { api } = scope.model;
  for (const id of fn.childForFieldName('body')!.descendantsOfType('identifier')) {
    if (api.text(id) !== type || id.parent?.type === 'field_expression') continue;
    // Passed on as it is, or cast to an object pointer (a handle needs no cast: pyobject-pointer drops it).
    const cast = id.parent?.type === 'cast_expression' && /^(PyObject|PyTypeObject)\s*\*$/.test(api.text(id.parent.childForFieldName('type')!).trim()) ? id.parent : id;
    if (cast.parent?.type === 'argument_list') continue;
    problem(scope, id, `'${type}' is used in '${name}' other than to allocate or to pass it on: ${leftAlone(scope)}`, [`the type becomes an 'HPy' handle allocated from with 'HPy_New(ctx, ${type}, &p)': port this use by hand, then run hpy-migrate again`]);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// tp_dealloc and tp_clear

function planDeallocAndClear(plan: TypePlan): void {
  if (plan.clear) planClear(plan, plan.clear);
  if (plan.dealloc) planDealloc(plan, plan.dealloc);
}

function planClear(plan: TypePlan, clear: { name: string; at: SyntaxNode }): void {
  if (plan.model.claimed.has(clear.name) || plan.impls.has(clear.name)) {
    problem(plan, clear.at, `'${clear.name}' is also used as another slot: ${leftAlone(plan)}`, ['HPy synthesises tp_clear; give the other slot its own function']);
    return;
  }
  removeFunction(plan, clear.name);
  plan.exclusive.push(clear);
}

function planDealloc(plan: TypePlan, dealloc: { name: string; at: SyntaxNode }): void {
  const { api } = plan.model;
  const fn = plan.model.functions.get(dealloc.name)!;
  if (plan.model.claimed.has(dealloc.name) || plan.impls.has(dealloc.name)) {
    problem(plan, dealloc.at, `'${dealloc.name}' is also used as another slot: ${leftAlone(plan)}`, ['give tp_dealloc its own function']);
    return;
  }
  const params = oldParams(api, fn);
  if (params.length !== 1) {
    problem(plan, dealloc.at, `'${dealloc.name}' takes ${params.length} parameters where 'tp_dealloc' takes 1: ${leftAlone(plan)}`, ['fix the signature of the function, then run hpy-migrate again']);
    return;
  }
  const analysis = analyzeDealloc(api, fn, params[0].name, plan.clear?.name ?? null);
  for (const p of analysis.problems) problem(plan, p, `'${dealloc.name}' does C-API work that an HPy destructor cannot do: ${leftAlone(plan)}`, ["'HPy_tp_destroy' gets only the struct and may not call the interpreter: move this to an 'HPy_tp_finalize' slot (void f(HPyContext *ctx, HPy self)) by hand"]);
  if (analysis.problems.length > 0) return;
  plan.exclusive.push(dealloc);
  if (analysis.keeps.length === 0) {
    removeFunction(plan, dealloc.name);
    return;
  }
  for (const d of analysis.drops) {
    const span = lineSpan(plan.model.file.text, d.startIndex, d.endIndex);
    plan.changes.push({ ...span, text: '' });
    plan.consumed.push(span);
  }
  const impl = convertImpl(plan, dealloc.name, IMPL_SIGNATURES.HPyFunc_DESTROYFUNC, 'tp_dealloc', dealloc.at, 'HPy_tp_destroy');
  if (impl) addSlot(plan, impl, 'HPy_tp_destroy');
}

/** The statements of a `tp_dealloc` body: what HPy does itself (drops), native work (keeps), the rest. */
function analyzeDealloc(api: RewriteApi, fn: SyntaxNode, self: string, clear: string | null): { drops: SyntaxNode[]; keeps: SyntaxNode[]; problems: SyntaxNode[] } {
  const out = { drops: [] as SyntaxNode[], keeps: [] as SyntaxNode[], problems: [] as SyntaxNode[] };
  const typeVars = new Set<string>();
  for (const stmt of fn.childForFieldName('body')!.namedChildren) {
    if (stmt.type === 'comment') continue;
    if (isDroppedStatement(api, stmt, self, clear, typeVars)) out.drops.push(stmt);
    else if (stmt.descendantsOfType('identifier').some((id) => API_NAME.test(api.text(id)) || typeVars.has(api.text(id)))) out.problems.push(stmt);
    else if (stmt.type !== 'return_statement') out.keeps.push(stmt);
  }
  return out;
}

function isSelf(api: RewriteApi, node: SyntaxNode | undefined, self: string): boolean {
  if (!node) return false;
  const n = stripCasts(node);
  return n.type === 'identifier' && api.text(n) === self;
}

/** `PyTypeObject *tp = Py_TYPE(self);` */
function isTypeOfSelf(api: RewriteApi, node: SyntaxNode | null | undefined, self: string): boolean {
  const n = node ? stripCasts(node) : null;
  return !!n && n.type === 'call_expression' && calleeName(n) === 'Py_TYPE' && isSelf(api, callArguments(n)[0], self);
}

function isDroppedStatement(api: RewriteApi, stmt: SyntaxNode, self: string, clear: string | null, typeVars: Set<string>): boolean {
  if (stmt.type === 'declaration') {
    const decls = stmt.childrenForFieldName('declarator');
    const d = decls.length === 1 && decls[0].type === 'init_declarator' ? decls[0] : null;
    const id = d ? declaredIdentifier(d) : null;
    if (!d || !id || !isTypeOfSelf(api, d.childForFieldName('value'), self)) return false;
    typeVars.add(api.text(id));
    return true;
  }
  if (stmt.type !== 'expression_statement') return false;
  const call = stmt.namedChildren[0] ? stripCasts(stmt.namedChildren[0]) : null;
  if (!call || call.type !== 'call_expression') return false;
  const callee = call.childForFieldName('function')!;
  const args = callArguments(call);
  if (callee.type === 'field_expression') {
    const base = callee.childForFieldName('argument')!;
    const ofType = isTypeOfSelf(api, base, self) || (base.type === 'identifier' && typeVars.has(api.text(base)));
    return api.text(callee.childForFieldName('field')!) === 'tp_free' && ofType && isSelf(api, args[0], self);
  }
  const name = calleeName(call);
  if (!name || args.length !== 1) return false;
  if (name === 'PyObject_GC_UnTrack' || FREE_FUNCTIONS.has(name) || name === clear) return isSelf(api, args[0], self);
  if (!RELEASE_MACROS.has(name)) return false;
  const arg = unparenthesize(args[0]);
  if (arg.type === 'identifier' && typeVars.has(api.text(arg))) return true;
  if (isTypeOfSelf(api, arg, self)) return true;
  return arg.type === 'field_expression' && arg.children.some((c) => c.type === '->') && isSelf(api, arg.childForFieldName('argument')!, self);
}

// ---------------------------------------------------------------------------------------------
// Uses outside the converted code

/** Uses of `name` outside the spans this plan rewrites, and outside the declarations of `name`. */
function outsideUses(plan: TypePlan, name: string, own: SyntaxNode[]): SyntaxNode[] {
  const declarators = [...own, ...(plan.model.prototypes.get(name) ?? [])].map((d) => declaredName(d)).filter((d): d is SyntaxNode => !!d);
  const fn = plan.model.functions.get(name);
  if (fn) {
    const id = functionDeclarator(fn)?.childForFieldName('declarator');
    if (id) declarators.push(id);
  }
  return (plan.model.uses.get(name) ?? []).filter((id) => !plan.consumed.some((s) => s.start <= id.startIndex && id.endIndex <= s.end) && !declarators.some((d) => d.id === id.id));
}

function declaredName(decl: SyntaxNode): SyntaxNode | null {
  const fdecl = functionDeclarator(decl);
  return fdecl ? fdecl.childForFieldName('declarator') : declaredIdentifier(decl.childForFieldName('declarator'));
}

const SLOT_FUNCTIONS = '(function_definition) @fn';
const SLOT_CALLS = '(call_expression function: (identifier) @callee) @call';
const TUPLE_ACCESS = new Set(['PyTuple_GET_ITEM', 'PyTuple_GET_SIZE', 'PyTuple_Size']);

/**
 * A slot function that calls something no transform converts keeps the whole type on the C API:
 * an HPy slot signature around a body left on the C API would not compile (as for methods).
 */
function checkSlotCalls(plan: TypePlan): void {
  const { api } = plan.model;
  const names = new Set(plan.exclusive.map((e) => e.name));
  for (const { fn } of api.matches(SLOT_FUNCTIONS)) {
    const name = functionName(fn);
    if (!name || !names.has(name)) continue;
    for (const { callee, call } of api.matches(SLOT_CALLS, fn)) {
      // The argument tuple of tp_new/tp_init becomes an array: this transform rewrites those.
      if (TUPLE_ACCESS.has(api.text(callee))) continue;
      const why = unconvertedCallReason(api, api.text(callee), callArguments(call).map((a) => api.text(a)), call);
      if (!why) continue;
      problem(plan, callee, `'${name}' calls '${api.text(callee)}', which stays on the C API (${why}): ${leftAlone(plan)}`, [
        'a type is converted whole or not at all: rewrite this call by hand (or wait for the transform that converts it), then run hpy-migrate again',
      ]);
      return;
    }
  }
}

function checkExclusiveUses(plan: TypePlan): void {
  const { api } = plan.model;
  for (const { name, at } of plan.exclusive) {
    const others = outsideUses(plan, name, []);
    const elsewhere = api.index.functions.filter((f) => f.file !== plan.model.file.path && f.calls.includes(name));
    if (others.length > 0) {
      problem(plan, others[0], `'${name}' is used outside the definition of '${plan.variable}': ${leftAlone(plan)}`, [`its HPy form cannot be used like this (a slot impl takes 'ctx' and handles); move the shared code into a helper that both call, then run hpy-migrate again`]);
    } else if (elsewhere.length > 0) {
      problem(plan, at, `'${name}' is called in '${elsewhere[0].file}': ${leftAlone(plan)}`, [SAME_FILE_NOTE]);
    }
  }
}

/**
 * A static type object exists no more once converted: only its registration in the module init
 * function (pymoduledef's) may use it; any other use keeps the type as it is.
 */
function checkTypeUses(plan: TypePlan): void {
  if (plan.kind !== 'static') return;
  const { api } = plan.model;
  for (const id of outsideUses(plan, plan.variable, [plan.decl])) {
    const fn = enclosingFunctionName(id);
    if (fn?.startsWith('PyInit_') && api.isRegistered('pymoduledef')) continue;
    problem(plan, id, `'${plan.variable}' is used outside the module init function: ${leftAlone(plan)}`, [
      `once converted the type object exists only as a handle, created with '${plan.variable}_spec' at module init: keep it in an HPyGlobal, load it here (an HPy_TypeCheck for a type test), then run hpy-migrate again`,
    ]);
  }
}

function enclosingFunctionName(node: SyntaxNode): string | null {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return functionDeclarator(p)?.childForFieldName('declarator')?.text ?? null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Building the text

function emitType(plan: TypePlan, flags: string): void {
  const { api } = plan.model;
  const eol = api.eol;
  const indent = elementIndent(plan);
  const definesName = symbol(plan, plan.kind === 'spec' ? `${typePrefix(plan)}_defines` : `${plan.variable}_defines`);
  const defines = [`static HPyDef *${definesName}[] = {`, ...plan.defines.map((d) => `${indent}${d},`), `${indent}NULL`, '};'].join(eol);
  // The definitions declare every impl static, so wrappers may follow them and call any impl.
  const head = [...(plan.slotLines.length > 0 ? [`${plan.slotLines.join(eol)}${eol}`] : []), ...plan.wrappers.map((w) => `${w}${eol}`)];
  const block = [...head, defines].join(eol);
  const spec = specText(plan, definesName, indent, flags);
  if (plan.kind === 'spec') {
    plan.changes.push({ start: plan.anchor.startIndex, end: plan.anchor.endIndex, text: block });
    plan.changes.push({ start: plan.decl.startIndex, end: plan.decl.endIndex, text: spec });
  } else {
    plan.changes.push({ start: plan.decl.startIndex, end: plan.decl.endIndex, text: `${block}${eol}${eol}${spec}` });
  }
}

function specText(plan: TypePlan, definesName: string, indent: string, flags: string): string {
  const { api } = plan.model;
  const type = plan.decl.childForFieldName('type')!;
  const storage = api.text({ start: plan.decl.startIndex, end: type.startIndex });
  const name = plan.kind === 'spec' ? plan.variable : `${plan.variable}_spec`;
  const fields: string[] = [];
  if (plan.spec.name) fields.push(`.name = ${api.text(plan.spec.name)}`);
  if (plan.spec.basicsize && api.text(plan.spec.basicsize).replace(/\s+/g, '') !== 'sizeof(PyObject)') fields.push(`.basicsize = ${api.text(plan.spec.basicsize)}`);
  fields.push(`.flags = ${flags}`);
  fields.push(`.defines = ${definesName}`);
  if (plan.spec.doc) fields.push(`.doc = ${plan.spec.doc}`);
  return [`${storage}HPyType_Spec ${name} = {`, ...fields.map((f) => `${indent}${f},`), '};'].join(api.eol);
}

/** `HPy_TPFLAGS_DEFAULT | ...`; flags HPy lacks are dropped with a warning. */
function flagsText(plan: TypePlan): string {
  const { api } = plan.model;
  const out = ['HPy_TPFLAGS_DEFAULT'];
  const flags = plan.spec.flags;
  if (!flags) return out[0];
  for (const raw of api.text(flags).split('|')) {
    const name = raw.replace(/[()\s]/g, '');
    if (name === '0' || name === '' || IMPLIED_TYPE_FLAGS.includes(name)) continue;
    const hpy = typeFlagOf(name);
    if (hpy) {
      if (!out.includes(hpy)) out.push(hpy);
      continue;
    }
    if (!name.startsWith('Py_TPFLAGS_')) {
      problem(plan, flags, `the flags of '${plan.variable}' cannot be read ('${name}'): ${leftAlone(plan)}`, ["write the flags as 'Py_TPFLAGS_*' names joined by '|'"]);
      continue;
    }
    plan.remarks.push({ at: flags, severity: 'warning', message: `type flag '${name}' has no HPy 0.9.0 counterpart: dropped`, notes: [apiEntry(name)?.notes || 'HPy 0.9.0 knows only DEFAULT, BASETYPE, HAVE_GC and HAVE_VECTORCALL', 'check that the type does not rely on it'] });
  }
  return out.join(' | ');
}

function elementIndent(plan: TypePlan): string {
  const init = plan.decl.childForFieldName('declarator')?.childForFieldName('value');
  const first = init ? initializerElements(init)[0] : undefined;
  if (!first) return '    ';
  const text = plan.model.file.text;
  const lineStart = text.lastIndexOf('\n', first.startIndex - 1) + 1;
  const indent = indentationAt(text, first.startIndex);
  return lineStart + indent.length === first.startIndex && indent.length > 0 ? indent : '    ';
}

/** A new symbol based on `base`, unused in the file and in this pass. */
function symbol(plan: TypePlan, base: string): string {
  const name = unusedName(plan.model.file.text, base, plan.model.taken);
  plan.model.taken.add(name);
  return name;
}

function identifierPart(attribute: string): string {
  return attribute.replace(/[^A-Za-z0-9_]/g, '_');
}

// ---------------------------------------------------------------------------------------------
// Small syntax helpers

function initializerOf(decl: SyntaxNode): SyntaxNode | null {
  const d = decl.childForFieldName('declarator');
  const value = d?.type === 'init_declarator' ? d.childForFieldName('value') : null;
  return value?.type === 'initializer_list' ? value : null;
}

function stripCasts(node: SyntaxNode): SyntaxNode {
  let n = unparenthesize(node);
  while (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value')!);
  return n;
}

/** `0`, `NULL`, `(destructor)0`, `{0}`: no function, no value. */
function isEmptyValue(api: RewriteApi, node: SyntaxNode): boolean {
  const n = stripCasts(node);
  if (n.type === 'null') return true;
  if (n.type === 'number_literal') return /^0[uUlL]*$/.test(api.text(n));
  return n.type === 'initializer_list' && initializerElements(n).every((e) => isEmptyValue(api, e));
}

function consume(plan: TypePlan, node: SyntaxNode): void {
  plan.consumed.push({ start: node.startIndex, end: node.endIndex });
}

/** Removes a declaration or function with its lines (and a comment right above a function). */
function removeDeclaration(plan: TypePlan, node: SyntaxNode): void {
  const span = removalSpan(plan.model.file.text, node);
  plan.changes.push({ ...span, text: '' });
  plan.consumed.push(span);
}

function removeFunction(plan: TypePlan, name: string): void {
  removeDeclaration(plan, plan.model.functions.get(name)!);
  for (const proto of plan.model.prototypes.get(name) ?? []) removeDeclaration(plan, proto);
}

function removalSpan(text: string, node: SyntaxNode): Span {
  let start = node.startIndex;
  const prev = node.previousSibling;
  if (node.type === 'function_definition' && prev?.type === 'comment' && /^[ \t]*\r?\n[ \t]*$/.test(text.slice(prev.endIndex, start))) {
    const ls = text.lastIndexOf('\n', prev.startIndex - 1) + 1;
    if (!/\S/.test(text.slice(ls, prev.startIndex))) start = prev.startIndex;
  }
  const span = lineSpan(text, start, node.endIndex);
  if (span.end === node.endIndex) return span;
  const blankBefore = span.start === 0 || /(^|\n)[ \t]*\r?\n$/.test(text.slice(Math.max(0, span.start - 200), span.start));
  const after = /^[ \t]*\r?\n/.exec(text.slice(span.end));
  return blankBefore && after ? { start: span.start, end: span.end + after[0].length } : span;
}

/** The whole lines of `[start, end)` when nothing but blanks (or a comment) shares them. */
function lineSpan(text: string, start: number, end: number): Span {
  const ls = text.lastIndexOf('\n', start - 1) + 1;
  const rest = /^[ \t]*(\/\*[^\n]*?\*\/|\/\/[^\n]*)?[ \t]*(\r?\n|$)/.exec(text.slice(end));
  if (/\S/.test(text.slice(ls, start)) || !rest) return { start, end };
  return { start: ls, end: end + rest[0].length };
}
