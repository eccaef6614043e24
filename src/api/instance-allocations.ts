/**
 * Where `PyObject_New(T, type)` takes its type from, and whether hpy-migrate can turn it into
 * `HPy_New(ctx, <type handle>, &p)`: HPy allocates only from a type handle (porting-concepts §d),
 * so the C-API type expression must be one this tool can replace by a handle. pytype-spec, which
 * converts allocations, and the signature transforms, which ask before they give a function an
 * HPy signature (through `unconvertedCallReason`), read the same verdict.
 */
import { callArguments, calleeName, enclosingFunction, unparenthesize } from './c-syntax.js';
import { declarationsOf } from './c-declarations.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** The allocation macros whose second argument is the type: `PyObject_New(T, type)`. */
export const INSTANCE_NEW_MACROS: ReadonlySet<string> = new Set(['PyObject_New', 'PyObject_NEW', 'PyObject_GC_New']);

/** The type an allocation allocates from. */
export type AllocationSource =
  /** A `PyTypeObject *` parameter (`tp_new`, an allocating helper): it becomes an `HPy` parameter. */
  | { kind: 'parameter'; name: string }
  /** A file-scope `static PyObject *` or `PyTypeObject *` variable: an HPyGlobal once ported (pyobject-global). */
  | { kind: 'global'; name: string }
  /** `&XType`, a static type object: it exists only as a spec once ported. */
  | { kind: 'static-type'; name: string }
  /** Anything else (`Py_TYPE(self)`, a local variable, a call). */
  | { kind: 'other'; text: string };

const OBJECT_POINTER_CAST = /^(PyObject|PyTypeObject)\s*\*$/;
const FILE_POINTERS = '(translation_unit (declaration type: (type_identifier) @type declarator: (_) @declarator) @decl)';

/** The type expression of an allocation with its casts to an object pointer taken off. */
function typeArgument(api: RewriteApi, call: SyntaxNode): SyntaxNode | null {
  const arg = callArguments(call)[1];
  if (!arg) return null;
  let n = unparenthesize(arg);
  while (n.type === 'cast_expression' && OBJECT_POINTER_CAST.test(api.text(n.childForFieldName('type')!).trim())) n = unparenthesize(n.childForFieldName('value')!);
  return n;
}

/** Where `PyObject_New(T, type)` (or `PyObject_NEW`, `PyObject_GC_New`) takes its type from. */
export function allocationSource(api: RewriteApi, call: SyntaxNode): AllocationSource | null {
  if (!INSTANCE_NEW_MACROS.has(calleeName(call) ?? '')) return null;
  const type = typeArgument(api, call);
  if (!type) return null;
  if (type.type === 'pointer_expression' && type.child(0)?.type === '&' && type.childForFieldName('argument')?.type === 'identifier') {
    return { kind: 'static-type', name: api.text(type.childForFieldName('argument')!) };
  }
  if (type.type !== 'identifier') return { kind: 'other', text: api.text(type) };
  const name = api.text(type);
  const fn = enclosingFunction(call);
  const local = fn ? declarationsOf(api, fn).get(name) : undefined;
  if (local) return local.param && local.type === 'PyTypeObject' && local.pointers === 1 ? { kind: 'parameter', name } : { kind: 'other', text: name };
  return isStaticObjectPointer(api, name) ? { kind: 'global', name } : { kind: 'other', text: name };
}

/** Is `name` a file-scope `static PyObject *name` (or `PyTypeObject *`)? */
function isStaticObjectPointer(api: RewriteApi, name: string): boolean {
  return api.matches(FILE_POINTERS).some((m) => {
    if (!/^(PyObject|PyTypeObject)$/.test(api.text(m.type))) return false;
    if (!m.decl.namedChildren.some((c) => c.type === 'storage_class_specifier' && api.text(c) === 'static')) return false;
    let d: SyntaxNode | null = m.declarator.type === 'init_declarator' ? m.declarator.childForFieldName('declarator') : m.declarator;
    if (d?.type !== 'pointer_declarator') return false;
    d = d.childForFieldName('declarator');
    return d?.type === 'identifier' && api.text(d) === name;
  });
}

/**
 * Why an allocation cannot become `HPy_New` with a handle this tool provides, or null: a
 * parameter (pytype-spec rewrites it with the function) and a global that pyobject-global turns
 * into an HPyGlobal are fine; a static type object and other expressions are not.
 */
export function allocationProblem(api: RewriteApi, call: SyntaxNode): string | null {
  const source = allocationSource(api, call);
  if (!source) return null;
  switch (source.kind) {
    case 'parameter':
      return null;
    case 'global':
      return api.isRegistered('pyobject-global') ? null : `it allocates from the C global '${source.name}', and the pyobject-global transform that would make it an HPyGlobal is not available`;
    case 'static-type':
      return `it allocates from the static type object '${source.name}', which exists only as a handle made at module init once the type is ported`;
    default:
      return `it allocates from '${source.text}', which is no type handle this tool can find`;
  }
}

/**
 * The hand-written form, on one line, of `variable = PyObject_New(struct, ...)` given the C text
 * that yields a new handle to the type (`HPyGlobal_Load(ctx, g)`, `HPy_Type(ctx, self)`).
 */
export function allocationSuggestion(struct: string, variable: string, typeHandle: string): string {
  return `HPy type = ${typeHandle}; ${struct} *${variable}; HPy h_${variable} = HPy_New(ctx, type, &${variable}); HPy_Close(ctx, type);`;
}
