/**
 * Turns the remaining `PyObject *` locals, parameters and return types into `HPy`, and the
 * pointer operations on them (`NULL`, `!x`, `==`, casts) into their handle forms.
 *
 * ## Why
 * An HPy object is a handle, an opaque struct passed by value (porting guide, "Handles vs
 * PyObject *": https://docs.hpyproject.org/en/latest/porting-guide.html). It is not a pointer:
 * `NULL` is `HPy_NULL`, a null test is `HPy_IsNull(h)`, identity is `HPy_Is(ctx, a, b)` (two
 * handles to one object may differ bitwise, and `==` on structs does not compile), and a cast to
 * `PyObject *` means nothing. `Py_ssize_t`, `Py_hash_t`, `PY_SSIZE_T_MAX` and the rich-comparison
 * operators `Py_LT`...`Py_GE` have HPy names of their own.
 *
 * ## Before
 * ```c
 * static PyObject *
 * pick(PyObject *a, PyObject *b, Py_ssize_t n)
 * {
 *     PyObject *best = NULL, *other;
 *     if (!a || b == NULL)
 *         return NULL;
 *     best = n > 0 ? a : b;
 *     other = (PyObject *)a;
 *     if (best == other)
 *         return PyObject_RichCompare(a, b, Py_LT);
 *     return best;
 * }
 * ```
 * ## After
 * ```c
 * static HPy
 * pick(HPy a, HPy b, HPy_ssize_t n)
 * {
 *     HPy best = HPy_NULL, other;
 *     if (HPy_IsNull(a) || HPy_IsNull(b))
 *         return HPy_NULL;
 *     best = n > 0 ? a : b;
 *     other = a;
 *     if (HPy_Is(ctx, best, other))
 *         return PyObject_RichCompare(a, b, HPy_LT);
 *     return best;
 * }
 * ```
 * ## Safety
 * safe: a handle is what a `PyObject *` local or parameter held, and every rewrite of an
 * operation on one keeps its meaning: `NULL` and the null tests become `HPy_NULL` and `HPy_IsNull`
 * (only where the other side is a handle of the function: a local, a parameter, `*out` of a
 * `PyObject **out` parameter, an item of a handle array, an assignment to one, a call of a function
 * known to return an object), pointer identity becomes `HPy_Is`, and a cast of a handle to
 * `PyObject *` disappears. The renamed types and constants are the same C types and values in
 * every HPy ABI (`HPy_ssize_t` is `Py_ssize_t`'s width, `HPy_LT` is `Py_LT`). A function that
 * holds anything this transform cannot convert is left whole, so that its types stay consistent.
 * `Py_UCS1` and `Py_UCS2`, which HPy 0.9.0 does not define, are CPython's typedefs of `uint8_t` and
 * `uint16_t` (`<stdint.h>`, which hpy.h includes): they become those, everywhere, also in
 * functions left on the C API (the same C type there). `Py_buffer` becomes `HPy_buffer` only as the
 * `Py_buffer *` parameter of a function that receives ctx (a buffer slot impl, the one place HPy
 * has views) whose `->obj` is only assigned `HPy_Dup(...)` or `HPy_NULL`: the fields are the same,
 * and `obj` becomes a handle the view owns.
 *
 * ## Limits
 * Left to other transforms, without a word when they exist: struct members (pyobject-field),
 * `(T *)x` casts to object structs and `(PyObject *)self` of a struct pointer (pyobject-head),
 * `PyInit_*` (pymoduledef), the `T_*` member types (pytype-spec), `Py_None` and the other
 * built-in objects (builtin-constant), file-scope `PyObject *` variables (pyobject-global, which
 * makes them `HPyGlobal`s or reports why not). Reported (warning) and left alone:
 * - file-scope `PyObject *` variables when no transform converts them (they cannot hold a handle);
 * - callbacks (functions used as values: methods, slots, ...) whose signature still has
 *   `PyObject *`: their signature is dictated by the API, and the transform of their table
 *   converts them; also callbacks without `ctx` and functions HPy calls without one (traverse,
 *   destroy) that hold `PyObject *` locals;
 * - a function with a handle it cannot convert: a `PyObject **` local or `sizeof(PyObject *)`
 *   (handles kept in allocated memory), arithmetic on a handle, a function-pointer or `const`
 *   declaration of objects: the function is left whole and each construct is reported;
 * - a cast to `PyObject *` of something that is not a handle (`(PyObject *)&XType`);
 * - types without an HPy 0.9.0 counterpart (`UNMAPPED_NAMES`): `PyGILState_STATE` (no way to take
 *   the GIL from a foreign thread), `PyArena` (CPython's compiler arena: plain malloc/free), and
 *   any other `Py_buffer` (HPy cannot request a buffer from another object).
 * Every finding says what to write by hand (its `suggestion`).
 * `NULL` passed to a C-API call is left to capi-call, which knows the parameters; `Py_ssize_t`
 * in a `#define` body is not renamed. Other plain renames of the api map that are not the same
 * shape in HPy (`PyThreadState`, `Py_eval_input`, `PyCapsule_Destructor`, `getter`, `visitproc`,
 * ...) are left to the transforms of their constructs. Relational comparisons of handles
 * (`a < b`) and `PyTypeObject *` are not converted. A helper is converted even when a legacy
 * callback still calls it: the missing-context transform reports that call. A helper that calls
 * something HPy 0.9.0 has no counterpart for, or such a helper (`legacyHelpers`), is left whole
 * for either target (`legacyFunctionCheck`): converted around that call it would compile in neither
 * ABI. In a universal run it gets one warning saying what it calls, shared with the other body
 * transforms.
 *
 * With `--target hybrid`, a function that stays on the C API on purpose (`legacyFunctionCheck`: listed
 * in a C-API table a signature transform of the run kept, or a legacy helper) is left whole without
 * a warning (a legacy helper gets the one shared note). In an HPy function, a `PyObject *` local
 * handed to `HPy_FromPyObject(ctx, x)` (`bridgedObjectLocals`: the legacy bridge pymoduledef writes
 * in the exec slot, or a porter by hand) stays `PyObject *` with its null tests, and a
 * `(PyObject *)&X` cast passed to `HPy_FromPyObject` is left without a word; a declaration that
 * declares such a local together with other objects is reported (the function is left whole).
 */
import {
  apiEntries,
  apiEntry,
  applyNestedSites,
  bridgedObjectLocals,
  builtinObjectEntry,
  calleeName,
  callArguments,
  contextScope,
  declaredIdentifier,
  defineTransform,
  enclosingFunction,
  functionDeclarator,
  functionName,
  functionParams,
  hasContextParam,
  legacyFunctionCheck,
  isModuleInit,
  unmappedName,
  unparenthesize,
  type ContextScope,
  type NestedSite,
  type RewriteApi,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const FUNCTIONS = '(function_definition) @fn';
const DECLARATIONS = '(declaration) @decl';
const PARAMETERS = '(parameter_declaration) @decl';
const NULLS = '(null) @null';
const COMPARISONS = '(binary_expression operator: ["==" "!=" "+" "-"] @op) @cmp';
const NEGATIONS = '(unary_expression operator: "!" argument: (_) @arg) @not';
const CONDITIONS = `[
  (if_statement condition: (_) @cond)
  (while_statement condition: (_) @cond)
  (do_statement condition: (_) @cond)
  (for_statement condition: (_) @cond)
  (conditional_expression condition: (_) @cond)
  (binary_expression left: (_) @cond operator: ["&&" "||"])
  (binary_expression operator: ["&&" "||"] right: (_) @cond)
]`;
const CASTS = '(cast_expression type: (type_descriptor) @type value: (_) @value) @cast';
const SIZEOFS = '(sizeof_expression type: (type_descriptor) @type) @sizeof';
const UPDATES = '(update_expression argument: (identifier) @arg) @update';
const NAMES = '[(identifier) (type_identifier)] @name';
const PREPROCESSOR_CONDITIONS = '[(preproc_if condition: (_) @condition) (preproc_elif condition: (_) @condition)]';
const PREPROCESSOR_NAME_PARENTS = new Set(['preproc_def', 'preproc_function_def', 'preproc_ifdef', 'preproc_defined', 'preproc_elifdef']);

/**
 * Plain renames of the api map (kind constant or type, a plain identifier, no ctx) that are not
 * this transform's: the reason is why the name is not the same thing in HPy, or whose it is.
 */
const NOT_RENAMED: Readonly<Record<string, string>> = {
  NULL: 'a null handle is HPy_NULL only where a handle is meant',
  PyObject: 'declarations are converted as a whole',
  PyThreadState: "'HPyThreadState' is a value, not a pointer (capi-call reports PyEval_SaveThread)",
  PyCapsule_Destructor: "'HPyCapsule_Destructor' is a struct declared with HPyCapsule_DESTRUCTOR",
  Py_eval_input: "'HPy_SourceKind' values differ from the start symbols and go with HPy_Compile_s",
  Py_file_input: "'HPy_SourceKind' values differ from the start symbols and go with HPy_Compile_s",
  Py_single_input: "'HPy_SourceKind' values differ from the start symbols and go with HPy_Compile_s",
  getter: 'a get-set function becomes an HPyDef_GET impl (pytype-spec)',
  setter: 'a get-set function becomes an HPyDef_SET impl (pytype-spec)',
  visitproc: 'a traverse function gets an HPy signature (pytype-spec, pyobject-field)',
  vectorcallfunc: 'a call function becomes HPyCallFunction (vectorcall)',
};

const MEMBER_TYPE = /^T_[A-Z_]+$/;
const PLAIN = /^[A-Za-z_]\w*$/;

/** `Py_ssize_t` -> `HPy_ssize_t`, `Py_LT` -> `HPy_LT`, ...: the plain renames this transform makes. */
const RENAMES: ReadonlyMap<string, string> = new Map(
  apiEntries()
    .filter((e) => (e.kind === 'constant' || e.kind === 'type') && !e.ctx && PLAIN.test(e.hpy))
    .filter((e) => NOT_RENAMED[e.cpython] === undefined && !MEMBER_TYPE.test(e.cpython))
    .map((e) => [e.cpython, e.hpy]),
);

/** Rows whose `refs` describe an object stored through a pointer or a typed pointer, not a result. */
const NOT_OBJECT_RESULTS = new Set([
  'PyContextVar_Get', 'PyDict_GetItemRef', 'PyDict_Next', 'PyWeakref_GetRef', 'PyStructSequence_InitType2', 'Py_TYPE',
  'PyObject_New', 'PyObject_NEW', 'PyObject_NewVar', 'PyObject_GC_New', 'PyObject_GC_NewVar',
]);

/** Calls that return an object: C-API ones with an object result, their HPy counterparts, and a few HPy-only ones. */
const HANDLE_RESULTS = new Set(['HPy_Dup', 'HPy_New', 'HPyField_Load', 'HPyGlobal_Load', 'HPyTupleBuilder_Build', 'HPyListBuilder_Build', 'HPyErr_NoMemory', 'HPy_Type']);
for (const e of apiEntries()) {
  if ((e.kind === 'function' || e.kind === 'macro') && (e.refs === 'same' || e.refs === 'borrowed') && !NOT_OBJECT_RESULTS.has(e.cpython)) {
    HANDLE_RESULTS.add(e.cpython);
    if (PLAIN.test(e.hpy)) HANDLE_RESULTS.add(e.hpy);
  }
}

/** How a declared name holds objects. `handle`: one handle; `pointer`: `*p` and `p[i]` are handles. */
type Shape = 'handle' | 'pointer';

/** The handles of one function, as this transform will leave them. */
interface Variables {
  shapes: Map<string, Shape>;
  /** Names declared as pointers to an object struct (`PointObject *p`). */
  structPointers: Set<string>;
  returnsHandle: boolean;
  /** Hybrid: `PyObject *` locals handed to `HPy_FromPyObject`, which stay C-API objects (`bridgedObjectLocals`). */
  kept: Set<string>;
}

/** What the planning of one pass collects. */
interface Pass {
  api: RewriteApi;
  scope: ContextScope;
  sites: NestedSite[];
  /** Functions left as they were: nothing is renamed inside them. */
  left: Span[];
  leftNames: Set<string>;
  /** The project's functions (and this file's prototypes): return shape and parameter shapes. */
  signatures: Map<string, { returnsHandle: boolean; params: boolean[] }>;
  /** Does the function stay on the C API on purpose (`legacyFunctionCheck`: one finding for a legacy helper, nothing for a hybrid table's function)? */
  legacyNote: (fn: SyntaxNode) => boolean;
}

/** A construct that keeps a function from being converted. */
interface Problem {
  node: SyntaxNode;
  message: string;
  notes: string[];
  /** What to write by hand (one line). */
  suggestion: string;
}

export default defineTransform({
  id: 'pyobject-pointer',
  summary: "PyObject * locals, parameters and returns become HPy; NULL, !x, == and casts on them follow",
  concern: 'handles',
  safety: 'safe',
  default: true,
  after: ['borrowed-reference', 'stolen-reference', 'capi-call', 'builtin-constant', 'refcount-macro', 'py-type-macro', 'pymethoddef', 'pytype-spec', 'pyarg-parse', 'pyobject-field', 'pyobject-global'],
  rewrite(file, api) {
    const pass: Pass = {
      api,
      scope: contextScope(api.index, file.text, api.target),
      sites: [],
      left: [],
      leftNames: new Set(),
      signatures: projectSignatures(api),
      legacyNote: legacyFunctionCheck(api),
    };
    for (const { fn } of api.matches(FUNCTIONS)) planFunction(pass, fn);
    for (const { decl } of api.matches(DECLARATIONS)) {
      if (!enclosingFunction(decl)) planFileScopeDeclaration(pass, decl);
    }
    planRenames(pass);
    applyNestedSites(api, pass.sites);
  },
});


/** Decides whether a function ports, and plans its declarations and handle operations. */
function planFunction(pass: Pass, fn: SyntaxNode): void {
  const { api } = pass;
  const name = functionName(fn) ?? '';
  // A function kept on the C API on purpose is left as it is, with the guard's one finding for a legacy helper.
  if (pass.legacyNote(fn)) {
    leave(pass, fn, name);
    return;
  }
  const legacy = legacyReason(pass, fn, name);
  if (legacy !== undefined) {
    if (legacy) api.report(nameNode(fn), legacy.message, { notes: legacy.notes, suggestion: legacy.suggestion });
    leave(pass, fn, name);
    return;
  }
  const problems: Problem[] = [];
  const sites: NestedSite[] = [];
  const vars = collectVariables(pass, fn, sites, problems);
  problems.push(...operationProblems(api, fn, vars));
  if (problems.length > 0) {
    for (const p of problems) api.report(p.node, p.message, { notes: [...p.notes, `'${name}' is left as it was, so that its types stay consistent`], suggestion: p.suggestion });
    leave(pass, fn, name);
    return;
  }
  planOperations(pass, fn, vars, sites);
  pass.sites.push(...sites);
}

function leave(pass: Pass, fn: SyntaxNode, name: string): void {
  pass.left.push({ start: fn.startIndex, end: fn.endIndex });
  pass.leftNames.add(name);
}

/**
 * Why a function keeps its C-API form: `undefined` when it ports, `null` when it is left without
 * a word (another transform owns it), or the finding to report.
 */
function legacyReason(pass: Pass, fn: SyntaxNode, name: string): Omit<Problem, 'node'> | null | undefined {
  const { api, scope } = pass;
  const objects = mentionsPyObject(api, fn);
  if (isModuleInit(name)) {
    if (!objects || api.isRegistered('pymoduledef')) return null;
    return { message: `'${name}' is the module's entry point: its 'PyObject *' are left`, notes: ['it becomes HPy_MODINIT plus an HPy_mod_exec slot (pymoduledef transform, not built yet)'], suggestion: 'HPy_MODINIT(name, moduledef) and the body in an HPyDef_SLOT(name_exec, HPy_mod_exec) impl: int name_exec_impl(HPyContext *ctx, HPy module)' };
  }
  const callback = scope.isCallback(name);
  if (callback && signatureMentionsPyObject(api, fn)) {
    return {
      message: `'${name}' keeps its C-API signature: its 'PyObject *' are left`,
      notes: [`'${name}' is used as a value (in a table or an assignment), so its signature is dictated by the API; it is converted with its table (pymethoddef, pytype-spec) or by hand`],
      suggestion: 'the fix the findings of its table give (pymethoddef, pytype-spec), then run hpy-migrate again; or its HPy impl signature by hand (e.g. HPy f(HPyContext *ctx, HPy self, HPy arg) for METH_O)',
    };
  }
  if (scope.isWithoutContext(name, functionParams(fn))) {
    if (!objects) return null;
    return { message: `HPy calls '${name}' without a context: its 'PyObject *' are left`, notes: ['traverse and destroy functions receive no ctx and may not use handles'], suggestion: 'the object work in an HPy_tp_finalize slot (it receives ctx) or in the caller; traverse visits HPyFields with HPy_VISIT(&p->field)' };
  }
  if (!callback) return undefined;
  if (!hasContextParam(fn) && objects) {
    return { message: `'${name}' is used as a value and has no 'HPyContext *ctx': its 'PyObject *' are left`, notes: ['a function called through a pointer cannot be given ctx, and handles need it'], suggestion: "an HPy signature with 'HPyContext *ctx' first for it and for the pointer it is called through, or keep it on the C API (--target hybrid)" };
  }
  return undefined;
}

/** The function's name node (for reports), else the function. */
function nameNode(fn: SyntaxNode): SyntaxNode {
  return functionDeclarator(fn)?.childForFieldName('declarator') ?? fn;
}

function mentionsPyObject(api: RewriteApi, target: SyntaxNode | Span): boolean {
  return /\bPyObject\b/.test(api.text(target));
}

function signatureMentionsPyObject(api: RewriteApi, fn: SyntaxNode): boolean {
  const body = fn.childForFieldName('body');
  return mentionsPyObject(api, { start: fn.startIndex, end: body?.startIndex ?? fn.endIndex });
}

/** The return type, the parameters and the local declarations of a function. */
function collectVariables(pass: Pass, fn: SyntaxNode, sites: NestedSite[], problems: Problem[]): Variables {
  const { api } = pass;
  const vars: Variables = { shapes: new Map(), structPointers: new Set(), returnsHandle: planReturnType(api, fn, sites, problems), kept: bridgedObjectLocals(api, fn) };
  const params = functionDeclarator(fn)?.childForFieldName('parameters');
  const declarations = [
    ...(params ? api.matches(PARAMETERS, params).map((m) => m.decl).filter((d) => d.parent?.id === params.id) : []),
    ...api.matches(DECLARATIONS, fn.childForFieldName('body') ?? fn).map((m) => m.decl),
  ];
  for (const decl of declarations) {
    if (isPrototype(decl)) sites.push(...planPrototype(pass, decl));
    else planDeclaration(pass, decl, vars, sites, problems);
  }
  return vars;
}

/** `static PyObject *f(...)` -> `static HPy f(...)`; true when the function returns a handle. */
function planReturnType(api: RewriteApi, fn: SyntaxNode, sites: NestedSite[], problems: Problem[]): boolean {
  const type = fn.childForFieldName('type');
  const declarator = fn.childForFieldName('declarator');
  if (!type || !declarator) return false;
  const typeName = api.text(type);
  if (typeName === 'HPy') return declarator.type === 'function_declarator';
  if (typeName !== 'PyObject') return false;
  const d = describeDeclarator(api, declarator);
  if (d.kind !== 'function' || d.stars !== 1) {
    problems.push({ node: type, message: `the return type '${api.text({ start: type.startIndex, end: functionDeclarator(fn)?.startIndex ?? type.endIndex }).trim()}' is not a single object pointer`, notes: ['a function returns one handle'], suggestion: "HPy as the return type, and other results through 'HPy *out' parameters" });
    return true;
  }
  sites.push(rename(type, 'HPy'), ...d.edits);
  return true;
}

/** The shape of a declarator under an object type, and the edits that make it an HPy one. */
interface Described {
  kind: 'variable' | 'function' | 'abstract' | 'other';
  /** Object pointers: 1 for `*x`, 2 for `**x`. */
  stars: number;
  name: SyntaxNode | null;
  isArray: boolean;
  /** `PyObject *const *args`: the constness moves to the handle (`const HPy *args`). */
  constHandles: boolean;
  edits: NestedSite[];
}

/** Reads `*x`, `**x`, `*x[3]`, `*const *x`, `*f(...)`, `*` and `**` (abstract) declarators. */
function describeDeclarator(api: RewriteApi, declarator: SyntaxNode): Described {
  const out: Described = { kind: 'other', stars: 0, name: null, isArray: false, constHandles: false, edits: [] };
  let d: SyntaxNode | null = declarator;
  if (d.type === 'pointer_declarator' || d.type === 'abstract_pointer_declarator') {
    const star = d.child(0)!;
    const qualifiers = d.namedChildren.filter((c) => c.type === 'type_qualifier');
    const inner = d.childForFieldName('declarator');
    out.stars = 1;
    if (qualifiers.length > 0) {
      if (qualifiers.length > 1 || api.text(qualifiers[0]) !== 'const' || inner?.type !== 'pointer_declarator') return out;
      out.constHandles = true;
    }
    out.edits.push(removeStar(api, { start: star.startIndex, end: (qualifiers.at(-1) ?? star).endIndex }, inner));
    d = inner;
    if (d && (d.type === 'pointer_declarator' || d.type === 'abstract_pointer_declarator')) {
      if (d.namedChildren.some((c) => c.type === 'type_qualifier')) return out;
      out.stars = 2;
      d = d.childForFieldName('declarator');
    }
  }
  if (out.stars === 0) return out;
  if (!d) out.kind = 'abstract';
  else if (d.type === 'identifier') {
    out.kind = 'variable';
    out.name = d;
  } else if (d.type === 'array_declarator' && d.childForFieldName('declarator')?.type === 'identifier') {
    out.kind = 'variable';
    out.isArray = true;
    out.name = d.childForFieldName('declarator');
  } else if (d.type === 'function_declarator' && d.childForFieldName('declarator')?.type === 'identifier') {
    out.kind = 'function';
    out.name = d.childForFieldName('declarator');
  }
  return out;
}

/**
 * Removes a `*` (with its qualifier) so that exactly one separation remains: `PyObject *a` and
 * `PyObject * a` give `HPy a`, `PyObject *\nf(` keeps its line break, `PyObject*a` gains a space.
 */
function removeStar(api: RewriteApi, star: Span, inner: SyntaxNode | null): NestedSite {
  const before = api.text({ start: Math.max(0, star.start - 80), end: star.start });
  const wsBefore = /[ \t\r\n]*$/.exec(before)![0].length;
  const afterEnd = inner ? inner.startIndex : star.end;
  const wsAfter = api.text({ start: star.end, end: afterEnd }).length;
  if (!inner || wsAfter === 0) {
    if (inner && wsBefore === 0 && /\w$/.test(before)) return literal({ ...star }, ' ');
    return literal(inner ? star : { start: star.start - wsBefore, end: star.end }, '');
  }
  return literal(wsBefore === 0 ? star : { start: star.start - wsBefore, end: star.end }, '');
}

function literal(span: Span, text: string): NestedSite {
  return { start: span.start, end: span.end, build: () => text };
}

function rename(node: SyntaxNode, text: string): NestedSite {
  return literal({ start: node.startIndex, end: node.endIndex }, text);
}

/** The type node of a declaration, and whether it is qualified (`const PyObject *`). */
function declarationType(api: RewriteApi, decl: SyntaxNode): { type: SyntaxNode | null; name: string; qualified: boolean } {
  const type = decl.childForFieldName('type');
  const qualified = decl.namedChildren.some((c) => c.type === 'type_qualifier');
  return { type, name: type ? api.text(type) : '', qualified };
}

/** `PyObject *a = NULL, *b;` -> `HPy a = HPy_NULL, b;` (and the shapes of `HPy` declarations). */
function planDeclaration(pass: Pass, decl: SyntaxNode, vars: Variables, sites: NestedSite[], problems: Problem[]): void {
  const { api } = pass;
  const { type, name, qualified } = declarationType(api, decl);
  if (!type) return;
  if (name === 'HPy') return recordHpyShapes(api, decl, vars);
  if (name !== 'PyObject') return recordStructPointers(pass, decl, name, vars);
  if (qualified) {
    problems.push({ node: decl, message: `'${api.text(decl).trim()}' declares constant objects`, notes: ["a handle has no 'const' object behind it"], suggestion: 'HPy for each of them (without const)' });
    return;
  }
  const kept = keptDeclarators(api, decl, vars);
  if (kept > 0) {
    if (kept < decl.childrenForFieldName('declarator').length) problems.push(mixedKeptProblem(api, decl));
    return;
  }
  let constHandles = false;
  const edits: NestedSite[] = [];
  for (const d of decl.childrenForFieldName('declarator')) {
    const target = d.type === 'init_declarator' ? d.childForFieldName('declarator')! : d;
    const described = describeDeclarator(api, target);
    const problem = declaratorProblem(api, decl, described);
    if (problem) {
      problems.push(problem);
      continue;
    }
    constHandles ||= described.constHandles;
    edits.push(...described.edits);
    if (described.name) vars.shapes.set(api.text(described.name), described.stars === 1 && !described.isArray ? 'handle' : 'pointer');
  }
  sites.push(rename(type, constHandles ? 'const HPy' : 'HPy'), ...edits);
}

/** How many declarators of a `PyObject *` declaration name a local kept for `HPy_FromPyObject` (hybrid). */
function keptDeclarators(api: RewriteApi, decl: SyntaxNode, vars: Variables): number {
  if (vars.kept.size === 0) return 0;
  return decl.childrenForFieldName('declarator').filter((d) => {
    const id = declaredIdentifier(d);
    return !!id && vars.kept.has(api.text(id));
  }).length;
}

function mixedKeptProblem(api: RewriteApi, decl: SyntaxNode): Problem {
  return {
    node: decl,
    message: `'${api.text(decl).trim()}' declares handles together with an object passed to 'HPy_FromPyObject'`,
    notes: ["the object handed to 'HPy_FromPyObject' stays a 'PyObject *' (C-API code of a hybrid port); the others become 'HPy'"],
    suggestion: "one declaration for the 'PyObject *' passed to HPy_FromPyObject, another for the objects that become handles, then run hpy-migrate again",
  };
}

/** Why a declarator of objects cannot become a handle declarator, if it cannot. */
function declaratorProblem(api: RewriteApi, decl: SyntaxNode, d: Described): Problem | null {
  const isParam = decl.type === 'parameter_declaration';
  if (d.kind === 'abstract' && isParam) return null;
  if (d.constHandles && !isParam) return { node: decl, message: `'${api.text(decl).trim()}' declares constant pointers to objects`, notes: ['only parameters become const handle arrays'], suggestion: 'HPy for each local handle; const HPy * only for a read-only array parameter' };
  if (d.kind !== 'variable') {
    return { node: decl, message: `'${api.text(decl).trim()}' is not a plain object pointer`, notes: ['only object pointers, arrays of them and pointers to them (parameters) become handles'], suggestion: "HPy for an object, HPy items[N] for a local array of them, HPy *out for an output parameter" };
  }
  if (d.stars === 2 && !isParam) {
    const name = api.text(d.name!);
    return { node: d.name!, message: `'${name}' is a local pointer to objects`, notes: ['HPy handles live in locals, parameters and return values: a pointer to them is fine for an output parameter or a local HPy array, never for allocated memory'], suggestion: 'a local HPy array (HPy items[N]), or an HPyTupleBuilder/HPyListBuilder to build a container' };
  }
  if (d.stars === 2 && d.isArray) return { node: d.name!, message: `'${api.text(d.name!)}' is an array of pointers to objects`, notes: ['handles cannot be reached through pointers kept in an array'], suggestion: 'a local HPy array (HPy items[N])' };
  return null;
}

/** `HPy h`, `HPy *out`, `const HPy *args`, `HPy items[3]`: handles declared already. */
function recordHpyShapes(api: RewriteApi, decl: SyntaxNode, vars: Variables): void {
  for (const d of decl.childrenForFieldName('declarator')) {
    let target = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
    let shape: Shape = 'handle';
    if (target?.type === 'pointer_declarator') {
      shape = 'pointer';
      target = target.childForFieldName('declarator');
    }
    if (target?.type === 'array_declarator') {
      shape = 'pointer';
      target = target.childForFieldName('declarator');
    }
    if (target?.type === 'identifier') vars.shapes.set(api.text(target), shape);
  }
}

/** Names declared as pointers to an object struct (`PointObject *self`): pyobject-head's. */
function recordStructPointers(pass: Pass, decl: SyntaxNode, typeName: string, vars: Variables): void {
  const structs = pass.api.index.objectStructs;
  const tag = /^struct\s+(\w+)$/.exec(typeName)?.[1];
  if (!structs.some((s) => s.typedefs.includes(typeName) || (tag !== undefined && s.tag === tag))) return;
  for (const d of decl.childrenForFieldName('declarator')) {
    const target = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
    const id = target?.type === 'pointer_declarator' ? target.childForFieldName('declarator') : null;
    if (id?.type === 'identifier') vars.structPointers.add(pass.api.text(id));
  }
}

/** Is the declaration a function prototype (`static PyObject *f(PyObject *a);`)? */
function isPrototype(decl: SyntaxNode): boolean {
  const ds = decl.childrenForFieldName('declarator');
  if (ds.length !== 1) return false;
  let d: SyntaxNode | null = ds[0];
  while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
  return d?.type === 'function_declarator' && d.childForFieldName('declarator')?.type === 'identifier';
}

/** The name declared by a prototype. */
function prototypeName(api: RewriteApi, decl: SyntaxNode): string {
  let d: SyntaxNode | null = decl.childrenForFieldName('declarator')[0];
  while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
  return api.text(d!.childForFieldName('declarator')!);
}

/** A prototype takes the signature its definition gets: return type and parameters. */
function planPrototype(pass: Pass, decl: SyntaxNode): NestedSite[] {
  const { api, scope } = pass;
  const name = prototypeName(api, decl);
  if (!mentionsPyObject(api, decl) || pass.leftNames.has(name) || isModuleInit(name)) return [];
  const fn = api.index.functions.find((f) => f.name === name);
  if (scope.isCallback(name) || scope.isWithoutContext(name, fn?.params ?? [])) {
    if (!definedHere(api, name)) {
      api.report(decl, `the prototype of '${name}' keeps its C-API signature`, { notes: [`'${name}' is used as a value, so its signature is dictated by the API`], suggestion: `the signature of the converted definition of '${name}', copied into this prototype` });
    }
    return [];
  }
  const sites: NestedSite[] = [];
  const problems: Problem[] = [];
  const { type, name: typeName, qualified } = declarationType(api, decl);
  if (type && typeName === 'PyObject') {
    const d = describeDeclarator(api, decl.childrenForFieldName('declarator')[0]);
    if (qualified || d.stars !== 1) problems.push({ node: decl, message: `the return type of '${name}' is not a single object pointer`, notes: ['a function returns one handle'], suggestion: "HPy as the return type, and other results through 'HPy *out' parameters" });
    else sites.push(rename(type, 'HPy'), ...d.edits);
  }
  const params = findFunctionDeclarator(decl)?.childForFieldName('parameters');
  const vars: Variables = { shapes: new Map(), structPointers: new Set(), returnsHandle: false, kept: new Set() };
  for (const p of params ? params.namedChildren.filter((c) => c.type === 'parameter_declaration') : []) planDeclaration(pass, p, vars, sites, problems);
  for (const p of problems) api.report(p.node, p.message, { notes: [...p.notes, `the prototype of '${name}' is left as it was`], suggestion: p.suggestion });
  return problems.length > 0 ? [] : sites;
}

function findFunctionDeclarator(decl: SyntaxNode): SyntaxNode | null {
  let d: SyntaxNode | null = decl.childrenForFieldName('declarator')[0] ?? null;
  while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
  return d?.type === 'function_declarator' ? d : null;
}

function definedHere(api: RewriteApi, name: string): boolean {
  return api.matches(FUNCTIONS).some((m) => functionName(m.fn) === name);
}

/** Prototypes are converted; file-scope `PyObject *` variables are reported. */
function planFileScopeDeclaration(pass: Pass, decl: SyntaxNode): void {
  const { api } = pass;
  if (isPrototype(decl)) {
    pass.sites.push(...planPrototype(pass, decl));
    return;
  }
  if (declarationType(api, decl).name !== 'PyObject' || api.isRegistered('pyobject-global')) return;
  for (const d of decl.childrenForFieldName('declarator')) {
    const target = d.type === 'init_declarator' ? d.childForFieldName('declarator')! : d;
    const described = describeDeclarator(api, target);
    if (described.kind !== 'variable' || !described.name) continue;
    const name = api.text(described.name);
    api.report(described.name, "file-scope 'PyObject *' cannot hold a handle; use HPyGlobal", {
      notes: ['an HPy handle lives in locals, parameters and return values only'],
      suggestion: `static HPyGlobal ${name}; with '&${name}' in the module's '.globals', HPyGlobal_Store(ctx, &${name}, h) where it is set and HPyGlobal_Load(ctx, ${name}) (a new handle to close) where it is read`,
    });
  }
}

/** Constructs that keep a function's handles from being converted: allocated handles, arithmetic. */
function operationProblems(api: RewriteApi, fn: SyntaxNode, vars: Variables): Problem[] {
  const body = fn.childForFieldName('body');
  if (!body) return [];
  const problems: Problem[] = [];
  for (const { type, sizeof } of api.matches(SIZEOFS, body)) {
    if (/\bPyObject\b/.test(api.text(type))) {
      problems.push({ node: sizeof, message: `'${api.text(sizeof)}' sizes memory for objects`, notes: ['handles may not be kept in allocated memory'], suggestion: 'a local HPy array (HPy items[N]), an HPyTupleBuilder/HPyListBuilder to build a container, or HPyFields in an object struct' });
    }
  }
  for (const { op, cmp } of api.matches(COMPARISONS, body)) {
    if (op.type !== '+' && op.type !== '-') continue;
    const operands = [cmp.childForFieldName('left')!, cmp.childForFieldName('right')!].map(unparenthesize);
    const h = operands.find((o) => o.type === 'identifier' && vars.shapes.get(api.text(o)) === 'handle');
    if (h) problems.push({ node: cmp, message: `'${api.text(cmp)}' does arithmetic on the handle '${api.text(h)}'`, notes: ['a handle is not a pointer'], suggestion: 'the arithmetic on an index or a C pointer kept next to the handle' });
  }
  for (const { arg, update } of api.matches(UPDATES, body)) {
    if (vars.shapes.get(api.text(arg)) === 'handle') problems.push({ node: update, message: `'${api.text(update)}' does arithmetic on a handle`, notes: ['a handle is not a pointer'], suggestion: 'the arithmetic on an index or a C pointer kept next to the handle' });
  }
  return problems;
}

/** Plans `NULL`, null tests, identity tests and casts on the handles of a function. */
function planOperations(pass: Pass, fn: SyntaxNode, vars: Variables, sites: NestedSite[]): void {
  const { api } = pass;
  const isHandle = (n: SyntaxNode) => isHandleExpression(pass, vars, n);
  const body = fn.childForFieldName('body');
  if (!body) return;
  for (const { cast, type, value } of api.matches(CASTS, body)) planCast(pass, vars, sites, { cast, type, value });
  for (const { null: n } of api.matches(NULLS, fn)) {
    if (isHandlePosition(pass, vars, outerParens(n))) sites.push(rename(n, 'HPy_NULL'));
  }
  for (const { cmp, op } of api.matches(COMPARISONS, body)) {
    if (op.type === '==' || op.type === '!=') planComparison(sites, cmp, op.type === '!=', isHandle);
  }
  for (const { not, arg } of api.matches(NEGATIONS, body)) {
    const operand = unparenthesize(arg);
    if (isHandle(operand)) sites.push({ start: not.startIndex, end: not.endIndex, build: (r) => `HPy_IsNull(${r(operand)})` });
  }
  for (const { cond } of api.matches(CONDITIONS, body)) {
    const c = unparenthesize(cond);
    if (isHandle(c)) sites.push({ start: c.startIndex, end: c.endIndex, build: (r) => `!HPy_IsNull(${r(c)})` });
  }
}

/** `x == NULL` -> `HPy_IsNull(x)`; `a != b` on two handles -> `!HPy_Is(ctx, a, b)`. */
function planComparison(sites: NestedSite[], cmp: SyntaxNode, negate: boolean, isHandle: (n: SyntaxNode) => boolean): void {
  const left = unparenthesize(cmp.childForFieldName('left')!);
  const right = unparenthesize(cmp.childForFieldName('right')!);
  const not = negate ? '!' : '';
  const span = { start: cmp.startIndex, end: cmp.endIndex };
  if (isNullLiteral(right) && isHandle(left)) sites.push({ ...span, build: (r) => `${not}HPy_IsNull(${r(left)})` });
  else if (isNullLiteral(left) && isHandle(right)) sites.push({ ...span, build: (r) => `${not}HPy_IsNull(${r(right)})` });
  else if (isHandle(left) && isHandle(right)) sites.push({ ...span, build: (r) => `${not}HPy_Is(ctx, ${r(left)}, ${r(right)})` });
}

function isNullLiteral(n: SyntaxNode): boolean {
  return n.type === 'null' || (n.type === 'identifier' && n.text === 'HPy_NULL');
}

/** `(PyObject *)h` -> `h`; other casts to `PyObject *` are reported unless their owner converts them. */
function planCast(pass: Pass, vars: Variables, sites: NestedSite[], m: { cast: SyntaxNode; type: SyntaxNode; value: SyntaxNode }): void {
  const { api } = pass;
  if (api.text(m.type).replace(/\s+/g, '') !== 'PyObject*') return;
  const value = unparenthesize(m.value);
  // Hybrid: the object handed to HPy (`HPy_FromPyObject(ctx, (PyObject *)&XType)`) is a C-API object.
  if (api.target === 'hybrid' && isBridgeArgument(m.cast)) return;
  if (isHandleExpression(pass, vars, value)) {
    sites.push({ start: m.cast.startIndex, end: m.cast.endIndex, build: (r) => r(m.value) });
    return;
  }
  const owner = castOwner(pass, vars, value);
  if (owner && api.isRegistered(owner)) return;
  api.report(m.cast, `'${api.text(m.cast)}' is left: it does not cast a handle`, { notes: ["a cast to 'PyObject *' means nothing under HPy: an object is a handle"], suggestion: castNote(api, value, owner) });
}

/** Is `node` (through parentheses) the object argument of `HPy_FromPyObject(ctx, obj)`? */
function isBridgeArgument(node: SyntaxNode): boolean {
  const arg = outerParens(node);
  const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : null;
  return !!call && calleeName(call) === 'HPy_FromPyObject' && callArguments(call)[1]?.id === arg.id;
}

/** What to write instead of a cast to `PyObject *` that is not a handle. */
function castNote(api: RewriteApi, value: SyntaxNode, owner: string | null): string {
  if (owner === 'pyobject-head') {
    return `'${api.text(value)}' points to an object struct: the object is the handle the struct was reached from ('T_AsStruct(ctx, h)'); use that handle (pyobject-head transform, not built yet)`;
  }
  if (value.type === 'pointer_expression' && api.text(value).startsWith('&')) {
    return "a type object is a handle under HPy: create it from its spec in the module's exec slot (HPyType_FromSpec) and keep it in an HPyGlobal, or pass the handle you already have";
  }
  return `'${api.text(value)}' is not a handle of this function; pass the handle the object came from`;
}

/** Which transform converts the operand of a `(PyObject *)` cast, if any. */
function castOwner(pass: Pass, vars: Variables, value: SyntaxNode): string | null {
  const { api } = pass;
  if (value.type === 'identifier' && vars.structPointers.has(api.text(value))) return 'pyobject-head';
  if (value.type === 'pointer_expression' && value.child(0)?.type === '&') {
    const arg = value.childForFieldName('argument');
    if (arg?.type === 'identifier' && builtinObjectEntry(api.text(arg))) return 'builtin-constant';
  }
  return null;
}

/** Does the expression hold a handle (after this transform)? */
function isHandleExpression(pass: Pass, vars: Variables, node: SyntaxNode): boolean {
  const { api } = pass;
  const n = unparenthesize(node);
  switch (n.type) {
    case 'identifier':
      return vars.shapes.get(api.text(n)) === 'handle';
    case 'field_expression':
      return /^ctx\s*->\s*h_\w+$/.test(api.text(n));
    case 'pointer_expression':
      return n.child(0)?.type === '*' && isPointerName(api, vars, n.childForFieldName('argument'));
    case 'subscript_expression':
      return isPointerName(api, vars, n.childForFieldName('argument'));
    case 'assignment_expression':
      return n.childForFieldName('operator')?.type === '=' && isHandleExpression(pass, vars, n.childForFieldName('left')!);
    case 'call_expression':
      return returnsHandle(pass, calleeName(n));
    case 'cast_expression':
      return api.text(n.childForFieldName('type')!).replace(/\s+/g, '') === 'PyObject*' && isHandleExpression(pass, vars, n.childForFieldName('value')!);
    case 'conditional_expression':
      return [n.childForFieldName('consequence'), n.childForFieldName('alternative')].every((b) => !!b && (isHandleExpression(pass, vars, b) || isNullLiteral(unparenthesize(b))));
    default:
      return false;
  }
}

function isPointerName(api: RewriteApi, vars: Variables, n: SyntaxNode | null): boolean {
  return !!n && n.type === 'identifier' && vars.shapes.get(api.text(n)) === 'pointer';
}

function returnsHandle(pass: Pass, name: string | null): boolean {
  if (!name) return false;
  const own = pass.signatures.get(name);
  return own ? own.returnsHandle : HANDLE_RESULTS.has(name);
}

/** Is a value written at `node` stored as a handle (so that a `NULL` there is `HPy_NULL`)? */
function isHandlePosition(pass: Pass, vars: Variables, node: SyntaxNode): boolean {
  const { api } = pass;
  const p = node.parent;
  if (!p) return false;
  switch (p.type) {
    case 'return_statement':
      return vars.returnsHandle;
    case 'assignment_expression':
      return sameNode(p.childForFieldName('right'), node) && p.childForFieldName('operator')?.type === '=' && isHandleExpression(pass, vars, p.childForFieldName('left')!);
    case 'init_declarator':
      return declaresShape(api, p, 'handle') && !vars.kept.has(api.text(declaredIdentifier(p) ?? p));
    case 'initializer_list':
      return p.parent?.type === 'init_declarator' && declaresShape(api, p.parent, 'pointer');
    case 'conditional_expression':
      return !sameNode(p.childForFieldName('condition'), node) && isHandlePosition(pass, vars, outerParens(p));
    case 'argument_list':
      return isHandleArgument(pass, p, node);
    default:
      return false;
  }
}

/** Does an init declarator declare an object of `shape` (`PyObject *a = ...`, `HPy a = ...`, `PyObject *v[2] = {...}`)? */
function declaresShape(api: RewriteApi, init: SyntaxNode, shape: Shape): boolean {
  const decl = init.parent;
  if (!decl || decl.type !== 'declaration') return false;
  const type = api.text(decl.childForFieldName('type') ?? decl);
  const d = init.childForFieldName('declarator')!;
  if (type === 'HPy') return shape === 'handle' ? d.type === 'identifier' : d.type === 'array_declarator';
  if (type !== 'PyObject' || d.type !== 'pointer_declarator') return false;
  const inner = d.childForFieldName('declarator');
  return shape === 'handle' ? inner?.type === 'identifier' : inner?.type === 'array_declarator';
}

/** An argument passed for a handle parameter of one of the project's functions. */
function isHandleArgument(pass: Pass, args: SyntaxNode, node: SyntaxNode): boolean {
  const call = args.parent;
  const sig = call?.type === 'call_expression' ? pass.signatures.get(calleeName(call) ?? '') : undefined;
  if (!call || !sig) return false;
  const list = callArguments(call);
  const i = list.findIndex((a) => sameNode(a, node));
  return list.length === sig.params.length && i >= 0 && sig.params[i];
}

/** The project's functions and this file's prototypes: which return a handle, which parameters are handles. */
function projectSignatures(api: RewriteApi): Pass['signatures'] {
  const out: Pass['signatures'] = new Map();
  for (const f of api.index.functions) {
    out.set(f.name, { returnsHandle: isHandleType(f.returnType), params: f.params.map((p) => isHandleType(p.type)) });
  }
  for (const { decl } of api.matches(DECLARATIONS)) {
    const fd = isPrototype(decl) ? findFunctionDeclarator(decl) : null;
    const name = fd ? prototypeName(api, decl) : '';
    if (!fd || out.has(name)) continue;
    const stars = api.text({ start: decl.childrenForFieldName('declarator')[0].startIndex, end: fd.startIndex }).replace(/[^*]/g, '');
    const params = (fd.childForFieldName('parameters')?.namedChildren ?? []).filter((c) => c.type === 'parameter_declaration');
    out.set(name, {
      returnsHandle: isHandleType(`${api.text(decl.childForFieldName('type')!)} ${stars}`),
      params: params.map((p) => isHandleType(`${api.text(p.childForFieldName('type')!)} ${api.text(p).replace(/[^*]/g, '')}`)),
    });
  }
  return out;
}

/** `PyObject *` or `HPy`, as a type is written in the index (`PyObject *`, `HPy`). */
function isHandleType(type: string): boolean {
  return /^(?:PyObject \*|HPy)$/.test(type.replace(/\s+/g, ' ').trim());
}

function outerParens(n: SyntaxNode): SyntaxNode {
  let o = n;
  while (o.parent?.type === 'parenthesized_expression') o = o.parent;
  return o;
}

function sameNode(a: SyntaxNode | null | undefined, b: SyntaxNode): boolean {
  return !!a && a.startIndex === b.startIndex && a.endIndex === b.endIndex && a.type === b.type;
}

/** `Py_ssize_t` -> `HPy_ssize_t` and the other plain renames, outside the functions left alone. */
function planRenames(pass: Pass): void {
  const { api } = pass;
  const conditions = api.matches(PREPROCESSOR_CONDITIONS).map((m) => m.condition);
  const reportedMembers = new Set<string>();
  for (const { name } of api.matches(NAMES)) {
    const text = api.text(name);
    if (inPreprocessorSyntax(name, conditions)) continue;
    if (name.type === 'type_identifier' && planTypeWithoutCounterpart(pass, name, text)) continue;
    if (pass.left.some((s) => s.start <= name.startIndex && name.endIndex <= s.end)) continue;
    const hpy = RENAMES.get(text);
    if (hpy !== undefined) pass.sites.push(rename(name, hpy));
    else if (MEMBER_TYPE.test(text) && apiEntry(text) && !api.isRegistered('pytype-spec') && !reportedMembers.has(text)) {
      reportedMembers.add(text);
      api.report(name, `'${text}' is left: member types go with their table`, { notes: ['a PyMemberDef row becomes an HPyDef_MEMBER (pytype-spec transform, not built yet)'], suggestion: `HPyDef_MEMBER(sym, "name", ${apiEntry(text)!.hpy}, offsetof(T, field)) in the type's defines` });
    }
  }
}

function inPreprocessorSyntax(node: SyntaxNode, conditions: readonly SyntaxNode[]): boolean {
  if (node.parent && PREPROCESSOR_NAME_PARENTS.has(node.parent.type)) return true;
  return conditions.some((c) => c.startIndex <= node.startIndex && node.endIndex <= c.endIndex);
}

/**
 * Types the api map has no plain rename for: `Py_UCS1`/`Py_UCS2` become the standard integer types
 * they are (also in functions left on the C API: the same C type), `Py_buffer` becomes `HPy_buffer`
 * as the view parameter of a function HPy calls with ctx, and `PyGILState_STATE`, `PyArena` and
 * any other `Py_buffer` are reported. True when `name` is such a type.
 */
function planTypeWithoutCounterpart(pass: Pass, name: SyntaxNode, text: string): boolean {
  const { api } = pass;
  if (text === 'Py_buffer') {
    const fn = enclosingFunction(name);
    const left = pass.left.some((s) => s.start <= name.startIndex && name.endIndex <= s.end);
    const problem = fn && !left ? bufferViewProblem(api, fn, name) : 'it is not the view parameter of a function that receives ctx';
    if (problem) {
      api.report(name, "'Py_buffer' is left: HPy 0.9.0 has 'HPy_buffer' only for the buffers a type provides (HPy_bf_getbuffer)", {
        notes: [`${problem}; ${apiEntry('Py_buffer')!.notes}`, 'HPy 0.9.0 cannot request a buffer from another object (no PyObject_GetBuffer)'],
        suggestion: "a provider: an HPy_bf_getbuffer slot taking 'HPy_buffer *view' with 'view->obj = HPy_Dup(ctx, self)'; a consumer: read the data through the object's own API (HPyBytes_AsString + HPyBytes_Size for bytes), or keep the function on the C API (--target hybrid)",
      });
    } else pass.sites.push(rename(name, 'HPy_buffer'));
    return true;
  }
  const entry = unmappedName(text);
  if (entry?.kind !== 'type') return false;
  if (entry.replacement) pass.sites.push(rename(name, entry.replacement));
  else api.report(name, `'${text}' has no HPy 0.9.0 counterpart`, { notes: [entry.reason], suggestion: entry.suggestion });
  return true;
}

/**
 * Why `Py_buffer` at `name` is not the view of a buffer slot HPy calls: it must be a `Py_buffer *`
 * parameter of a function with ctx whose `->obj` is only assigned new handles (`HPy_Dup`) or
 * `HPy_NULL`, as `HPy_buffer.obj` is a handle the view owns.
 */
function bufferViewProblem(api: RewriteApi, fn: SyntaxNode, name: SyntaxNode): string | null {
  const param = name.parent;
  const declarator = param?.type === 'parameter_declaration' ? param.childForFieldName('declarator') : null;
  const view = declarator?.type === 'pointer_declarator' ? declarator.childForFieldName('declarator') : null;
  if (!hasContextParam(fn) || view?.type !== 'identifier') return "it is not the 'Py_buffer *' parameter of a function that receives ctx";
  const body = fn.childForFieldName('body');
  const uses = body ? api.text(body).match(new RegExp(`\\b${api.text(view)}\\s*->\\s*obj\\b(?:\\s*=(?!=)\\s*[^;]*)?`, 'g')) ?? [] : [];
  const bad = uses.find((u) => !/=\s*(?:HPy_Dup\s*\(|HPy_NULL\s*$)/.test(u));
  return bad ? `'${bad.split('=')[0].trim()}' is used other than to store a new handle ('HPy_Dup') or 'HPy_NULL'` : null;
}
