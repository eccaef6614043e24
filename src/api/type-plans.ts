/**
 * How pytype-spec plans the types of a file (`PyType_Spec` + `PyType_Slot[]`, static
 * `PyTypeObject`): for each type, the text it becomes, or the reasons it is left whole; in a
 * hybrid run, the slots kept in `.legacy_slots`. The plan is pure (no edit, no report): pytype-spec
 * applies and reports it, and pymethoddef, which runs first, asks the same planning whether a type
 * will be left whole (`typesLeftWhole`) before it writes that type's method table as an
 * `HPyDef *[]`: a type left on the C API keeps a `PyMethodDef` table, which pymethoddef then
 * leaves whole too (an `HPyDef **` as `tp_methods` of a C-API type does not compile, not even in
 * hybrid ABI). Both take the decision from this code; pymethoddef describes the tables it is about
 * to write with a `MethodTableForecast`, since it plans on the text before its own edits.
 */
import { apiEntry } from './api-map.js';
import { argParseProblem } from './arg-format.js';
import { unconvertedCallReason } from './call-convertibility.js';
import { C_API_CALLEE_NOTE, cApiCallers } from './c-api-callers.js';
import { unusedName } from './c-declarations.js';
import { initializerElements, readInitializer, type InitializedField } from './c-initializer.js';
import { callArguments, calleeName, declaredIdentifier, functionDeclarator, functionName, indentationAt, unparenthesize } from './c-syntax.js';
import { allocationSource, allocationSuggestion } from './instance-allocations.js';
import { legacyHelpers } from './legacy-helpers.js';
import { legacyFunctions, memberUsesIn, type LegacyMemberUse } from './legacy-members.js';
import { LEGACY_SLOT_FIELDS, legacySlotTableText, LIFECYCLE_SLOT_FIELDS } from './legacy-slots.js';
import { objectStructsOf, structNamed } from './object-structs.js';
import {
  GETSET_DEF_FIELDS,
  hpySlotOf,
  IMPL_SIGNATURES,
  implSignatureOf,
  IMPLIED_TYPE_FLAGS,
  MEMBER_DEF_FIELDS,
  memberTypeOf,
  METHOD_SUITES,
  READONLY_MEMBER_FLAGS,
  renderParam,
  RICHCMP_OPS,
  TYPE_OBJECT_FIELDS,
  TYPE_SLOT_FIELDS,
  TYPE_SPEC_FIELDS,
  typeFlagOf,
  type ImplSignature,
} from './slot-table.js';
import { structPointerUses } from './typed-params.js';
import type { RewriteApi, SourceFile, Span, SyntaxNode } from './types.js';

const TYPE_DECLARATIONS = `
(declaration
  type: (type_identifier) @type (#match? @type "^(PyType_Spec|PyTypeObject)$")
  declarator: (init_declarator declarator: (identifier) @name value: (initializer_list) @init)) @decl`;
const TOP_DECLARATIONS = '(translation_unit (declaration) @decl)';
const TOP_FUNCTIONS = '(translation_unit (function_definition) @fn)';
const IDENTIFIERS = '(identifier) @id';

const LEGACY_NOTE = "in hybrid ABI the type can keep it: make the struct a legacy type ('HPyType_LEGACY_HELPERS', 'PyObject_HEAD' kept) and list the slot in '.legacy_slots'";
const WHOLE_TYPE_CALL_NOTE = 'a type is converted whole or not at all: rewrite this call by hand (or wait for the transform that converts it), then run hpy-migrate again';
const WHOLE_TYPE_CALLEE_NOTE = 'a type is converted whole or not at all: its slots keep their C-API signatures with it';
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
export interface TypeFinding {
  at: SyntaxNode | Span;
  message: string;
  notes: string[];
  severity?: 'warning' | 'note';
  /** The slot (`tp_iter`) a reason to leave the type is about: in hybrid, that slot alone can stay legacy. */
  entry?: string;
  /** What to write by hand instead (one line). */
  suggestion?: string;
  /** The `PyMethodDef` table this reason is about (the type's method table is still one). */
  methodTable?: string;
}

/** What the whole file offers the planning of each type. */
export interface TypeFileModel {
  api: RewriteApi;
  file: SourceFile;
  /** pymethoddef's forecast of its own pass, when it plans before writing (null for pytype-spec). */
  forecast: MethodTableForecast | null;
  declarations: Map<string, SyntaxNode>;
  functions: Map<string, SyntaxNode>;
  prototypes: Map<string, SyntaxNode[]>;
  /** Declarations without initializer (`static PyTypeObject XType;`), by name. */
  forwards: Map<string, SyntaxNode[]>;
  uses: Map<string, SyntaxNode[]>;
  /** Names written by this pass (for unique symbols); a plan planned again starts from a copy. */
  taken: Set<string>;
  /** Functions converted by a type of this pass, with the type. */
  claimed: Map<string, string>;
  /** Object structs of the types that are HPy types once this pass is done. */
  converted: Set<string>;
  /** Spans this pass has rewritten so far (a later rewrite must not overlap them). */
  edited: Span[];
}

/** One slot of a type: the CPython field (`tp_init`, `sq_item`) and its value. */
interface Entry {
  field: string;
  value: SyntaxNode;
  site: SyntaxNode;
}

/** Everything decided about one type before any edit is made. */
export interface TypePlan {
  model: TypeFileModel;
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
  problems: TypeFinding[];
  remarks: TypeFinding[];
  changes: Change[];
  consumed: Span[];
  /** Functions whose every use must lie in consumed spans. */
  exclusive: { name: string; at: SyntaxNode; entry?: string }[];
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
  /** The slot being planned: a problem found meanwhile is about it. */
  current?: string;
  /** Hybrid: the slots this plan keeps on the C API (in `.legacy_slots`), with why. */
  forced: ReadonlyMap<string, LegacyReason>;
  /** Hybrid: the `.legacy_slots` entries, in the order of the type's slots. */
  legacy: LegacySlot[];
  /** Hybrid: slots found to stay legacy only once the rest was planned (the type is planned again). */
  pending: Map<string, LegacyReason>;
  /** Does the members table expose `PyObject *` fields (`T_OBJECT`, `T_OBJECT_EX`)? */
  objectMembers: boolean;
}

/** Why a slot stays on the C API in a hybrid port. */
interface LegacyReason {
  why: string;
  notes: string[];
}

/** One `.legacy_slots` entry: the slot, its value as C text, the slot's place in the old type. */
interface LegacySlot {
  field: string;
  value: string;
  site: SyntaxNode | Span;
  reason: LegacyReason;
}

/**
 * What pymethoddef, which plans on the text before its own edits, is about to write: the
 * planning then takes each `PyMethodDef` table as the `HPyDef *[]` it becomes (as pytype-spec will
 * read it), unless pymethoddef leaves it whole.
 */
export interface MethodTableForecast {
  /** `PyMethodDef` tables that stay as they are (whole); the others become `HPyDef *[]` (hybrid: with a `<table>_legacy` part). */
  keptWhole: ReadonlySet<string>;
  /** Functions that get an HPy signature in that pass (no longer C-API code once it is done). */
  hpyFunctions: ReadonlySet<string>;
}

/** One type definition of the file and its plan (null: not at file scope, left alone). */
export interface TypeOutcome {
  decl: SyntaxNode;
  /** `PyType_Spec` or `PyTypeObject`. */
  cType: string;
  variable: string;
  plan: TypePlan | null;
}

/** The plans of a file's types, in file order, and what the file offers them. */
export interface FileTypePlans {
  model: TypeFileModel;
  types: TypeOutcome[];
}

/**
 * Plans every type of the file in order, as pytype-spec converts them: a type that converts
 * claims its slot functions and its struct for the types after it. Pure: nothing is edited or
 * reported. `forecast` is pymethoddef's (see `MethodTableForecast`); pytype-spec passes none.
 */
export function planFileTypes(api: RewriteApi, file: SourceFile, forecast: MethodTableForecast | null = null): FileTypePlans {
  const model = fileModel(api, file, forecast);
  const types: TypeOutcome[] = [];
  for (const m of api.matches(TYPE_DECLARATIONS)) {
    const cType = api.text(m.type);
    const variable = api.text(m.name);
    if (m.decl.parent?.type !== 'translation_unit') {
      types.push({ decl: m.decl, cType, variable, plan: null });
      continue;
    }
    const plan = planForTarget(model, m.decl, cType === 'PyType_Spec' ? 'spec' : 'static', variable, m.init);
    types.push({ decl: m.decl, cType, variable, plan });
    if (plan.problems.length > 0) continue;
    for (const name of plan.impls.keys()) model.claimed.set(name, plan.variable);
    if (plan.struct) model.converted.add(plan.struct);
    model.edited.push(...plan.changes);
  }
  return { model, types };
}

/** A type that pytype-spec leaves whole, with the method table it names. */
export interface TypeLeftWhole {
  variable: string;
  /** The table of its `tp_methods` (`{Py_tp_methods, X}` or `.tp_methods = X`), if a plain name. */
  methodTable: string | null;
  /** Its first reason other than its method table (`'tp_iter' has no HPy 0.9.0 counterpart`). */
  why: string;
}

/**
 * The types pytype-spec will leave whole once pymethoddef has written what `forecast` says, and
 * why: the question pymethoddef asks before it converts a type's method table.
 */
export function typesLeftWhole(api: RewriteApi, file: SourceFile, forecast: MethodTableForecast): TypeLeftWhole[] {
  const out: TypeLeftWhole[] = [];
  for (const { plan } of planFileTypes(api, file, forecast).types) {
    if (!plan || plan.problems.length === 0) continue;
    const methods = plan.entries.find((e) => e.field === 'tp_methods');
    const table = methods ? stripCasts(methods.value) : null;
    const reason = plan.problems.find((p) => !p.methodTable) ?? plan.problems[0];
    out.push({ variable: plan.variable, methodTable: table?.type === 'identifier' ? api.text(table) : null, why: reason.message.replace(/: '[^']*' is left as it was$/, '') });
  }
  return out;
}

function fileModel(api: RewriteApi, file: SourceFile, forecast: MethodTableForecast | null): TypeFileModel {
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
  return { api, file, forecast, declarations, functions, prototypes, forwards, uses, taken: new Set(), claimed: new Map(), converted: new Set(), edited: [] };
}

// ---------------------------------------------------------------------------------------------
// Planning a type

function planType(model: TypeFileModel, decl: SyntaxNode, kind: 'spec' | 'static', variable: string, init: SyntaxNode, forced: ReadonlyMap<string, LegacyReason>): TypePlan {
  const plan: TypePlan = {
    model, decl, kind, variable, spec: {}, struct: null, anchor: decl, entries: [], problems: [], remarks: [], changes: [],
    consumed: [{ start: decl.startIndex, end: decl.endIndex }], exclusive: [], wrappers: [], slotLines: [], defines: [],
    impls: new Map(), hasInit: false, genericNew: null, hasNew: false, dealloc: null, clear: null,
    forced, legacy: [], pending: new Map(), objectMembers: false,
  };
  if (decl.childrenForFieldName('declarator').length !== 1) {
    problem(plan, decl, `'${variable}' shares its declaration with other variables: left as it was`, ['declare each type on its own, then run hpy-migrate again'], `'static ${cTypeName(plan)} ${variable} = {...};' in a declaration of its own`);
    return plan;
  }
  if (decl.hasError) {
    problem(plan, decl, `'${variable}' does not parse: left as it was`, ['check the macros in its initializer (a Python 2 head under #if cannot be read); fix them and run hpy-migrate again'], `the initializer of '${variable}' without #if inside it (keep the branch for Python 3), then run hpy-migrate again`);
    return plan;
  }
  if (kind === 'spec') readSpec(plan, init);
  else readStatic(plan, init);
  const basicsize = plan.spec.basicsize ? /^sizeof\s*\(\s*(\w+)\s*\)$/.exec(model.api.text(plan.spec.basicsize)) : null;
  plan.struct = basicsize && basicsize[1] !== 'PyObject' ? basicsize[1] : null;
  plan.hasInit = plan.entries.some((e) => e.field === 'tp_init');
  if (plan.spec.itemsize) {
    problem(plan, plan.spec.itemsize, `'${variable}' has items (a non-zero item size): ${leftAlone(plan)}`, ['HPy 0.9.0 does not support var-sized objects; keep the items in a separately allocated buffer', LEGACY_NOTE], `an item size of 0 and a fixed-size '${plan.struct ?? 'T'}' that points to its items in a malloc'd buffer (freed in an HPy_tp_destroy impl)`);
  }
  for (const forward of model.forwards.get(variable) ?? []) removeDeclaration(plan, forward);
  for (const entry of plan.entries) planEntry(plan, entry);
  planGenericNew(plan);
  planDeallocAndClear(plan);
  if (kind === 'static' && !plan.hasNew) {
    plan.remarks.push({ at: decl, message: `'${variable}' has no 'tp_new': as an HPy type it inherits 'object.__new__'`, notes: ['Python code can now create instances (zero-filled); add an HPy_tp_new slot that raises TypeError if that must stay impossible'], suggestion: REFUSE_NEW });
  }
  const flags = flagsText(plan);
  checkExclusiveUses(plan);
  checkSlotCalls(plan);
  checkTypeUses(plan);
  if (model.api.target === 'hybrid') checkLegacyLifecycle(plan);
  if (plan.problems.length === 0 && plan.pending.size === 0) emitType(plan, flags);
  return plan;
}

/** What a function that allocates instances works on: a type's plan, or a helper's own. */
export type TypeAllocationScope = Pick<TypePlan, 'model' | 'variable' | 'changes' | 'problems'> & { current?: string };

/** A reason to leave the type (or helper) as it was, with what to write by hand instead (one line). */
function problem(plan: TypeAllocationScope, at: SyntaxNode | Span, message: string, notes: string[], suggestion: string): void {
  plan.problems.push({ at, message, notes, entry: plan.current, suggestion });
}

/** A problem of the whole type, even while a slot is being planned (in hybrid, no slot can take it). */
function typeProblem(plan: TypePlan, at: SyntaxNode | Span, message: string, notes: string[], suggestion: string): void {
  plan.problems.push({ at, message, notes, suggestion });
}

/**
 * The suggestion for a slot that only the C API can have (`tp_iter`): a hybrid port keeps it in
 * `.legacy_slots`, which it does by itself once nothing else keeps the whole type.
 */
function legacyPath(plan: TypeAllocationScope): string {
  return plan.model.api.target === 'hybrid'
    ? `nothing for this slot: it stays on the C API in '.legacy_slots' once the findings about the whole of '${plan.variable}' are fixed`
    : `keep it on the legacy path: run with --target hybrid (the slot goes to '.legacy_slots' of a legacy type; build with --hpy-abi=hybrid)`;
}

/** `form`, plus the legacy path of a universal run when the problem is about a slot a hybrid port can keep. */
function orLegacy(plan: TypeAllocationScope, form: string): string {
  const slot = plan.current !== undefined && LEGACY_SLOT_FIELDS.has(plan.current);
  return slot && plan.model.api.target !== 'hybrid' ? `${form}; or keep it on the legacy path: run with --target hybrid` : form;
}

/** The C type of the definition (`PyType_Spec`, `PyTypeObject`). */
function cTypeName(plan: TypePlan): string {
  return plan.kind === 'spec' ? 'PyType_Spec' : 'PyTypeObject';
}

/** An impl's HPy signature, as C: `static HPy name(HPyContext *ctx, HPy self)`. */
function implText(sig: ImplSignature, name: string): string {
  return `static ${sig.returns} ${name}(${sig.params.map(renderParam).join(', ')})`;
}

/** Functions and tables whose every use must lie in the spans this plan rewrites (tagged with the slot planned). */
function addExclusive(plan: TypePlan, name: string, at: SyntaxNode): void {
  plan.exclusive.push({ name, at, entry: plan.current });
}

function leftAlone(plan: TypeAllocationScope): string {
  return `'${plan.variable}' is left as it was`;
}

function readSpec(plan: TypePlan, init: SyntaxNode): void {
  const { api } = plan.model;
  const reading = readInitializer(initializerElements(init), TYPE_SPEC_FIELDS);
  for (const u of reading.unreadable) problem(plan, u, `this initializer of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write the PyType_Spec with plain positional or designated fields'], `'static PyType_Spec ${plan.variable} = {.name = "mod.Name", .basicsize = sizeof(T), .flags = Py_TPFLAGS_DEFAULT, .slots = ${typePrefix(plan)}_slots};' with plain fields`);
  let slots: InitializedField | undefined;
  for (const f of reading.fields) {
    if (f.field === 'slots') slots = f;
    else if (f.field !== 'itemsize' || !isEmptyValue(api, f.value)) plan.spec[f.field as 'name'] = f.value;
  }
  if (!slots || stripCasts(slots.value).type !== 'identifier') {
    problem(plan, slots?.value ?? plan.decl, `the slots of '${plan.variable}' are not a table of this file: ${leftAlone(plan)}`, ["write '.slots = X_slots' with 'static PyType_Slot X_slots[]' defined above it"], `'.slots = ${typePrefix(plan)}_slots', with 'static PyType_Slot ${typePrefix(plan)}_slots[] = {...};' defined above '${plan.variable}'`);
    return;
  }
  const name = api.text(stripCasts(slots.value));
  const table = plan.model.declarations.get(name);
  const list = table ? initializerOf(table) : null;
  if (!table || !list || !/^PyType_Slot$/.test(api.text(table.childForFieldName('type')!))) {
    problem(plan, slots.value, `'${name}' is not a 'PyType_Slot' table of this file: ${leftAlone(plan)}`, ['define the slot table in the file of the spec'], `'static PyType_Slot ${name}[] = {...};' defined above '${plan.variable}', in this file`);
    return;
  }
  plan.anchor = table;
  consume(plan, table);
  addExclusive(plan, name, slots.value);
  readSlotTable(plan, list);
}

function readSlotTable(plan: TypePlan, list: SyntaxNode): void {
  const { api } = plan.model;
  for (const element of initializerElements(list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), TYPE_SLOT_FIELDS) : null;
    const slot = reading?.fields.find((f) => f.field === 'slot')?.value;
    const value = reading?.fields.find((f) => f.field === 'pfunc')?.value;
    if (!reading || reading.unreadable.length > 0 || !slot) {
      problem(plan, element, `this entry of the slot table of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write each slot as {Py_tp_xxx, function}, without preprocessor lines'], "'{Py_tp_xxx, function},' for each slot, with no #if inside the table");
      continue;
    }
    if (isEmptyValue(api, slot)) break;
    const id = api.text(slot);
    if (!/^Py_\w+$/.test(id) || !value) {
      problem(plan, element, `'${id}' is not a slot id: ${leftAlone(plan)}`, ['write each slot as {Py_tp_xxx, function}'], `'{Py_tp_xxx, function},' with a slot id of typeslots.h in place of '${id}'`);
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
  for (const u of reading.unreadable) problem(plan, u, `this initializer of '${plan.variable}' cannot be read: ${leftAlone(plan)}`, ['write the PyTypeObject with plain positional or designated fields'], `'static PyTypeObject ${plan.variable} = {PyVarObject_HEAD_INIT(NULL, 0) .tp_name = "mod.Name", .tp_basicsize = sizeof(T), ...};' with plain fields`);
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
    problem(plan, f.value, `'${f.field}' does not point to a '${suite.struct}' of this file: ${leftAlone(plan)}`, [`define 'static ${suite.struct} X = {...};' in the file of the type`], `'static ${suite.struct} ${typePrefix(plan)}_${f.field.slice(3)} = {...};' in this file and '.${f.field} = &${typePrefix(plan)}_${f.field.slice(3)}'`);
    return;
  }
  removeDeclaration(plan, decl);
  addExclusive(plan, api.text(target!), f.value);
  const reading = readInitializer(initializerElements(list), suite.fields);
  for (const u of reading.unreadable) problem(plan, u, `this entry of '${api.text(target!)}' cannot be read: ${leftAlone(plan)}`, ['write the suite with plain positional or designated fields'], `the entries of '${api.text(target!)}' as plain designated fields ('.${suite.fields[0]} = function'), with no #if`);
  for (const s of reading.fields) {
    if (!isEmptyValue(api, s.value)) plan.entries.push({ field: s.field, value: s.value, site: s.element });
  }
}

/** Decides what one slot becomes (matching only: the texts are built by `emitType`). */
function planEntry(plan: TypePlan, entry: Entry): void {
  const forced = plan.forced.get(entry.field);
  if (forced) {
    keepLegacy(plan, entry, forced);
    return;
  }
  plan.current = entry.field;
  planSlotEntry(plan, entry);
  plan.current = undefined;
}

function planSlotEntry(plan: TypePlan, entry: Entry): void {
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
        problem(plan, entry.site, `'${entry.field}' is a custom allocator: ${leftAlone(plan)}`, [apiEntry(`Py_${entry.field}`)?.notes ?? 'HPy allocates and frees objects itself', LEGACY_NOTE], ALLOCATOR_FORMS[entry.field]);
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
    problem(plan, entry.site, `'${entry.field}' has no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, notes, noCounterpartForm(plan, entry.field));
    return;
  }
  if (!sig || hpySlot === 'HPy_tp_destroy') {
    problem(plan, entry.site, `'${entry.field}' is not converted by this transform: ${leftAlone(plan)}`, [slotLeftNote(hpySlot), LEGACY_NOTE], orLegacy(plan, slotLeftForm(hpySlot, sig, entry)));
    return;
  }
  const fn = functionReference(plan, entry, value);
  if (!fn) return;
  const impl = convertImpl(plan, fn.name, sig, entry.field, entry.site, hpySlot);
  if (impl) addSlot(plan, impl, hpySlot);
}

/** What to write for `tp_alloc`/`tp_free`: HPy allocates and frees the object itself. */
const ALLOCATOR_FORMS: Record<string, string> = {
  tp_alloc: "no allocator: 'T *p; HPy h = HPy_New(ctx, type, &p);' where it allocated (HPy zero-fills the struct), native buffers set up in tp_new/tp_init",
  tp_free: "no tp_free: HPy frees the object; native resources are freed in an HPy_tp_destroy impl (static void f(void *object))",
};

/** Slots HPy 0.9.0 lacks that another HPy construct replaces (the others stay legacy). */
const NO_COUNTERPART_FORMS: Record<string, string> = {
  tp_del: "an HPy_tp_finalize impl: 'HPyDef_SLOT_IMPL(sym, f, HPy_tp_finalize)' with 'static void f(HPyContext *ctx, HPy self)'",
  tp_finalize: "an HPy_tp_finalize impl: 'HPyDef_SLOT_IMPL(sym, f, HPy_tp_finalize)' with 'static void f(HPyContext *ctx, HPy self)'",
  tp_base: "no field: create the type at module init with 'HPyType_SpecParam params[] = {{HPyType_SpecParam_Base, base}, {(HPyType_SpecParam_Kind)0}};' passed to HPyType_FromSpec(ctx, &spec, params)",
  tp_bases: "no field: create the type at module init with 'HPyType_SpecParam params[] = {{HPyType_SpecParam_BasesTuple, bases}, {(HPyType_SpecParam_Kind)0}};' passed to HPyType_FromSpec(ctx, &spec, params)",
  tp_vectorcall_offset: "an HPy_tp_call slot: 'HPyDef_SLOT_IMPL(sym, f, HPy_tp_call)' with 'static HPy f(HPyContext *ctx, HPy self, const HPy *args, size_t nargs, HPy kwnames)'",
  tp_vectorcall: "an HPy_tp_call slot: 'HPyDef_SLOT_IMPL(sym, f, HPy_tp_call)' with 'static HPy f(HPyContext *ctx, HPy self, const HPy *args, size_t nargs, HPy kwnames)'",
  tp_weaklistoffset: 'no weak references to the instances: the offset and its weakreflist member left out; or keep the type on the C API',
  tp_dictoffset: "no instance dict: the attributes as members of the struct (HPyField for objects) exposed with HPyDef_MEMBER; or keep the type on the C API",
};

/** What to write for a slot or type field without an HPy 0.9.0 counterpart. */
function noCounterpartForm(plan: TypePlan, field: string): string {
  const form = NO_COUNTERPART_FORMS[field];
  if (form) return orLegacy(plan, form);
  if (LEGACY_SLOT_FIELDS.has(field)) return legacyPath(plan);
  return `'${field}' left out of '${plan.variable}' (CPython fills it itself); or keep the type on the C API`;
}

/** The impls of the slots this transform leaves to the porter, by HPy slot (and what they must do). */
const LEFT_SLOT_IMPLS: Record<string, [string, string]> = {
  HPy_tp_call: ['static HPy f(HPyContext *ctx, HPy self, const HPy *args, size_t nargs, HPy kwnames)', ''],
  HPy_bf_getbuffer: ['static int f(HPyContext *ctx, HPy self, HPy_buffer *view, int flags)', ' (view->obj = HPy_Dup(ctx, self))'],
  HPy_bf_releasebuffer: ['static void f(HPyContext *ctx, HPy self, HPy_buffer *view)', ''],
};

/** The impl to write for a slot this transform leaves to the porter (`tp_call`, the buffer slots). */
function slotLeftForm(hpySlot: string, sig: ImplSignature | undefined, entry: Entry): string {
  const [impl, after] = LEFT_SLOT_IMPLS[hpySlot] ?? (sig ? [implText(sig, 'f'), ''] : [`the HPy signature of '${entry.field}'`, '']);
  return `'HPyDef_SLOT_IMPL(sym, f, ${hpySlot})' with '${impl}'${after}`;
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
    problem(plan, entry.site, `'${entry.field}' of '${plan.variable}' is not a function name: ${leftAlone(plan)}`, ['name the slot function directly'], `the function's name alone as the value of '${entry.field}' (no expression), the function defined in this file`);
    return null;
  }
  const name = api.text(value);
  if (!plan.model.functions.has(name)) {
    problem(plan, entry.site, `'${name}' is not defined in this file: ${leftAlone(plan)}`, [SAME_FILE_NOTE], `the definition of '${name}' in this file (a static function), then run hpy-migrate again`);
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
    problem(plan, at, `'${name}' is also a slot function of '${owner}': ${leftAlone(plan)}`, ['give each type its own function (one can call the other)'], `a function of its own for '${plan.variable}' that calls a helper shared with '${owner}'`);
    return null;
  }
  const used = plan.impls.get(name);
  if (used !== undefined) {
    if (used !== sig.func) {
      problem(plan, at, `'${name}' serves definitions with different HPy signatures: ${leftAlone(plan)}`, ['write one function per kind of slot'], `one function per kind of slot (each may call a helper with the shared code) in place of '${name}'`);
      return null;
    }
    return wrapper(plan, name, sig, role);
  }
  const fn = plan.model.functions.get(name)!;
  if (!convertSignature(plan, fn, name, sig, role, at, hpySlot)) return null;
  plan.impls.set(name, sig.func);
  addExclusive(plan, name, at);
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
    typeProblem(plan, entry.site, `'${entry.field}' of '${plan.variable}' is not a table of this file: ${leftAlone(plan)}`, ['define the table in the file of the type'], `'static ${TABLE_TYPES[entry.field] ?? 'T'} X[] = {...};' in this file, above '${plan.variable}', and '${entry.field}' naming it`);
    return null;
  }
  // Its definitions replace it in place and the defines array goes where the slots are: the table
  // must come first, without a forward declaration that would outlive it.
  if (decl.startIndex > plan.anchor.startIndex || plan.model.forwards.has(name)) {
    typeProblem(plan, entry.site, `'${name}' is declared after the slots of '${plan.variable}' or forward-declared: ${leftAlone(plan)}`, ['define the table, without a forward declaration, above the slot table or the type, then run hpy-migrate again'], `the definition of '${name}' above the slots of '${plan.variable}', with no forward declaration`);
    return null;
  }
  return { decl, list, name };
}

/** The C type of the table each table field names. */
const TABLE_TYPES: Record<string, string> = { tp_methods: 'PyMethodDef', tp_members: 'PyMemberDef', tp_getset: 'PyGetSetDef' };

function planMethods(plan: TypePlan, entry: Entry, value: SyntaxNode): void {
  const { api } = plan.model;
  const table = tableDeclaration(plan, entry, value, /^(HPyDef|PyMethodDef)$/);
  if (!table) return;
  if (api.text(table.decl.childForFieldName('type')!) === 'PyMethodDef') {
    const forecast = plan.model.forecast;
    // Planned before pymethoddef writes the table: it is the HPyDef table it is about to become.
    if (forecast && !forecast.keptWhole.has(table.name)) return;
    problem(plan, entry.site, `the method table '${table.name}' is still a 'PyMethodDef' table: ${leftAlone(plan)}`, ['the pymethoddef transform converts it (or reports why not); convert it first, then run hpy-migrate again'], orLegacy(plan, `the methods of '${table.name}' as HPyDef_METH definitions listed in 'static HPyDef *${table.name}[]' (pymethoddef writes them, or its findings on '${table.name}' say what keeps them)`));
    plan.problems[plan.problems.length - 1].methodTable = table.name;
    return;
  }
  if (api.target === 'hybrid') legacyMethodsPart(plan, entry, table.name);
  for (const element of initializerElements(table.list)) {
    if (isEmptyValue(api, element)) break;
    if (element.type !== 'pointer_expression') {
      typeProblem(plan, element, `this entry of '${table.name}' is not '&definition': ${leftAlone(plan)}`, ['list the HPyDef symbols by address'], `'&sym,' for each HPyDef of '${table.name}', then NULL`);
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
  addExclusive(plan, table.name, entry.site);
  const prefix = table.name.replace(/_?members$/i, '') || table.name;
  const lines: string[] = [];
  for (const element of initializerElements(table.list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), MEMBER_DEF_FIELDS) : null;
    const field = (f: string) => reading?.fields.find((x) => x.field === f)?.value;
    if (reading && (reading.fields.length === 0 || isEmptyValue(api, field('name')!))) break;
    const line = reading && reading.unreadable.length === 0 ? memberLine(plan, element, prefix, field) : null;
    if (line) lines.push(line);
    else if (!reading || reading.unreadable.length > 0) problem(plan, element, `this entry of '${table.name}' cannot be read: ${leftAlone(plan)}`, ['write each member as {"name", T_xxx, offsetof(T, field), flags, doc}'], '\'{"name", T_xxx, offsetof(T, field), flags, doc},\' for each member, with no #if inside the table');
  }
  plan.changes.push({ start: table.decl.startIndex, end: table.decl.endIndex, text: lines.join(plan.model.api.eol) });
}

function memberLine(plan: TypePlan, element: SyntaxNode, prefix: string, field: (f: string) => SyntaxNode | undefined): string | null {
  const { api } = plan.model;
  const [name, type, offset, flags, doc] = MEMBER_DEF_FIELDS.map(field);
  if (!name || name.type !== 'string_literal' || !type || !offset) {
    problem(plan, element, `this member of '${plan.variable}' is not '{"name", type, offset, ...}': ${leftAlone(plan)}`, ['write the member name as a string literal'], '\'{"name", T_xxx, offsetof(T, field), flags, doc}\' with the name as a string literal');
    return null;
  }
  const hpyType = memberTypeOf(api.text(type));
  if (!hpyType) {
    problem(plan, type, `member type '${api.text(type)}' has no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, ['expose the value through a getter (HPyDef_GET) instead'], orLegacy(plan, `a getter in place of the member: 'HPyDef_GET_IMPL(sym, ${api.text(name)}, f)' with 'static HPy f(HPyContext *ctx, HPy self, void *closure)', listed in the defines`));
    return null;
  }
  const options: string[] = [];
  const flagNames = flags && !isEmptyValue(api, flags) ? api.text(flags).split('|').map((s) => s.trim().replace(/^\(|\)$/g, '')) : [];
  const unknown = flagNames.filter((f) => !READONLY_MEMBER_FLAGS.includes(f) && f !== '0');
  if (unknown.length > 0) {
    problem(plan, flags!, `member flags '${unknown.join(' | ')}' have no HPy 0.9.0 counterpart: ${leftAlone(plan)}`, ["HPyDef_MEMBER knows only '.readonly = 1'"], orLegacy(plan, `the member without '${unknown.join(' | ')}' (READONLY or 0), or a getter and setter doing what the flag did: 'HPyDef_GETSET_IMPL(sym, ${api.text(name)}, get, set)'`));
    return null;
  }
  if (flagNames.some((f) => READONLY_MEMBER_FLAGS.includes(f))) options.push('.readonly = 1');
  if (doc && !isEmptyValue(api, doc)) options.push(`.doc = ${api.text(doc)}`);
  const attribute = api.text(name).slice(1, -1);
  if (/OBJECT/.test(hpyType)) {
    plan.objectMembers = true;
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
  addExclusive(plan, table.name, entry.site);
  const prefix = table.name.replace(/_?(getsets?|getseters|getsetters|properties)$/i, '') || table.name;
  const lines: string[] = [];
  for (const element of initializerElements(table.list)) {
    const reading = element.type === 'initializer_list' ? readInitializer(initializerElements(element), GETSET_DEF_FIELDS) : null;
    const field = (f: string) => reading?.fields.find((x) => x.field === f)?.value;
    if (reading && (reading.fields.length === 0 || isEmptyValue(api, field('name')!))) break;
    const line = reading && reading.unreadable.length === 0 ? getsetLine(plan, element, prefix, field) : null;
    if (line) lines.push(line);
    else if (!reading || reading.unreadable.length > 0) problem(plan, element, `this entry of '${table.name}' cannot be read: ${leftAlone(plan)}`, ['write each get-set as {"name", getter, setter, doc, closure}'], '\'{"name", getter, setter, doc, closure},\' for each get-set, with no #if inside the table');
  }
  plan.changes.push({ start: table.decl.startIndex, end: table.decl.endIndex, text: lines.join(plan.model.api.eol) });
}

function getsetLine(plan: TypePlan, element: SyntaxNode, prefix: string, field: (f: string) => SyntaxNode | undefined): string | null {
  const { api } = plan.model;
  const [name, get, set, doc, closure] = GETSET_DEF_FIELDS.map(field);
  if (!name || name.type !== 'string_literal') {
    problem(plan, element, `this get-set of '${plan.variable}' has no string name: ${leftAlone(plan)}`, ['write the attribute name as a string literal'], '\'{"name", getter, setter, doc, closure}\' with the name as a string literal');
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
export interface CapiParam {
  name: string;
  /** `RingObject` of `RingObject *self`; null if not a single pointer to a named type. */
  pointee: string | null;
  node: SyntaxNode;
}

/** The parameters of a C-API function as written (`PyObject *Py_UNUSED(x)` named `x`; `(void)` none). */
export function capiParams(api: RewriteApi, fn: SyntaxNode): CapiParam[] {
  const list = functionDeclarator(fn)?.childForFieldName('parameters');
  const out: CapiParam[] = [];
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
  const params = capiParams(api, fn);
  const missingClosure = (sig.func === 'HPyFunc_GETTER' || sig.func === 'HPyFunc_SETTER') && params.length === sig.arity - 1;
  if (params.length !== sig.arity && !missingClosure) {
    problem(plan, at, `'${name}' takes ${params.length} parameters where '${role}' takes ${sig.arity}: ${leftAlone(plan)}`, ['fix the signature of the function, then run hpy-migrate again'], `'${implText(sig, name)}' (its HPy signature), or the C-API signature of '${role}' (${sig.arity} parameter${sig.arity === 1 ? '' : 's'}) and a new run`);
    return false;
  }
  if (fn.children.some((c) => c.type === 'storage_class_specifier' && api.text(c) === 'extern')) {
    problem(plan, at, `'${name}' is declared 'extern': ${leftAlone(plan)}`, [SAME_FILE_NOTE], `'static' in place of 'extern' on '${name}' (defined in this file, used by this type only)`);
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
  if (hpySlot === 'HPy_tp_new') return convertInstanceAllocation(plan, fn, name, params[0].name, at);
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
function structParamUses(plan: TypePlan, fn: SyntaxNode, name: string, sig: ImplSignature, params: CapiParam[]): boolean {
  for (const p of sig.params) {
    const old = p.from !== undefined ? params[p.from] : undefined;
    if (p.type !== 'HPy' || !old?.pointee || OBJECT_TYPES.has(old.pointee)) continue;
    const uses = structPointerUses(fn, old.name, old.pointee);
    if (!uses) {
      problem(plan, old.node, `'${old.name}' is redeclared, assigned or has its address taken in '${name}': ${leftAlone(plan)}`, [`it becomes an 'HPy' handle: port these uses by hand (the struct is '${old.pointee}_AsStruct(ctx, ${old.name})')`], `'${old.pointee} *data = ${old.pointee}_AsStruct(ctx, ${old.name});' at the top of '${name}', 'data' for every struct use, and '${old.name}' never assigned`);
      return false;
    }
    for (const u of uses) plan.changes.push({ start: u.node.startIndex, end: u.node.endIndex, text: u.text });
  }
  return true;
}

/** Traverse and destroy impls receive `void *object`: the struct pointer is declared from it. */
function contextFreeBody(plan: TypePlan, fn: SyntaxNode, name: string, first: CapiParam, param: string, at: SyntaxNode): boolean {
  const { api } = plan.model;
  const body = fn.childForFieldName('body')!;
  const used = body.descendantsOfType('identifier').some((id) => api.text(id) === first.name);
  if (!used) return true;
  const struct = first.pointee && !OBJECT_TYPES.has(first.pointee) ? first.pointee : plan.struct;
  if (!struct) {
    problem(plan, at, `the struct of '${first.name}' in '${name}' is unknown: ${leftAlone(plan)}`, [`declare '${first.name}' with the object struct type, then run hpy-migrate again`], `'T *${first.name} = (T *)${param};' first in '${name}', with T the object struct of '${plan.variable}'`);
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
    problem(plan, id, `'${name}' uses its argument tuple '${args}' in a way that does not fit an array: ${leftAlone(plan)}`, [`the tuple becomes 'const HPy *${args}' with 'HPy_ssize_t ${nargs}': rewrite this use by hand, then run hpy-migrate again`], `'${args}[i]' for each item and '${nargs}' for the count ('const HPy *${args}, HPy_ssize_t ${nargs}' replace the tuple), or PyTuple_GET_ITEM(${args}, i) and PyTuple_GET_SIZE(${args}) and a new run`);
    return false;
  }
  return true;
}

const PARSE_FORM = "'HPyTracker ht;' and 'HPyArg_ParseKeywordsDict(ctx, &ht, args, nargs, kw, fmt, kwlist, &a, ...)' (0 on error), then 'HPyTracker_Close(ctx, ht);' once the parsed handles are no longer used; units HPy lacks converted from the handles it gives";

/** A parse call on the tuple stays for pyarg-parse: only when it runs and accepts the format. */
function parseCallAccepted(plan: TypePlan, call: SyntaxNode, callee: string, name: string): boolean {
  const { api } = plan.model;
  const why = argParseProblem(callee, callArguments(call).map((a) => api.text(a)), 'dict');
  if (why) {
    problem(plan, call, `'${callee}' in '${name}' cannot become an HPyArg call (${why}): ${leftAlone(plan)}`, ['port the parsing by hand, then run hpy-migrate again'], PARSE_FORM);
    return false;
  }
  if (!api.isSelected('pyarg-parse')) {
    const how = api.isRegistered('pyarg-parse') ? "it is a review transform: run it with '--all' or '--transforms'" : 'no transform of this release converts it';
    problem(plan, call, `'${callee}' in '${name}' needs the pyarg-parse transform, which is not part of this run: ${leftAlone(plan)}`, [`${how}, or port the parsing by hand`], api.isRegistered('pyarg-parse') ? `run with '--all' (pyarg-parse converts it); or by hand: ${PARSE_FORM}` : PARSE_FORM);
    return false;
  }
  return true;
}

/**
 * The allocation in `tp_new` (or a helper): `T *self = (T *)type->tp_alloc(type, 0)` or
 * `PyObject_New(T, type)` becomes `T *self; HPy h_self = HPy_New(ctx, type, &self);` and the uses
 * of `self` as an object `h_self` (changes pushed to `plan.changes`); false with a problem when the
 * allocation is not that plain pattern.
 */
export function convertInstanceAllocation(plan: TypeAllocationScope, fn: SyntaxNode, name: string, type: string, at: SyntaxNode): boolean {
  const { api } = plan.model;
  const body = fn.childForFieldName('body')!;
  const allocs = body.descendantsOfType('call_expression').filter((c) => isInstanceAllocation(api, c, type));
  const typeUses = body.descendantsOfType('identifier').filter((id) => api.text(id) === type && id.parent?.type === 'field_expression');
  const unclear = (where: SyntaxNode, why: string) => {
    problem(plan, where, `the allocation in '${name}' is not the plain pattern (${why}): ${leftAlone(plan)}`, [`write 'T *self; HPy h_self = HPy_New(ctx, ${type}, &self);' by hand, return 'h_self', then run hpy-migrate again`], `'T *self; HPy h_self = HPy_New(ctx, ${type}, &self);' (T the object struct; HPy_IsNull(h_self) on failure), the fields set through 'self', the object returned as 'h_self'`);
    return false;
  };
  if (allocs.length === 0) return typeUses.length === 0 ? true : unclear(typeUses[0], `'${type}' is used as a struct`);
  if (allocs.length > 1) return unclear(allocs[1], 'several allocations');
  if (typeUses.some((u) => !allocs[0].descendantsOfType('identifier').some((x) => x.id === u.id))) return unclear(typeUses[0], `'${type}' is used as a struct`);
  const site = instanceAllocationSite(api, allocs[0], body);
  if (!site) return unclear(allocs[0], 'the result is not stored in a local of the function body');
  const decl = localPointerDeclaration(api, body, site.variable);
  const struct = decl && decl.pointee && !OBJECT_TYPES.has(decl.pointee) ? decl.pointee : null;
  if (!struct) return unclear(allocs[0], `'${site.variable}' is not declared as a pointer to the object struct`);
  const handle = unusedName(api.text(body), `h_${site.variable}`, plan.model.taken);
  const create = `HPy ${handle} = HPy_New(ctx, ${type}, &${site.variable});`;
  const indent = indentationAt(plan.model.file.text, site.statement.startIndex);
  plan.changes.push({ start: site.statement.startIndex, end: site.statement.endIndex, text: site.declared ? `${struct} *${site.variable};${api.eol}${indent}${create}` : create });
  return objectUses(plan, body, site.statement, site.variable, handle, name);
}

/** Is `call` an allocation of an instance from the type `type` (`type->tp_alloc(type, 0)`, `PyObject_New(T, type)`, ...)? */
export function isInstanceAllocation(api: RewriteApi, call: SyntaxNode, type: string): boolean {
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
export function instanceAllocationSite(api: RewriteApi, alloc: SyntaxNode, body: SyntaxNode): { statement: SyntaxNode; variable: string; declared: boolean } | null {
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
export function localPointerDeclaration(api: RewriteApi, body: SyntaxNode, variable: string): { pointee: string | null } | null {
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
function objectUses(plan: TypeAllocationScope, body: SyntaxNode, site: SyntaxNode, variable: string, handle: string, name: string): boolean {
  const { api } = plan.model;
  for (const id of body.descendantsOfType('identifier')) {
    if (api.text(id) !== variable || id.startIndex < site.endIndex) continue;
    const use = objectUse(api, id);
    if (use === 'struct') continue;
    if (!use) {
      problem(plan, id, `'${variable}' is used in '${name}' in a way this transform cannot place: ${leftAlone(plan)}`, [`after 'HPy_New', '${variable}' is the struct and '${handle}' the object: port this use by hand`], `'${handle}' where '${variable}' is used as the object, '${variable}->field' where it is the struct`);
      return false;
    }
    // A statement that goes takes its line along.
    const span = use.statement ? lineSpan(plan.model.file.text, use.node.startIndex, use.node.endIndex) : { start: use.node.startIndex, end: use.node.endIndex };
    plan.changes.push({ ...span, text: use.text(handle) });
  }
  return true;
}

/** How one use of the allocated struct pointer ports: `struct` (stays), or the node to replace. */
function objectUse(api: RewriteApi, id: SyntaxNode): 'struct' | { node: SyntaxNode; text: (h: string) => string; statement?: boolean } | null {
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
    // HPy_New tracks a GC object itself (ctx_type.c); tracking it twice is a fatal error.
    const stmt = p.parent?.parent;
    if (callee === 'PyObject_GC_Track' && stmt?.type === 'expression_statement' && stmt.parent?.type === 'compound_statement') return { node: stmt, text: () => '', statement: true };
    if (callee && RELEASE_MACROS.has(callee)) return { node: id, text: (h) => h };
    if (callee && !API_NAME.test(callee)) return 'struct';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// tp_dealloc and tp_clear

function planDeallocAndClear(plan: TypePlan): void {
  plan.current = 'tp_clear';
  if (plan.clear) planClear(plan, plan.clear);
  plan.current = 'tp_dealloc';
  if (plan.dealloc) planDealloc(plan, plan.dealloc);
  plan.current = undefined;
}

function planClear(plan: TypePlan, clear: { name: string; at: SyntaxNode }): void {
  if (plan.model.claimed.has(clear.name) || plan.impls.has(clear.name)) {
    problem(plan, clear.at, `'${clear.name}' is also used as another slot: ${leftAlone(plan)}`, ['HPy synthesises tp_clear; give the other slot its own function'], `a function of its own for the other slot; '${clear.name}' then goes (HPy clears through HPy_tp_traverse)`);
    return;
  }
  removeFunction(plan, clear.name);
  addExclusive(plan, clear.name, clear.at);
}

function planDealloc(plan: TypePlan, dealloc: { name: string; at: SyntaxNode }): void {
  const { api } = plan.model;
  const fn = plan.model.functions.get(dealloc.name)!;
  if (plan.model.claimed.has(dealloc.name) || plan.impls.has(dealloc.name)) {
    problem(plan, dealloc.at, `'${dealloc.name}' is also used as another slot: ${leftAlone(plan)}`, ['give tp_dealloc its own function'], `a tp_dealloc function of its own (it becomes the HPy_tp_destroy impl 'static void f(void *object)'), and another for the other slot`);
    return;
  }
  const params = capiParams(api, fn);
  if (params.length !== 1) {
    problem(plan, dealloc.at, `'${dealloc.name}' takes ${params.length} parameters where 'tp_dealloc' takes 1: ${leftAlone(plan)}`, ['fix the signature of the function, then run hpy-migrate again'], `'static void ${dealloc.name}(void *object)' as the HPy_tp_destroy impl, freeing native resources only`);
    return;
  }
  const analysis = analyzeDealloc(api, fn, params[0].name, plan.clear?.name ?? null);
  for (const p of analysis.problems) problem(plan, p, `'${dealloc.name}' does C-API work that an HPy destructor cannot do: ${leftAlone(plan)}`, ["'HPy_tp_destroy' gets only the struct and may not call the interpreter: move this to an 'HPy_tp_finalize' slot (void f(HPyContext *ctx, HPy self)) by hand"], orLegacy(plan, `this statement in an HPy_tp_finalize impl ('HPyDef_SLOT_IMPL(sym, f, HPy_tp_finalize)' with 'static void f(HPyContext *ctx, HPy self)'); '${dealloc.name}' keeps the native frees only`));
  if (analysis.problems.length > 0) return;
  addExclusive(plan, dealloc.name, dealloc.at);
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
 * an HPy slot signature around a body left on the C API would not compile (as for methods). So
 * does a slot that calls, directly or through functions of the file, a function of the project
 * that keeps its C-API signature (`cApiFunctions`): it could not call it with handles.
 */
function checkSlotCalls(plan: TypePlan): void {
  const { api } = plan.model;
  const entries = new Map(plan.exclusive.map((e) => [e.name, e.entry]));
  const stays = cApiFunctions(plan.model);
  const reaches = cApiCallers(api.index, plan.model.file.path, new Set(stays.keys()));
  for (const { fn } of api.matches(SLOT_FUNCTIONS)) {
    const name = functionName(fn);
    if (!name || !entries.has(name)) continue;
    plan.current = entries.get(name);
    const found = slotCallProblem(plan, name, fn) || slotCalleeProblem(plan, name, fn, reaches.get(name), stays);
    plan.current = undefined;
    // One such call is reason enough for the whole type; in hybrid, each slot's first one counts.
    if (found && api.target !== 'hybrid') return;
  }
}

/** The first call of slot `name` that no transform converts, as a problem; true if found. */
function slotCallProblem(plan: TypePlan, name: string, fn: SyntaxNode): boolean {
  const { api } = plan.model;
  for (const { callee, call } of api.matches(SLOT_CALLS, fn)) {
    // The argument tuple of tp_new/tp_init becomes an array: this transform rewrites those.
    if (TUPLE_ACCESS.has(api.text(callee))) continue;
    const why = unconvertedCallReason(api, api.text(callee), callArguments(call).map((a) => api.text(a)), call);
    if (!why) continue;
    problem(plan, callee, `'${name}' calls '${api.text(callee)}', which stays on the C API (${why}): ${leftAlone(plan)}`, [WHOLE_TYPE_CALL_NOTE], orLegacy(plan, `the HPy form of '${api.text(callee)}' in '${name}' (its own finding says what to write), then run hpy-migrate again`));
    return true;
  }
  return false;
}

/** Slot `name` calls `callee`, which keeps its C-API signature (or leads to one that does); true if so. */
function slotCalleeProblem(plan: TypePlan, name: string, fn: SyntaxNode, callee: string | undefined, stays: ReadonlyMap<string, string | null>): boolean {
  if (callee === undefined) return false;
  const { api } = plan.model;
  const at = api.matches(SLOT_CALLS, fn).find((m) => api.text(m.callee) === callee)?.callee ?? fn;
  const why = stays.get(callee);
  problem(plan, at, `'${name}' calls '${callee}', which stays on the C API: ${leftAlone(plan)}`, [...(why ? [why] : []), C_API_CALLEE_NOTE, WHOLE_TYPE_CALLEE_NOTE], orLegacy(plan, `'${callee}' ported first (an HPy function taking 'HPyContext *ctx' and handles), then run hpy-migrate again`));
  return true;
}

/**
 * The functions of the file that keep their C-API signature, each with why (or null): the methods
 * listed in a `PyMethodDef` table (left whole, or the legacy part of a hybrid port; with
 * pymethoddef's forecast, those it does not give an HPy signature) and, for either target, the
 * project's legacy helpers (`legacyHelpers`).
 */
function cApiFunctions(model: TypeFileModel): Map<string, string | null> {
  const { api, forecast } = model;
  const out = new Map<string, string | null>();
  for (const decl of model.declarations.values()) {
    if (!/^(struct\s+)?PyMethodDef$/.test(api.text(decl.childForFieldName('type')!))) continue;
    for (const id of initializerOf(decl)?.descendantsOfType('identifier') ?? []) {
      const name = api.text(id);
      if (model.functions.has(name) && !forecast?.hpyFunctions.has(name)) out.set(name, null);
    }
  }
  for (const [name, helper] of legacyHelpers(api.index)) {
    out.set(name, helper.via ? null : `'${name}' calls '${helper.call}', which has no HPy 0.9.0 counterpart`);
  }
  return out;
}

function checkExclusiveUses(plan: TypePlan): void {
  const { api } = plan.model;
  for (const { name, at, entry } of plan.exclusive) {
    const others = outsideUses(plan, name, []);
    const elsewhere = api.index.functions.filter((f) => f.file !== plan.model.file.path && f.calls.includes(name));
    plan.current = entry;
    if (others.length > 0) {
      problem(plan, others[0], `'${name}' is used outside the definition of '${plan.variable}': ${leftAlone(plan)}`, [`its HPy form cannot be used like this (a slot impl takes 'ctx' and handles); move the shared code into a helper that both call, then run hpy-migrate again`], `a helper with the shared code, called by '${name}' and by this use; '${name}' itself named only in the tables of '${plan.variable}'`);
    } else if (elsewhere.length > 0) {
      problem(plan, at, `'${name}' is called in '${elsewhere[0].file}': ${leftAlone(plan)}`, [SAME_FILE_NOTE], `a helper with the shared code, called by '${name}' and by '${elsewhere[0].file}'; '${name}' itself called by no other file`);
    }
  }
  plan.current = undefined;
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
    const call = id.parent?.type === 'pointer_expression' ? objectCastsOf(api, id.parent).parent?.parent : null;
    if (call?.type === 'call_expression' && allocationSource(api, call)?.kind === 'static-type') {
      staticTypeAllocation(plan, call, fn ?? '?');
      continue;
    }
    problem(plan, id, `'${plan.variable}' is used outside the module init function: ${leftAlone(plan)}`, [
      `once converted the type object exists only as a handle, created with '${plan.variable}_spec' at module init: keep it in an HPyGlobal, load it here (an HPy_TypeCheck for a type test), then run hpy-migrate again`,
    ], `'static HPyGlobal ${plan.variable}_global;' stored at module init (HPyGlobal_Store), here 'HPy t = HPyGlobal_Load(ctx, ${plan.variable}_global);' (HPy_TypeCheck(ctx, obj, t) for a type test), then HPy_Close(ctx, t)`);
  }
}

/** `PyObject_New(T, &XType)` outside tp_new: the static type object is gone once converted. */
function staticTypeAllocation(plan: TypePlan, call: SyntaxNode, fn: string): void {
  const { api } = plan.model;
  const struct = api.text(callArguments(call)[0]);
  const site = instanceAllocationSite(api, call, bodyAround(call));
  plan.problems.push({
    at: call,
    message: `'${calleeName(call)}' in '${fn}' allocates from the static type object '${plan.variable}', which exists only as a handle once converted: ${leftAlone(plan)}`,
    notes: [
      `HPy allocates with 'HPy_New(ctx, type, &p)' from a type handle: create the type at module init with 'HPyType_FromSpec(ctx, &${plan.variable}_spec, NULL)', keep it in an HPyGlobal listed in the module def's '.globals', load it here, then run hpy-migrate again`,
    ],
    suggestion: allocationSuggestion(struct, site?.variable ?? 'p', `HPyGlobal_Load(ctx, ${plan.variable}_global)`),
  });
}

/** The body of the function around `node` (the node itself when it is at file scope). */
export function bodyAround(node: SyntaxNode): SyntaxNode {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'function_definition') return p.childForFieldName('body') ?? p;
  return node;
}

/** The expression around `node` with its parentheses and casts to an object pointer. */
function objectCastsOf(api: RewriteApi, node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.parent?.type === 'parenthesized_expression' || (n.parent?.type === 'cast_expression' && /^(PyObject|PyTypeObject)\s*\*$/.test(api.text(n.parent.childForFieldName('type')!).trim()))) n = n.parent;
  return n;
}

function enclosingFunctionName(node: SyntaxNode): string | null {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return functionDeclarator(p)?.childForFieldName('declarator')?.text ?? null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Hybrid: slots kept on the C API

const HYBRID_NOTE = "the slot keeps its C-API function or table; once that can be ported (by hand, or with a later HPy), run hpy-migrate again to move it into the HPy defines";
const WHOLE_TYPE_NOTES = new Set([LEGACY_NOTE, WHOLE_TYPE_CALL_NOTE, WHOLE_TYPE_CALLEE_NOTE]);

/**
 * Plans a type. In hybrid, a slot with a reason to stay on the C API goes to `.legacy_slots` and
 * the type is planned again without it, until only reasons of the whole type (or none) are left.
 */
function planForTarget(model: TypeFileModel, decl: SyntaxNode, kind: 'spec' | 'static', variable: string, init: SyntaxNode): TypePlan {
  if (model.api.target !== 'hybrid') return planType(model, decl, kind, variable, init, new Map());
  const taken = new Set(model.taken);
  const forced = new Map<string, LegacyReason>();
  for (;;) {
    model.taken = new Set(taken);
    const plan = planType(model, decl, kind, variable, init, forced);
    const moves = legacyMoves(plan);
    if (!moves) return plan;
    for (const [field, reason] of moves) forced.set(field, reason);
  }
}

/**
 * The slots to move to `.legacy_slots` before planning again, or null when the plan is final:
 * nothing left to move, or a reason that concerns the whole type (which is then left as it was).
 */
function legacyMoves(plan: TypePlan): Map<string, LegacyReason> | null {
  if (plan.problems.some((p) => !p.entry || !LEGACY_SLOT_FIELDS.has(p.entry) || plan.forced.has(p.entry))) return null;
  const moves = new Map(plan.pending);
  for (const p of plan.problems) {
    if (moves.has(p.entry!)) continue;
    moves.set(p.entry!, { why: p.message.replace(/: '[^']*' is left as it was$/, ''), notes: [...p.notes.filter((n) => !WHOLE_TYPE_NOTES.has(n)), HYBRID_NOTE] });
  }
  sharedFunctionMoves(plan, moves);
  return moves.size > 0 ? moves : null;
}

/** A function that stays legacy for one slot cannot be the HPy impl of another: that one stays too. */
function sharedFunctionMoves(plan: TypePlan, moves: Map<string, LegacyReason>): void {
  const { api } = plan.model;
  const fn = (e: Entry) => (stripCasts(e.value).type === 'identifier' ? api.text(stripCasts(e.value)) : null);
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of plan.entries) {
      const name = fn(e);
      if (!name || moves.has(e.field) || plan.forced.has(e.field) || !LEGACY_SLOT_FIELDS.has(e.field)) continue;
      const other = plan.entries.find((o) => o !== e && fn(o) === name && (moves.has(o.field) || plan.forced.has(o.field)));
      if (!other || !plan.model.functions.has(name)) continue;
      moves.set(e.field, { why: `'${name}' also serves '${other.field}', which stays a legacy slot`, notes: [HYBRID_NOTE] });
      changed = true;
    }
  }
}

/** A slot kept on the C API: its entry of `.legacy_slots`, with the value as the old type wrote it. */
function keepLegacy(plan: TypePlan, entry: Entry, reason: LegacyReason): void {
  const { api } = plan.model;
  const value = stripCasts(entry.value);
  // A PyType_Slot table takes `void *`: a function of a static PyTypeObject loses its typed cast.
  const isFunction = value.type === 'identifier' && !plan.model.declarations.has(api.text(value));
  const text = plan.kind === 'static' && isFunction ? `(void *)${api.text(value)}` : api.text(plan.kind === 'static' ? value : entry.value);
  plan.legacy.push({ field: entry.field, value: text, site: entry.site, reason });
}

/** The C-API part of a method table that pymethoddef split (`static PyMethodDef <table>_legacy[]`). */
function legacyMethodsPart(plan: TypePlan, entry: Entry, table: string): void {
  const { api } = plan.model;
  const name = `${table}_legacy`;
  const decl = plan.model.declarations.get(name);
  if (!decl || api.text(decl.childForFieldName('type')!) !== 'PyMethodDef') return;
  if (decl.startIndex > plan.anchor.startIndex) {
    typeProblem(plan, decl, `'${name}' is declared after the slots of '${plan.variable}': ${leftAlone(plan)}`, ['define the legacy method table above the slot table or the type, then run hpy-migrate again'], `the definition of '${name}' above the slots of '${plan.variable}'`);
    return;
  }
  const why = `the methods of '${name}' keep their C-API signatures (see pymethoddef's notes)`;
  plan.legacy.push({ field: 'tp_methods', value: name, site: entry.site, reason: { why, notes: ["CPython gets them together with the HPy methods of the type's defines"] } });
}

/**
 * tp_dealloc, tp_traverse and tp_clear stay on the C API together, and they must when legacy code
 * keeps a `PyObject *` member (HPy releases and visits HPyFields only); HPy 0.9.0 then cannot
 * make the type collectable (HPy_TPFLAGS_HAVE_GC needs an HPy traverse): the type stays whole.
 */
function checkLegacyLifecycle(plan: TypePlan): void {
  const present = plan.entries.filter((e) => LIFECYCLE_SLOT_FIELDS.includes(e.field));
  const legacyOnes = present.filter((e) => plan.forced.has(e.field));
  const kept = keptMemberUses(plan);
  if (legacyOnes.length === 0 && kept.length === 0) return;
  const reason = kept.length > 0 ? keptMemberReason(plan, kept) : {
    why: `'${legacyOnes[0].field}' stays on the C API: HPy 0.9.0 takes a legacy 'Py_tp_dealloc' only without an HPy traverse or destroy, and installs its own 'tp_clear' with an HPy traverse`,
    notes: ["'tp_dealloc', 'tp_traverse' and 'tp_clear' stay legacy together (HPyType_FromSpec raises TypeError otherwise)", HYBRID_NOTE],
  };
  for (const e of present) if (!plan.forced.has(e.field)) plan.pending.set(e.field, reason);
  if (kept.length > 0 && plan.objectMembers && !plan.forced.has('tp_members')) {
    plan.pending.set('tp_members', { why: `its 'T_OBJECT' members read fields that stay 'PyObject *': ${reason.why}`, notes: ["an 'HPyMember_OBJECT' member must be an HPyField", HYBRID_NOTE] });
  }
  if (plan.pending.size > 0 || !plan.spec.flags || !/\bPy_TPFLAGS_HAVE_GC\b/.test(plan.model.api.text(plan.spec.flags))) return;
  const slots = present.length > 0 ? present.map((e) => `'${e.field}'`).join(', ') : "'tp_traverse'";
  typeProblem(plan, plan.spec.flags, `'${plan.variable}' is collected by the garbage collector, but ${slots} must stay on the C API: ${leftAlone(plan)}`, [
    "HPy 0.9.0's HPyType_FromSpec raises ValueError for HPy_TPFLAGS_HAVE_GC without an HPy_tp_traverse slot; an HPy traverse visits HPyFields only (never a 'PyObject *' member), and a legacy 'Py_tp_dealloc' cannot go with one (TypeError)",
    reason.why,
    "in hybrid ABI the module can still create the type from this PyType_Spec; port the functions named above by hand, then run hpy-migrate again",
  ], registrationSuggestion(plan));
}

/** How the exec slot of a hybrid module adds a type left as its C-API spec. */
function registrationSuggestion(plan: TypePlan): string {
  const name = plan.spec.name ? /"(?:[^"]*\.)?([^".]*)"/.exec(plan.model.api.text(plan.spec.name))?.[1] ?? 'Name' : 'Name';
  const create = plan.kind === 'spec' ? `PyType_FromSpec(&${plan.variable})` : `(PyType_Ready(&${plan.variable}) < 0 ? NULL : Py_NewRef((PyObject *)&${plan.variable}))`;
  return `in the exec slot: PyObject *t = ${create}; if (t == NULL) return -1; HPy h = HPy_FromPyObject(ctx, t); Py_DECREF(t); int rc = HPy_SetAttr_s(ctx, m, "${name}", h); HPy_Close(ctx, h); if (rc < 0) return -1;`;
}

/** Uses of the struct's `PyObject *` members in functions that stay on the C API (its lifecycle aside). */
function keptMemberUses(plan: TypePlan): LegacyMemberUse[] {
  const { api, file } = plan.model;
  const struct = plan.struct ? structNamed(objectStructsOf(api, file), plan.struct) : undefined;
  if (!struct || struct.objectFields.length === 0) return [];
  const lifecycle = new Set(plan.entries.filter((e) => LIFECYCLE_SLOT_FIELDS.includes(e.field)).map((e) => api.text(stripCasts(e.value))));
  const legacy = legacyFunctions(api, file.tree.rootNode, file.text).filter((fn) => {
    const name = functionName(fn) ?? '';
    return !plan.impls.has(name) && !plan.model.claimed.has(name) && !lifecycle.has(name) && !plan.model.forecast?.hpyFunctions.has(name);
  });
  return memberUsesIn(api, struct, legacy);
}

function keptMemberReason(plan: TypePlan, kept: LegacyMemberUse[]): LegacyReason {
  const fns = [...new Set(kept.map((k) => functionName(k.fn) ?? '?'))];
  const members = [...new Set(kept.map((k) => k.member))];
  const list = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ');
  const [stay, use] = fns.length > 1 ? ['stay', 'use'] : ['stays', 'uses'];
  return {
    why: `${list(fns)} ${stay} on the C API and ${use} ${list(members)} of '${plan.struct}', which therefore ${members.length > 1 ? 'stay' : 'stays'} 'PyObject *'`,
    notes: ["a function without 'ctx' cannot load or store an HPyField, and HPy releases and visits only HPyFields: the C-API 'tp_dealloc', 'tp_traverse' and 'tp_clear' keep releasing and visiting the member", HYBRID_NOTE],
  };
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
  const legacyName = plan.legacy.length > 0 ? symbol(plan, `${typePrefix(plan)}_legacy_slots`) : null;
  const legacy = legacyName ? [`${legacySlotTableText(legacyName, plan.legacy, indent, eol)}${eol}`] : [];
  const block = [...legacy, ...head, defines].join(eol);
  const spec = specText(plan, definesName, indent, flags, legacyName);
  if (plan.kind === 'spec') {
    plan.changes.push({ start: plan.anchor.startIndex, end: plan.anchor.endIndex, text: block });
    plan.changes.push({ start: plan.decl.startIndex, end: plan.decl.endIndex, text: spec });
  } else {
    plan.changes.push({ start: plan.decl.startIndex, end: plan.decl.endIndex, text: `${block}${eol}${eol}${spec}` });
  }
}

function specText(plan: TypePlan, definesName: string, indent: string, flags: string, legacyName: string | null): string {
  const { api } = plan.model;
  const type = plan.decl.childForFieldName('type')!;
  const storage = api.text({ start: plan.decl.startIndex, end: type.startIndex });
  const name = plan.kind === 'spec' ? plan.variable : `${plan.variable}_spec`;
  const fields: string[] = [];
  if (plan.spec.name) fields.push(`.name = ${api.text(plan.spec.name)}`);
  if (plan.spec.basicsize && api.text(plan.spec.basicsize).replace(/\s+/g, '') !== 'sizeof(PyObject)') fields.push(`.basicsize = ${api.text(plan.spec.basicsize)}`);
  fields.push(`.flags = ${flags}`);
  if (legacyName) fields.push('.builtin_shape = HPyType_BuiltinShape_Legacy', `.legacy_slots = ${legacyName}`);
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
      problem(plan, flags, `the flags of '${plan.variable}' cannot be read ('${name}'): ${leftAlone(plan)}`, ["write the flags as 'Py_TPFLAGS_*' names joined by '|'"], `the 'Py_TPFLAGS_*' names that '${name}' stands for, joined by '|'`);
      continue;
    }
    plan.remarks.push({ at: flags, severity: 'warning', message: `type flag '${name}' has no HPy 0.9.0 counterpart: dropped`, notes: [apiEntry(name)?.notes || 'HPy 0.9.0 knows only DEFAULT, BASETYPE, HAVE_GC and HAVE_VECTORCALL', 'check that the type does not rely on it'], suggestion: droppedFlagForm(name) });
  }
  return out.join(' | ');
}

/** An HPy_tp_new impl that refuses to create instances (what `tp_new = NULL` meant). */
const REFUSE_NEW = 'an HPy_tp_new impl that refuses, if instances must not be created from Python: \'static HPy f(HPyContext *ctx, HPy type, const HPy *args, HPy_ssize_t nargs, HPy kw) { HPyErr_SetString(ctx, ctx->h_TypeError, "cannot create instances"); return HPy_NULL; }\'';

/** What replaces a type flag HPy 0.9.0 lacks, where anything does. */
function droppedFlagForm(name: string): string {
  if (name === 'Py_TPFLAGS_DISALLOW_INSTANTIATION') return REFUSE_NEW;
  if (name === 'Py_TPFLAGS_SEQUENCE') return "'collections.abc.Sequence.register(Name)' in the package's Python code, which sets the flag for 'match'";
  if (name === 'Py_TPFLAGS_MAPPING') return "'collections.abc.Mapping.register(Name)' in the package's Python code, which sets the flag for 'match'";
  return `nothing: HPy 0.9.0 has no form of '${name}'; if the type relies on it, keep the type on the C API`;
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
