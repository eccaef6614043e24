/**
 * The built-in objects that HPy exposes as fields of the context (`ctx->h_None`,
 * `ctx->h_ValueError`, `ctx->h_LongType`, ...), read off the api map, and the CPython macros and
 * calls that stand for one of them. Context handles are borrowed-like: never closed, and
 * duplicated with `HPy_Dup` only when handed out (porting-concepts §a).
 */
import { apiEntry, type ApiEntry } from './api-map.js';

/** `Py_RETURN_X` statement macros and the context handle each returns a new reference to. */
export const RETURN_MACROS: Readonly<Record<string, string>> = {
  Py_RETURN_NONE: 'ctx->h_None',
  Py_RETURN_TRUE: 'ctx->h_True',
  Py_RETURN_FALSE: 'ctx->h_False',
  Py_RETURN_NOTIMPLEMENTED: 'ctx->h_NotImplemented',
};

/** Identity tests against one built-in object, and that object's context handle. */
export const IDENTITY_TESTS: Readonly<Record<string, string>> = {
  Py_IsNone: 'ctx->h_None',
  Py_IsTrue: 'ctx->h_True',
  Py_IsFalse: 'ctx->h_False',
};

const OBJECT_KINDS = new Set(['constant', 'exception', 'type']);
const HANDLE = /^ctx->h_\w+$/;

/** The api-map row of a built-in object name (`Py_None`, `PyExc_*`, `Py*_Type`), with or without a handle. */
export function builtinObjectEntry(name: string): ApiEntry | undefined {
  const entry = apiEntry(name);
  if (!entry || !OBJECT_KINDS.has(entry.kind)) return undefined;
  if (HANDLE.test(entry.hpy)) return entry;
  // Without a handle, only the object names count: not C types such as 'PyCFunction'.
  const isObject = entry.kind === 'exception' || (entry.kind === 'type' && /^Py\w*_Type$/.test(name));
  return isObject && entry.hpy === '' ? entry : undefined;
}

/** The context handle (`ctx->h_X`) of a built-in object name, if HPy 0.9.0 has one. */
export function contextHandleOf(name: string): string | undefined {
  const entry = builtinObjectEntry(name);
  return entry && entry.hpy !== '' ? entry.hpy : undefined;
}

/** The context handle that a call without arguments returns (`PyEval_GetBuiltins()`), if any. */
export function contextHandleCall(name: string): string | undefined {
  const entry = apiEntry(name);
  return entry && entry.kind === 'function' && HANDLE.test(entry.hpy) ? entry.hpy : undefined;
}

/** Is the name a type object (`PyLong_Type`), whose handle replaces its address (`&PyLong_Type`)? */
export function isTypeObject(name: string): boolean {
  return builtinObjectEntry(name)?.kind === 'type';
}
