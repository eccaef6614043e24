/**
 * Turns a `PyModuleDef` and its `PyInit_*` function into an `HPyModuleDef`, an `HPy_mod_exec`
 * slot holding the init body, and `HPy_MODINIT`.
 *
 * ## Why
 * HPy has only multi-phase module initialisation: the runtime creates the module from an
 * `HPyModuleDef` named by `HPy_MODINIT`, and the code that filled the module runs in an
 * `HPy_mod_exec` slot, which receives the module and a context (porting guide, "Module
 * definition" and the porting example: https://docs.hpyproject.org/en/latest/porting-guide.html).
 * `PyModuleDef`, `PyModule_Create` and the `PyModule_Add*` helpers do not exist in a universal
 * HPy build, and HPy never steals a reference, so every object added to the module is closed
 * afterwards.
 *
 * ## Before
 * ```c
 * static HPyDef *spam_methods[] = {
 *     &spam_eggs_def,
 *     NULL
 * };
 *
 * static struct PyModuleDef spam_module = {
 *     PyModuleDef_HEAD_INIT,
 *     "spam",
 *     "Tins of spam.",
 *     -1,
 *     spam_methods
 * };
 *
 * PyMODINIT_FUNC
 * PyInit_spam(void)
 * {
 *     PyObject *m = PyModule_Create(&spam_module);
 *     if (m == NULL)
 *         return NULL;
 *     if (PyModule_AddIntConstant(m, "TINS", 12) < 0) {
 *         Py_DECREF(m);
 *         return NULL;
 *     }
 *     return m;
 * }
 * ```
 * ## After
 * ```c
 * HPyDef_SLOT(spam_exec, HPy_mod_exec)
 *
 * static HPyDef *spam_methods[] = {
 *     &spam_eggs_def,
 *     &spam_exec,
 *     NULL
 * };
 *
 * static HPyModuleDef spam_module = {
 *     .doc = "Tins of spam.",
 *     .defines = spam_methods,
 * };
 *
 * static int
 * spam_exec_impl(HPyContext *ctx, HPy m)
 * {
 *     HPy h_TINS = HPyLong_FromLong(ctx, 12);
 *     if (HPy_IsNull(h_TINS)) {
 *         return -1;
 *     }
 *     if (HPy_SetAttr_s(ctx, m, "TINS", h_TINS) < 0) {
 *         HPy_Close(ctx, h_TINS);
 *         return -1;
 *     }
 *     HPy_Close(ctx, h_TINS);
 *     return 0;
 * }
 *
 * HPy_MODINIT(spam, spam_module)
 * ```
 * ## Safety
 * safe: the module def keeps its name, doc and methods (`m_name` comes from the import spec
 * under HPy; `m_size` of -1 or 0 means no state, i.e. HPy's 0). The exec slot runs the same
 * statements in the same order, on a module that already exists: the creation and its null test
 * go, `return m;` becomes `return 0;`, `return NULL;` becomes `return -1;`, and every
 * `Py_DECREF(m)` goes, since the slot does not own the module. An init function that only creates
 * and returns the module needs no slot: it becomes `HPy_MODINIT` alone (prototypes of the init
 * function go too). The method table (pymethoddef has made it an `HPyDef *[]`) gains the slot
 * before its `NULL` when it is `static` and nothing else uses it; otherwise a new
 * `<def>_defines` array lists its entries and the slot. A table that is still a `PyMethodDef[]`
 * is kept as `.legacy_methods` and reported (hybrid ABI only; a note with `--target hybrid`). The
 * legacy part of an `HPyDef *t[]` that a hybrid port left beside it, `PyMethodDef t_legacy[]`
 * (pymethoddef), becomes `.legacy_methods = t_legacy` (reported under `--target universal`); the
 * field goes from an `HPyModuleDef` once pymethoddef has removed that emptied part.
 * Forward declarations of the def (`static struct PyModuleDef m;`) go, with the comment lines
 * right above them, or become `static HPyModuleDef m;` when the init function, where
 * `HPy_MODINIT` goes, comes before the definition.
 * - `PyModule_AddIntConstant`/`AddStringConstant` (and the `*Macro` forms) become create, null
 *   test, `HPy_SetAttr_s`, close; the error branch of the original test is written once for each
 *   failure, and a call whose result was ignored gets `return -1;` as its error branch. An `||`
 *   chain of such tests becomes one statement sequence per call.
 * - `PyModule_AddObject(m, "X", o)` becomes `HPy_SetAttr_s(ctx, m, "X", o)` (same 0/-1 result)
 *   and `HPy_Close(ctx, o);` after the statement: `AddObject` stole `o` on success only, and the
 *   original error branch already deals with the failure (it must leave the function, and `o`
 *   must not be used afterwards). `PyModule_AddObjectRef` is a rename (capi-call, which runs
 *   first, may already have made it one).
 * - Types: `PyType_Ready(&X)`, `Py_INCREF(&X)`, `X.tp_new = PyType_GenericNew;` (the heap type
 *   inherits `object.__new__`) and `PyModule_AddObject(m, "Name", (PyObject *)&X)` or
 *   `PyModule_AddType(m, &X)` become `HPyHelpers_AddType(ctx, m, "Name", &X_spec, NULL)`, the
 *   spec pytype-spec made of `X`, with the test inverted (it returns 1 on success) and `"Name"`
 *   read off the spec for `AddType`. The same for a type made by `PyType_FromSpec(&S)` (or
 *   `PyType_FromModuleAndSpec(m, &S, NULL)`) into a local variable used for nothing else.
 * - C globals: when pyobject-global runs and converts every other use of a file-scope
 *   `PyObject *G`, the init body's `G = value;` becomes `HPy h_G = value;` (`PyType_FromSpec(&S)`
 *   becoming `HPyType_FromSpec(ctx, &S, NULL)`), `HPyGlobal_Store(ctx, &G, h_G);` follows its null
 *   test, `Py_INCREF(G);` goes (the local handle is the reference the C code took for the module),
 *   `PyModule_AddObject(m, "X", G)` adds `h_G` and closes it after the statement and in its failure
 *   branch (its first `Py_DECREF(G)` now closes `h_G`, a second one clears the global; a close is
 *   added when it has none), a global not added is closed right after the store, uses in between
 *   read `h_G`, and a release of `G` after the first label of the body (the error path) clears the
 *   global (`HPyGlobal_Store(ctx, &G, HPy_NULL)`). pyobject-global writes the declaration and
 *   `.globals`.
 * A helper that receives the module as a parameter (`static int add_constants(PyObject *m)`)
 * gets the same rewrite of its registrations and nothing else (its signature and `ctx` are the
 * other transforms' work); an untested registration there takes `return -1;` as its error branch,
 * which needs the helper to return `int`.
 *
 * ## Limits
 * Reported (warning), and the module def and its `PyInit_*` are then both left exactly as they
 * were, since converting one without the other, or part of the body, would not compile:
 * - module state (`m_size` other than -1 or 0), `m_slots` (multi-phase init in CPython form),
 *   `m_traverse`, `m_clear`, `m_free`, a def used elsewhere than in its creation, and a method
 *   table that is neither an `HPyDef *[]` nor a `PyMethodDef[]` of this file;
 * - objects stored in C globals by the init body (exceptions from `PyErr_NewException`, types
 *   kept for later use, any `PyObject *` global) that are not handed over as above: pyobject-global
 *   does not run or keeps the global (its diagnostics say why), the global is assigned more than
 *   once or inside another statement, added to the module twice, used outside the span where the
 *   body holds it in a local handle, or the error path after the first label can be reached
 *   without a jump;
 * - a type readied but not added to the module, a type without an `HPyType_Spec` in this file
 *   (with `--target hybrid`, a `PyType_Spec` or static type of this file goes through the bridge below),
 *   `PyType_FromSpecWithBases`, a type variable used for more than its registration;
 * - `PyModule_*` and `PyType_Ready` calls in other shapes than a failure test (`< 0`, `== -1`,
 *   `!= 0`, truth), an `||` chain of such tests without `else`, or a statement of their own; an
 *   added object that is not a local variable; and any other use of the module variable in a
 *   call that has no direct HPy form (`PyModule_GetDict(m)`, `PyState_AddModule(m, ...)`);
 * - a return of anything else than the module, `NULL` or `0`.
 * A helper with a registration that cannot be converted is reported and left as it is (the
 * module is converted anyway). A declaration of a `PyModuleDef` defined in another file, a
 * `PyModuleDef` without a `PyInit_*` in the file, and a
 * `PyInit_*` that does not create its module with one `PyModule_Create(&def)` (multi-phase
 * `PyModuleDef_Init` included), are reported too. Statements of the init body that do not deal
 * with the module stay as they are: the body transforms convert them, since the slot has `ctx`.
 * Every finding says what to write by hand (its `suggestion`): the change after which the module
 * converts, or the HPy form.
 *
 * With `--target hybrid`, a helper that stays on the C API (`legacyHelpers` in
 * `src/api/legacy-helpers.ts`) keeps its registrations as they are, and a call of the exec slot
 * that passes it the module handle is reported with the `HPy_AsPyObject` seam to write around it
 * (the module is converted all the same: its method table already is an `HPyDef *[]`).
 * A type that stays on the C API (pytype-spec left its `PyType_Spec` whole, e.g. a collected type
 * whose traverse must stay legacy, or left a static `PyTypeObject` without an `HPyType_Spec`) is
 * registered from the exec slot through the legacy bridge instead of keeping `PyInit_*` whole,
 * where its registration was (the error branch written as for constants, and it must leave the
 * function):
 * ```c
 * PyObject *py_Chunks = PyType_FromSpec(&Chunks_spec);
 * if (py_Chunks == NULL) {
 *     return -1;
 * }
 * HPy h_Chunks = HPy_FromPyObject(ctx, py_Chunks);
 * Py_DECREF(py_Chunks);
 * if (HPy_SetAttr_s(ctx, m, "Chunks", h_Chunks) < 0) {
 *     HPy_Close(ctx, h_Chunks);
 *     return -1;
 * }
 * HPy_Close(ctx, h_Chunks);
 * ```
 * The creation and null test of a type local go as in universal, and so do the reference
 * counting of the type local or of `&X`. A static type is handed over as
 * `HPy_FromPyObject(ctx, (PyObject *)&X)`, and its `PyType_Ready(&X)` test and slot assignments
 * (`X.tp_new = PyType_GenericNew;`) stay as they were (C-API code, valid in a hybrid exec slot).
 * `py_NAME` stays a `PyObject *`: the body transforms leave a local handed to `HPy_FromPyObject`
 * (`bridgedObjectLocals`, `src/api/bridged-objects.ts`). Reported: `PyType_FromModuleAndSpec` of
 * such a spec (the C-API call needs the module object; the suggestion writes the
 * `HPy_AsPyObject` seam), a failure branch that does not end with a jump, and a type whose
 * Python name is not a literal (`.name`/`.tp_name`).
 */
import {
  codeWithoutCommentsAndStrings,
  declaredNames,
  declaredIdentifier,
  callArguments,
  calleeName,
  callFormOf,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  enclosingFunction,
  functionName,
  functionParams,
  indentationAt,
  legacyHelpers,
  nextStatement,
  objectGlobalsOf,
  splitRowNotes,
  suggestingApi,
  unparenthesize,
  type ObjectGlobal,
  type RewriteApi,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const DECLARATIONS = `(declaration) @decl`;
const FUNCTIONS = `(function_definition body: (compound_statement) @body) @fn`;
const CALLS = `(call_expression function: (identifier) @name) @call`;
const IDENTIFIERS = `(identifier) @id`;
const RETURNS = `(return_statement) @ret`;
const ASSIGNMENTS = `(assignment_expression left: (identifier) @left right: (_) @right) @assign`;
const SLOT_ASSIGNMENTS = `
(expression_statement
  (assignment_expression
    left: (field_expression argument: (identifier) @type field: (field_identifier) @slot)
    right: (identifier) @value)) @stmt`;

/** Positional fields of a `PyModuleDef` initializer. */
const MODULE_FIELDS = ['m_base', 'm_name', 'm_doc', 'm_size', 'm_methods', 'm_slots', 'm_traverse', 'm_clear', 'm_free'];
const RELEASES = new Set(['Py_DECREF', 'Py_XDECREF', 'Py_CLEAR']);
const REFCOUNTS = new Set([...RELEASES, 'Py_INCREF', 'Py_XINCREF']);
const CREATIONS = new Set(['PyModule_Create', 'PyModule_Create2']);
const TYPE_FROM_SPEC = new Set(['PyType_FromSpec', 'PyType_FromModuleAndSpec', 'HPyType_FromSpec']);
const JUMPS = new Set(['return_statement', 'goto_statement', 'break_statement', 'continue_statement']);

/** What each constant helper creates, and how its arguments read. */
const CONSTANTS: Readonly<Record<string, { maker: string; macro: boolean }>> = {
  PyModule_AddIntConstant: { maker: 'HPyLong_FromLong', macro: false },
  PyModule_AddStringConstant: { maker: 'HPyUnicode_FromString', macro: false },
  PyModule_AddIntMacro: { maker: 'HPyLong_FromLong', macro: true },
  PyModule_AddStringMacro: { maker: 'HPyUnicode_FromString', macro: true },
};
const OBJECT_ADDERS = new Set(['PyModule_AddObject', 'PyModule_AddObjectRef', 'PyModule_AddType']);

const LEFT_NOTE = (init: string, def: string) =>
  `'${init}' and '${def}' are left as they are: converting only one of them, or part of the init body, would not compile`;
const FROM_SPEC_NOTE =
  "a type made from a spec and added to the module becomes 'HPyHelpers_AddType(ctx, m, \"Name\", &spec, NULL)'; " +
  "bases ('PyType_FromSpecWithBases') become an 'HPyType_SpecParam' array passed as its last argument";
const FROM_SPEC_SUGGESTION =
  'HPyHelpers_AddType(ctx, m, "Name", &spec, NULL) for a type the module exposes; HPy h = HPyType_FromSpec(ctx, &spec, NULL) kept in an HPyGlobal for a type used later';
const BARE_MESSAGE = (stmt: string) => `the result of '${firstLine(stmt)}' is not tested, and the function has no 'int' error value`;
const BARE_NOTE = "HPy's form creates a value that can fail: test the call ('if (call < 0) return ...;'), then run hpy-migrate again";
const BARE_SUGGESTION = "'if (call < 0) <error branch>' around the call, or an 'int' return type with 'return -1;' on failure, then run hpy-migrate again";
const BRACES_NOTE = 'the registration becomes several statements: put braces around it, then run hpy-migrate again';
const BRACES_SUGGESTION = 'braces around the statement holding this registration, then run hpy-migrate again';
const SEPARATE_TESTS_SUGGESTION = "one 'if (call < 0) <error branch>' for each 'PyModule_Add*' and 'PyType_Ready' call, then run hpy-migrate again";
const GLOBAL_NOTE =
  "a C global cannot hold an HPy handle: declare it 'static HPyGlobal', list it in the '.globals' of the module def, " +
  "store it with 'HPyGlobal_Store' in the exec slot and read it with 'HPyGlobal_Load' (the pyobject-global transform does this for a file-scope 'PyObject *' when every use of it converts)";
const GLOBAL_SUGGESTION = (name: string) =>
  `static HPyGlobal ${name}; listed in '.globals', HPyGlobal_Store(ctx, &${name}, h) in the exec slot, HPyGlobal_Load(ctx, ${name}) (a new handle to close) where it is read`;

/** One text change in the offsets of the text the transform sees. */
interface Change extends Span {
  text: string;
}

/** Something reported instead of converted. */
interface Finding {
  target: SyntaxNode | Span;
  message: string;
  notes: string[];
  /** What to write by hand (one line): the change after which it converts, or the HPy form. */
  suggestion: string;
}

/** A `PyModuleDef` declaration. */
interface ModuleDef {
  decl: SyntaxNode;
  type: SyntaxNode;
  name: string;
  list: SyntaxNode;
  doc: string | null;
  methods: SyntaxNode | null;
  findings: Finding[];
  /** Declarations without initializer (`static struct PyModuleDef m;`) of the same name. */
  forwards: SyntaxNode[];
}

/** A file-scope array of definitions (`HPyDef *t[]` or `PyMethodDef t[]`). */
interface Table {
  decl: SyntaxNode;
  list: SyntaxNode;
  kind: 'hpy' | 'legacy';
  /** Entries other than the closing `NULL`. */
  entries: SyntaxNode[];
  sentinel: SyntaxNode | null;
  /** Used only by the module def, and `static`: the exec slot may go into it. */
  ownedByModule: boolean;
  /** An `HPyDef *t[]`'s legacy part: the `PyMethodDef t_legacy[]` a hybrid port left beside it. */
  legacyPart: string | null;
}

/** A type spec of the file, by variable name. */
interface Spec {
  hpy: boolean;
  /** The Python name: the part of `.name` after the last dot. */
  pyName: string | null;
}

/** One added object or readied type of the init body. */
type Registration =
  | { kind: 'ready'; type: string; bridged: boolean }
  | { kind: 'constant'; call: SyntaxNode; name: string; value: string; maker: string }
  | { kind: 'type'; call: SyntaxNode; name: string; spec: string }
  | { kind: 'object'; call: SyntaxNode; name: string; value: string; steals: boolean }
  | Bridge;

/**
 * Hybrid target: a type left on the C API (its `PyType_Spec` left whole, or a static
 * `PyTypeObject` without an `HPyType_Spec`), created with the C API and added through a handle
 * made by `HPy_FromPyObject`.
 */
interface Bridge {
  kind: 'bridge';
  call: SyntaxNode;
  name: string;
  /** The CPython spec the type is made from, or null for a static type. */
  spec: string | null;
  /** The static type, or null for a type made from a spec. */
  type: string | null;
}

/** The state of one init body being planned. */
interface Scope {
  api: RewriteApi;
  text: string;
  eol: string;
  fn: SyntaxNode;
  body: SyntaxNode;
  /** The module variable (the exec parameter keeps its name). */
  module: string;
  unit: string;
  specs: Map<string, Spec>;
  locals: Set<string>;
  /** Local variable holding a type made from a spec, to the spec's name. */
  typeLocals: Map<string, string>;
  /** Static types (`&X`) registered or readied, to whether they are added. */
  staticTypes: Map<string, boolean>;
  /** Hybrid: static types left on the C API, readied as they are and added through the bridge. */
  bridged: Set<string>;
  /** Declarators to drop: the module variable and the type locals. */
  dropped: Set<string>;
  changes: Change[];
  findings: Finding[];
  /** Identifier positions explained without a change covering them. */
  accepted: Set<number>;
  /** Names generated in this file. */
  taken: Set<string>;
  /** The body does nothing but create and return the module. */
  trivial: boolean;
  /** The init function (becoming the exec slot), or a helper that receives the module. */
  init: boolean;
  /** The error branch of a registration whose result was ignored (none: reported). */
  bareFailure: string | null;
  /** C globals handed over to pyobject-global: the global to the local handle standing for it in the body. */
  globalHandles: Map<string, string>;
  /** Why a C global stored by the body is not handed over. */
  globalRefusals: Map<string, string>;
}

export default defineTransform({
  id: 'pymoduledef',
  summary: 'PyModuleDef + PyInit_* become HPyModuleDef, an HPy_mod_exec slot and HPy_MODINIT',
  concern: 'module-def',
  safety: 'safe',
  default: true,
  after: ['pymethoddef', 'pytype-spec'],
  rewrite(file, api) {
    dropStaleLegacyMethods(api, file.text);
    const defs = moduleDefs(api);
    const used = new Set<string>();
    for (const { fn, body } of api.matches(FUNCTIONS)) {
      const name = functionName(fn);
      if (!name?.startsWith('PyInit_')) {
        if (name) convertHelper(api, file.text, fn, body, name);
        continue;
      }
      const def = convertInit(api, file.text, fn, body, name, defs);
      if (def) used.add(def);
    }
    for (const def of defs.values()) {
      if (used.has(def.name)) continue;
      api.report(def.decl, `no 'PyInit_*' function of this file creates the module '${def.name}': left as it is`, {
        notes: [
          "convert the module definition together with its init function: 'HPyModuleDef', " +
            "an 'HPyDef_SLOT(..., HPy_mod_exec)' holding the init body, and 'HPy_MODINIT(name, def)'",
        ],
        suggestion: `a 'PyInit_<name>' in this file that creates the module with 'PyModule_Create(&${def.name})', then run hpy-migrate again`,
      });
    }
  },
});

const HPY_MODULE_FIELDS = `
(declaration
  type: (type_identifier) @type (#eq? @type "HPyModuleDef")
  declarator: (init_declarator value: (initializer_list (initializer_pair) @pair)))`;

/**
 * `.legacy_methods = t_legacy` of an `HPyModuleDef` whose table is gone: a hybrid run moved the
 * last of its methods to the HPy table (pymethoddef) and removed it. The field goes too.
 */
function dropStaleLegacyMethods(api: RewriteApi, text: string): void {
  for (const { pair } of api.matches(HPY_MODULE_FIELDS)) {
    const field = pair.childForFieldName('designator')?.namedChildren[0];
    const value = pair.childForFieldName('value');
    if (!field || api.text(field) !== 'legacy_methods' || value?.type !== 'identifier') continue;
    const declared = new RegExp(`\\b${api.text(value)}\\s*\\[`).test(codeWithoutCommentsAndStrings(text));
    if (declared) continue;
    const comma = /^[ \t]*,/.exec(text.slice(pair.endIndex))?.[0] ?? '';
    api.remove(lineSpan(text, { start: pair.startIndex, end: pair.endIndex + comma.length }));
  }
}

/** The `PyModuleDef` definitions of the file, by name, with their forward declarations. */
function moduleDefs(api: RewriteApi): Map<string, ModuleDef> {
  const defs = new Map<string, ModuleDef>();
  const forwards: { decl: SyntaxNode; name: string }[] = [];
  for (const { decl } of api.matches(DECLARATIONS)) {
    if (!atFileScope(decl)) continue;
    const type = decl.childForFieldName('type');
    const init = decl.childForFieldName('declarator');
    if (!type || !/^(struct\s+)?PyModuleDef$/.test(api.text(type))) continue;
    if (init?.type === 'identifier' && decl.childrenForFieldName('declarator').length === 1) {
      forwards.push({ decl, name: api.text(init) });
      continue;
    }
    const name = init?.childForFieldName('declarator');
    const list = init?.childForFieldName('value');
    if (name?.type !== 'identifier' || list?.type !== 'initializer_list') continue;
    defs.set(api.text(name), readModuleDef(api, decl, type, api.text(name), list));
  }
  for (const f of forwards) {
    const def = defs.get(f.name);
    if (def) def.forwards.push(f.decl);
    else reportForeignDeclaration(api, f.decl, f.name);
  }
  return defs;
}

/** `extern struct PyModuleDef m;` of a module def defined elsewhere: left, with what to write. */
function reportForeignDeclaration(api: RewriteApi, decl: SyntaxNode, name: string): void {
  api.report(decl, `'${name}' is declared here but defined in another file: left as it is`, {
    notes: [`once the module def is converted where it is defined, declare it here as 'HPyModuleDef ${name}' (HPy_MODINIT only needs it in its own file)`],
    suggestion: `extern HPyModuleDef ${name}; once it is converted where it is defined, or no declaration here`,
  });
}

/** The fields of a `PyModuleDef` initializer, positional or designated. */
function moduleDefFields(api: RewriteApi, list: SyntaxNode): Map<string, SyntaxNode> {
  const fields = new Map<string, SyntaxNode>();
  let position = 0;
  for (const el of list.namedChildren) {
    if (el.type === 'comment') continue;
    if (el.type === 'initializer_pair') {
      const designator = el.childForFieldName('designator');
      const value = el.childForFieldName('value');
      const field = designator?.namedChildren[0];
      if (field && value) fields.set(api.text(field), value);
      position = MODULE_FIELDS.indexOf(field ? api.text(field) : '') + 1;
      continue;
    }
    if (position < MODULE_FIELDS.length) fields.set(MODULE_FIELDS[position], el);
    position++;
  }
  return fields;
}

function isNullValue(api: RewriteApi, node: SyntaxNode | undefined): boolean {
  return !node || node.type === 'null' || /^(NULL|0|\(\(void\s*\*\)\s*0\))$/.test(api.text(unparenthesize(node)));
}

function readModuleDef(api: RewriteApi, decl: SyntaxNode, type: SyntaxNode, name: string, list: SyntaxNode): ModuleDef {
  const fields = moduleDefFields(api, list);
  const findings: Finding[] = [];
  const size = fields.get('m_size');
  if (size && !/^(-1|0)$/.test(api.text(size).replace(/\s+/g, ''))) {
    findings.push({
      target: size,
      message: `module state ('m_size = ${api.text(size)}') is not supported by HPy 0.9.0`,
      notes: [
        "'HPyModuleDef.size' must be 0: HPy 0.9.0 raises SystemError for any other value",
        'keep plain data in C globals and objects in HPyGlobals, set the size to -1, then run hpy-migrate again',
      ],
      suggestion: "-1 as 'm_size', plain data of the state in C globals and its objects in HPyGlobals (listed in '.globals'), then run hpy-migrate again",
    });
  }
  const slots = fields.get('m_slots');
  if (!isNullValue(api, slots)) {
    findings.push({
      target: slots!,
      message: `'m_slots' (multi-phase init written for CPython) is not converted`,
      notes: ["move each 'Py_mod_exec' function into an 'HPyDef_SLOT(name, HPy_mod_exec)' listed in the '.defines' of an 'HPyModuleDef'"],
      suggestion: "HPyDef_SLOT(name_exec, HPy_mod_exec) for each 'Py_mod_exec' function, listed in the '.defines' of the HPyModuleDef, and HPy_MODINIT(name, def)",
    });
  }
  for (const hook of ['m_traverse', 'm_clear', 'm_free']) {
    const value = fields.get(hook);
    if (isNullValue(api, value)) continue;
    findings.push({
      target: value!,
      message: `'${hook}' has no counterpart in an HPy 0.9.0 module`,
      notes: ['module-level GC hooks serve module state, which HPy 0.9.0 lacks: keep the objects in HPyGlobals instead'],
      suggestion: `NULL as '${hook}', with the objects it visited or released kept in HPyGlobals (listed in '.globals'), then run hpy-migrate again`,
    });
  }
  const doc = fields.get('m_doc');
  const methods = fields.get('m_methods');
  const table = methods && !isNullValue(api, methods) ? methods : null;
  if (table && table.type !== 'identifier') {
    const message = `the method table '${api.text(table)}' is not a plain name`;
    findings.push({ target: table, message, notes: ['name the table in the module def, then run hpy-migrate again'], suggestion: "the name of a file-scope method table as 'm_methods', then run hpy-migrate again" });
  }
  return { decl, type, name, list, doc: isNullValue(api, doc) ? null : api.text(doc!), methods: table, findings, forwards: [] };
}

/** Converts one `PyInit_*` and its module def, or reports why not. Returns the def's name. */
function convertInit(api: RewriteApi, text: string, fn: SyntaxNode, body: SyntaxNode, initName: string, defs: Map<string, ModuleDef>): string | null {
  const modname = initName.slice('PyInit_'.length);
  const creation = moduleCreation(api, body);
  if ('finding' in creation) {
    api.report(creation.finding.target, creation.finding.message, { notes: creation.finding.notes, suggestion: creation.finding.suggestion });
    return null;
  }
  const def = defs.get(creation.defName);
  if (!def) {
    api.report(creation.call, `the module def '${creation.defName}' of '${initName}' is not a 'PyModuleDef' of this file: left as it is`, {
      notes: ['convert the module definition and its init function together, by hand'],
      suggestion: `the 'PyModuleDef ${creation.defName}' and '${initName}' in one file, then run hpy-migrate again`,
    });
    return null;
  }
  const table = def.methods ? methodTable(api, def.methods, def) : null;
  const findings = [...def.findings, ...defUseFindings(api, def, fn)];
  if (def.methods && !table) findings.push(tableFinding(api, def.methods));
  const scope = findings.length ? null : planBody(api, text, fn, body, creation);
  findings.push(...(scope?.findings ?? []));
  if (findings.length || !scope) {
    for (const f of findings) api.report(f.target, f.message, { notes: [...f.notes, LEFT_NOTE(initName, def.name)], suggestion: f.suggestion });
    return def.name;
  }
  emitModule(scope, def, modname, table);
  reportLegacyHelperCalls(scope);
  return def.name;
}

/**
 * A helper that stays on the C API (`legacyHelpers`, either target) takes `PyObject *`, so the
 * exec slot cannot pass it the module handle. The module is converted anyway (its method table
 * already is an `HPyDef *[]`); the call is pointed out with the seam to write around it.
 */
function reportLegacyHelperCalls(scope: Scope): void {
  const { api } = scope;
  const helpers = legacyHelpers(api.index);
  for (const { call, name } of api.matches(CALLS, scope.body)) {
    const helper = helpers.get(api.text(name));
    const args = callArguments(call).map((a) => api.text(stripCasts(a)));
    if (!helper || !args.includes(scope.module)) continue;
    const py = unusedName(scope, `py_${scope.module}`);
    const passed = args.map((a) => (a === scope.module ? py : a)).join(', ');
    api.report(call, `'${api.text(name)}' stays on the C API: the exec slot cannot pass it the module handle '${scope.module}'`, {
      notes: [
        helper.via ? `'${api.text(name)}' calls '${helper.call}', a helper that stays on the C API` : `'${api.text(name)}' calls '${helper.call}', which has no HPy 0.9.0 counterpart`,
        "a function without 'HPyContext *ctx' takes 'PyObject *', not handles: the call needs the module as a 'PyObject *' (hybrid ABI only)",
      ],
      suggestion: `PyObject *${py} = HPy_AsPyObject(ctx, ${scope.module}); then ${api.text(name)}(${passed}) in place of this call, and Py_DECREF(${py}) after it on every path`,
    });
  }
}

function tableFinding(api: RewriteApi, methods: SyntaxNode): Finding {
  return {
    target: methods,
    message: `the method table '${api.text(methods)}' is not an 'HPyDef *[]' or 'PyMethodDef[]' of this file`,
    notes: ['the pymethoddef transform turns a PyMethodDef table into an HPyDef *[] in the file that defines it; define the table in the file of the module def'],
    suggestion: `the method table '${api.text(methods)}' defined in this file, above the module def, then run hpy-migrate again`,
  };
}

/** Uses of the module def other than its creation in the init function. */
function defUseFindings(api: RewriteApi, def: ModuleDef, fn: SyntaxNode): Finding[] {
  const out: Finding[] = [];
  for (const { id } of api.matches(IDENTIFIERS)) {
    if (api.text(id) !== def.name || within(id, def.decl) || def.forwards.some((f) => within(id, f))) continue;
    const call = id.parent?.parent?.parent;
    if (within(id, fn) && call?.type === 'call_expression' && CREATIONS.has(calleeName(call) ?? '')) continue;
    out.push({
      target: id,
      message: `the module def '${def.name}' is used outside its creation`,
      notes: ['an HPyModuleDef is only named by HPy_MODINIT; HPy 0.9.0 has no module lookup by def (PyState_FindModule): keep what you need in HPyGlobals'],
      suggestion: "an HPyGlobal holding what this code needs from the module (stored in the HPy_mod_exec slot), instead of the module def",
    });
  }
  return out;
}

/** How the init body creates its module. */
type Creation =
  | { call: SyntaxNode; defName: string; module: string | null; removals: SyntaxNode[] }
  | { finding: Finding };

function moduleCreation(api: RewriteApi, body: SyntaxNode): Creation {
  const calls = api.matches(CALLS, body).filter(({ name }) => CREATIONS.has(api.text(name)) || api.text(name) === 'PyModuleDef_Init');
  const fail = (target: SyntaxNode, message: string, notes: string[], suggestion: string): Creation => ({ finding: { target, message, notes, suggestion } });
  if (calls.length !== 1) {
    return fail(calls[1]?.call ?? body.parent ?? body, `the init function does not create its module with a single 'PyModule_Create(&def)': left as it is`, [
      "write the init body as 'm = PyModule_Create(&def); if (m == NULL) return NULL; ... return m;', " +
        "or convert it by hand to an 'HPyDef_SLOT(..., HPy_mod_exec)' and 'HPy_MODINIT'",
    ], 'm = PyModule_Create(&def); if (m == NULL) return NULL; ... return m; as the init body, then run hpy-migrate again');
  }
  const { call, name } = calls[0];
  const arg = callArguments(call)[0];
  const target = arg && unparenthesize(arg);
  if (api.text(name) === 'PyModuleDef_Init' || target?.type !== 'pointer_expression' || target.namedChildren[0]?.type !== 'identifier') {
    return fail(call, `'${api.text(call)}' is not converted`, [
      "HPy runs the init code in an 'HPyDef_SLOT(..., HPy_mod_exec)' listed in the '.defines' of an 'HPyModuleDef' named by 'HPy_MODINIT(name, def)'",
    ], 'HPy_MODINIT(name, def) for an HPyModuleDef def, with the init code in an HPyDef_SLOT(name_exec, HPy_mod_exec) impl listed in its .defines');
  }
  const defName = api.text(target.namedChildren[0]);
  const message = `'${api.text(call)}' is used in a way this transform does not rewrite`;
  const own = `m = PyModule_Create(&${defName}); as a statement of its own, then run hpy-migrate again`;
  return creationContext(api, call, defName) ?? fail(call, message, ["write 'm = PyModule_Create(&def);' as a statement of its own, then run hpy-migrate again"], own);
}

/** The module variable of the creation call: a declaration, an assignment, a tested assignment or a return. */
function creationContext(api: RewriteApi, call: SyntaxNode, defName: string): Creation | null {
  const p = call.parent;
  if (p?.type === 'return_statement') return { call, defName, module: null, removals: [] };
  const target = p?.type === 'init_declarator' ? declaredIdentifier(p) : p?.type === 'assignment_expression' ? p.childForFieldName('left') : null;
  if (target?.type !== 'identifier') return null;
  const module = api.text(target);
  const removals = creationRemovals(api, call, module);
  return removals ? { call, defName, module, removals } : null;
}

/**
 * The statements that go with `x = <creation>`: the assignment statement (or the `if` testing it)
 * and the null test right after it. A declaration is left to pruneDeclarations.
 */
function creationRemovals(api: RewriteApi, creation: SyntaxNode, name: string): SyntaxNode[] | null {
  const p = castParent(creation).parent;
  if (p?.type === 'init_declarator') {
    const next = p.parent?.type === 'declaration' ? nextStatement(p.parent) : null;
    return next && isNullCheck(api, next, name) ? [next] : [];
  }
  if (p?.type !== 'assignment_expression') return null;
  if (p.parent?.type === 'expression_statement') return withNullCheck(api, p.parent, name);
  const test = testedIf(api, p);
  return test ? [test] : null;
}

/** `stmt`, and the `if (x == NULL) ...` right after it. */
function withNullCheck(api: RewriteApi, stmt: SyntaxNode, name: string): SyntaxNode[] {
  const next = nextStatement(stmt);
  return next && isNullCheck(api, next, name) ? [stmt, next] : [stmt];
}

/** `if (!x)`, `if (x == NULL)`, `if (NULL == x)`, `if (x == 0)`, without `else`. */
function isNullCheck(api: RewriteApi, stmt: SyntaxNode, name: string): boolean {
  if (stmt.type !== 'if_statement' || stmt.childForFieldName('alternative')) return false;
  const cond = unparenthesize(stmt.childForFieldName('condition')!);
  const squeezed = api.text(cond).replace(/[\s()]+/g, '');
  return [`!${name}`, `${name}==NULL`, `NULL==${name}`, `${name}==0`].includes(squeezed);
}

/** The `if` statement whose whole condition is a null test of an assignment: `if ((x = f()) == NULL)`, `if (!(x = f()))`. */
function testedIf(api: RewriteApi, assign: SyntaxNode): SyntaxNode | null {
  let stmt: SyntaxNode | null = assign.parent;
  while (stmt && stmt.type !== 'if_statement' && stmt.type !== 'expression_statement' && !stmt.type.endsWith('declaration')) stmt = stmt.parent;
  if (stmt?.type !== 'if_statement' || stmt.childForFieldName('alternative')) return null;
  const squeeze = (n: SyntaxNode) => api.text(n).replace(/[\s()]+/g, '');
  const a = squeeze(assign);
  return [`!${a}`, `${a}==NULL`, `NULL==${a}`, `${a}==0`].includes(squeeze(stmt.childForFieldName('condition')!)) ? stmt : null;
}

function newScope(api: RewriteApi, text: string, fn: SyntaxNode, body: SyntaxNode, init: boolean, module: string): Scope {
  return {
    api, text, eol: api.eol, fn, body,
    module,
    unit: indentUnit(text, body),
    specs: typeSpecs(api),
    locals: declaredNames(fn),
    typeLocals: new Map(),
    staticTypes: new Map(),
    bridged: new Set(),
    dropped: new Set(init ? [module] : []),
    changes: [],
    findings: [],
    accepted: new Set(),
    taken: new Set(),
    trivial: false,
    init,
    bareFailure: 'return -1;',
    globalHandles: new Map(),
    globalRefusals: new Map(),
  };
}

/**
 * A function other than the init function that adds to a module it receives as a parameter
 * (`static int add_constants(PyObject *m)`): its registrations are converted the same way; the
 * rest of it (signature, returns) is left to the other transforms. Reported and left as it is
 * when a registration cannot be converted.
 */
function convertHelper(api: RewriteApi, text: string, fn: SyntaxNode, body: SyntaxNode, name: string): void {
  // In a hybrid port a helper that stays on the C API keeps its registrations as they are.
  if (legacyHelpers(api.index).has(name)) return;
  const calls = api.matches(CALLS, body).filter(({ name: n }) => REGISTRATION_NAMES.has(api.text(n)) && api.text(n) !== 'PyType_Ready');
  if (calls.length === 0) return;
  const params = new Set(functionParams(fn).map((p) => p.name));
  const first = callArguments(calls[0].call)[0];
  const module = first && unparenthesize(first).type === 'identifier' ? api.text(unparenthesize(first)) : '';
  const scope = newScope(api, text, fn, body, false, module);
  const returnType = fn.childForFieldName('type');
  scope.bareFailure = returnType && api.text(returnType) === 'int' && !fn.childForFieldName('declarator')?.type.startsWith('pointer') ? 'return -1;' : null;
  if (!params.has(module)) {
    addFinding(scope, calls[0].call, `'${firstLine(api.text(calls[0].call))}' does not add to a module that '${name}' receives as a parameter`, ['convert it by hand'],
      `the module passed to '${name}' as a parameter, then run hpy-migrate again; by hand: HPy_SetAttr_s(ctx, module, "name", h) and HPy_Close(ctx, h)`);
  } else {
    planRegistrationsOnly(scope);
  }
  if (scope.findings.length) {
    for (const f of scope.findings) api.report(f.target, f.message, { notes: [...f.notes, `'${name}' is left as it is: converting only part of it would not compile`], suggestion: f.suggestion });
    return;
  }
  contextGuard(suggestingApi(api, contextGuardSuggestion)).allows(calls[0].call, calleeName(calls[0].call)!);
  for (const c of mergeRemovals(text, outermost(scope.changes))) api.replace(c, c.text);
}

function planRegistrationsOnly(scope: Scope): void {
  planTypeLocals(scope);
  planGenericNew(scope);
  pruneDeclarations(scope);
  planReleases(scope);
  planRegistrations(scope);
  planGlobals(scope);
  checkUses(scope);
}

/** Plans the exec slot body: leaf changes first, then the registrations that embed them. */
function planBody(api: RewriteApi, text: string, fn: SyntaxNode, body: SyntaxNode, creation: Extract<Creation, { call: SyntaxNode }>): Scope {
  const scope = newScope(api, text, fn, body, true, creation.module ?? 'module');
  for (const stmt of creation.removals) removeStatement(scope, stmt);
  planTypeLocals(scope);
  planKeptGlobals(scope);
  planGenericNew(scope);
  pruneDeclarations(scope);
  planReleases(scope);
  planReturns(scope, creation.call);
  planRegistrations(scope);
  planGlobals(scope);
  checkUses(scope);
  scope.trivial = isTrivial(scope);
  return scope;
}

/** One indentation level, read off the first statement of the body. */
function indentUnit(text: string, body: SyntaxNode): string {
  const first = body.namedChildren[0];
  if (!first) return '    ';
  const inner = indentationAt(text, first.startIndex);
  const outer = indentationAt(text, body.startIndex);
  return inner.length > outer.length && inner.startsWith(outer) ? inner.slice(outer.length) : '    ';
}

/** The `HPyType_Spec` (and not yet converted `PyType_Spec`) variables of the file. */
function typeSpecs(api: RewriteApi): Map<string, Spec> {
  const specs = new Map<string, Spec>();
  for (const { decl } of api.matches(DECLARATIONS)) {
    const type = decl.childForFieldName('type');
    const kind = type ? api.text(type) : '';
    if (!atFileScope(decl) || (kind !== 'HPyType_Spec' && kind !== 'PyType_Spec')) continue;
    for (const d of decl.childrenForFieldName('declarator')) {
      const id = declaredIdentifier(d);
      if (id) specs.set(api.text(id), { hpy: kind === 'HPyType_Spec', pyName: specPyName(api, d.childForFieldName('value')) });
    }
  }
  return specs;
}

/** `"Point"` from `.name = "geometry.Point"` (or the first positional field). */
function specPyName(api: RewriteApi, list: SyntaxNode | null): string | null {
  if (list?.type !== 'initializer_list') return null;
  let value: SyntaxNode | undefined;
  for (const el of list.namedChildren) {
    if (el.type === 'comment') continue;
    if (el.type !== 'initializer_pair') {
      value ??= el;
      break;
    }
    if (api.text(el.childForFieldName('designator')!) === '.name') value = el.childForFieldName('value') ?? undefined;
  }
  if (value?.type !== 'string_literal') return null;
  const name = /^"([^"\\]*)"$/.exec(api.text(value))?.[1];
  return name ? name.slice(name.lastIndexOf('.') + 1) : null;
}

/** A declaration outside any function (preprocessor conditionals included). */
function atFileScope(decl: SyntaxNode): boolean {
  return enclosingFunction(decl) === null;
}

/** Is `node` inside `outer` (or the same span)? */
function within(node: Span | SyntaxNode, outer: Span | SyntaxNode): boolean {
  const [s, e] = 'startIndex' in node ? [node.startIndex, node.endIndex] : [node.start, node.end];
  const [os, oe] = 'startIndex' in outer ? [outer.startIndex, outer.endIndex] : [outer.start, outer.end];
  return os <= s && e <= oe;
}

function covered(scope: Scope, node: SyntaxNode): boolean {
  return scope.changes.some((c) => c.start < c.end && within(node, c));
}

function addFinding(scope: Scope, target: SyntaxNode, message: string, notes: string[], suggestion: string): void {
  scope.findings.push({ target, message, notes, suggestion });
}

/**
 * Removes a statement: its whole line when it stands alone on it. A statement that carries a
 * label becomes `;` when nothing follows it (a label must label a statement).
 */
function removeStatement(scope: Scope, stmt: SyntaxNode): void {
  const parent = stmt.parent;
  if (parent?.type === 'labeled_statement') {
    if (!nextStatement(parent)) {
      scope.changes.push({ start: stmt.startIndex, end: stmt.endIndex, text: ';' });
      return;
    }
  } else if (!isStatementListItem(stmt)) {
    addFinding(scope, stmt, `'${firstLine(scope.api.text(stmt))}' is the lone body of a statement and cannot be removed`, [
      'the exec slot does not own the module or the types: delete the statement, then run hpy-migrate again',
    ], "the statement deleted by hand (an empty '{}' where it was the whole body of an 'if' or a loop), then run hpy-migrate again");
    return;
  }
  scope.changes.push({ ...lineSpan(scope.text, stmt), text: '' });
}

/**
 * A removed run of lines that follows a blank line or an opening brace takes the blank line
 * after it along, so that removals do not leave two blank lines (or one after a `{`).
 */
function withBlankLine(text: string, span: Span): Span {
  if (span.start === 0 || text[span.start - 1] !== '\n' || (span.end > 0 && text[span.end - 1] !== '\n')) return span;
  const prevStart = text.lastIndexOf('\n', span.start - 2) + 1;
  const prev = text.slice(prevStart, span.start).trim();
  const next = /^[ \t]*\r?\n/.exec(text.slice(span.end));
  return next && (prev === '' || prev.endsWith('{')) ? { start: span.start, end: span.end + next[0].length } : span;
}

/** Is the statement directly in a block (through labels and preprocessor conditionals)? */
function isStatementListItem(stmt: SyntaxNode): boolean {
  let s = stmt;
  while (s.parent && (s.parent.type === 'labeled_statement' || s.parent.type.startsWith('preproc_'))) s = s.parent;
  return !!s.parent && ['compound_statement', 'case_statement', 'translation_unit'].includes(s.parent.type);
}

/** The node's lines when it stands alone on them; else the node and the blanks after it. */
function lineSpan(text: string, node: SyntaxNode | Span): Span {
  const [start, end] = 'startIndex' in node ? [node.startIndex, node.endIndex] : [node.start, node.end];
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const nl = text.indexOf('\n', end);
  const lineEnd = nl === -1 ? text.length : nl + 1;
  if (/^[ \t]*$/.test(text.slice(lineStart, start)) && /^[ \t]*\r?\n?$/.test(text.slice(end, lineEnd))) return { start: lineStart, end: lineEnd };
  return { start, end: end + (/^[ \t]*/.exec(text.slice(end))?.[0].length ?? 0) };
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0];
  return line.length < s.length ? `${line.trimEnd()} ...` : line;
}

/** Locals made from a type spec (`t = PyType_FromSpec(&S)`): the creation and its null test go. */
function planTypeLocals(scope: Scope): void {
  const { api } = scope;
  for (const { call, name } of api.matches(CALLS, scope.body)) {
    if (!isTypeFromSpec(api.text(name))) continue;
    const spec = specArgument(api, call);
    const p = castParent(call).parent;
    if (p?.type === 'argument_list') continue;
    const target = p?.type === 'init_declarator' ? declaredIdentifier(p) : p?.type === 'assignment_expression' ? p.childForFieldName('left') : null;
    if (!spec || target?.type !== 'identifier') {
      addFinding(scope, call, `'${firstLine(api.text(call))}' is not converted`, [FROM_SPEC_NOTE], FROM_SPEC_SUGGESTION);
      continue;
    }
    const local = api.text(target);
    if (!scope.locals.has(local)) continue; // a C global: reported by planGlobals
    // Hybrid: the C-API creation of a type left on the C API can only be 'PyType_FromSpec' (no module object).
    if (api.text(name) !== 'PyType_FromSpec' && bridgeOf(scope, spec, spec)) scope.findings.push(moduleSpecFinding(scope, call, spec));
    const removals = creationRemovals(api, call, local);
    if (!removals) {
      addFinding(scope, call, `'${local}' is assigned in a way this transform does not rewrite`, ["write 't = PyType_FromSpec(&spec);' as a statement of its own"], `${local} = PyType_FromSpec(&${spec}); as a statement of its own, then run hpy-migrate again`);
      continue;
    }
    scope.typeLocals.set(local, spec);
    scope.dropped.add(local);
    for (const stmt of removals) removeStatement(scope, stmt);
  }
}

/** `PyType_FromSpec` and its variants (`PyType_FromSpecWithBases` is reported by the callers). */
function isTypeFromSpec(name: string): boolean {
  return name.startsWith('PyType_From') || name === 'HPyType_FromSpec';
}

/**
 * `XType.tp_new = PyType_GenericNew;` (set before `PyType_Ready`) goes: the heap type made from
 * `XType_spec` inherits `object.__new__`, which allocates the same zeroed object.
 */
function planGenericNew(scope: Scope): void {
  const { api } = scope;
  for (const { stmt, type, slot, value } of api.matches(SLOT_ASSIGNMENTS, scope.body)) {
    const name = api.text(type);
    if (api.text(slot) !== 'tp_new' || api.text(value) !== 'PyType_GenericNew' || !scope.specs.get(`${name}_spec`)?.hpy) continue;
    scope.staticTypes.set(name, scope.staticTypes.get(name) ?? false);
    removeStatement(scope, stmt);
  }
}

/** The spec name of `PyType_FromSpec(&S)`, `PyType_FromModuleAndSpec(m, &S, NULL)`, `HPyType_FromSpec(ctx, &S, NULL)`. */
function specArgument(api: RewriteApi, call: SyntaxNode): string | null {
  const fn = calleeName(call);
  const args = callArguments(call);
  let spec: SyntaxNode | undefined;
  if (fn === 'PyType_FromSpec' && args.length === 1) spec = args[0];
  else if (TYPE_FROM_SPEC.has(fn ?? '') && args.length === 3 && isNullValue(api, args[2])) spec = args[1];
  const arg = spec && unparenthesize(spec);
  return arg?.type === 'pointer_expression' && arg.namedChildren[0]?.type === 'identifier' ? api.text(arg.namedChildren[0]) : null;
}

/** The outermost cast around a node (`(PyObject *)PyType_FromSpec(...)`). */
function castParent(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.parent && (n.parent.type === 'cast_expression' || n.parent.type === 'parenthesized_expression')) n = n.parent;
  return n;
}

/** Drops the declarators of the module variable and of the type locals. */
function pruneDeclarations(scope: Scope): void {
  const { api } = scope;
  for (const { decl } of api.matches(DECLARATIONS, scope.body)) {
    const declarators = decl.childrenForFieldName('declarator');
    const kept = declarators.filter((d) => !scope.dropped.has(api.text(declaredIdentifier(d) ?? d)));
    if (kept.length === declarators.length) continue;
    if (kept.length === 0) removeStatement(scope, decl);
    else {
      const span = { start: declarators[0].startIndex, end: declarators[declarators.length - 1].endIndex };
      scope.changes.push({ ...span, text: kept.map((d) => api.text(d)).join(', ') });
    }
  }
}

/** What a refcount macro or a registration call is about: the module, a type local or a static type. */
function subject(scope: Scope, arg: SyntaxNode | undefined): { kind: 'module' | 'type-local' | 'static-type'; name: string } | null {
  if (!arg) return null;
  let n = unparenthesize(arg);
  if (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value')!);
  const text = scope.api.text(n);
  if (n.type === 'identifier') {
    if (text === scope.module) return { kind: 'module', name: text };
    if (scope.typeLocals.has(text)) return { kind: 'type-local', name: text };
    return null;
  }
  if (n.type === 'pointer_expression' && n.child(0)?.type === '&' && n.namedChildren[0]?.type === 'identifier') {
    return { kind: 'static-type', name: scope.api.text(n.namedChildren[0]) };
  }
  return null;
}

/** `Py_DECREF(m)` and the reference counting of types disappear. */
function planReleases(scope: Scope): void {
  const { api } = scope;
  for (const { call, name } of api.matches(CALLS, scope.body)) {
    const macro = api.text(name);
    if (!REFCOUNTS.has(macro) || covered(scope, call)) continue;
    const what = subject(scope, callArguments(call)[0]);
    if (!what || (what.kind === 'module' && (!scope.init || !RELEASES.has(macro)))) continue;
    if (what.kind === 'static-type' && !scope.specs.has(`${what.name}_spec`) && !bridgeOf(scope, `${what.name}_spec`, what.name)) continue;
    if (call.parent?.type !== 'expression_statement') {
      addFinding(scope, call, `'${api.text(call)}' is used inside an expression`, ['write it as a statement of its own, then run hpy-migrate again'], `${api.text(call)}; as a statement of its own, then run hpy-migrate again`);
      continue;
    }
    if (what.kind === 'static-type') scope.staticTypes.set(what.name, scope.staticTypes.get(what.name) ?? false);
    removeStatement(scope, call.parent);
  }
}

/** `return m;` becomes `return 0;`, `return NULL;` becomes `return -1;`. */
function planReturns(scope: Scope, creation: SyntaxNode): void {
  const { api } = scope;
  for (const { ret } of api.matches(RETURNS, scope.body)) {
    if (covered(scope, ret)) continue;
    const value = ret.namedChildren.find((n) => n.type !== 'comment');
    if (!value) continue;
    const v = unparenthesize(value);
    if (isNullValue(api, v)) scope.changes.push({ start: value.startIndex, end: value.endIndex, text: '-1' });
    else if ((v.type === 'identifier' && api.text(v) === scope.module) || (v.startIndex === creation.startIndex && v.endIndex === creation.endIndex)) {
      scope.changes.push({ start: value.startIndex, end: value.endIndex, text: '0' });
    } else {
      addFinding(scope, ret, `'${api.text(ret)}' returns something else than the module or NULL`, [
        'the exec slot returns 0 on success and -1 with an exception set on failure: rewrite this return by hand',
      ], `return ${scope.module}; on success and return NULL; on failure, then run hpy-migrate again (they become return 0; and return -1;)`);
    }
  }
}

/** The statement that holds a registration call: an `if` testing it, or a statement of its own. */
function hostOf(call: SyntaxNode): SyntaxNode | null {
  let n = call;
  while (n.parent && ['parenthesized_expression', 'binary_expression', 'unary_expression'].includes(n.parent.type)) {
    if (n.parent.type === 'parenthesized_expression' && n.parent.parent?.type === 'if_statement') return n.parent.parent;
    n = n.parent;
  }
  return n === call && call.parent?.type === 'expression_statement' ? call.parent : null;
}

/** The operands of an `if` condition's `||` chain (one operand without `||`). */
function chainOperands(expr: SyntaxNode): SyntaxNode[] {
  const e = unparenthesize(expr);
  if (e.type === 'binary_expression' && e.childForFieldName('operator')?.type === '||') {
    return [...chainOperands(e.childForFieldName('left')!), ...chainOperands(e.childForFieldName('right')!)];
  }
  return [e];
}

/** The call tested for failure by `operand` (`f() < 0`, `f() == -1`, `f() != 0`, `f()`). */
function testedCall(scope: Scope, operand: SyntaxNode): SyntaxNode | null {
  const e = unparenthesize(operand);
  if (e.type === 'call_expression') return e;
  if (e.type !== 'binary_expression') return null;
  const op = e.childForFieldName('operator')?.type;
  const left = unparenthesize(e.childForFieldName('left')!);
  const right = unparenthesize(e.childForFieldName('right')!);
  const value = (n: SyntaxNode) => scope.api.text(n).replace(/[\s()]+/g, '');
  // `call < 0`, `call == -1`, `call != 0`, and the same with the operands swapped.
  const fails = (other: SyntaxNode, less: string) =>
    (op === less && value(other) === '0') || (op === '==' && value(other) === '-1') || (op === '!=' && value(other) === '0');
  if (left.type === 'call_expression' && fails(right, '<')) return left;
  if (right.type === 'call_expression' && fails(left, '>')) return right;
  return null;
}

const REGISTRATION_NAMES = new Set([...Object.keys(CONSTANTS), ...OBJECT_ADDERS, 'PyType_Ready']);

/** Every `PyModule_Add*` and `PyType_Ready` statement of the body, host by host. */
function planRegistrations(scope: Scope): void {
  const { api } = scope;
  const hosts = new Map<number, SyntaxNode>();
  for (const { call, name } of api.matches(CALLS, scope.body)) {
    if (!REGISTRATION_NAMES.has(api.text(name)) || covered(scope, call)) continue;
    const host = hostOf(call);
    if (!host || (host.type === 'if_statement' && host.childForFieldName('alternative'))) {
      addFinding(scope, call, `'${firstLine(api.text(call))}' is used in a way this transform does not rewrite`, [
        "write it as 'if (call < 0) <error branch>' or as a statement of its own, then run hpy-migrate again",
      ], "'if (call < 0) <error branch>' without 'else', or the call as a statement of its own, then run hpy-migrate again");
      continue;
    }
    hosts.set(host.startIndex, host);
  }
  for (const host of hosts.values()) planHost(scope, host);
  for (const [type, added] of scope.staticTypes) {
    if (added || scope.bridged.has(type)) continue;
    const where = api.matches(IDENTIFIERS, scope.body).find(({ id }) => api.text(id) === type)?.id ?? scope.body;
    addFinding(scope, where, `the type '${type}' is readied but not added to the module`, [
      `a type that the C code uses without a module attribute must be created with 'HPyType_FromSpec(ctx, &${type}_spec, NULL)' and kept in an HPyGlobal`,
      GLOBAL_NOTE,
    ], `HPy h = HPyType_FromSpec(ctx, &${type}_spec, NULL); stored with HPyGlobal_Store in a static HPyGlobal listed in '.globals', or PyModule_AddObject(m, "Name", (PyObject *)&${type}) to expose it`);
  }
}

/** Plans one host statement: `if (<chain of tests>) E` or a call statement. */
function planHost(scope: Scope, host: SyntaxNode): void {
  const operands = host.type === 'if_statement' ? chainOperands(host.childForFieldName('condition')!) : [host.namedChildren[0]];
  const regs: { operand: SyntaxNode; reg: Registration }[] = [];
  for (const operand of operands) {
    const call = host.type === 'if_statement' ? testedCall(scope, operand) : unparenthesize(operand);
    const reg = call && REGISTRATION_NAMES.has(calleeName(call) ?? '') ? registration(scope, call) : null;
    if (!reg) {
      addFinding(scope, operand, `'${firstLine(scope.api.text(operand))}' is not a failure test of a module registration`, [
        "test each 'PyModule_Add*' and 'PyType_Ready' call on its own ('if (call < 0) <error branch>'), then run hpy-migrate again",
      ], SEPARATE_TESTS_SUGGESTION);
      return;
    }
    if ('finding' in reg) return void scope.findings.push(reg.finding);
    regs.push({ operand, reg });
  }
  const kinds = new Set(regs.map((r) => r.reg.kind));
  if (kinds.has('ready')) {
    const bridged = regs.filter(({ reg }) => reg.kind === 'ready' && reg.bridged).length;
    if (kinds.size > 1 || (bridged > 0 && bridged < regs.length)) {
      return addFinding(scope, host, `'PyType_Ready' is tested together with other registrations`, ['test each call on its own, then run hpy-migrate again'], SEPARATE_TESTS_SUGGESTION);
    }
    for (const { reg } of regs) if (reg.kind === 'ready') scope.staticTypes.set(reg.type, scope.staticTypes.get(reg.type) ?? false);
    // Hybrid: a static type left on the C API is readied as it was (C-API code, valid in the slot).
    return bridged ? undefined : removeStatement(scope, host);
  }
  if (kinds.has('constant') || kinds.has('bridge')) return splitHost(scope, host, regs.map((r) => r.reg));
  for (const { operand, reg } of regs) rewriteInPlace(scope, host, operand, reg);
}

/** What one registration call does, or why it is not converted. */
function registration(scope: Scope, call: SyntaxNode): Registration | { finding: Finding } | null {
  const { api } = scope;
  const fn = calleeName(call)!;
  const args = callArguments(call);
  const fail = (message: string, notes: string[], suggestion: string) => ({ finding: { target: call, message, notes, suggestion } });
  if (fn === 'PyType_Ready') {
    const what = subject(scope, args[0]);
    if (args.length !== 1 || what?.kind !== 'static-type') {
      return fail(`'${api.text(call)}' is not converted`, ["only 'PyType_Ready(&X)' for a static type 'X' is converted"], "PyType_Ready(&X) on a static type 'X' of this file, then run hpy-migrate again; by hand: " + FROM_SPEC_SUGGESTION);
    }
    if (bridgeOf(scope, `${what.name}_spec`, what.name)) {
      scope.bridged.add(what.name);
      scope.accepted.add(stripCasts(args[0]).namedChildren[0].startIndex);
      return { kind: 'ready', type: what.name, bridged: true };
    }
    return checkSpec(scope, call, `${what.name}_spec`, what.name) ?? { kind: 'ready', type: what.name, bridged: false };
  }
  if (args.length === 0 || subject(scope, args[0])?.kind !== 'module') {
    return fail(`'${firstLine(api.text(call))}' does not add to the module variable '${scope.module}'`, [
      'convert it by hand: the exec slot receives the module as its parameter',
    ], `HPy_SetAttr_s(ctx, target, "name", h) by hand, with 'target' a handle to the object this call adds to`);
  }
  scope.accepted.add(unparenthesize(args[0]).startIndex);
  if (fn in CONSTANTS) return constantRegistration(scope, call, fn, args);
  if (fn === 'PyModule_AddType') {
    const message = `'${firstLine(api.text(call))}' adds a type that is neither a static type nor made from a spec in this function`;
    return typeRegistration(scope, call, args[1], null) ?? fail(message, [FROM_SPEC_NOTE], FROM_SPEC_SUGGESTION);
  }
  if (args.length !== 3) return fail(`'${fn}' with ${args.length} arguments is not converted`, ['convert it by hand'], `${fn}(m, "name", obj), then run hpy-migrate again; by hand: HPy_SetAttr_s(ctx, m, "name", h)`);
  const value = stripCasts(args[2]);
  const reg = typeRegistration(scope, call, args[2], api.text(args[1]));
  if (reg) return reg;
  if (value.type !== 'identifier') {
    return fail(`'${firstLine(api.text(call))}' adds an expression, not a local variable`, ['assign the object to a local variable first, then run hpy-migrate again'], `PyObject *obj = <the expression>; tested for NULL, then ${fn}(${scope.module}, ${api.text(args[1])}, obj), then run hpy-migrate again`);
  }
  const handle = scope.globalHandles.get(api.text(value));
  if (handle) return { kind: 'object', call, name: api.text(args[1]), value: handle, steals: true };
  if (!scope.locals.has(api.text(value))) {
    return fail(`'${firstLine(api.text(call))}' adds the C global '${api.text(value)}'`, [GLOBAL_NOTE], GLOBAL_SUGGESTION(api.text(value)));
  }
  return { kind: 'object', call, name: api.text(args[1]), value: api.text(value), steals: fn === 'PyModule_AddObject' };
}

function constantRegistration(scope: Scope, call: SyntaxNode, fn: string, args: SyntaxNode[]): Registration | { finding: Finding } {
  const { api } = scope;
  const { maker, macro } = CONSTANTS[fn];
  if (args.length !== (macro ? 2 : 3) || (macro && args[1].type !== 'identifier')) {
    const suggestion = `HPy h = ${maker}(ctx, value); HPy_SetAttr_s(ctx, ${scope.module}, "NAME", h); HPy_Close(ctx, h); with a failure test of the first two`;
    return { finding: { target: call, message: `'${firstLine(api.text(call))}' is not converted`, notes: ['convert it by hand'], suggestion } };
  }
  const name = macro ? `"${api.text(args[1])}"` : api.text(args[1]);
  return { kind: 'constant', call, name, value: api.text(args[macro ? 1 : 2]), maker };
}

/** A type added to the module: `(PyObject *)&X`, `&X`, a type local, or `PyType_FromSpec(&S)` itself. */
function typeRegistration(scope: Scope, call: SyntaxNode, value: SyntaxNode | undefined, name: string | null): Registration | { finding: Finding } | null {
  const { api } = scope;
  if (!value) return null;
  let spec: string | null = null;
  let shown = '';
  const what = subject(scope, value);
  const inner = stripCasts(value);
  if (what?.kind === 'static-type') {
    spec = `${what.name}_spec`;
    shown = what.name;
    scope.staticTypes.set(what.name, true);
  } else if (what?.kind === 'type-local') {
    spec = scope.typeLocals.get(what.name)!;
    shown = spec;
  } else if (inner.type === 'call_expression' && isTypeFromSpec(calleeName(inner) ?? '')) {
    spec = specArgument(api, inner);
    if (!spec) return { finding: { target: inner, message: `'${firstLine(api.text(inner))}' is not converted`, notes: [FROM_SPEC_NOTE], suggestion: FROM_SPEC_SUGGESTION } };
    shown = spec;
  }
  if (!spec) return null;
  const bridge = bridgeOf(scope, spec, shown);
  if (bridge) return bridgeRegistration(scope, call, bridge === 'spec' ? spec : shown, bridge, inner, name);
  const missing = checkSpec(scope, call, spec, shown, name);
  if (missing) return missing;
  const pyName = name ?? (scope.specs.get(spec)!.pyName ? `"${scope.specs.get(spec)!.pyName}"` : null);
  if (!pyName) {
    const message = `the Python name of the type of '${spec}' is not known`;
    return { finding: { target: call, message, notes: ["give the spec a '.name' string literal ('module.Name'), then run hpy-migrate again"], suggestion: `.name = "module.Name" in '${spec}', then run hpy-migrate again` } };
  }
  return { kind: 'type', call, name: pyName, spec };
}

function stripCasts(node: SyntaxNode): SyntaxNode {
  let n = unparenthesize(node);
  while (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value')!);
  return n;
}

/** Is `spec` an `HPyType_Spec` of this file? `pyName`: the attribute name the module adds it as (a literal), if known. */
function checkSpec(scope: Scope, call: SyntaxNode, spec: string, type: string, pyName: string | null = null): { finding: Finding } | null {
  const found = scope.specs.get(spec);
  if (found?.hpy) return null;
  const why = found
    ? `'${spec}' is still a 'PyType_Spec': the pytype-spec transform converts it, or reports why it cannot`
    : `the pytype-spec transform names the spec of a static 'PyTypeObject ${type}' '${type}_spec'; a type defined in another file is registered by hand`;
  const suggestion = specSuggestion(scope, found ? spec : staticTypeOfFile(scope, type) ? type : null, spec, pyName ?? '"Name"');
  return { finding: { target: call, message: `the type '${type}' has no 'HPyType_Spec ${spec}' in this file`, notes: [why], suggestion } };
}

/** Is `type` a file-scope `PyTypeObject` of this file (one pytype-spec left as it was)? */
function staticTypeOfFile(scope: Scope, type: string): boolean {
  return staticTypeDeclaration(scope, type) !== null;
}

function staticTypeDeclaration(scope: Scope, type: string): SyntaxNode | null {
  const found = scope.api.matches(DECLARATIONS).find(({ decl }) => {
    const init = decl.childForFieldName('declarator');
    const id = init && declaredIdentifier(init);
    return atFileScope(decl) && !!id && scope.api.text(id) === type && /^(struct\s+_typeobject|PyTypeObject)$/.test(scope.api.text(decl.childForFieldName('type')!));
  });
  return found?.decl ?? null;
}

/** `"Point"` from the `tp_name` (`.tp_name = "geometry.Point"`, or the string after the head) of a static type. */
function staticTypePyName(scope: Scope, type: string): string | null {
  const decl = staticTypeDeclaration(scope, type);
  const value = decl?.childForFieldName('declarator')?.childForFieldName('value');
  if (!value) return null;
  const text = scope.api.text(value);
  const name = (/\.tp_name\s*=\s*"([^"\\]*)"/.exec(text) ?? /^\{\s*PyVarObject_HEAD_INIT\s*\([^()]*\)\s*,?\s*"([^"\\]*)"/.exec(text))?.[1];
  return name ? name.slice(name.lastIndexOf('.') + 1) : null;
}

/**
 * Hybrid target: how a type without an `HPyType_Spec` is registered through the legacy bridge
 * (`'spec'`: `spec` is a CPython spec of this file pytype-spec left whole; `'static'`: `type` is a
 * static `PyTypeObject` of this file without one); null otherwise, and in a universal run.
 */
function bridgeOf(scope: Scope, spec: string, type: string): 'spec' | 'static' | null {
  if (scope.api.target !== 'hybrid') return null;
  const found = scope.specs.get(spec);
  if (found) return found.hpy ? null : 'spec';
  return type !== spec && staticTypeOfFile(scope, type) ? 'static' : null;
}

/**
 * A type left on the C API and added to the module: created with the C API, added through a handle
 * made by `HPy_FromPyObject` (the statements are written by registrationStatements).
 */
function bridgeRegistration(scope: Scope, call: SyntaxNode, which: string, kind: 'spec' | 'static', inner: SyntaxNode, name: string | null): Registration | { finding: Finding } {
  if (kind === 'spec' && inner.type === 'call_expression' && calleeName(inner) !== 'PyType_FromSpec') return { finding: moduleSpecFinding(scope, inner, which) };
  const known = kind === 'spec' ? scope.specs.get(which)?.pyName : staticTypePyName(scope, which);
  const pyName = name ?? (known ? `"${known}"` : null);
  if (!pyName) {
    const field = kind === 'spec' ? `'.name' string literal ('module.Name') in '${which}'` : `'.tp_name' string literal ('module.Name') in '${which}'`;
    return { finding: { target: call, message: `the Python name of the type '${which}' is not known`, notes: [`give it a ${field}, then run hpy-migrate again`], suggestion: `${field}, or PyModule_AddObject(m, "Name", ...), then run hpy-migrate again` } };
  }
  if (kind === 'static') scope.bridged.add(which);
  return { kind: 'bridge', call, name: pyName, spec: kind === 'spec' ? which : null, type: kind === 'static' ? which : null };
}

/** `PyType_FromModuleAndSpec(m, &S, NULL)` of a spec left on the C API: the C-API call needs the module object. */
function moduleSpecFinding(scope: Scope, call: SyntaxNode, spec: string): Finding {
  const m = scope.module;
  return {
    target: call,
    message: `'${firstLine(scope.api.text(call))}' makes a type left on the C API, tied to the module`,
    notes: [
      `'${spec}' stays a 'PyType_Spec' (see the pytype-spec findings): the exec slot creates the type with the C API, where the module is a handle, not a 'PyObject *'`,
    ],
    suggestion: `PyObject *py_${m} = HPy_AsPyObject(ctx, ${m}); PyObject *t = PyType_FromModuleAndSpec(py_${m}, &${spec}, NULL); Py_DECREF(py_${m}); then HPy h = HPy_FromPyObject(ctx, t); Py_DECREF(t); HPy_SetAttr_s(ctx, ${m}, "Name", h); HPy_Close(ctx, h), in the exec slot (or PyType_FromSpec(&${spec}) if the type does not use its module)`,
  };
}

/**
 * What to write for a type registered without an `HPyType_Spec`: `left` is the CPython spec or
 * static type of this file that pytype-spec left as it was, null for a type of another file.
 */
function specSuggestion(scope: Scope, left: string | null, spec: string, pyName: string): string {
  const m = scope.module;
  const addType = `HPyHelpers_AddType(ctx, ${m}, ${pyName}, &${spec}, NULL)`;
  if (left === null) return `${addType} by hand, with 'extern HPyType_Spec ${spec};' declared here for the type of the other file`;
  // A spec left whole (e.g. a collected type whose traverse stays on the C API) is still a
  // CPython spec: a hybrid exec slot creates the type with the C API and hands it over.
  if (scope.api.target === 'hybrid' && left === spec) {
    return `PyObject *t = PyType_FromSpec(&${spec}); HPy h = HPy_FromPyObject(ctx, t); Py_XDECREF(t); then HPy_SetAttr_s(ctx, ${m}, ${pyName}, h) and HPy_Close(ctx, h), in the exec slot`;
  }
  return `the fixes the pytype-spec findings on '${left}' give, then run hpy-migrate again (this becomes ${addType})`;
}

/** Rewrites one registration inside its host statement; the statement keeps its shape. */
function rewriteInPlace(scope: Scope, host: SyntaxNode, operand: SyntaxNode, reg: Registration): void {
  const { api } = scope;
  if (reg.kind === 'type') {
    const addType = `!HPyHelpers_AddType(ctx, ${scope.module}, ${reg.name}, &${reg.spec}, NULL)`;
    const ind = indentationAt(scope.text, host.startIndex);
    if (host.type === 'if_statement') scope.changes.push({ start: operand.startIndex, end: operand.endIndex, text: addType });
    else if (!scope.bareFailure) addFinding(scope, host, BARE_MESSAGE(api.text(host)), [BARE_NOTE], BARE_SUGGESTION);
    else if (!isStatementListItem(host)) addFinding(scope, host, `'${firstLine(api.text(host))}' is not directly in a block`, [BRACES_NOTE], BRACES_SUGGESTION);
    else scope.changes.push({ start: host.startIndex, end: host.endIndex, text: `if (${addType})${scope.eol}${ind}${scope.unit}${scope.bareFailure}` });
    return;
  }
  if (reg.kind !== 'object') return;
  const fn = reg.call.childForFieldName('function')!;
  const first = callArguments(reg.call)[0];
  scope.changes.push({ start: fn.startIndex, end: fn.endIndex, text: 'HPy_SetAttr_s' }, { start: first.startIndex, end: first.startIndex, text: 'ctx, ' });
  if (!reg.steals) return;
  const consequence = host.childForFieldName('consequence');
  if (!isStatementListItem(host) || (consequence && !endsWithJump(consequence)) || usedAfter(scope, host, reg.value)) {
    addFinding(scope, reg.call, `'${firstLine(api.text(reg.call))}' is not converted: '${reg.value}' cannot be closed right after it`, [
      "HPy_SetAttr_s does not steal: close the object after the call on the success path ('HPy_Close(ctx, obj)'); " +
        'this needs an error branch that leaves the function and no later use of the object',
    ], `if (HPy_SetAttr_s(ctx, ${scope.module}, ${reg.name}, ${reg.value}) < 0) <error branch>; then HPy_Close(ctx, ${reg.value}) after the last use of '${reg.value}'`);
    return;
  }
  scope.changes.push({ start: host.endIndex, end: host.endIndex, text: `${scope.eol}${indentationAt(scope.text, host.startIndex)}HPy_Close(ctx, ${reg.value});` });
}

function endsWithJump(stmt: SyntaxNode): boolean {
  if (stmt.type !== 'compound_statement') return JUMPS.has(stmt.type);
  const last = stmt.namedChildren.filter((n) => n.type !== 'comment').pop();
  return !!last && JUMPS.has(last.type);
}

/** Is `name` used after `stmt` in the body? */
function usedAfter(scope: Scope, stmt: SyntaxNode, name: string): boolean {
  return scope.api.matches(IDENTIFIERS, scope.body).some(({ id }) => id.startIndex > stmt.endIndex && scope.api.text(id) === name);
}

/**
 * An `if` whose chain tests a constant, or a constant added without a test: each registration
 * becomes its own statement, with the error branch repeated where it fails.
 */
function splitHost(scope: Scope, host: SyntaxNode, regs: Registration[]): void {
  const objects = regs.filter((r) => r.kind === 'object' && r.steals);
  if (objects.length) {
    return addFinding(scope, host, `'PyModule_AddObject' is tested together with constants`, ['test each call on its own, then run hpy-migrate again'], SEPARATE_TESTS_SUGGESTION);
  }
  if (host.type === 'expression_statement' && !scope.bareFailure) return addFinding(scope, host, BARE_MESSAGE(scope.api.text(host)), [BARE_NOTE], BARE_SUGGESTION);
  const consequence = host.childForFieldName('consequence');
  if (consequence && !endsWithJump(consequence) && regs.some((r) => r.kind === 'bridge')) {
    return addFinding(scope, host, `the failure branch of '${firstLine(scope.api.text(host))}' does not leave the function`, [
      'the type left on the C API is added through a handle made from the created type: a failure must leave the function before the handle is used',
    ], "a 'return' or 'goto' at the end of the failure branch, then run hpy-migrate again");
  }
  if (!isStatementListItem(host) || host.parent?.type === 'labeled_statement') {
    return addFinding(scope, host, `'${firstLine(scope.api.text(host))}' is not directly in a block`, [BRACES_NOTE], BRACES_SUGGESTION);
  }
  const ind = indentationAt(scope.text, host.startIndex);
  const branch = errorBranch(scope, host, ind);
  const blocks = regs.map((r) => registrationStatements(scope, r, branch));
  scope.changes.push({ start: host.startIndex, end: host.endIndex, text: blocks.flat().join(scope.eol + ind) });
}

/**
 * The consequence of an `if` with this transform's changes applied, or `return -1;` for a bare
 * call: the lines to write inside braces, indented relative to the branch.
 */
function errorBranch(scope: Scope, host: SyntaxNode, ind: string): string[] {
  const consequence = host.childForFieldName('consequence');
  if (!consequence) return [scope.bareFailure ?? 'return -1;'];
  const body = rewritten(scope, consequence);
  const inner = consequence.type === 'compound_statement' ? body.replace(/^\{/, '').replace(/\}$/, '') : body;
  const lines = inner.split(/\r?\n/);
  const indent = ind + scope.unit;
  const out = lines.map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()).trimEnd()).filter((l) => l !== '');
  return out.length ? out : [';'];
}

/** The text of `node` with the changes already planned inside it. */
function rewritten(scope: Scope, node: SyntaxNode): string {
  const atEdge = (c: Change) => c.start === c.end && (c.start === node.startIndex || c.start === node.endIndex);
  const inner = scope.changes.filter((c) => within(c, node) && !atEdge(c)).sort((a, b) => a.start - b.start);
  let out = '';
  let at = node.startIndex;
  for (const c of inner) {
    if (c.start < at) continue;
    out += scope.text.slice(at, c.start) + c.text;
    at = c.end;
  }
  scope.changes = scope.changes.filter((c) => !inner.includes(c));
  return out + scope.text.slice(at, node.endIndex);
}

/** The statements of one registration of a split host. */
function registrationStatements(scope: Scope, reg: Registration, branch: string[]): string[] {
  const m = scope.module;
  const fail = (test: string, before: string[] = []) => [`if (${test}) {`, ...[...before, ...branch].map((l) => scope.unit + l), '}'];
  if (reg.kind === 'type') return fail(`!HPyHelpers_AddType(ctx, ${m}, ${reg.name}, &${reg.spec}, NULL)`);
  if (reg.kind === 'object') return fail(`HPy_SetAttr_s(ctx, ${m}, ${reg.name}, ${reg.value}) < 0`);
  if (reg.kind === 'bridge') return bridgeStatements(scope, reg, fail);
  if (reg.kind !== 'constant') return [];
  const h = handleName(scope, reg.name);
  return [
    `HPy ${h} = ${reg.maker}(ctx, ${reg.value});`,
    ...fail(`HPy_IsNull(${h})`),
    ...fail(`HPy_SetAttr_s(ctx, ${m}, ${reg.name}, ${h}) < 0`, [`HPy_Close(ctx, ${h});`]),
    `HPy_Close(ctx, ${h});`,
  ];
}

/**
 * Hybrid target: a type left on the C API, added from the exec slot through the legacy bridge.
 * A spec's type is made with `PyType_FromSpec` into `py_NAME` (C-API code, which the body
 * transforms leave: `bridgedObjectLocals`), handed to HPy as `h_NAME` and released; a static type
 * (readied where it was) is handed over as `(PyObject *)&X`. The handle is added and closed.
 */
function bridgeStatements(scope: Scope, reg: Bridge, fail: (test: string, before?: string[]) => string[]): string[] {
  const m = scope.module;
  const h = handleName(scope, reg.name);
  const added = [...fail(`HPy_SetAttr_s(ctx, ${m}, ${reg.name}, ${h}) < 0`, [`HPy_Close(ctx, ${h});`]), `HPy_Close(ctx, ${h});`];
  if (!reg.spec) return [`HPy ${h} = HPy_FromPyObject(ctx, (PyObject *)&${reg.type});`, ...added];
  const py = unusedName(scope, `py_${h.slice(2)}`);
  scope.taken.add(py);
  return [
    `PyObject *${py} = PyType_FromSpec(&${reg.spec});`,
    ...fail(`${py} == NULL`),
    `HPy ${h} = HPy_FromPyObject(ctx, ${py});`,
    `Py_DECREF(${py});`,
    ...added,
  ];
}

/** `h_NAME` for the attribute `"NAME"`: a name used nowhere in the file. */
function handleName(scope: Scope, literal: string): string {
  const base = `h_${literal.replace(/^"|"$/g, '').replace(/\W+/g, '_') || 'value'}`;
  const name = unusedName(scope, base);
  scope.taken.add(name);
  return name;
}

/** `base`, or `base2`, ...: the first that appears nowhere in the file nor among the generated names. */
function unusedName(scope: Scope | { text: string; taken: Set<string> }, base: string): string {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? base : `${base}${i}`;
    if (!scope.taken.has(candidate) && !new RegExp(`\\b${candidate}\\b`).test(scope.text)) return candidate;
  }
}

/**
 * A C global the init body stores an object in (`G = PyType_FromSpec(&S);`) is handed over to
 * pyobject-global when it converts every other use of the global (the analysis is shared): in the
 * exec slot the object lives in a local handle `h_G` from its creation to its registration, and
 * the global keeps its own reference through `HPyGlobal_Store`.
 * - `G = value;` becomes `HPy h_G = value;` (`PyType_FromSpec(&S)` becomes `HPyType_FromSpec(ctx, &S, NULL)`);
 * - `HPyGlobal_Store(ctx, &G, h_G);` follows the null test of `G` (or the creation);
 * - `Py_INCREF(G);` goes: the local handle is the extra reference the C code took for the module;
 * - `PyModule_AddObject(m, "X", G)` adds `h_G` and closes it after the statement, and its failure
 *   branch closes it too (its first `Py_DECREF(G)` becomes the close, a second one clears the
 *   global; a close is added when it has none); without such a registration `h_G` is closed right
 *   after the store;
 * - releases of `G` after the first label of the body (the error path) clear the global:
 *   `HPyGlobal_Store(ctx, &G, HPy_NULL);`;
 * - other uses of `G` between the creation and the close read `h_G`.
 * Anything else keeps the global (planGlobals reports it, and the module stays as it is).
 */
function planKeptGlobals(scope: Scope): void {
  const { api } = scope;
  if (!scope.init || !api.isSelected('pyobject-global')) return;
  const globals = new Map(objectGlobalsOf(api, scope.text, { skipModuleInit: true }).map((g) => [g.name, g]));
  const assigned = new Map<string, SyntaxNode[]>();
  for (const { assign, left } of api.matches(ASSIGNMENTS, scope.body)) {
    const name = api.text(left);
    if (!scope.locals.has(name) && globals.has(name)) assigned.set(name, [...(assigned.get(name) ?? []), assign]);
  }
  for (const [name, assigns] of assigned) {
    const g = globals.get(name)!;
    const why = g.problem ? g.problem.message : handOverProblem(scope, name, assigns);
    if (why) {
      scope.globalRefusals.set(name, why);
      continue;
    }
    handOver(scope, g, assigns[0]);
  }
}

/** Why the init body's uses of `name` do not fit the hand-over, if they do not. */
function handOverProblem(scope: Scope, name: string, assigns: SyntaxNode[]): string | null {
  const stmt = assigns[0].parent;
  if (assigns.length !== 1 || stmt?.type !== 'expression_statement' || stmt.parent?.id !== scope.body.id) {
    return `'${name}' is assigned more than once, or not as a statement of its own in the body of the init function`;
  }
  const firstLabel = scope.body.namedChildren.find((n) => n.type === 'labeled_statement');
  if (firstLabel) {
    const before = firstLabel.previousNamedSibling;
    if (!before || !['return_statement', 'goto_statement'].includes(before.type)) return 'the statements after the first label of the init function are reached without a jump';
  }
  return null;
}

function handOver(scope: Scope, g: ObjectGlobal, assign: SyntaxNode): void {
  const { api, eol } = scope;
  const name = g.name;
  const creation = assign.parent!;
  const value = creationValue(scope, assign.childForFieldName('right')!);
  if (!value) return;
  const adds = addsOf(scope, name);
  if (adds.length > 1) {
    scope.globalRefusals.set(name, `'${name}' is added to the module more than once`);
    return;
  }
  const handle = unusedName(scope, `h_${name}`);
  const indent = indentationAt(scope.text, creation.startIndex);
  const next = nextStatement(creation);
  const storeAfter = next && isNullCheck(api, next, name) ? next : creation;
  const host = adds.length ? hostOf(adds[0]) : null;
  const span = { creation, end: host ?? storeAfter, host };
  const uses = globalUseChanges(scope, name, handle, span);
  if ('refusal' in uses) {
    scope.globalRefusals.set(name, uses.refusal);
    return;
  }
  const close = adds.length ? '' : `${eol}${indent}HPy_Close(ctx, ${handle});`;
  scope.taken.add(handle);
  scope.globalHandles.set(name, handle);
  scope.changes.push(
    { start: creation.startIndex, end: creation.endIndex, text: `HPy ${handle} = ${value};` },
    { start: storeAfter.endIndex, end: storeAfter.endIndex, text: `${eol}${indent}HPyGlobal_Store(ctx, &${name}, ${handle});${close}` },
    ...uses.changes,
  );
}

/** Where the init body holds a handed-over global in its local handle: from its creation to `end`. */
interface HeldSpan {
  creation: SyntaxNode;
  end: SyntaxNode;
  /** The `if` testing the registration of the global in the module, if any. */
  host: SyntaxNode | null;
}

/** The changes of the uses of `name` in the body, or why they do not fit the hand-over. */
function globalUseChanges(scope: Scope, name: string, handle: string, span: HeldSpan): { changes: Change[] } | { refusal: string } {
  const { api } = scope;
  const clear = `HPyGlobal_Store(ctx, &${name}, HPy_NULL);`;
  const firstLabel = scope.body.namedChildren.find((n) => n.type === 'labeled_statement');
  const branch = span.host?.type === 'if_statement' ? span.host.childForFieldName('consequence') : null;
  const changes: Change[] = [];
  let releasedInBranch = false;
  for (const { id } of api.matches(IDENTIFIERS, scope.body)) {
    if (api.text(id) !== name || within(id, span.creation)) continue;
    const release = releaseStatement(api, id);
    const incref = release ? null : increfStatement(api, id);
    if (incref) changes.push({ ...lineSpan(scope.text, incref), text: '' });
    else if (release && branch && within(release, branch)) {
      // The branch's first release drops the reference taken for the module (now the local
      // handle); a second one drops the global's own.
      changes.push(releasedInBranch ? { start: release.startIndex, end: release.endIndex, text: clear } : { start: id.startIndex, end: id.endIndex, text: handle });
      releasedInBranch = true;
    } else if (release && firstLabel && release.startIndex >= firstLabel.startIndex) {
      changes.push({ start: release.startIndex, end: release.endIndex, text: clear });
    } else if (!release && id.startIndex > span.creation.endIndex && id.endIndex <= span.end.endIndex) {
      changes.push({ start: id.startIndex, end: id.endIndex, text: handle });
    } else {
      return { refusal: `'${firstLine(api.text(id.parent ?? id))}' uses '${name}' outside the span where the init function holds it in a local handle` };
    }
  }
  // A registration whose result is ignored goes on to the close after it on every path.
  if (span.host && span.host.type !== 'expression_statement' && !releasedInBranch) {
    const closing = span.host.type === 'if_statement' ? branchClose(scope, span.host, handle) : null;
    if (!closing) return { refusal: `the registration of '${name}' in the module has no failure branch that is a block or a single jump` };
    changes.push(closing);
  }
  return { changes };
}

/** The value a handed-over global is created from, as HPy code (null, with a finding, when it cannot be). */
function creationValue(scope: Scope, right: SyntaxNode): string | null {
  const { api } = scope;
  const value = stripCasts(right);
  if (value.type !== 'call_expression' || !isTypeFromSpec(calleeName(value) ?? '')) return api.text(value);
  const spec = specArgument(api, value);
  if (!spec) {
    addFinding(scope, value, `'${firstLine(api.text(value))}' is not converted`, [FROM_SPEC_NOTE], FROM_SPEC_SUGGESTION);
    return null;
  }
  const missing = checkSpec(scope, value, spec, spec);
  if (missing) {
    scope.findings.push(missing.finding);
    return null;
  }
  return `HPyType_FromSpec(ctx, &${spec}, NULL)`;
}

/** The `PyModule_AddObject(m, "X", G)` (or `AddObjectRef`) calls of the body that add `name`. */
function addsOf(scope: Scope, name: string): SyntaxNode[] {
  const { api } = scope;
  return api.matches(CALLS, scope.body).filter(({ call, name: callee }) => {
    const args = callArguments(call);
    return /^PyModule_AddObject(Ref)?$/.test(api.text(callee)) && args.length === 3 && api.text(stripCasts(args[2])) === name;
  }).map((m) => m.call);
}

/** The statement `Py_DECREF(G);` (or `Py_XDECREF`, `Py_CLEAR`) that `id` is the argument of. */
function releaseStatement(api: RewriteApi, id: SyntaxNode): SyntaxNode | null {
  return macroStatement(api, id, RELEASES);
}

/** The statement `Py_INCREF(G);` (or `Py_XINCREF`) that `id` is the argument of. */
function increfStatement(api: RewriteApi, id: SyntaxNode): SyntaxNode | null {
  return macroStatement(api, id, new Set(['Py_INCREF', 'Py_XINCREF']));
}

function macroStatement(api: RewriteApi, id: SyntaxNode, macros: ReadonlySet<string>): SyntaxNode | null {
  let arg = id;
  while (arg.parent && (arg.parent.type === 'parenthesized_expression' || arg.parent.type === 'cast_expression')) arg = arg.parent;
  const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : null;
  if (!call || !macros.has(calleeName(call) ?? '') || callArguments(call).length !== 1) return null;
  return call.parent?.type === 'expression_statement' ? call.parent : null;
}

/** `HPy_Close(ctx, h);` first thing in the failure branch of an `if`: a block, or a single jump put in braces. */
function branchClose(scope: Scope, host: SyntaxNode, handle: string): Change | null {
  const consequence = host.childForFieldName('consequence');
  if (!consequence) return null;
  const close = `HPy_Close(ctx, ${handle});`;
  if (consequence.type === 'compound_statement') {
    const first = consequence.namedChildren[0];
    const inner = first ? indentationAt(scope.text, first.startIndex) : indentationAt(scope.text, host.startIndex) + scope.unit;
    return { start: consequence.startIndex + 1, end: consequence.startIndex + 1, text: `${scope.eol}${inner}${close}` };
  }
  if (!JUMPS.has(consequence.type)) return null;
  const condition = host.childForFieldName('condition')!;
  const jump = scope.api.text(consequence);
  if (!/\n/.test(scope.text.slice(condition.endIndex, consequence.startIndex))) {
    return { start: consequence.startIndex, end: consequence.endIndex, text: `{ ${close} ${jump} }` };
  }
  const inner = indentationAt(scope.text, consequence.startIndex);
  const outer = indentationAt(scope.text, host.startIndex);
  return { start: condition.endIndex, end: consequence.endIndex, text: ` {${scope.eol}${inner}${close}${scope.eol}${inner}${jump}${scope.eol}${outer}}` };
}

/** Objects stored into C globals by the init body need HPyGlobals: reported. */
function planGlobals(scope: Scope): void {
  const { api } = scope;
  const globals = new Set(api.index.globals.map((g) => g.name));
  for (const { assign, left, right } of api.matches(ASSIGNMENTS, scope.body)) {
    const name = api.text(left);
    if (scope.locals.has(name) || covered(scope, assign)) continue;
    const value = stripCasts(right);
    const callee = value.type === 'call_expression' ? calleeName(value) ?? '' : '';
    let what: string | null = null;
    if (/^H?PyErr_NewException/.test(callee)) what = `the exception made by '${callee}'`;
    else if (isTypeFromSpec(callee)) what = `the type made by '${callee}'`;
    else if (subject(scope, right)?.kind === 'static-type' || scope.typeLocals.has(api.text(value))) what = `the type '${api.text(value)}'`;
    else if (globals.has(name) || callee.startsWith('Py')) what = `the object '${firstLine(api.text(right))}'`;
    const refusal = scope.globalRefusals.get(name);
    if (what) addFinding(scope, assign, `${what} is kept in the C global '${name}'`, refusal ? [`it stays a C global: ${refusal}`, GLOBAL_NOTE] : [GLOBAL_NOTE], GLOBAL_SUGGESTION(name));
  }
}

/**
 * Every other use of the module variable must survive the conversion: an argument of a call
 * that becomes an HPy call or of a function of the project, or a null test.
 */
function checkUses(scope: Scope): void {
  const { api } = scope;
  const own = new Set(api.index.functions.map((f) => f.name));
  for (const { id } of api.matches(IDENTIFIERS, scope.body)) {
    const name = api.text(id);
    if (scope.accepted.has(id.startIndex) || covered(scope, id)) continue;
    if (scope.findings.some((f) => within(id, f.target))) continue; // already reported there
    if (scope.typeLocals.has(name)) {
      addFinding(scope, id, `the type '${name}' is used for more than its registration`, [
        'HPyHelpers_AddType creates the type and closes its handle; a type used later needs an HPyGlobal',
        GLOBAL_NOTE,
      ], `HPy h = HPyType_FromSpec(ctx, &${scope.typeLocals.get(name)}, NULL); stored in a static HPyGlobal (HPyGlobal_Store) for the later uses, and HPy_SetAttr_s(ctx, ${scope.module}, "Name", h) to expose it`);
    } else if (scope.staticTypes.has(name)) {
      // Hybrid: a static type left on the C API keeps its slot assignments (`X.tp_new = ...;`), C-API code.
      if (scope.bridged.has(name) && isSlotAssignment(id)) continue;
      // Without its spec the registration is reported; the reference counting that goes with it is not another finding.
      if (!scope.specs.get(`${name}_spec`)?.hpy && isRefcountArgument(api, id)) continue;
      addFinding(scope, id, `the static type '${name}' is used for more than its registration`, [
        `once '${name}' is an HPyType_Spec, the type object exists only as a handle: keep it in an HPyGlobal`,
        GLOBAL_NOTE,
      ], `HPy h = HPyType_FromSpec(ctx, &${name}_spec, NULL); stored in a static HPyGlobal (HPyGlobal_Store) for the later uses, and HPy_SetAttr_s(ctx, ${scope.module}, "Name", h) to expose it`);
    } else if (name === scope.module && scope.init && !isKeptModuleUse(api, id, own)) {
      const call = id.parent?.type === 'argument_list' ? id.parent.parent : null;
      const callee = call ? calleeName(call) : null;
      if (callee && REGISTRATION_NAMES.has(callee)) continue; // reported by planRegistrations
      const target = call ?? id.parent ?? id;
      const rowNotes = (callee && callFormOf(callee)?.entry.notes) || '';
      const notes = [rowNotes || 'convert this use by hand'];
      const suggestion = callee && rowNotes ? splitRowNotes(callee, rowNotes).write : `HPy_SetAttr_s(ctx, ${name}, "name", h) / HPy_GetAttr_s(ctx, ${name}, "name") on the module, or an HPyGlobal for what is kept`;
      addFinding(scope, target, `the module '${name}' is used in '${firstLine(api.text(target))}', which has no direct HPy form`, notes, suggestion);
    }
  }
}

/** `X.field = value;`, with `id` the `X`. */
function isSlotAssignment(id: SyntaxNode): boolean {
  const field = id.parent;
  const assign = field?.parent;
  return field?.type === 'field_expression' && assign?.type === 'assignment_expression' && assign.childForFieldName('left')?.id === field.id && assign.parent?.type === 'expression_statement';
}

/** Is `id` (through `&`, casts and parentheses) the argument of a reference counting macro? */
function isRefcountArgument(api: RewriteApi, id: SyntaxNode): boolean {
  let arg = id;
  while (arg.parent && ['parenthesized_expression', 'cast_expression', 'pointer_expression'].includes(arg.parent.type)) arg = arg.parent;
  const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : null;
  return !!call && call.type === 'call_expression' && REFCOUNTS.has(calleeName(call) ?? '');
}

/** A use of the module that the body transforms convert: a direct API call, a project function, a null test. */
function isKeptModuleUse(api: RewriteApi, id: SyntaxNode, own: Set<string>): boolean {
  const p = id.parent;
  if (p?.type === 'argument_list' && p.parent?.type === 'call_expression') {
    const callee = calleeName(p.parent);
    if (!callee) return false;
    // capi-call runs first and may already have renamed the call (`HPy_SetAttr_s(ctx, m, ...)`).
    const form = callFormOf(callee)?.form;
    return own.has(callee) || callee.startsWith('HPy') || form === 'direct' || form === 'type-check';
  }
  if (p?.type === 'unary_expression' && api.text(p).startsWith('!')) return true;
  if (p?.type === 'binary_expression') {
    const op = p.childForFieldName('operator')?.type;
    const other = p.childForFieldName('left')?.startIndex === id.startIndex ? p.childForFieldName('right') : p.childForFieldName('left');
    return (op === '==' || op === '!=') && !!other && /^(NULL|0)$/.test(api.text(other));
  }
  return p?.type === 'parenthesized_expression' && p.parent?.type === 'if_statement';
}

/** Does the body do nothing but create and return the module (no exec slot needed)? */
function isTrivial(scope: Scope): boolean {
  const removed = (s: SyntaxNode) => scope.changes.some((c) => c.text === '' && c.start < c.end && within(s, c));
  const returnsModule = (s: SyntaxNode) => s.type === 'return_statement' && scope.changes.some((c) => c.text === '0' && within(c, s));
  return scope.body.namedChildren.every((s) => removed(s) || returnsModule(s));
}

/** The method table named in the module def. */
function methodTable(api: RewriteApi, name: SyntaxNode, def: ModuleDef): Table | null {
  for (const { decl } of api.matches(DECLARATIONS)) {
    if (!atFileScope(decl)) continue;
    const init = decl.childForFieldName('declarator');
    const id = init && declaredIdentifier(init);
    const list = init?.childForFieldName('value');
    if (!id || api.text(id) !== api.text(name) || list?.type !== 'initializer_list') continue;
    const type = api.text(decl.childForFieldName('type')!);
    const pointer = init!.childForFieldName('declarator')?.type === 'pointer_declarator';
    const kind = type === 'HPyDef' && pointer ? 'hpy' : type === 'PyMethodDef' && !pointer ? 'legacy' : null;
    if (!kind) return null;
    const items = list.namedChildren.filter((n) => n.type !== 'comment');
    const last = items[items.length - 1];
    const sentinel = last && (kind === 'legacy' || isNullValue(api, last)) ? last : null;
    const entries = sentinel ? items.slice(0, -1) : items;
    const isStatic = decl.namedChildren.some((n) => n.type === 'storage_class_specifier' && api.text(n) === 'static');
    const uses = api.matches(IDENTIFIERS).filter(({ id: u }) => api.text(u) === api.text(name) && !within(u, decl) && !within(u, def.list));
    const legacyPart = kind === 'hpy' ? legacyPartOf(api, `${api.text(name)}_legacy`) : null;
    return { decl, list, kind, entries, sentinel, ownedByModule: isStatic && uses.length === 0 && kind === 'hpy' && !!sentinel, legacyPart };
  }
  return null;
}

/** `name` if it is a file-scope `PyMethodDef name[]` table (the legacy part of a hybrid port). */
function legacyPartOf(api: RewriteApi, name: string): string | null {
  for (const { decl } of api.matches(DECLARATIONS)) {
    const init = decl.childForFieldName('declarator');
    const id = init && declaredIdentifier(init);
    if (!atFileScope(decl) || !id || api.text(id) !== name) continue;
    const array = init!.childForFieldName('declarator')?.type === 'array_declarator';
    return array && api.text(decl.childForFieldName('type')!).replace(/^struct\s+/, '') === 'PyMethodDef' ? name : null;
  }
  return null;
}

/**
 * Forward declarations of the def: `static HPyModuleDef m;` while `HPy_MODINIT` (where the init
 * function was) comes before the definition, else they go, with the comment lines right above.
 */
function convertForwards(scope: Scope, def: ModuleDef): void {
  const { api } = scope;
  for (const decl of def.forwards) {
    if (scope.fn.startIndex < def.decl.startIndex) api.replace(decl.childForFieldName('type')!, 'HPyModuleDef');
    else api.remove(withBlankLine(scope.text, lineSpan(scope.text, { start: leadingComments(scope, decl), end: decl.endIndex })));
  }
}

/** Records the edits of a planned module: body, exec slot header, defines, module def. */
function emitModule(scope: Scope, def: ModuleDef, modname: string, table: Table | null): void {
  const { api, eol } = scope;
  const exec = scope.trivial ? null : unusedName(scope, `${modname}_exec`);
  if (exec) {
    for (const c of mergeRemovals(scope.text, outermost(scope.changes))) api.replace(c, c.text);
    const type = scope.fn.childForFieldName('type')!;
    api.replace({ start: scope.fn.startIndex, end: type.endIndex }, 'static int');
    api.replace(scope.fn.childForFieldName('declarator')!, `${exec}_impl(HPyContext *ctx, HPy ${scope.module})`);
    api.insertAfter(scope.fn, `${eol}${eol}HPy_MODINIT(${modname}, ${def.name})`);
  } else {
    api.replace(scope.fn, `HPy_MODINIT(${modname}, ${def.name})`);
  }
  removePrototypes(scope, `PyInit_${modname}`);
  convertForwards(scope, def);
  const fields = moduleFields(scope, def, table, exec);
  api.replace(def.type, 'HPyModuleDef');
  api.replace(def.list, initializer(scope, def, fields));
  // In a hybrid port a legacy table is the intended result (pymethoddef says why for each method).
  const severity = api.target === 'hybrid' ? 'note' : 'warning';
  if (table?.kind === 'legacy') {
    api.report(def.methods!, `'${api.text(def.methods!)}' is still a 'PyMethodDef' table: kept as '.legacy_methods'`, {
      severity,
      notes: [
        'legacy methods build only in the CPython and hybrid ABIs',
        "once the pymethoddef transform has made the table an 'HPyDef *[]', list its entries in '.defines' instead",
      ],
      suggestion: `the fixes the pymethoddef findings on '${api.text(def.methods!)}' give, then run hpy-migrate again (it becomes '.defines'); until then build with --hpy-abi=hybrid`,
    });
  } else if (table?.legacyPart && api.target !== 'hybrid') {
    api.report(def.methods!, `the methods of '${table.legacyPart}' stay on the C API: kept as '.legacy_methods'`, {
      notes: [
        'legacy methods build only in the CPython and hybrid ABIs',
        `port each of them by hand and move its entry to '${api.text(def.methods!)}' ('&<function>_def' and an 'HPyDef_METH_IMPL' line); remove '.legacy_methods' once '${table.legacyPart}' is empty`,
      ],
      suggestion: `each method of '${table.legacyPart}' made convertible, then hpy-migrate --target hybrid (its entry moves to '${api.text(def.methods!)}') before --target universal`,
    });
  }
}

/** Changes not inside another change (the outer one already holds their text). */
function outermost(changes: Change[]): Change[] {
  const sorted = [...changes].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Change[] = [];
  for (const c of sorted) {
    const outer = out.find((o) => o.start < o.end && o.start <= c.start && c.end <= o.end && !(c.start === c.end && (c.start === o.start || c.start === o.end)));
    if (!outer) out.push(c);
  }
  return out;
}

/** Joins removals that touch, so that a removed run of lines is handled as one (see withBlankLine). */
function mergeRemovals(text: string, changes: Change[]): Change[] {
  const out: Change[] = [];
  for (const c of changes) {
    const last = out[out.length - 1];
    if (last && last.text === '' && c.text === '' && last.end === c.start && c.start < c.end) last.end = c.end;
    else out.push({ ...c });
  }
  return out.map((c) => (c.text === '' ? { ...withBlankLine(text, c), text: '' } : c));
}

/** Prototypes of the init function (`PyMODINIT_FUNC PyInit_x(void);`) go with it. */
function removePrototypes(scope: Scope, initName: string): void {
  for (const { decl } of scope.api.matches(DECLARATIONS)) {
    if (!atFileScope(decl)) continue;
    const d = decl.childForFieldName('declarator');
    if (d?.type === 'function_declarator' && scope.api.text(declaredIdentifier(d) ?? d) === initName) scope.api.remove(withBlankLine(scope.text, lineSpan(scope.text, decl)));
  }
}

/** The designated fields of the new `HPyModuleDef`, adding the exec slot to the defines. */
function moduleFields(scope: Scope, def: ModuleDef, table: Table | null, exec: string | null): string[] {
  const { api, eol } = scope;
  const fields = def.doc ? [`.doc = ${def.doc}`] : [];
  const tableName = def.methods ? api.text(def.methods) : '';
  if (table?.kind === 'legacy') fields.push(`.legacy_methods = ${tableName}`);
  else if (table?.legacyPart) fields.push(`.legacy_methods = ${table.legacyPart}`);
  const slot = exec ? `HPyDef_SLOT(${exec}, HPy_mod_exec)${eol}${eol}` : '';
  if (table?.kind === 'hpy' && (!exec || table.ownedByModule)) {
    if (exec) {
      api.insertBefore({ start: leadingComments(scope, table.decl), end: table.decl.endIndex }, slot);
      insertEntry(scope, table, `&${exec}`);
    }
    fields.push(`.defines = ${tableName}`);
  } else if (exec) {
    const name = unusedName(scope, `${def.name}_defines`);
    const entries = [...(table?.kind === 'hpy' ? table.entries.map((e) => api.text(e)) : []), `&${exec}`, 'NULL'];
    const array = [`static HPyDef *${name}[] = {`, ...entries.map((e, i) => `${scope.unit}${e}${i < entries.length - 1 ? ',' : ''}`), '};'].join(eol);
    api.insertBefore({ start: leadingComments(scope, def.decl), end: def.decl.endIndex }, `${slot}${array}${eol}${eol}`);
    fields.push(`.defines = ${name}`);
  }
  return fields;
}

/** Where a file-scope declaration starts, with the comment lines right above it. */
function leadingComments(scope: Scope, decl: SyntaxNode): number {
  let start = decl.startIndex;
  let prev = decl.previousNamedSibling;
  while (prev?.type === 'comment' && /^[ \t]*\r?\n[ \t]*$/.test(scope.text.slice(prev.endIndex, start))) {
    start = prev.startIndex;
    prev = prev.previousNamedSibling;
  }
  return start;
}

/** Adds `&exec` before the table's `NULL`, on a line of its own when the `NULL` has one. */
function insertEntry(scope: Scope, table: Table, entry: string): void {
  const sentinel = table.sentinel!;
  const lineStart = scope.text.lastIndexOf('\n', sentinel.startIndex - 1) + 1;
  const before = scope.text.slice(lineStart, sentinel.startIndex);
  if (/^[ \t]*$/.test(before)) scope.api.insertBefore({ start: lineStart, end: lineStart }, `${before}${entry},${scope.eol}`);
  else scope.api.insertBefore(sentinel, `${entry}, `);
}

/** The new initializer, laid out as the old one (one line, or one field per line). */
function initializer(scope: Scope, def: ModuleDef, fields: string[]): string {
  const { text, eol } = scope;
  if (fields.length === 0) return '{ 0 }';
  if (!scope.api.text(def.list).includes('\n')) return `{ ${fields.join(', ')} }`;
  const first = def.list.namedChildren[0];
  const brace = def.list.endIndex - 1;
  const alone = /^[ \t]*$/.test(text.slice(text.lastIndexOf('\n', brace - 1) + 1, brace));
  const close = indentationAt(text, alone ? brace : def.decl.startIndex);
  const own = first ? indentationAt(text, first.startIndex) : '';
  const ind = own.length > close.length ? own : close + scope.unit;
  return `{${eol}${fields.map((f) => `${ind}${f},${eol}`).join('')}${close}}`;
}
