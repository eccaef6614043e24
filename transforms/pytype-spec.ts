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
 * `ctx` from missing-context (reported when that does not run). An allocation from a file-scope
 * object in any other function with `ctx` (`p = PyObject_New(T, (PyTypeObject *)PointType);` in
 * a method) becomes `T *p; HPy h_p = HPy_New(ctx, PointType, &p);` when pyobject-global and
 * pymoduledef run and make that global an HPyGlobal stored at module init (pyobject-global then
 * loads it for the statement); `PyObject_GC_Track(p);` after the allocation goes (`HPy_New`
 * tracks the object, and tracking twice is a fatal error). `tp_dealloc` loses what HPy now
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
 * - a slot function that calls, directly or through functions of its file, a function of the
 *   project that keeps its C-API signature (a method listed in a `PyMethodDef` table pymethoddef
 *   leaves, or in a hybrid port a helper `legacyHelpers` names; `cApiCallers` in
 *   `src/api/c-api-callers.ts`): with an HPy signature it would call that function with handles;
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
 * The planning of the types is `planFileTypes` (`src/api/type-plans.ts`): pymethoddef, which runs
 * first, asks it (`typesLeftWhole`) before it writes a type's method table, and leaves the
 * `PyMethodDef` table of a type left whole as it is (an `HPyDef *[]` as `tp_methods` of a C-API
 * type would not compile); the type's finding that its method table is still of `PyMethodDef` is
 * then not repeated when it has reasons of its own (pymethoddef points at them).
 * An allocating helper whose allocation is not the plain pattern, or whose type parameter is used
 * for more than allocating and being passed on (`type->tp_name`, `type == &T`), is reported and
 * left as it was (the type is converted anyway; pyobject-head then keeps the struct's head).
 * A type flag HPy lacks is dropped with a warning; a `T_OBJECT`/`T_OBJECT_EX` member is converted
 * with a note (its field must become an `HPyField`, pyobject-field). `.builtin_shape` is
 * pyobject-head's, `PyType_FromSpec`/`PyType_Ready` and adding the type to the module are
 * pymoduledef's, and `Py_VISIT` in traverse is pyobject-field's. A static type without `tp_new`
 * becomes instantiable from Python (heap types inherit `object.__new__`): noted. An allocation
 * outside `tp_new` from a static type object (`PyObject_New(T, &XType)`), from `Py_TYPE(x)` or
 * another expression, or from a global that does not become an HPyGlobal in this run is reported
 * with the form to write by hand (`HPy_New` from a type handle, closed after).
 *
 * With `--target hybrid`, a slot with a reason of its own to stay on the C API does not keep the
 * whole type: the type becomes an `HPyType_Spec` with `.builtin_shape =
 * HPyType_BuiltinShape_Legacy` and `.legacy_slots = <Name>_legacy_slots`, a `static PyType_Slot`
 * table (where the slot table was) holding those slots with their functions untouched, each
 * noted with its reason: slots HPy 0.9.0 lacks (`tp_iter`, `tp_iternext`, ...), `tp_call` and
 * the buffer slots, a slot function that calls what no transform converts (or a function kept
 * on the C API, see above), is used elsewhere or
 * is defined in another file (and every other slot it serves), a member or get-set table with an
 * entry HPy lacks, a method table still of `PyMethodDef` (`{Py_tp_methods, table}`), and the
 * C-API part `<table>_legacy` that pymethoddef split off a method table. `tp_dealloc`,
 * `tp_traverse` and `tp_clear` stay legacy together (HPyType_FromSpec rejects a legacy
 * `Py_tp_dealloc` beside an `HPy_tp_traverse` or `HPy_tp_destroy`, and installs its own
 * `tp_clear` with an HPy traverse), and they must when a function that stays on the C API uses a
 * `PyObject *` member of the struct: the member stays `PyObject *` (no HPyField without `ctx`;
 * pyobject-field bridges the HPy code to it), so HPy cannot release or visit it; `T_OBJECT`
 * members then stay legacy too. A collectable type (`Py_TPFLAGS_HAVE_GC`) whose traverse stays
 * legacy is reported and left whole: HPyType_FromSpec raises ValueError for
 * `HPy_TPFLAGS_HAVE_GC` without an `HPy_tp_traverse`, which visits HPyFields only (the module can
 * still create the type from its `PyType_Spec` in hybrid ABI). Reasons about the whole type (items,
 * bases, offsets, custom `tp_alloc`/`tp_free`, tables it cannot read, a static type object used
 * outside the module init) leave it whole in hybrid too.
 *
 * Every warning says what to write by hand (its `suggestion`): the HPy form, the shape this
 * transform reads, or, for a slot only the C API has (`tp_iter`, `tp_iternext`, ...), the legacy
 * path of `--target hybrid`.
 */
import {
  allocationSource,
  allocationSuggestion,
  bodyAround,
  callArguments,
  calleeName,
  capiParams,
  contextGuard,
  contextGuardSuggestion,
  contextScope,
  convertInstanceAllocation,
  declaredIdentifier,
  defineTransform,
  functionDeclarator,
  hasContextParam,
  instanceAllocationSite,
  isInstanceAllocation,
  localPointerDeclaration,
  objectGlobalsOf,
  planFileTypes,
  suggestingApi,
  typeSpecsOf,
  type CapiParam,
  type RewriteApi,
  type SyntaxNode,
  type TypeAllocationScope,
  type TypeFileModel,
  type TypeFinding,
  type TypePlan,
} from '../src/api/index.js';

export default defineTransform({
  id: 'pytype-spec',
  summary: 'PyType_Spec/PyType_Slot and static PyTypeObject become HPyType_Spec with HPyDef slots, members and get-sets',
  concern: 'type-specs',
  safety: 'safe',
  default: true,
  after: ['pymethoddef'],
  rewrite(file, api) {
    // The plans are src/api's (type-plans.ts): pymethoddef asks the same planning first.
    const { model, types } = planFileTypes(api, file);
    for (const { decl, cType, variable, plan } of types) {
      if (!plan) {
        api.report(decl, `'${variable}' is defined inside a function or a preprocessor conditional: left alone`, { notes: ['move the type definition to file scope, then run hpy-migrate again'], suggestion: `'static ${cType} ${variable} = {...};' at file scope, outside any #if` });
        continue;
      }
      if (plan.problems.length > 0) {
        for (const p of reportedProblems(api, plan)) api.report(p.at, p.message, { notes: p.notes, ...(p.suggestion ? { suggestion: p.suggestion } : {}) });
        continue;
      }
      for (const l of plan.legacy) api.report(l.site, `'${l.field}' of '${plan.variable}' stays a legacy slot ('Py_${l.field}' in '.legacy_slots'): ${l.reason.why}`, { severity: 'note', notes: l.reason.notes });
      for (const c of plan.changes) api.replace(c, c.text);
      for (const r of plan.remarks) api.report(r.at, r.message, { severity: r.severity ?? 'note', notes: r.notes, ...(r.suggestion ? { suggestion: r.suggestion } : {}) });
    }
    for (const spec of typeSpecsOf(api)) if (spec.kind === 'HPyType_Spec' && spec.basicsize) model.converted.add(spec.basicsize);
    planAllocatingHelpers(model);
    planInstanceAllocations(model);
  },
});

/**
 * The reasons a type is left whole, as reported. A method table still of `PyMethodDef` is not
 * one more reason when pymethoddef ran and the type has others: pymethoddef left the table whole
 * because of them (or said why itself), so that finding would only point back at this type.
 */
function reportedProblems(api: RewriteApi, plan: TypePlan): TypeFinding[] {
  const others = plan.problems.filter((p) => !p.methodTable);
  return api.isSelected('pymethoddef') && others.length > 0 ? others : plan.problems;
}

// ---------------------------------------------------------------------------------------------
// Helpers that allocate instances

/**
 * Functions of the file other than slots (`vec2_alloc(PyTypeObject *type, ...)`) that allocate an
 * instance of a converted type from a type they receive: the allocation becomes `HPy_New`, as in
 * `tp_new`, and the `PyTypeObject *` parameter an `HPy`.
 */
function planAllocatingHelpers(model: TypeFileModel): void {
  const { api } = model;
  for (const [name, fn] of model.functions) {
    const body = fn.childForFieldName('body');
    if (!body || model.claimed.has(name) || api.index.callbacks.includes(name)) continue;
    const params = capiParams(api, fn);
    const index = params.findIndex((p) => p.pointee === 'PyTypeObject' && allocatedStruct(model, body, p.name));
    if (index >= 0) planAllocatingHelper(model, fn, name, params[index], index);
  }
}

/** The converted struct that `body` allocates from the type `type`, if it allocates one. */
function allocatedStruct(model: TypeFileModel, body: SyntaxNode, type: string): string | null {
  const { api } = model;
  const alloc = body.descendantsOfType('call_expression').find((c) => isInstanceAllocation(api, c, type));
  if (!alloc) return null;
  let value: SyntaxNode = alloc;
  while (value.parent?.type === 'parenthesized_expression') value = value.parent;
  const cast = value.parent?.type === 'cast_expression' ? /^(\w+)\s*\*$/.exec(api.text(value.parent.childForFieldName('type')!).trim()) : null;
  const site = instanceAllocationSite(api, alloc, body);
  const struct = cast ? cast[1] : site ? localPointerDeclaration(api, body, site.variable)?.pointee ?? null : null;
  return struct && model.converted.has(struct) ? struct : null;
}

function planAllocatingHelper(model: TypeFileModel, fn: SyntaxNode, name: string, param: CapiParam, index: number): void {
  const { api } = model;
  const scope: TypeAllocationScope = { model, variable: name, changes: [], problems: [] };
  if (typeParamUses(scope, fn, name, param.name) && convertInstanceAllocation(scope, fn, name, param.name, param.node)) {
    scope.changes.push({ start: param.node.startIndex, end: param.node.endIndex, text: `HPy ${param.name}` });
    for (const proto of model.prototypes.get(name) ?? []) {
      const p = functionDeclarator(proto)?.childForFieldName('parameters')?.namedChildren.filter((c) => c.type === 'parameter_declaration')[index];
      const id = p ? declaredIdentifier(p.childForFieldName('declarator')) : null;
      if (p) scope.changes.push({ start: p.startIndex, end: p.endIndex, text: id ? `HPy ${api.text(id)}` : 'HPy' });
    }
  }
  for (const p of scope.problems) api.report(p.at, p.message, { notes: p.notes, ...(p.suggestion ? { suggestion: p.suggestion } : {}) });
  // A helper gets its `ctx` from missing-context (reported once when that does not run).
  if (scope.problems.length > 0 || !contextGuard(suggestingApi(api, contextGuardSuggestion)).allows(fn.childForFieldName('body')!, 'HPy_New')) return;
  for (const c of scope.changes) api.replace(c, c.text);
}

/** The type parameter of an allocating helper may only allocate or be passed on (as a handle). */
function typeParamUses(scope: TypeAllocationScope, fn: SyntaxNode, name: string, type: string): boolean {
  const { api } = scope.model;
  for (const id of fn.childForFieldName('body')!.descendantsOfType('identifier')) {
    if (api.text(id) !== type || id.parent?.type === 'field_expression') continue;
    // Passed on as it is, or cast to an object pointer (a handle needs no cast: pyobject-pointer drops it).
    const cast = id.parent?.type === 'cast_expression' && /^(PyObject|PyTypeObject)\s*\*$/.test(api.text(id.parent.childForFieldName('type')!).trim()) ? id.parent : id;
    if (cast.parent?.type === 'argument_list') continue;
    scope.problems.push({
      at: id,
      message: `'${type}' is used in '${name}' other than to allocate or to pass it on: '${scope.variable}' is left as it was`,
      notes: [`the type becomes an 'HPy' handle allocated from with 'HPy_New(ctx, ${type}, &p)': port this use by hand, then run hpy-migrate again`],
      suggestion: `'${type}' only in 'HPy_New(ctx, ${type}, &p)' or passed on as a handle: 'HPyType_GetName(ctx, ${type})' for its name, 'HPy_Is(ctx, ${type}, other)' to compare it`,
    });
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Allocations outside tp_new

/**
 * `PyObject_New(T, (PyTypeObject *)G)` in another function of the file (a method or helper that
 * makes an instance), where `G` is a file-scope object that pyobject-global turns into an
 * HPyGlobal stored at module init: the allocation becomes `T *p; HPy h_p = HPy_New(ctx, G, &p);`
 * (pyobject-global then loads `G` for that statement) and the uses of `p` as an object `h_p`, as
 * in tp_new. Other allocations of HPy code are reported with the form to write by hand; legacy
 * functions keep theirs, and `PyObject_New(T, &XType)` is reported with its type.
 */
function planInstanceAllocations(model: TypeFileModel): void {
  const { api } = model;
  const scope = contextScope(api.index, model.file.text, model.api.target);
  const globals = new Map(objectGlobalsOf(api, model.file.text, { skipModuleInit: true }).map((g) => [g.name, g]));
  const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
  for (const [name, fn] of model.functions) {
    const body = fn.childForFieldName('body');
    if (!body || !(hasContextParam(fn) || scope.needsContext(name) || model.claimed.has(name))) continue;
    for (const call of body.descendantsOfType('call_expression')) {
      const source = allocationSource(api, call);
      if (!source || source.kind === 'parameter' || source.kind === 'static-type') continue;
      const scopeOf: TypeAllocationScope = { model, variable: name, changes: [], problems: [] };
      if (source.kind === 'global') allocateFromGlobal(scopeOf, fn, name, call, source.name, globals.get(source.name)?.problem?.message ?? null);
      else unknownTypeAllocation(scopeOf, call, name, source.text);
      for (const p of scopeOf.problems) api.report(p.at, p.message, { notes: p.notes, ...(p.suggestion ? { suggestion: p.suggestion } : {}) });
      if (scopeOf.problems.length > 0 || !guard.allows(body, 'HPy_New')) continue;
      for (const c of scopeOf.changes) api.replace(c, c.text);
      model.edited.push(...scopeOf.changes);
    }
  }
}

/** `PyObject_New(T, (PyTypeObject *)G)` with `G` a C global that becomes an HPyGlobal. */
function allocateFromGlobal(scope: TypeAllocationScope, fn: SyntaxNode, name: string, call: SyntaxNode, global: string, globalProblem: string | null): void {
  const { api } = scope.model;
  const struct = api.text(callArguments(call)[0]);
  const site = instanceAllocationSite(api, call, fn.childForFieldName('body')!);
  const suggestion = allocationSuggestion(struct, site?.variable ?? 'p', `HPyGlobal_Load(ctx, ${global})`);
  const fail = (why: string, note: string): void => {
    scope.problems.push({ at: call, message: `'${calleeName(call)}' in '${name}' is left as it is: ${why}`, notes: [note], suggestion });
  };
  if (!scope.model.converted.has(struct)) return fail(`the type of '${struct}' stays on the C API`, 'the pytype-spec diagnostics of the type say why');
  if (globalProblem) return fail(`'${global}' stays a C global (${globalProblem.replace(/:( '[^']*' is)? left as a C global$/, '')})`, `an HPy allocation needs the type as a handle: once '${global}' is an HPyGlobal, run hpy-migrate again`);
  if (!api.isSelected('pyobject-global') || !api.isSelected('pymoduledef')) {
    return fail(`the type comes from the C global '${global}', which only pyobject-global with pymoduledef turns into an HPyGlobal, and they are not part of this run`, "run them too ('--all'), or write the allocation by hand");
  }
  if (!convertInstanceAllocation(scope, fn, name, global, call)) return;
  if (scope.changes.some((c) => scope.model.edited.some((e) => c.start < e.end && e.start < c.end))) {
    scope.problems.push({ at: call, message: `'${calleeName(call)}' in '${name}' is left as it is: it lies in code this transform rewrites otherwise`, notes: ['convert the allocation by hand'], suggestion });
  }
}

/** An allocation from a type this tool cannot hold as a handle (`Py_TYPE(self)`, a local). */
function unknownTypeAllocation(scope: TypeAllocationScope, call: SyntaxNode, name: string, type: string): void {
  const { api } = scope.model;
  const struct = api.text(callArguments(call)[0]);
  const site = instanceAllocationSite(api, call, bodyAround(call));
  const typeOf = /^Py_TYPE\s*\(\s*(\w+)\s*\)$/.exec(type);
  scope.problems.push({
    at: call,
    message: `'${calleeName(call)}' in '${name}' allocates from the type '${type}', which is no handle this transform can provide: left as it is`,
    notes: [`HPy allocates with 'HPy_New(ctx, type, &p)' from a type handle ('HPy_Type(ctx, obj)' for the type of an object, 'HPyGlobal_Load(ctx, g)' for one kept at module init), closed after use`],
    suggestion: allocationSuggestion(struct, site?.variable ?? 'p', typeOf ? `HPy_Type(ctx, ${typeOf[1]})` : 'HPyGlobal_Load(ctx, g_type)'),
  });
}
