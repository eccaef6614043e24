/**
 * In a `--target hybrid` port, the C-API objects an HPy function holds on purpose. Code that
 * bridges the C API and HPy (porting-concepts §g) keeps a `PyObject *` local and hands the object
 * to HPy with `HPy_FromPyObject(ctx, x)` (a new handle; `x` keeps its own reference): pymoduledef
 * writes this in the exec slot to register a type left on the C API, and a porter writes it by
 * hand. Such a local is C-API code: the body transforms leave its declaration, its null tests and
 * its reference counting (`Py_DECREF(x)`) as they are; turning it into a handle would pass a
 * handle where `HPy_FromPyObject` takes a `PyObject *`.
 */
import { callArguments, calleeName, enclosingFunction, unparenthesize } from './c-syntax.js';
import type { RewriteApi, SyntaxNode } from './types.js';

const CALLS = '(call_expression function: (identifier) @name) @call';
const DECLARATIONS = '(declaration) @decl';

/**
 * The locals of `fn` declared `PyObject *x` (one object pointer) and passed as the object of an
 * `HPy_FromPyObject(ctx, x)` call of `fn`. Empty outside a hybrid run.
 */
export function bridgedObjectLocals(api: RewriteApi, fn: SyntaxNode): Set<string> {
  const out = new Set<string>();
  const body = fn.childForFieldName('body');
  if (api.target !== 'hybrid' || !body) return out;
  const bridged = new Set<string>();
  for (const { call } of api.matches(CALLS, body)) {
    const arg = calleeName(call) === 'HPy_FromPyObject' ? callArguments(call)[1] : undefined;
    const object = arg && unparenthesize(arg);
    if (object?.type === 'identifier') bridged.add(api.text(object));
  }
  if (bridged.size === 0) return out;
  for (const { decl } of api.matches(DECLARATIONS, body)) {
    const type = decl.childForFieldName('type');
    if (!type || api.text(type) !== 'PyObject' || decl.namedChildren.some((c) => c.type === 'type_qualifier')) continue;
    for (const d of decl.childrenForFieldName('declarator')) {
      const pointer = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
      const id = pointer?.type === 'pointer_declarator' ? pointer.childForFieldName('declarator') : null;
      if (id?.type === 'identifier' && bridged.has(api.text(id))) out.add(api.text(id));
    }
  }
  return out;
}

/** Is `node` (a name, through parentheses) a bridged local of its function ({@link bridgedObjectLocals})? */
export function isBridgedObject(api: RewriteApi, node: SyntaxNode): boolean {
  if (api.target !== 'hybrid') return false;
  const n = unparenthesize(node);
  const fn = n.type === 'identifier' ? enclosingFunction(n) : null;
  return !!fn && bridgedObjectLocals(api, fn).has(api.text(n));
}
