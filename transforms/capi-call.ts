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
 *
 * ## Limits
 * Reported (warning) and left alone:
 * - borrowed getters (`PyList_GetItem`, `PyTuple_GET_ITEM`, `PyDict_GetItemString`, ...): HPy returns a new
 *   handle that must be closed;
 * - functions that steal an argument (`PyTuple_SET_ITEM`, `PyModule_AddObject`, ...): HPy never steals;
 * - names without a counterpart in HPy 0.9.0, and names whose HPy form takes other arguments or
 *   several steps (`PyObject_CallFunction`, `PyLong_CheckExact`, `PyList_New(n)`, a `Py_BuildValue`
 *   format with units HPy lacks, ...), each with the pattern to write;
 * - `PyErr_Occurred()` used as an object (assigned, passed on, compared with an exception);
 * - the argument tuple of a method that now receives `const HPy *args` (use `nargs`, `args[i]`);
 * - calls at file scope, where no `ctx` exists.
 * A function that lacks its `HPyContext *ctx` parameter is still converted, and reported once.
 * Left alone without a word: names another registered transform owns (`CALL_OWNERS`: reference
 * counting, `Py_RETURN_*`, `Py_TYPE`); names owned by a transform not built yet (argument parsing, module and
 * type definitions) are reported with the row's notes. Also left alone: functions of the project that
 * happen to carry an API name, and calls inside `#define` bodies. A `NULL` passed for any other
 * handle parameter is left to the pyobject-pointer transform.
 */
import {
  callArguments,
  codeWithoutCommentsAndStrings,
  callFormOf,
  contextGuard,
  defineTransform,
  DIRECT_WHEN,
  enclosingFunction,
  FLAG_RESULTS,
  functionParams,
  NULL_HANDLE_PARAMS,
  TYPE_CHECKS,
  unparenthesize,
  type CallClass,
  type ContextGuard,
  type RewriteApi,
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
  after: ['pymethoddef', 'pytype-spec', 'pyarg-parse', 'pymoduledef', 'pyobject-global', 'pyobject-head', 'pyobject-field'],
  rewrite(file, api) {
    const own = projectFunctionNames(api);
    const guard = contextGuard(api);
    for (const { call, name, args } of api.matches(CALLS)) {
      const callee = api.text(name);
      const cls = own.has(callee) ? undefined : callFormOf(callee);
      if (!cls) continue;
      if (cls.form === 'owned') {
        if (!api.isRegistered(cls.owner!)) reportUnbuiltOwner(api, name, cls);
        continue;
      }
      if (cls.form === 'direct') convertDirect(api, guard, { call, name, args }, cls);
      else if (cls.form === 'type-check') convertTypeCheck(api, guard, { call, name, args }, cls);
      else reportForm(api, name, cls);
    }
    convertThreadMacros(file.text, file.tree.rootNode, api, guard);
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
      api.report(begin, `'${begin.name}' without its 'Py_END_ALLOW_THREADS' in the same block: left alone`, { notes: ['write HPy_BEGIN_LEAVE_PYTHON(ctx) ... HPy_END_LEAVE_PYTHON(ctx) by hand'] });
      continue;
    }
    const inside = text.slice(begin.end, end.start);
    // Calls of the API (types such as HPy_ssize_t are fine while Python is left).
    const apiUse = /\b(?:_?Py[A-Z]\w*|HPy\w*)(?=\s*\()|\bctx\b/.exec(codeWithoutCommentsAndStrings(inside));
    if (apiUse) {
      api.report(begin, `'${apiUse[0]}' is used between the thread macros: left alone`, { notes: ['HPy allows no HPy call between HPy_BEGIN_LEAVE_PYTHON and HPy_END_LEAVE_PYTHON: move it out of the block, then run hpy-migrate again'] });
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

function convertDirect(api: RewriteApi, guard: ContextGuard, nodes: CallNodes, cls: CallClass): void {
  const { cpython, hpy } = cls.entry;
  const args = callArguments(nodes.call);
  const problem = DIRECT_WHEN[cpython]?.(args.map((a) => api.text(a)));
  if (problem) return reportForm(api, nodes.name, { ...cls, form: 'pattern', reason: problem });
  const array = handleArrayArgument(nodes.call, args);
  if (array) return reportHandleArray(api, array, nodes.call);
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

function reportForm(api: RewriteApi, at: SyntaxNode, cls: CallClass): void {
  const { cpython, hpy, notes, refs } = cls.entry;
  const rowNotes = notes ? [notes] : [];
  switch (cls.form) {
    case 'no-counterpart':
      return api.report(at, `'${cpython}' has no HPy 0.9.0 counterpart`, { notes: rowNotes });
    case 'borrowed':
      return api.report(at, `'${cpython}' returns a borrowed reference; its HPy counterpart '${hpy}' returns a new handle`, {
        notes: notes ? rowNotes : ['close that handle exactly once on every path, or return it'],
      });
    case 'steals': {
      const when = refs === 'steals-on-success' ? ' on success' : '';
      return api.report(at, `'${cpython}' steals a reference to its argument${when}; its HPy counterpart '${hpy}' does not steal`, {
        notes: notes ? rowNotes : ['close your own handle after the call if you no longer need it'],
      });
    }
    default:
      return api.report(at, `'${cpython}' does not map one-to-one to '${hpy}'`, { notes: [cls.reason, ...rowNotes] });
  }
}

/** A name whose transform is planned but not part of this release yet. */
function reportUnbuiltOwner(api: RewriteApi, at: SyntaxNode, cls: CallClass): void {
  const { cpython, hpy, notes } = cls.entry;
  const target = hpy ? ` (HPy: '${hpy}')` : '';
  api.report(at, `'${cpython}' is not converted yet${target}: the ${cls.owner} transform that will handle it is not available`, {
    notes: notes ? [notes] : ['convert it by hand'],
  });
}

function reportHandleArray(api: RewriteApi, array: SyntaxNode, call: SyntaxNode): void {
  const params = functionParams(enclosingFunction(call)!);
  const at = params.findIndex((p) => p.name === array.text);
  const count = params[at + 1]?.name ?? 'nargs';
  api.report(array, `'${array.text}' is an array of handles now, not a tuple`, {
    notes: [`use '${count}' for its length and '${array.text}[i]' for an item (owned by the caller: do not close it)`],
  });
}

function reportFlagAsObject(api: RewriteApi, call: SyntaxNode, cls: CallClass): void {
  api.report(call, `'${api.text(call)}' is used as an object; ${FLAG_RESULTS[cls.entry.cpython]}`, {
    notes: cls.entry.notes ? [cls.entry.notes] : [],
  });
}
