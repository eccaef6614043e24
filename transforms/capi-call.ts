/**
 * Turns direct C-API calls into their HPy counterparts, with `ctx` as the first argument.
 *
 * ## Why
 * Every HPy function takes the context first (`HPyContext *ctx`) and has its own name; the
 * CPython functions do not exist in a universal HPy build. For most of the object API the port
 * is a rename plus `ctx`: the mapping the HPy porting guide lists as safe to apply directly
 * (https://docs.hpyproject.org/en/latest/porting-guide.html).
 * The calls that are not a plain rename (other arguments, borrowed results, stolen arguments, no
 * counterpart in HPy 0.9.0) are reported with what to write instead.
 *
 * ## Before
 * ```c
 * static HPy add_one(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     HPy one = PyLong_FromLong(1);
 *     if (PyErr_Occurred() != NULL)
 *         return HPy_NULL;
 *     HPy sum = PyNumber_Add(arg, one);
 *     HPy_Close(ctx, one);
 *     return sum;
 * }
 * ```
 * ## After
 * ```c
 * static HPy add_one(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     HPy one = HPyLong_FromLong(ctx, 1);
 *     if (HPyErr_Occurred(ctx))
 *         return HPy_NULL;
 *     HPy sum = HPy_Add(ctx, arg, one);
 *     HPy_Close(ctx, one);
 *     return sum;
 * }
 * ```
 * ## Safety
 * safe: only calls whose api-map row is a direct rename are rewritten (`callFormOf` in
 * `src/api/call-forms.ts`): an HPy function with the same arguments in the same order, taking
 * `ctx` first, and returning a new handle exactly where CPython returned a new reference. The
 * argument text is kept byte for byte, except a literal `NULL` passed for a handle parameter
 * that HPy lets be null, which becomes `HPy_NULL`. `PyErr_Occurred()` is rewritten only where its
 * result is tested for truth or compared with `NULL`, since `HPyErr_Occurred` returns an int flag.
 * Type checks without a dedicated HPy checker (`PyLong_Check(o)`) become
 * `HPy_TypeCheck(ctx, o, ctx->h_LongType)`, which accepts subclasses as the macro did.
 * `Py_BEGIN_ALLOW_THREADS` ... `Py_END_ALLOW_THREADS` (one block, no API call inside) becomes
 * `HPy_BEGIN_LEAVE_PYTHON(ctx)` ... `HPy_END_LEAVE_PYTHON(ctx)`; a block that calls the API, or a
 * lone macro, is reported and left (HPy allows no HPy call while Python is left).
 * `Py_LOCAL_INLINE(T)` and `Py_LOCAL(T)` become `static inline T` and `static T`, their expansion.
 *
 * The `PyObject_Call*` family keeps the callee, the arguments and their order, and HPy takes no
 * reference to any of them, as CPython took none (`familyCall` in `src/api/call-forms.ts`):
 * `PyObject_CallObject(f, t)` is `HPy_CallTupleDict(ctx, f, t, HPy_NULL)` (`NULL` for `t` becomes
 * `HPy_NULL`, which 0.9.0 accepts as no arguments); `PyObject_CallNoArgs(f)`,
 * `PyObject_CallOneArg(f, a)` and `PyObject_CallFunctionObjArgs(f, a, b, NULL)` are
 * `HPy_Call(ctx, f, (HPy[]){a, b}, 2, HPy_NULL)` (`NULL, 0` without arguments);
 * `PyObject_CallMethodNoArgs/OneArg/ObjArgs(o, name, ...)` are
 * `HPy_CallMethod(ctx, name, (HPy[]){o, ...}, n, HPy_NULL)`, the receiver first as 0.9.0 wants.
 * `PyObject_CallFunction(f, fmt, ...)` and `PyObject_CallMethod(o, "name", fmt, ...)` build their
 * argument tuple with `HPy_BuildValue` (the units wrapped in `(...)`, or the format as it is when
 * it is one `(...)` group, which CPython unpacks the same way) and pass it to a helper added once
 * per file (`call_with_tuple`, `call_method_with_tuple`) that calls with it and closes it; a
 * failed build gives `HPy_NULL` with its exception, as CPython returned NULL. Without a format
 * `PyObject_CallFunction(f, NULL)` is `HPy_Call(ctx, f, NULL, 0, HPy_NULL)`. A call is converted
 * only when every object argument (callee, receiver, items, `O`/`S` values) is an expression
 * without a call, so that no new object is left unclosed; the C values of a format may be any
 * expression. One order changes: `PyObject_CallMethod` looked the method up before building the
 * arguments, the helper gets them built first (only the exception raised when both fail differs).
 *
 * ## Limits
 * Reported (warning) and left alone:
 * - borrowed getters and stealing functions when their transforms (borrowed-reference,
 *   stolen-reference, pymoduledef) are not registered: HPy returns new handles and never steals;
 * - a name owned by a transform that exists but is not part of this run, when that transform's
 *   own analysis says the call stays (`unconvertedCallReason`: e.g. the review transforms
 *   borrowed-reference and stolen-reference in a default run, in a helper other transforms convert);
 * - `PyMem_Malloc`/`Calloc`/`Realloc`/`Free` (and `PyObject_Malloc`/`Free`): HPy 0.9.0 has no
 *   allocator, and the suggestion is the C library's `malloc`/`calloc`/`realloc`/`free`. They are
 *   not rewritten automatically: `PyMem_Free` also frees memory that C-API functions allocated
 *   (which plain `free` must not), and `PyMem_Malloc(0)` never returns NULL where `malloc(0)` may;
 * - names without a counterpart in HPy 0.9.0, and names whose HPy form takes other arguments or
 *   several steps (`PyLong_CheckExact`, `PyList_New(n)`, a `Py_BuildValue` format with units HPy
 *   lacks, ...), each with the pattern to write;
 * - C-API macros the api map lacks (`UNMAPPED_NAMES` in `src/api/unmapped-names.ts`): `Py_SIZE`
 *   and `Py_SET_SIZE` (HPy 0.9.0 has no variable-size objects; `HPy_Length` is the length only
 *   for a tuple, list or bytes object, so the choice is the porter's), the macros that read a str
 *   object's internal buffer (`PyUnicode_DATA`, `PyUnicode_1BYTE_DATA`, ...);
 * - `PyGILState_Ensure`/`PyGILState_Release`: HPy 0.9.0 cannot take the GIL from a foreign
 *   thread; code HPy calls holds it already (the suggestion says to drop the pair there);
 * - calls of the `PyObject_Call*` family with an object argument computed by a call (its new
 *   object would stay unclosed), a format that is not a literal or has units `HPy_BuildValue`
 *   lacks (`s#`, `N`, ...), a lone `O`/`S` unit (CPython passes a tuple's items as the arguments),
 *   a list without its `NULL` end, or comments among the arguments (they would be lost);
 * - `PyErr_Occurred()` used as an object (assigned, passed on, compared with an exception);
 * - the argument tuple of a method that now receives `const HPy *args` (use `nargs`, `args[i]`);
 * - calls at file scope, where no `ctx` exists.
 * A function that lacks its `HPyContext *ctx` parameter is still converted, and reported once.
 * Left alone without a word: names another registered transform owns (`CALL_OWNERS`: reference
 * counting, `Py_RETURN_*`, `Py_TYPE`); names owned by a transform not built yet (argument parsing, module and
 * type definitions) are reported with the row's notes. Also left alone: functions of the project that
 * happen to carry an API name, and calls inside `#define` bodies. A `NULL` passed for any other
 * handle parameter is left to the pyobject-pointer transform. An argument of
 * `PyObject_Call*ObjArgs` written with `NULL` (`x ? x : NULL`) is reported, as CPython ends the
 * list there; a variable that is NULL at run time ends it too, which the text cannot show: the
 * HPy call would get a null handle, so a call that relies on that idiom must be split by hand.
 * Every finding says what to write by hand (its `suggestion`).
 */
import {
  callArguments,
  codeWithoutCommentsAndStrings,
  callFormOf,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  DIRECT_WHEN,
  enclosingFunction,
  familyCall,
  FLAG_RESULTS,
  functionParams,
  GIL_STATE_SUGGESTION,
  NULL_HANDLE_PARAMS,
  splitRowNotes,
  suggestingApi,
  TYPE_CHECKS,
  unconvertedCallReason,
  unmappedName,
  unparenthesize,
  unusedName,
  type CallClass,
  type ContextGuard,
  type FamilyCall,
  type RewriteApi,
  type SourceFile,
  type SyntaxNode,
} from '../src/api/index.js';

const CALLS = '(call_expression function: (identifier) @name arguments: (argument_list) @args) @call';
const DECLARED_FUNCTIONS = '(function_declarator declarator: (identifier) @name)';
const COUNT_TYPES = new Set(['size_t', 'HPy_ssize_t', 'Py_ssize_t']);

/** How the result of a flag-returning call (`PyErr_Occurred()`) is used. */
type FlagUse = { kind: 'truth' } | { kind: 'null-test'; node: SyntaxNode; negate: boolean } | { kind: 'object' };

export default defineTransform({
  id: 'capi-call',
  summary: 'direct C-API calls become HPy calls with ctx first, from the api map',
  concern: 'handles',
  safety: 'safe',
  default: true,
  // Signatures first: bodies are converted once their functions have ctx (docs/PORTING-PIPELINE.md).
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field', 'stolen-reference', 'borrowed-reference'],
  rewrite(file, api) {
    const own = projectFunctionNames(api);
    const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
    const helpers = newHelpers(file.text);
    for (const { call, name, args } of api.matches(CALLS)) {
      const callee = api.text(name);
      if (own.has(callee)) continue;
      const cls = callFormOf(callee);
      if (!cls) {
        reportUnmappedCall(api, name, callee);
        continue;
      }
      if (cls.form === 'owned') {
        if (!api.isRegistered(cls.owner!)) reportUnbuiltOwner(api, name, cls);
        else if (!api.isSelected(cls.owner!)) reportOwnerNotRunning(api, guard, call, name);
        continue;
      }
      if (cls.form === 'direct') convertDirect(api, guard, { call, name, args }, cls, helpers);
      else if (cls.form === 'type-check') convertTypeCheck(api, guard, { call, name, args }, cls);
      else reportForm(api, name, cls);
    }
    convertThreadMacros(file.text, file.tree.rootNode, api, guard);
    convertLocalMacros(file, api);
    insertHelpers(api, file, helpers);
  },
});

const THREAD_MACROS: Record<string, string> = {
  Py_BEGIN_ALLOW_THREADS: 'HPy_BEGIN_LEAVE_PYTHON(ctx)',
  Py_END_ALLOW_THREADS: 'HPy_END_LEAVE_PYTHON(ctx)',
};

/**
 * `Py_BEGIN_ALLOW_THREADS` / `Py_END_ALLOW_THREADS` are parsed through a mask (a `{ ... }` block),
 * so they are found in the text: each pair inside one function becomes the HPy pair, which also
 * opens and closes a block. A block that still calls the API is reported (HPy allows no HPy call
 * between the two) and left, as is a lone macro.
 */
function convertThreadMacros(text: string, root: SyntaxNode, api: RewriteApi, guard: ContextGuard): void {
  const found = [...text.matchAll(/\bPy_(?:BEGIN|END)_ALLOW_THREADS\b/g)].map((m) => ({ name: m[0], start: m.index!, end: m.index! + m[0].length }));
  for (let i = 0; i < found.length; i++) {
    const begin = found[i];
    if (begin.name !== 'Py_BEGIN_ALLOW_THREADS') continue;
    const node = root.descendantForIndex(begin.start, begin.end);
    if (node.type === 'comment' || node.type === 'string_content' || node.type === 'string_literal') continue;
    const end = found[i + 1];
    // The masks make the pair a `{ ... }` block: it must be one block, opened and closed here.
    const block = node.type === 'compound_statement' ? node : node.parent;
    if (!end || end.name !== 'Py_END_ALLOW_THREADS' || block?.type !== 'compound_statement' || block.startIndex !== begin.start || block.endIndex !== end.start + 1) {
      api.report(begin, `'${begin.name}' without its 'Py_END_ALLOW_THREADS' in the same block: left alone`, { notes: ['HPy_BEGIN_LEAVE_PYTHON(ctx) and HPy_END_LEAVE_PYTHON(ctx) open and close one block: they must pair in the same block of a function'], suggestion: 'HPy_BEGIN_LEAVE_PYTHON(ctx) ... HPy_END_LEAVE_PYTHON(ctx) around plain C code, in one block' });
      continue;
    }
    const inside = text.slice(begin.end, end.start);
    // Calls of the API (types such as HPy_ssize_t are fine while Python is left).
    const apiUse = /\b(?:_?Py[A-Z]\w*|HPy\w*)(?=\s*\()|\bctx\b/.exec(codeWithoutCommentsAndStrings(inside));
    if (apiUse) {
      api.report(begin, `'${apiUse[0]}' is used between the thread macros: left alone`, { notes: ['HPy allows no HPy call between HPy_BEGIN_LEAVE_PYTHON and HPy_END_LEAVE_PYTHON: move it out of the block, then run hpy-migrate again'], suggestion: `'${apiUse[0]}' before Py_BEGIN_ALLOW_THREADS or after Py_END_ALLOW_THREADS, then HPy_BEGIN_LEAVE_PYTHON(ctx) ... HPy_END_LEAVE_PYTHON(ctx) around the plain C code left` });
      continue;
    }
    if (!guard.allows(node, begin.name)) continue;
    api.replace(begin, THREAD_MACROS[begin.name]);
    api.replace(end, THREAD_MACROS[end.name]);
  }
}

/** Functions defined in the project or declared in this file: their calls are not API calls. */
function projectFunctionNames(api: RewriteApi): Set<string> {
  const names = new Set(api.index.functions.map((f) => f.name));
  for (const { name } of api.matches(DECLARED_FUNCTIONS)) names.add(api.text(name));
  return names;
}

interface CallNodes {
  call: SyntaxNode;
  name: SyntaxNode;
  args: SyntaxNode;
}

function convertDirect(api: RewriteApi, guard: ContextGuard, nodes: CallNodes, cls: CallClass, helpers: Helpers): void {
  const { cpython, hpy } = cls.entry;
  const args = callArguments(nodes.call);
  const texts = args.map((a) => api.text(a));
  const problem = DIRECT_WHEN[cpython]?.(texts);
  if (problem) return reportForm(api, nodes.name, { ...cls, form: 'pattern', reason: problem }, familySuggestion(cpython, texts));
  const array = handleArrayArgument(nodes.call, args);
  if (array) return reportHandleArray(api, array, nodes.call);
  const family = familyCall(cpython, texts);
  if (family && !('problem' in family)) return convertFamily(api, guard, nodes, family, helpers);
  const use: FlagUse = FLAG_RESULTS[cpython] ? flagUse(nodes.call) : { kind: 'truth' };
  if (use.kind === 'object') return reportFlagAsObject(api, nodes.call, cls);
  if (!guard.allows(nodes.call, cpython)) return;
  if (use.kind === 'null-test') {
    api.replace(use.node, `${use.negate ? '!' : ''}${hpy}(${contextArgument(api, nodes.args)}${api.text(nodes.args).slice(1)}`);
    return;
  }
  api.replace(nodes.name, hpy);
  api.insertAfter(nodes.args.child(0)!, contextArgument(api, nodes.args));
  for (const i of NULL_HANDLE_PARAMS[cpython] ?? []) {
    if (args[i] && args[i].type === 'null' && api.text(args[i]) === 'NULL') api.replace(args[i], 'HPy_NULL');
  }
}

/** `PyLong_Check(o)` becomes `HPy_TypeCheck(ctx, o, ctx->h_LongType)`. */
function convertTypeCheck(api: RewriteApi, guard: ContextGuard, nodes: CallNodes, cls: CallClass): void {
  const args = callArguments(nodes.call);
  const { cpython, hpy } = cls.entry;
  if (args.length !== 1) return reportForm(api, nodes.name, { ...cls, form: 'pattern', reason: `'${cpython}' takes one argument` });
  if (!guard.allows(nodes.call, cpython)) return;
  api.replace(nodes.name, hpy);
  api.insertAfter(nodes.args.child(0)!, 'ctx, ');
  api.insertAfter(args[0], `, ctx->${TYPE_CHECKS[cpython]}`);
}

/** `ctx`, followed by a separator when other arguments come after it (kept on the same line). */
function contextArgument(api: RewriteApi, argumentList: SyntaxNode): string {
  const inner = api.text(argumentList).slice(1, -1);
  if (argumentList.namedChildren.every((n) => n.type === 'comment') && !inner.includes(',')) return 'ctx';
  return /^[ \t]*\r?\n/.test(inner) ? 'ctx,' : 'ctx, ';
}

/**
 * An argument naming the `const HPy *args` parameter of the HPyFunc_VARARGS/KEYWORDS shape (an
 * array followed by its count): what used to be the argument tuple.
 */
function handleArrayArgument(call: SyntaxNode, args: SyntaxNode[]): SyntaxNode | undefined {
  const fn = enclosingFunction(call);
  const params = fn ? functionParams(fn) : [];
  const arrays = new Set(params.filter((p, i) => /^HPy \*$/.test(p.type) && COUNT_TYPES.has(params[i + 1]?.type)).map((p) => p.name));
  return args.find((a) => a.type === 'identifier' && arrays.has(a.text));
}

function flagUse(call: SyntaxNode): FlagUse {
  let up = call;
  while (up.parent?.type === 'parenthesized_expression') up = up.parent;
  const p = up.parent;
  if (!p) return { kind: 'object' };
  const op = p.childForFieldName('operator')?.type;
  if (p.type === 'binary_expression' && (op === '==' || op === '!=')) {
    const left = p.childForFieldName('left');
    const other = left && sameNode(left, up) ? p.childForFieldName('right') : left;
    return other && isNullConstant(unparenthesize(other)) ? { kind: 'null-test', node: p, negate: op === '==' } : { kind: 'object' };
  }
  if (p.type === 'binary_expression') return op === '&&' || op === '||' ? { kind: 'truth' } : { kind: 'object' };
  if (p.type === 'unary_expression') return op === '!' ? { kind: 'truth' } : { kind: 'object' };
  if (p.type === 'expression_statement') return { kind: 'truth' };
  const condition = p.childForFieldName('condition');
  return condition && sameNode(condition, up) ? { kind: 'truth' } : { kind: 'object' };
}

function sameNode(a: SyntaxNode, b: SyntaxNode): boolean {
  return a.startIndex === b.startIndex && a.endIndex === b.endIndex && a.type === b.type;
}

function isNullConstant(n: SyntaxNode): boolean {
  return n.type === 'null' || (n.type === 'number_literal' && n.text === '0');
}

function reportForm(api: RewriteApi, at: SyntaxNode, cls: CallClass, suggestion?: string): void {
  const { cpython, hpy, notes, refs } = cls.entry;
  const rowNotes = notes ? [notes] : [];
  const write = suggestion ?? CALL_SUGGESTIONS[cpython];
  switch (cls.form) {
    case 'no-counterpart': {
      const split = splitRowNotes(cpython, notes);
      return api.report(at, `'${cpython}' has no HPy 0.9.0 counterpart`, { notes: write ? rowNotes : split.why, suggestion: write ?? split.write });
    }
    case 'borrowed':
      return api.report(at, `'${cpython}' returns a borrowed reference; its HPy counterpart '${hpy}' returns a new handle`, {
        notes: notes ? rowNotes : ['close that handle exactly once on every path, or return it'],
        suggestion: write ?? `HPy h = ${hpy}(ctx, ...); use 'h', then HPy_Close(ctx, h) on every path after its last use (or return it)`,
      });
    case 'steals': {
      const when = refs === 'steals-on-success' ? ' on success' : '';
      return api.report(at, `'${cpython}' steals a reference to its argument${when}; its HPy counterpart '${hpy}' does not steal`, {
        notes: notes ? rowNotes : ['close your own handle after the call if you no longer need it'],
        suggestion: write ?? `${hpy}(ctx, ...), then HPy_Close(ctx, h) on the handle you passed once you no longer need it`,
      });
    }
    default:
      // The row's notes are the form to write: they go in the suggestion, not twice.
      return api.report(at, `'${cpython}' does not map one-to-one to '${hpy}'`, {
        notes: write || !notes ? [cls.reason, ...rowNotes] : [cls.reason],
        suggestion: write ?? (notes || `${hpy}(ctx, ...) by hand: ${cls.reason}`),
      });
  }
}

/** What to write instead of a call the api map's notes say too little about (by CPython name). */
const CALL_SUGGESTIONS: Readonly<Record<string, string>> = {
  PyGILState_Ensure: GIL_STATE_SUGGESTION,
  PyGILState_Release: GIL_STATE_SUGGESTION,
  PyGILState_GetThisThreadState: GIL_STATE_SUGGESTION,
  PyEval_SaveThread: 'HPy_BEGIN_LEAVE_PYTHON(ctx) ... HPy_END_LEAVE_PYTHON(ctx) around plain C code, or HPyThreadState ts = HPy_LeavePythonExecution(ctx); ... HPy_ReenterPythonExecution(ctx, ts);',
  PyEval_RestoreThread: 'HPy_BEGIN_LEAVE_PYTHON(ctx) ... HPy_END_LEAVE_PYTHON(ctx) around plain C code, or HPyThreadState ts = HPy_LeavePythonExecution(ctx); ... HPy_ReenterPythonExecution(ctx, ts);',
  PyObject_GetBuffer: "read the data through the object's own API (HPyBytes_AsString + HPyBytes_Size for bytes, ...), or keep this function on the C API (--target hybrid leaves it on the legacy path)",
  PyBuffer_Release: "goes with PyObject_GetBuffer: read the data through the object's own API (HPyBytes_AsString + HPyBytes_Size for bytes, ...), or keep this function on the C API (--target hybrid)",
  PySequence_Check: "test the types you accept (HPyList_Check, HPyTuple_Check, ...), or HPy_HasAttr_s(ctx, o, \"__getitem__\") && !HPyDict_Check(ctx, o)",
  PyMapping_Check: 'HPy_HasAttr_s(ctx, o, "__getitem__"), or test the types you accept (HPyDict_Check, ...)',
  PyErr_Print: 'HPyErr_WriteUnraisable(ctx, HPy_NULL) (prints and clears the current exception as unraisable)',
  PyList_New: 'HPyListBuilder b = HPyListBuilder_New(ctx, n); HPyListBuilder_Set(ctx, b, i, h) for each item; HPy list = HPyListBuilder_Build(ctx, b); (HPyListBuilder_Cancel(ctx, b) on an error path)',
  PyBytes_FromStringAndSize: 'fill a C buffer of your own first (malloc), then HPyBytes_FromStringAndSize(ctx, buf, n) and free the buffer',
  Py_BuildValue: "HPy_BuildValue(ctx, fmt, ...) with the units HPy has (i I k l L K n f d s O S, (), [], {}): 'N' becomes 'O' with the handle closed after the call; convert other values to handles first",
  PyUnicode_FromFormat: 'format into a C buffer with snprintf, then HPyUnicode_FromString(ctx, buf)',
  PyUnicode_FromFormatV: 'format into a C buffer with vsnprintf, then HPyUnicode_FromString(ctx, buf)',
  PyErr_Format: 'format into a C buffer with snprintf, then HPyErr_SetString(ctx, type, buf)',
};


/** A name whose transform is planned but not part of this release yet. */
function reportUnbuiltOwner(api: RewriteApi, at: SyntaxNode, cls: CallClass): void {
  const { cpython, hpy, notes } = cls.entry;
  const target = hpy ? ` (HPy: '${hpy}')` : '';
  api.report(at, `'${cpython}' is not converted yet${target}: the ${cls.owner} transform that will handle it is not available`, {
    notes: [],
    suggestion: notes || (hpy ? `${hpy}(ctx, ...) by hand` : 'convert it by hand'),
  });
}

function reportHandleArray(api: RewriteApi, array: SyntaxNode, call: SyntaxNode): void {
  const params = functionParams(enclosingFunction(call)!);
  const at = params.findIndex((p) => p.name === array.text);
  const count = params[at + 1]?.name ?? 'nargs';
  const callee = call.childForFieldName('function');
  const forwards = callee && /^PyObject_Call(Object)?$/.test(api.text(callee)) ? callArguments(call)[0] : null;
  api.report(array, `'${array.text}' is an array of handles now, not a tuple`, {
    notes: [`use '${count}' for its length and '${array.text}[i]' for an item (owned by the caller: do not close it)`],
    suggestion: forwards
      ? `HPy_Call(ctx, ${api.text(forwards)}, ${array.text}, ${count}, HPy_NULL) calls it with the same positional arguments`
      : `'${count}' for its length, '${array.text}[i]' for an item; a tuple of them: HPyTuple_FromArray(ctx, (HPy *)${array.text}, ${count}) (close it after use)`,
  });
}

function reportFlagAsObject(api: RewriteApi, call: SyntaxNode, cls: CallClass): void {
  api.report(call, `'${api.text(call)}' is used as an object; ${FLAG_RESULTS[cls.entry.cpython]}`, {
    notes: cls.entry.notes ? [cls.entry.notes] : [],
    suggestion: "test 'HPyErr_Occurred(ctx)' for truth; to know which exception is set: HPyErr_ExceptionMatches(ctx, ctx->h_SomeError)",
  });
}

// ---------------------------------------------------------------------------------------------
// The PyObject_Call* family

/** A helper function added once per file, before the first function that calls it. */
interface Helper {
  name: string;
  firstUse: SyntaxNode | null;
}

/** The helpers of the format-based calls: one calls an object, one a method of it. */
interface Helpers {
  call: Helper;
  method: Helper;
}

function newHelpers(text: string): Helpers {
  const call = unusedName(text, 'call_with_tuple');
  return { call: { name: call, firstUse: null }, method: { name: unusedName(text, 'call_method_with_tuple', new Set([call])), firstUse: null } };
}

/** Replaces the whole call: its arguments are rebuilt from their texts (kept byte for byte). */
function convertFamily(api: RewriteApi, guard: ContextGuard, nodes: CallNodes, family: FamilyCall, helpers: Helpers): void {
  const cpython = api.text(nodes.name);
  if (nodes.args.namedChildren.some((c) => c.type === 'comment')) {
    api.report(nodes.name, `'${cpython}' has comments among its arguments: left alone`, {
      notes: ['the HPy call takes its arguments in another order or shape, and the comments would be lost'],
      suggestion: familyText(family, helpers, false),
    });
    return;
  }
  if (!guard.allows(nodes.call, cpython)) return;
  // Every method call by format goes through its helper; a function call only with arguments.
  const helper = family.kind !== 'format' ? null : family.method !== null ? helpers.method : family.format !== null ? helpers.call : null;
  if (helper && (!helper.firstUse || nodes.call.startIndex < helper.firstUse.startIndex)) helper.firstUse = enclosingFunction(nodes.call);
  api.replace(nodes.call, familyText(family, helpers, true));
}

/** The HPy call; with `helpers` false, the hand-written form (no helper function). */
function familyText(c: FamilyCall, helpers: Helpers, useHelpers: boolean): string {
  if (c.kind === 'tuple') return `HPy_CallTupleDict(ctx, ${c.callable}, ${c.tuple.trim() === 'NULL' ? 'HPy_NULL' : c.tuple}, HPy_NULL)`;
  if (c.kind === 'array') {
    const items = c.method === null ? c.items : [c.callable, ...c.items];
    const array = items.length === 0 ? 'NULL, 0' : `(HPy[]){${items.join(', ')}}, ${items.length}`;
    return c.method === null ? `HPy_Call(ctx, ${c.callable}, ${array}, HPy_NULL)` : `HPy_CallMethod(ctx, ${c.method}, ${array}, HPy_NULL)`;
  }
  if (c.format === null && c.method === null) return `HPy_Call(ctx, ${c.callable}, NULL, 0, HPy_NULL)`;
  const build = `HPy_BuildValue(ctx, ${[c.format ?? '"()"', ...c.values].join(', ')})`;
  if (useHelpers) return c.method === null ? `${helpers.call.name}(ctx, ${c.callable}, ${build})` : `${helpers.method.name}(ctx, ${c.callable}, ${c.method}, ${build})`;
  const call = c.method === null ? `HPy_CallTupleDict(ctx, ${c.callable}, args, HPy_NULL)` : `HPy_CallMethodTupleDict_s(ctx, ${c.method}, ${c.callable}, args, HPy_NULL)`;
  return `HPy args = ${build}; HPy result = HPy_NULL; if (!HPy_IsNull(args)) { result = ${call}; HPy_Close(ctx, args); }`;
}

/** What to write by hand for a call of the family that is not converted (undefined for other names). */
function familySuggestion(cpython: string, texts: readonly string[]): string | undefined {
  const read = familyCall(cpython, texts);
  if (!read || !('problem' in read)) return undefined;
  if (/single unit '[OS]'/.test(read.problem)) {
    const arg = texts[texts.length - 1];
    return `if '${arg}' is never a tuple: HPy_Call(ctx, ${texts[0]}, (HPy[]){${arg}}, 1, HPy_NULL); if it always is: HPy_CallTupleDict(ctx, ${texts[0]}, ${arg}, HPy_NULL)`;
  }
  const form = looseFamilyText(cpython, texts);
  return / calls '/.test(read.problem) ? `keep each object argument made by a call in a local handle, closed after the call: ${form}` : form;
}

/** The HPy form of a call of the family that {@link familyCall} rejects, with placeholders where it must. */
function looseFamilyText(cpython: string, texts: readonly string[]): string {
  const noHelpers = newHelpers('');
  const formatted = cpython === 'PyObject_CallFunction' || cpython === 'PyObject_CallMethod';
  if (!formatted) {
    // Arguments made by calls become locals `arg1`, ...; a missing NULL end is added.
    let t = texts.map((x, i) => (/\w\s*\(/.test(codeWithoutCommentsAndStrings(x)) ? `arg${i + 1}` : x));
    if (/ObjArgs$/.test(cpython) && t[t.length - 1]?.trim() !== 'NULL') t = [...t, 'NULL'];
    const c = familyCall(cpython, t);
    if (c && !('problem' in c)) return familyText(c, noHelpers, false);
    return 'HPy_Call(ctx, f, (HPy[]){a, b}, 2, HPy_NULL) (HPy_CallMethod(ctx, name, (HPy[]){receiver, a}, 2, HPy_NULL) for a method)';
  }
  const method = cpython === 'PyObject_CallMethod' ? texts[1] : null;
  const values = texts.slice(method === null ? 2 : 3);
  return familyText({ kind: 'format', callable: texts[0] ?? 'f', method, format: '"(...)"', values }, noHelpers, false);
}

/** The helper functions the converted format-based calls use, before the first function that calls each. */
function insertHelpers(api: RewriteApi, file: SourceFile, helpers: Helpers): void {
  const used = [helpers.call, helpers.method].filter((h) => h.firstUse);
  if (used.length === 0) return;
  const first = used.reduce((a, b) => (a.firstUse!.startIndex <= b.firstUse!.startIndex ? a : b)).firstUse!;
  let at = first;
  for (let c = first.previousNamedSibling; c?.type === 'comment' && c.endPosition.row >= at.startPosition.row - 1; c = c.previousNamedSibling) at = c;
  // A blank line above the helpers too, unless one is there.
  const before = file.text.slice(0, at.startIndex);
  const gap = before === '' || /\r?\n[ \t]*\r?\n$/.test(before) ? '' : file.eol;
  api.insertBefore(at, gap + used.map((h) => helperText(h === helpers.call ? 'call' : 'method', h.name, file.eol)).join(''));
}

/** A helper that calls with the argument tuple from HPy_BuildValue and closes that tuple. */
function helperText(kind: 'call' | 'method', name: string, eol: string): string {
  const method = kind === 'method';
  return [
    `// Added by hpy-migrate: HPy 0.9.0 has no format-based ${method ? 'method call' : 'call'}. This calls ${method ? "the method 'name' of" : ''}`,
    `// ${method ? "'receiver'" : "'callable'"} with the argument tuple made by HPy_BuildValue (HPy_NULL if that failed), then closes it.`,
    'static HPy',
    method ? `${name}(HPyContext *ctx, HPy receiver, const char *name, HPy args)` : `${name}(HPyContext *ctx, HPy callable, HPy args)`,
    '{',
    '    if (HPy_IsNull(args))',
    '        return HPy_NULL;',
    method ? '    HPy result = HPy_CallMethodTupleDict_s(ctx, name, receiver, args, HPy_NULL);' : '    HPy result = HPy_CallTupleDict(ctx, callable, args, HPy_NULL);',
    '    HPy_Close(ctx, args);',
    '    return result;',
    '}',
    '',
    '',
  ].join(eol);
}

// ---------------------------------------------------------------------------------------------
// Names the api map lacks

/** `Py_SIZE(o)` and the other function-like macros without a row: reported with what to write. */
function reportUnmappedCall(api: RewriteApi, at: SyntaxNode, callee: string): void {
  const entry = unmappedName(callee);
  if (entry?.kind !== 'call') return;
  api.report(at, `'${callee}' has no HPy 0.9.0 counterpart`, { notes: [entry.reason], suggestion: entry.suggestion });
}

const LOCAL_MACROS = /\bPy_LOCAL(_INLINE)?\s*\(([^()]*)\)[ \t]*/g;

/**
 * `Py_LOCAL_INLINE(T) f(...)` becomes `static inline T f(...)` (`Py_LOCAL(T)`: `static T`), what
 * the macros expand to. A mask makes tree-sitter read them so; the edits are made on the text.
 */
function convertLocalMacros(file: SourceFile, api: RewriteApi): void {
  for (const m of file.text.matchAll(LOCAL_MACROS)) {
    const start = m.index!;
    const node = file.tree.rootNode.descendantForIndex(start, start + 1);
    if (node.type !== 'storage_class_specifier' && node.parent?.type !== 'storage_class_specifier') continue;
    const entry = unmappedName(m[1] ? 'Py_LOCAL_INLINE' : 'Py_LOCAL')!;
    const type = m[2].trim();
    // `Py_LOCAL_INLINE(PyObject *) f` reads `static inline PyObject *f`; a line break stays where it was.
    const atLineEnd = /^\r?\n/.test(file.text.slice(start + m[0].length));
    const space = type.endsWith('*') || atLineEnd ? '' : ' ';
    api.replace({ start, end: start + m[0].length }, `${entry.replacement} ${type}${space}`);
  }
}

/**
 * A name whose transform exists but is not part of this run: silent when the call is converted
 * anyway later (another run with that transform), reported when the shared answer of
 * `unconvertedCallReason` says it stays (e.g. a review transform left out of a default run, in a
 * function other transforms convert): the body would otherwise be left half-converted unseen.
 */
function reportOwnerNotRunning(api: RewriteApi, guard: ContextGuard, call: SyntaxNode, name: SyntaxNode): void {
  const callee = api.text(name);
  const why = unconvertedCallReason(api, callee, callArguments(call).map((a) => api.text(a)), call);
  if (!why || !guard.allows(call, callee)) return;
  api.report(name, `'${callee}' is left as it is in this run: ${why}`, {
    notes: ['the rest of the function is converted around it, so it does not compile until this call is converted too'],
    suggestion: `run again with '--all' (or '--transforms ${callFormOf(callee)?.owner}'), which converts it`,
  });
}
