/**
 * How a call to a CPython C-API function or function-like macro ports to HPy: the hand-written
 * classification of the api map's `function` and `macro` rows, read off their `notes`.
 *
 * The rule ({@link callFormOf}), in order:
 * 1. a name in {@link CALL_OWNERS} belongs to another transform: `owned`;
 * 2. an empty `hpy` (no counterpart in HPy 0.9.0): `no-counterpart`;
 * 3. `refs` = `borrowed`: `borrowed` (the CPython result is borrowed, HPy's is a new handle);
 * 4. `refs` = `steals` or `steals-on-success`: `steals` (HPy never steals);
 * 5. `ctx` = `no`, or an `hpy` that is not a plain identifier (`ctx->h_X`): `pattern`;
 * 6. a name in {@link TYPE_CHECKS}: `type-check`, i.e. `PyLong_Check(o)` is
 *    `HPy_TypeCheck(ctx, o, ctx->h_LongType)` (both accept subclasses);
 * 7. a name in {@link NOT_ONE_TO_ONE} (the notes describe other arguments or several steps): `pattern`;
 * 8. anything else: `direct`, i.e. `Name(a, b)` is `HPyName(ctx, a, b)` with ownership unchanged
 *    (`refs` = `same`, `none`, or `n/a` for a macro that neither takes nor returns an owned object).
 *    A few direct names hold only for some argument texts ({@link DIRECT_WHEN}), one only in a
 *    boolean context ({@link FLAG_RESULTS}), and some accept `HPy_NULL` where CPython callers pass
 *    `NULL` ({@link NULL_HANDLE_PARAMS}). The `PyObject_Call*` family is direct too, with its
 *    arguments rebuilt by capi-call (an array, or a tuple from a format: {@link familyCall}).
 *
 * Rows of other kinds (constants, exceptions, types, flags, slots, structs) are not calls and get
 * no form.
 */
import { apiEntries, apiEntry, type ApiEntry } from './api-map.js';
import { codeWithoutCommentsAndStrings } from './c-syntax.js';

/** How one call ports (see the module doc for the rule). */
export type CallForm = 'direct' | 'type-check' | 'borrowed' | 'steals' | 'no-counterpart' | 'pattern' | 'owned';

/** The classification of one api-map row that can be called. */
export interface CallClass {
  form: CallForm;
  entry: ApiEntry;
  /** Why a `pattern` row is not a plain rename; empty for the other forms. */
  reason: string;
  /** For `owned`: the id of the transform that handles the name. */
  owner?: string;
}

/**
 * Call-like names that another transform rewrites or reports; capi-call leaves them alone and says
 * nothing. The value is the owning transform's id. Adding a transform that takes over a name means
 * adding the name here, and nowhere else.
 */
export const CALL_OWNERS: Readonly<Record<string, string>> = {
  // refcount-macro: reference counting becomes HPy_Dup / HPy_Close.
  Py_INCREF: 'refcount-macro',
  Py_XINCREF: 'refcount-macro',
  Py_DECREF: 'refcount-macro',
  Py_XDECREF: 'refcount-macro',
  Py_CLEAR: 'refcount-macro',
  Py_NewRef: 'refcount-macro',
  Py_XNewRef: 'refcount-macro',
  Py_SETREF: 'refcount-macro',
  Py_XSETREF: 'refcount-macro',
  // builtin-constant: the built-in objects become context handles.
  Py_RETURN_NONE: 'builtin-constant',
  Py_RETURN_TRUE: 'builtin-constant',
  Py_RETURN_FALSE: 'builtin-constant',
  Py_RETURN_NOTIMPLEMENTED: 'builtin-constant',
  Py_IsNone: 'builtin-constant',
  Py_IsTrue: 'builtin-constant',
  Py_IsFalse: 'builtin-constant',
  PyEval_GetBuiltins: 'builtin-constant',
  // pyarg-parse: argument parsing moves to HPyArg_Parse* on the args array.
  PyArg_Parse: 'pyarg-parse',
  PyArg_ParseTuple: 'pyarg-parse',
  PyArg_ParseTupleAndKeywords: 'pyarg-parse',
  PyArg_UnpackTuple: 'pyarg-parse',
  PyArg_VaParseTupleAndKeywords: 'pyarg-parse',
  _PyArg_ParseStackAndKeywords: 'pyarg-parse',
  // pymoduledef: module creation becomes HPyModuleDef + HPy_MODINIT + an exec slot.
  PyMODINIT_FUNC: 'pymoduledef',
  PyModule_Create: 'pymoduledef',
  PyModule_Create2: 'pymoduledef',
  PyModule_FromDefAndSpec: 'pymoduledef',
  PyModuleDef_Init: 'pymoduledef',
  PyModule_AddFunctions: 'pymoduledef',
  PyModule_SetDocString: 'pymoduledef',
  PyModuleDef_HEAD_INIT: 'pymoduledef',
  // pytype-spec: static types and specs become HPyType_Spec.
  PyType_Ready: 'pytype-spec',
  PyType_FromSpec: 'pytype-spec',
  PyType_FromSpecWithBases: 'pytype-spec',
  PyType_FromModuleAndSpec: 'pytype-spec',
  PyType_FromMetaclass: 'pytype-spec',
  PyType_GenericNew: 'pytype-spec',
  PyType_GenericAlloc: 'pytype-spec',
  PyObject_HEAD_INIT: 'pytype-spec',
  PyVarObject_HEAD_INIT: 'pytype-spec',
  // pyobject-head: object struct heads, allocation and the GC protocol of object structs.
  PyObject_HEAD: 'pyobject-head',
  PyObject_VAR_HEAD: 'pyobject-head',
  PyObject_New: 'pytype-spec',
  PyObject_NEW: 'pytype-spec',
  PyObject_GC_New: 'pytype-spec',
  PyObject_NewVar: 'pyobject-head',
  PyObject_GC_NewVar: 'pyobject-head',
  PyObject_Init: 'pyobject-head',
  PyObject_Del: 'pyobject-head',
  PyObject_GC_Del: 'pyobject-head',
  PyObject_GC_Track: 'pyobject-head',
  PyObject_GC_UnTrack: 'pyobject-head',
  // pyobject-field: traverse functions visit HPyFields.
  Py_VISIT: 'pyobject-field',
  // py-type-macro: the borrowed type becomes a handle from HPy_Type, closed after its statement.
  Py_TYPE: 'py-type-macro',
  // pymoduledef: objects added to the module in the init body (now the exec slot).
  PyModule_AddIntConstant: 'pymoduledef',
  PyModule_AddStringConstant: 'pymoduledef',
  PyModule_AddObject: 'pymoduledef',
  PyModule_AddObjectRef: 'pymoduledef',
  PyModule_AddType: 'pymoduledef',
  PyModule_AddIntMacro: 'pymoduledef',
  PyModule_AddStringMacro: 'pymoduledef',
  // pymethoddef: docstrings of method tables.
  PyDoc_STRVAR: 'pymethoddef',
  PyDoc_STR: 'pymethoddef',
  // borrowed-reference: borrowed getters become new handles, closed on every path out.
  PyTuple_GET_ITEM: 'borrowed-reference',
  PyTuple_GetItem: 'borrowed-reference',
  PyList_GET_ITEM: 'borrowed-reference',
  PyList_GetItem: 'borrowed-reference',
  PyDict_GetItem: 'borrowed-reference',
  PyDict_GetItemString: 'borrowed-reference',
  PyDict_GetItemWithError: 'borrowed-reference',
  // stolen-reference: stealing setters, tuple/list creation (builders), 'N' in Py_BuildValue.
  PyTuple_New: 'stolen-reference',
  PyList_New: 'stolen-reference',
  PyTuple_SET_ITEM: 'stolen-reference',
  PyTuple_SetItem: 'stolen-reference',
  PyList_SET_ITEM: 'stolen-reference',
  PyList_SetItem: 'stolen-reference',
};

/**
 * Rows with a plain-identifier HPy counterpart and unchanged ownership that are still not a rename
 * with `ctx` added: the value says why (shown to the user next to the row's notes).
 */
export const NOT_ONE_TO_ONE: Readonly<Record<string, string>> = {
  Py_BEGIN_ALLOW_THREADS: 'the HPy macro takes ctx and must pair with HPy_END_LEAVE_PYTHON in the same block',
  Py_END_ALLOW_THREADS: 'the HPy macro takes ctx and must pair with HPy_BEGIN_LEAVE_PYTHON in the same block',
  PyEval_SaveThread: "the saved state is an 'HPyThreadState', not a 'PyThreadState *'",
  PyEval_RestoreThread: "the saved state is an 'HPyThreadState', not a 'PyThreadState *'",
  Py_IS_TYPE: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  Py_CompileString: "the start symbol becomes an 'HPy_SourceKind' value, which is not numerically the same",
  PyRun_String: 'the source is compiled and evaluated in two steps',
  PyImport_Import: "'HPyImport_ImportModule' takes a C string, not a name object",
  PyDict_GetItemRef: "'HPy_GetItem' returns the handle instead of storing it through a pointer",
  PyModule_GetNameObject: "'HPy_GetAttr_s' needs the attribute name '__name__' as an extra argument",
  PyObject_Vectorcall: 'the count must not carry PY_VECTORCALL_ARGUMENTS_OFFSET',
  PyObject_VectorcallMethod: 'the count must not carry PY_VECTORCALL_ARGUMENTS_OFFSET',
  PyObject_Not: "'HPy_IsTrue' gives the opposite answer, and -1 must be kept apart",
  PySequence_Repeat: "'HPy_Multiply' takes the count as an int handle, not a C integer",
  PyMapping_HasKey: "'HPy_Contains' can return -1, which PyMapping_HasKey never does",
  PyLong_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyFloat_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyUnicode_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyTuple_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyList_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyBytes_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyType_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyCapsule_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyComplex_CheckExact: 'the exact type test takes several steps (HPy_Type, HPy_Is, HPy_Close)',
  PyUnicode_AsUTF8: "'HPyUnicode_AsUTF8AndSize' takes the size pointer as an extra argument",
  PyUnicode_Compare: "'HPy_RichCompareBool' answers one comparison, not a three-way result",
  PyUnicode_Decode: 'the C buffer must be wrapped in a bytes object first',
  PySlice_GetIndicesEx: 'unpacking and adjusting the indices are two calls',
  PyErr_BadArgument: "'HPyErr_SetString' needs the exception type and the message",
  PyErr_BadInternalCall: "'HPyErr_SetString' needs the exception type and the message",
  PyErr_WarnFormat: 'there is no format-based warning: format into a C buffer first',
  PyCapsule_New: "the destructor becomes an 'HPyCapsule_Destructor' passed by address",
  PyCapsule_SetDestructor: "the destructor becomes an 'HPyCapsule_Destructor' passed by address",
  PyType_GetName: 'the HPy function returns a C string instead of a str object',
  PyStructSequence_InitType2: 'a static struct-sequence type becomes a dynamic one, kept in an HPyGlobal',
  PyStructSequence_New: "'HPyStructSequence_New' takes all the items at creation",
};

/**
 * Type checks without a dedicated HPy checker in 0.9.0: the context handle of the type that
 * `HPy_TypeCheck(ctx, o, ctx->h_X)` tests against. Like the CPython macros, it accepts subclasses.
 */
export const TYPE_CHECKS: Readonly<Record<string, string>> = {
  PyBool_Check: 'h_BoolType',
  PyLong_Check: 'h_LongType',
  PyFloat_Check: 'h_FloatType',
  PyType_Check: 'h_TypeType',
  PyComplex_Check: 'h_ComplexType',
  PySlice_Check: 'h_SliceType',
  PyMemoryView_Check: 'h_MemoryViewType',
};

/** A check on the argument texts of a direct call; returns why the call is not direct, or null. */
export type ArgumentCheck = (args: readonly string[]) => string | null;

/**
 * Direct names that are direct only for some arguments. A call that fails its check is reported
 * like a `pattern` row, with the check's answer as the reason.
 */
export const DIRECT_WHEN: Readonly<Record<string, ArgumentCheck>> = {
  // HPy raises ValueError for NULL data instead of returning a buffer to fill.
  PyBytes_FromStringAndSize: (args) => (args[0] === 'NULL' ? "'HPyBytes_FromStringAndSize' rejects NULL data: build the C buffer first" : null),
  Py_BuildValue: (args) => buildValueProblem(args[0]),
  PyUnicode_FromFormat: (args) => formatProblem(args[0]),
  PyUnicode_FromFormatV: (args) => formatProblem(args[0]),
  PyErr_Format: (args) => formatProblem(args[1]),
  // The call family: capi-call rebuilds the arguments (an array for HPy_Call/HPy_CallMethod, a
  // tuple from HPy_BuildValue for the format-based calls), sound only for the arguments that
  // callFamilyProblem accepts.
  PyObject_CallObject: (args) => callFamilyProblem('PyObject_CallObject', args),
  PyObject_CallNoArgs: (args) => callFamilyProblem('PyObject_CallNoArgs', args),
  PyObject_CallOneArg: (args) => callFamilyProblem('PyObject_CallOneArg', args),
  PyObject_CallFunctionObjArgs: (args) => callFamilyProblem('PyObject_CallFunctionObjArgs', args),
  PyObject_CallMethodNoArgs: (args) => callFamilyProblem('PyObject_CallMethodNoArgs', args),
  PyObject_CallMethodOneArg: (args) => callFamilyProblem('PyObject_CallMethodOneArg', args),
  PyObject_CallMethodObjArgs: (args) => callFamilyProblem('PyObject_CallMethodObjArgs', args),
  PyObject_CallFunction: (args) => callFamilyProblem('PyObject_CallFunction', args),
  PyObject_CallMethod: (args) => callFamilyProblem('PyObject_CallMethod', args),
};

/**
 * Direct names whose CPython result is an object pointer used as a truth value, while the HPy
 * function returns an int flag: they are rewritten only where the result is tested for truth or
 * compared with NULL.
 */
export const FLAG_RESULTS: Readonly<Record<string, string>> = {
  PyErr_Occurred: "'HPyErr_Occurred' returns an int flag, not the exception type",
};

/**
 * Parameters (0-based, in CPython's argument order) of direct names that are handles HPy lets be
 * `HPy_NULL`, where CPython callers pass `NULL`: a literal `NULL` there becomes `HPy_NULL`.
 */
export const NULL_HANDLE_PARAMS: Readonly<Record<string, readonly number[]>> = {
  PyObject_Call: [1, 2],
  PyErr_NewException: [1, 2],
  PyErr_NewExceptionWithDoc: [2, 3],
  PyErr_SetObject: [1],
  PyErr_WriteUnraisable: [0],
  PyErr_SetFromErrnoWithFilenameObject: [1],
  PyErr_SetFromErrnoWithFilenameObjects: [1, 2],
  PyObject_SetAttr: [2],
  PyObject_SetAttrString: [2],
  PyContextVar_New: [1],
  PyContextVar_Get: [1],
};

const CALLABLE_KINDS = new Set(['function', 'macro']);
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Classifies one api-map row that can be called (see the module doc for the rule). */
export function classifyCall(entry: ApiEntry): CallClass {
  const name = entry.cpython;
  const owner = CALL_OWNERS[name];
  if (owner !== undefined) return { form: 'owned', entry, reason: '', owner };
  if (entry.hpy === '') return { form: 'no-counterpart', entry, reason: '' };
  if (entry.refs === 'borrowed') return { form: 'borrowed', entry, reason: '' };
  if (entry.refs === 'steals' || entry.refs === 'steals-on-success') return { form: 'steals', entry, reason: '' };
  if (!entry.ctx || !PLAIN_IDENTIFIER.test(entry.hpy)) {
    return { form: 'pattern', entry, reason: `'${entry.hpy}' is not a function taking ctx` };
  }
  if (TYPE_CHECKS[name] !== undefined) return { form: 'type-check', entry, reason: '' };
  const reason = NOT_ONE_TO_ONE[name];
  if (reason !== undefined) return { form: 'pattern', entry, reason };
  return { form: 'direct', entry, reason: '' };
}

/** The form of a call to `name`, or undefined when the name is not a callable api-map row. */
export function callFormOf(name: string): CallClass | undefined {
  const entry = apiEntry(name);
  return entry && CALLABLE_KINDS.has(entry.kind) ? classifyCall(entry) : undefined;
}

/** Every callable api-map row with its classification (for tests and listings). */
export function callClasses(): CallClass[] {
  return apiEntries()
    .filter((e) => CALLABLE_KINDS.has(e.kind))
    .map(classifyCall);
}

/**
 * The characters of a C string literal's text (`"a" "b"` concatenations included), or null when
 * the text is not made of plain string literals only (a macro in between, a wide string...).
 */
export function stringLiteralValue(text: string | undefined): string | null {
  if (text === undefined) return null;
  const parts = text.match(/"(?:[^"\\\r\n]|\\.)*"|\s+/g);
  if (!parts || parts.join('') !== text) return null;
  return parts.filter((p) => p.startsWith('"')).map((p) => p.slice(1, -1)).join('');
}

// HPy_BuildValue units (runtime/buildvalue.c in 0.9.0); ',' and ':' separate items. A space is
// skipped only inside a dict: elsewhere HPy reads it as a unit and fails.
const BUILD_VALUE_UNITS = new Set('iIklLKnfdsOS()[]{}:,');

/** Why `HPy_BuildValue` cannot take this format argument, or null when it can. */
export function buildValueProblem(format: string | undefined): string | null {
  const value = stringLiteralValue(format);
  if (value === null) return 'the format is not a string literal, so its units cannot be checked';
  const open: string[] = [];
  const bad = new Set<string>();
  for (const c of value) {
    if ('([{'.includes(c)) open.push(c);
    else if (')]}'.includes(c)) open.pop();
    if (c === ' ' ? open[open.length - 1] !== '{' : !BUILD_VALUE_UNITS.has(c)) bad.add(c);
  }
  if (bad.size === 0) return null;
  // 'N' steals its argument: the stolen-reference transform turns it into 'O' plus a close.
  if (bad.size === 1 && bad.has('N')) return "the format uses 'N', which HPy_BuildValue does not support: 'O' takes the handle without stealing it, so close it after the call";
  return `the format uses units that HPy_BuildValue does not support ('${[...bad].join('')}')`;
}

// One conversion of HPyUnicode_FromFormat (runtime/format.c in 0.9.0): %[0][width][.precision]unit.
const FORMAT_SPEC = /%(%|(0?)(\d*)(\.\d*)?(ll|l|z)?([a-zA-Z]?))/g;
const PLAIN_UNITS = new Set(['c', 'd', 'i', 'u', 'x', 's', 'p', 'A', 'U', 'V', 'S', 'R']);
const SIZED_UNITS = new Set(['d', 'i', 'u']);
const NO_ZERO_PAD = new Set(['s', 'U', 'V', 'S', 'R', 'A', 'p', 'c']);

/** Why HPy's printf-like functions cannot take this format argument, or null when they can. */
export function formatProblem(format: string | undefined): string | null {
  const value = stringLiteralValue(format);
  if (value === null) return 'the format is not a string literal, so its units cannot be checked';
  for (const m of value.matchAll(FORMAT_SPEC)) {
    if (m[1] === '%') continue;
    const [, , zero, width, precision, size, unit] = m;
    const ok =
      (size ? SIZED_UNITS.has(unit) : PLAIN_UNITS.has(unit)) &&
      !(zero && NO_ZERO_PAD.has(unit)) &&
      !((unit === 'c' || unit === 'p') && (width || precision));
    if (!ok) return `the format uses '${m[0]}', which HPy's formatting does not support`;
  }
  return null;
}

/**
 * A call of the `PyObject_Call*` family read from its argument texts, in the shape of its HPy
 * form: `tuple` is `HPy_CallTupleDict(ctx, callable, tuple, HPy_NULL)`; `array` is
 * `HPy_Call(ctx, callable, items, n, HPy_NULL)`, or with `method` (a name handle)
 * `HPy_CallMethod(ctx, method, {callable, items...}, n + 1, HPy_NULL)`; `format` calls `callable`
 * (or its method named by the C string `method`) with the tuple that `HPy_BuildValue(ctx, format,
 * values...)` makes, or with no arguments when `format` is null.
 */
export type FamilyCall =
  | { kind: 'tuple'; callable: string; tuple: string }
  | { kind: 'array'; callable: string; method: string | null; items: string[] }
  | { kind: 'format'; callable: string; method: string | null; format: string | null; values: string[] };

/** Argument layouts of the family: `fixed` counts every argument; `null` lists end with a literal NULL. */
const CALL_FAMILY: Readonly<Record<string, { kind: FamilyCall['kind']; method: boolean; fixed?: number }>> = {
  PyObject_CallObject: { kind: 'tuple', method: false, fixed: 2 },
  PyObject_CallNoArgs: { kind: 'array', method: false, fixed: 1 },
  PyObject_CallOneArg: { kind: 'array', method: false, fixed: 2 },
  PyObject_CallFunctionObjArgs: { kind: 'array', method: false },
  PyObject_CallMethodNoArgs: { kind: 'array', method: true, fixed: 2 },
  PyObject_CallMethodOneArg: { kind: 'array', method: true, fixed: 3 },
  PyObject_CallMethodObjArgs: { kind: 'array', method: true },
  PyObject_CallFunction: { kind: 'format', method: false },
  PyObject_CallMethod: { kind: 'format', method: true },
};

/**
 * Reads a call of the family (null for another name), or says why its HPy form would not be the
 * same call: a wrong argument count, a list without its NULL end, a format HPy_BuildValue cannot
 * take, or an object argument computed by a call (a new object it returns would stay unclosed, as
 * HPy takes no reference: only variables, members, casts and constants are passed on as they are).
 */
export function familyCall(name: string, args: readonly string[]): FamilyCall | { problem: string } | null {
  const layout = CALL_FAMILY[name];
  if (!layout) return null;
  if (layout.fixed !== undefined && args.length !== layout.fixed) return { problem: `'${name}' takes ${layout.fixed} arguments, not ${args.length}` };
  const head = layout.method ? 2 : 1;
  if (args.length < head + (layout.kind === 'format' ? 1 : 0)) return { problem: `'${name}' lacks arguments` };
  const callable = args[0];
  const method = layout.method ? args[1] : null;
  const handles = layout.kind === 'format' || !layout.method ? [callable] : [callable, method!];
  if (layout.kind === 'tuple') return plainHandles([...handles, args[1]]) ?? { kind: 'tuple', callable, tuple: args[1] };
  if (layout.kind === 'format') return formatCall(callable, method, args[head], args.slice(head + 1)) ;
  let items = args.slice(head);
  if (layout.fixed === undefined) {
    if (items.length === 0 || items[items.length - 1].trim() !== 'NULL') return { problem: `the argument list of '${name}' does not end with a literal NULL` };
    items = items.slice(0, -1);
    const early = items.find((a) => /\bNULL\b/.test(codeWithoutCommentsAndStrings(a)));
    if (early) return { problem: `the argument '${early.trim()}' may be NULL, which ends the argument list of '${name}' early` };
  }
  return plainHandles([...handles, ...items]) ?? { kind: 'array', callable, method, items };
}

/** Why {@link familyCall} cannot convert this call, or null when it can (or the name is not of the family). */
export function callFamilyProblem(name: string, args: readonly string[]): string | null {
  const call = familyCall(name, args);
  return call && 'problem' in call ? call.problem : null;
}

/** An object argument must yield no new reference: no call inside it. */
function plainHandles(args: readonly string[]): { problem: string } | null {
  for (const a of args) {
    const call = /\b(?!sizeof\b)([A-Za-z_]\w*)\s*\(/.exec(codeWithoutCommentsAndStrings(a));
    if (call) return { problem: `the object argument '${a.trim()}' calls '${call[1]}': a new object it returns would not be closed` };
  }
  return null;
}

/** `PyObject_CallFunction(f, format, ...)`: the HPy_BuildValue format that makes the argument tuple. */
function formatCall(callable: string, method: string | null, format: string, values: string[]): FamilyCall | { problem: string } {
  const value = format.trim() === 'NULL' ? '' : stringLiteralValue(format.trim());
  if (value === null) return { problem: 'the format is not a string literal, so its units cannot be checked' };
  const handles = plainHandles([callable]);
  if (handles) return handles;
  if (value === '') return values.length === 0 ? { kind: 'format', callable, method, format: null, values } : { problem: 'the format is empty but arguments follow it' };
  const problem = buildValueProblem(`"${value}"`) ?? (value.includes('N') ? "the format uses 'N', which steals a reference" : null);
  if (problem) return { problem };
  const units = [...value].filter((c) => !'()[]{}:, '.includes(c));
  if (units.length !== values.length) return { problem: `the format takes ${units.length} arguments, not ${values.length}` };
  const objects = values.filter((_, i) => units[i] === 'O' || units[i] === 'S');
  const plain = plainHandles(objects);
  if (plain) return plain;
  const items = topLevelItems(value);
  if (items.length === 1 && (items[0] === 'O' || items[0] === 'S')) {
    return { problem: `with the single unit '${items[0]}', CPython passes the items of a tuple argument as the arguments, which the HPy call cannot tell apart` };
  }
  // One parenthesized group is the argument tuple itself (CPython unpacks it); else the units are.
  return { kind: 'format', callable, method, format: items.length === 1 && items[0].startsWith('(') ? `"${value}"` : `"(${value})"`, values };
}

/** The items of a format at its top level (a unit, or a bracketed group with its content). */
function topLevelItems(value: string): string[] {
  const items: string[] = [];
  let depth = 0;
  for (const c of value) {
    if (depth === 0 && !',: '.includes(c)) items.push('');
    if (depth > 0 || !',: '.includes(c)) items[items.length - 1] += c;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  return items;
}
