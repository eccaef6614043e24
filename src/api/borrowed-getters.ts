/**
 * The CPython getters that return a borrowed reference and the HPy call that replaces each: HPy
 * has no borrowed references, so the replacement returns a new handle that must be closed
 * exactly once (porting-concepts §a; the api-map rows with `refs` = `borrowed`). Also the small
 * facts about the code around them that the borrowed-reference analysis needs: which names are
 * reference counting, which steal, which hand out a pointer into the object, which hide a jump.
 */
import { apiEntry } from './api-map.js';
import { calleeName, unparenthesize } from './c-syntax.js';
import type { RewriteApi, SyntaxNode, Tree } from './types.js';

/** One borrowed getter and its HPy form. */
export interface BorrowedGetter {
  name: string;
  /** The HPy function, with the same arguments after `ctx`. */
  hpy: 'HPy_GetItem_i' | 'HPy_GetItem' | 'HPy_GetItem_s';
  /** A null result is a normal answer (a missing key), not an error. */
  nullable: boolean;
  /**
   * The statement written right after the call that gives back the CPython meaning, or null:
   * CPython's dict getters return NULL without an exception for a missing key (and
   * `PyDict_GetItem`/`PyDict_GetItemString` swallow every other error), where `HPy_GetItem`
   * raises KeyError.
   */
  clear: ((handle: string) => string) | null;
  /**
   * For the checked item getters (`PyTuple_GetItem`, `PyList_GetItem`): the IndexError message
   * CPython gives for a negative index, which `HPy_GetItem_i` would count from the end instead.
   */
  negativeIndexError?: string;
}

const clearAny = (h: string) => `if (HPy_IsNull(${h})) HPyErr_Clear(ctx);`;
const clearKeyError = (h: string) => `if (HPy_IsNull(${h}) && HPyErr_ExceptionMatches(ctx, ctx->h_KeyError)) HPyErr_Clear(ctx);`;

const item = (name: string): BorrowedGetter => ({ name, hpy: 'HPy_GetItem_i', nullable: false, clear: null });

/** The getters converted by the borrowed-reference transform, by CPython name. */
export const BORROWED_GETTERS: Readonly<Record<string, BorrowedGetter>> = {
  PyTuple_GET_ITEM: item('PyTuple_GET_ITEM'),
  PyTuple_GetItem: { ...item('PyTuple_GetItem'), negativeIndexError: 'tuple index out of range' },
  PyList_GET_ITEM: item('PyList_GET_ITEM'),
  PyList_GetItem: { ...item('PyList_GetItem'), negativeIndexError: 'list index out of range' },
  PyDict_GetItem: { name: 'PyDict_GetItem', hpy: 'HPy_GetItem', nullable: true, clear: clearAny },
  PyDict_GetItemString: { name: 'PyDict_GetItemString', hpy: 'HPy_GetItem_s', nullable: true, clear: clearAny },
  PyDict_GetItemWithError: { name: 'PyDict_GetItemWithError', hpy: 'HPy_GetItem', nullable: true, clear: clearKeyError },
};

/** The getter called by `call`, if it is one of {@link BORROWED_GETTERS}. */
export function borrowedGetterOf(call: SyntaxNode): BorrowedGetter | undefined {
  const name = call.type === 'call_expression' ? calleeName(call) : null;
  return name && Object.prototype.hasOwnProperty.call(BORROWED_GETTERS, name) ? BORROWED_GETTERS[name] : undefined;
}

/** `HPy_Close(ctx, h);`, or, where `h` may be null, the close behind a null test. */
export function handleCloseLine(handle: string, guarded: boolean): string {
  return guarded ? `if (!HPy_IsNull(${handle})) HPy_Close(ctx, ${handle});` : `HPy_Close(ctx, ${handle});`;
}

/** `Py_INCREF`, `Py_XINCREF`. */
export const INCREF_NAMES = /^Py_X?INCREF$/;
/** `Py_NewRef`, `Py_XNewRef`. */
export const NEW_REF_NAMES = /^Py_X?NewRef$/;
/** Every reference-counting macro. */
export const REFCOUNT_NAMES = /^(Py_X?INCREF|Py_X?DECREF|Py_CLEAR|Py_X?NewRef|Py_X?SETREF|Py_X?SET_REFCNT)$/;

/** Does the C-API function `name` steal a reference to an argument (`PyList_SET_ITEM`, `PyModule_AddObject`)? */
export function stealsArgument(name: string): boolean {
  const refs = apiEntry(name)?.refs;
  return refs === 'steals' || refs === 'steals-on-success';
}

/**
 * Calls whose result points into the memory of their object argument (a C string, a byte
 * buffer): valid only while that object's handle is open (porting-concepts §a, raw pointers).
 */
export const RAW_POINTER_CALLS: ReadonlySet<string> = new Set([
  'PyUnicode_AsUTF8',
  'PyUnicode_AsUTF8AndSize',
  'PyBytes_AsString',
  'PyBytes_AS_STRING',
  'PyByteArray_AsString',
  'PyByteArray_AS_STRING',
  'HPyUnicode_AsUTF8AndSize',
  'HPyBytes_AsString',
  'HPyBytes_AS_STRING',
]);

/** The `Py_RETURN_*` statement macros: a `return` the parser sees as an expression statement. */
export function isReturnMacroStatement(api: RewriteApi, stmt: SyntaxNode): boolean {
  if (stmt.type !== 'expression_statement') return false;
  const e = stmt.namedChildren.find((c) => c.type !== 'comment');
  return !!e && e.type === 'identifier' && /^Py_RETURN_[A-Z]+$/.test(api.text(e));
}

const MACRO_DEFINITIONS = `[
  (preproc_def name: (identifier) @name value: (preproc_arg) @body)
  (preproc_function_def name: (identifier) @name value: (preproc_arg) @body)
]`;
const JUMPING_MACROS = new WeakMap<Tree, Set<string>>();

/** The macros defined in the file whose body jumps (`return`, `goto`, `break`, `continue`). */
export function jumpingMacros(api: RewriteApi, tree: Tree): Set<string> {
  let names = JUMPING_MACROS.get(tree);
  if (!names) {
    names = new Set(api.matches(MACRO_DEFINITIONS, tree.rootNode).filter((m) => /\b(return|goto|break|continue)\b/.test(api.text(m.body))).map((m) => api.text(m.name)));
    JUMPING_MACROS.set(tree, names);
  }
  return names;
}

/** The expression inside parentheses and casts (`(PyObject *)(x)` gives `x`). */
export function withoutCasts(node: SyntaxNode): SyntaxNode {
  let n = unparenthesize(node);
  while (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value')!);
  return n;
}
