/**
 * Which functions of a C file are HPy code and which are still C-API (legacy) code: the summary
 * of a `--target hybrid` run counts them in each result. Read off the text alone, so it says the
 * same of code ported by hand, by an earlier run or by this one.
 */
import { codeWithoutCommentsAndStrings, functionName, hasContextParam } from './c-syntax.js';
import { definitionMacroImpls } from './context-scope.js';
import type { SyntaxNode, Tree } from './types.js';

/** The functions of a file by kind, each list in source order. Plain C functions are in neither. */
export interface FunctionKinds {
  /** Functions that take `HPyContext *`, use HPy types in their signature, or are impls named by an HPy definition macro. */
  hpy: string[];
  /** Functions without a context whose signature or body uses the CPython C API (`PyObject *`, `Py_DECREF`, ...). */
  legacy: string[];
}

// HPy's own types in a signature: handles, the visit procedure of an HPy traverse.
const HPY_SIGNATURE = /\b(?:HPy|HPyContext|HPyFunc_\w+|HPyField|HPyGlobal)\b/;
// A CPython C-API name: `PyObject`, `Py_DECREF`, `PyArg_ParseTuple`, `_PyObject_GC_TRACK`, `visitproc`.
const CPYTHON_NAME = /\b(?:_?Py[A-Z_]\w*|visitproc)\b/;

/** The kind of one function definition, or null for plain C (neither HPy nor the C API). */
export function functionKind(fn: SyntaxNode, text: string, impls: ReadonlySet<string> = new Set()): 'hpy' | 'legacy' | null {
  const body = fn.childForFieldName('body');
  const signature = text.slice(fn.startIndex, body ? body.startIndex : fn.endIndex);
  const name = functionName(fn);
  if (hasContextParam(fn) || HPY_SIGNATURE.test(codeWithoutCommentsAndStrings(signature)) || (name !== null && impls.has(name))) return 'hpy';
  const code = codeWithoutCommentsAndStrings(text.slice(fn.startIndex, fn.endIndex));
  return CPYTHON_NAME.test(code) ? 'legacy' : null;
}

/** The HPy and the legacy functions defined at file scope in `tree`, a parse of `text`. */
export function functionKinds(tree: Tree, text: string): FunctionKinds {
  const impls = definitionMacroImpls(text).all;
  const out: FunctionKinds = { hpy: [], legacy: [] };
  for (const fn of tree.rootNode.descendantsOfType('function_definition')) {
    const kind = functionKind(fn, text, impls);
    if (kind) out[kind].push(functionName(fn) ?? text.slice(fn.startIndex, fn.startIndex + 40).split('(')[0].trim());
  }
  return out;
}
