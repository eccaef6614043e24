/**
 * Parameters declared with an object-struct pointer type (`PointObject *self`) whose type becomes
 * `HPy` when the transform owning the function writes its HPy signature. The body keeps its
 * meaning when every use of the parameter *as a struct* is written as the cast it implied
 * (`self->x` becomes `((PointObject *)self)->x`); the pyobject-head transform then turns those
 * casts into `PointObject_AsStruct(ctx, self)`. Uses as an object (arguments of C-API calls,
 * `(PyObject *)self`) stay as they are: the handle is what they need.
 */
import type { SyntaxNode } from './types.js';

/** One use of the parameter to rewrite. */
export interface StructUse {
  node: SyntaxNode;
  text: string;
}

const API_CALLEE = /^_?Py/;
// Where a cast needs no parentheses of its own (elsewhere, `self[0]` must not become `(T *)self[0]`).
const BARE_CAST_PARENTS = new Set(['argument_list', 'init_declarator', 'assignment_expression', 'return_statement', 'parenthesized_expression', 'expression_statement']);
const DECLARATORS = new Set(['init_declarator', 'pointer_declarator', 'array_declarator', 'declaration', 'parameter_declaration']);

/** Is `id` declared (not used) here: a local that shadows the parameter? */
function isDeclared(id: SyntaxNode): boolean {
  const p = id.parent;
  if (!p || !DECLARATORS.has(p.type)) return false;
  return p.childForFieldName('declarator')?.id === id.id;
}

/** Is `id` a direct argument of a C-API call (`Py_INCREF(self)`, `PyObject_Repr(self)`)? */
function isApiArgument(id: SyntaxNode): boolean {
  const list = id.parent;
  if (list?.type !== 'argument_list') return false;
  const callee = list.parent?.childForFieldName('function');
  return callee?.type === 'identifier' && API_CALLEE.test(callee.text);
}

/**
 * The uses of parameter `name` (declared `type *name`) in `fn`'s body to rewrite so that the body
 * keeps its meaning once the parameter is a handle; null when the body redeclares the name, takes
 * its address or assigns it (those need a hand port).
 */
export function structPointerUses(fn: SyntaxNode, name: string, type: string): StructUse[] | null {
  const body = fn.childForFieldName('body');
  if (!body) return [];
  const uses: StructUse[] = [];
  for (const id of body.descendantsOfType('identifier')) {
    if (id.text !== name) continue;
    if (isDeclared(id)) return null;
    const p = id.parent;
    if (!p || p.type === 'cast_expression' || isApiArgument(id)) continue;
    if (p.type === 'field_expression' && p.childForFieldName('argument')?.id === id.id) {
      const arrow = p.children.some((c) => c.type === '->');
      if (arrow) uses.push({ node: id, text: `((${type} *)${name})` });
      continue;
    }
    if (p.type === 'pointer_expression' && p.child(0)?.type === '&') return null;
    if (p.type === 'assignment_expression' && p.childForFieldName('left')?.id === id.id) return null;
    const cast = `(${type} *)${name}`;
    uses.push({ node: id, text: BARE_CAST_PARENTS.has(p.type) ? cast : `(${cast})` });
  }
  return uses;
}
