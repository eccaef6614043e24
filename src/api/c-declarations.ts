/**
 * What a function declares and writes: its parameters and locals with their types, the places
 * where a variable is assigned, and names free for new locals. Scopes are flattened (a name
 * declared twice with different types is ambiguous), which is enough for the C-API code we port.
 */
import { functionDeclarator } from './c-syntax.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** A parameter or local variable of a function. */
export interface Declared {
  name: string;
  /** The base type as written, qualifiers left out: `HPy`, `PyObject`, `PointObject`, `struct Point`. */
  type: string;
  /** Number of `*` in the declarator. */
  pointers: number;
  param: boolean;
  /** The identifier node that declares the name. */
  node: SyntaxNode;
  /** The `init_declarator` value, if any. */
  init: SyntaxNode | null;
  /** The declaration (or parameter declaration) node. */
  declaration: SyntaxNode;
}

const DECLARATIONS = '[(declaration) (parameter_declaration)] @decl';
const WRITES = `[
  (assignment_expression left: (identifier) @name) @write
  (update_expression argument: (identifier) @name) @write
  (pointer_expression operator: "&" argument: (identifier) @name) @write
]`;

/** Parameters and locals of a function definition, by name (ambiguous names are left out). */
export function declarationsOf(api: RewriteApi, fn: SyntaxNode): Map<string, Declared> {
  const out = new Map<string, Declared>();
  const ambiguous = new Set<string>();
  const params = functionDeclarator(fn)?.childForFieldName('parameters');
  for (const { decl } of api.matches(DECLARATIONS, fn)) {
    const param = decl.type === 'parameter_declaration';
    if (param && decl.parent?.id !== params?.id) continue;
    const type = baseType(api, decl);
    if (!type) continue;
    for (const d of decl.childrenForFieldName('declarator')) {
      const found = declaredName(d);
      if (!found) continue;
      const name = api.text(found.id);
      const prev = out.get(name);
      if (prev && (prev.type !== type || prev.pointers !== found.pointers)) ambiguous.add(name);
      out.set(name, { name, type, pointers: found.pointers, param, node: found.id, init: found.init, declaration: decl });
    }
  }
  for (const name of ambiguous) out.delete(name);
  return out;
}

/** The type of a declaration without qualifiers and storage class: `HPy`, `struct Point`. */
function baseType(api: RewriteApi, decl: SyntaxNode): string | null {
  const t = decl.childForFieldName('type');
  return t ? api.text(t).replace(/\s+/g, ' ') : null;
}

/** The declared identifier of a declarator, its pointer depth and its initializer. */
function declaredName(declarator: SyntaxNode): { id: SyntaxNode; pointers: number; init: SyntaxNode | null } | null {
  let init: SyntaxNode | null = null;
  let d: SyntaxNode | null = declarator;
  if (d.type === 'init_declarator') {
    init = d.childForFieldName('value');
    d = d.childForFieldName('declarator');
  }
  let pointers = 0;
  while (d && d.type === 'pointer_declarator') {
    pointers++;
    d = d.childForFieldName('declarator');
  }
  return d && d.type === 'identifier' ? { id: d, pointers, init } : null;
}

/** Does the declared variable hold an object handle (`HPy x`, `PyObject *x`)? */
export function isHandleDeclaration(d: Declared | undefined): boolean {
  if (!d) return false;
  return (d.type === 'HPy' && d.pointers === 0) || (d.type === 'PyObject' && d.pointers === 1);
}

/** Expressions in `scope` that write the variable `name` (assignment, `++`, `&name`). */
export function writesOf(api: RewriteApi, scope: SyntaxNode, name: string): SyntaxNode[] {
  return api
    .matches(WRITES, scope)
    .filter((m) => api.text(m.name) === name)
    .map((m) => m.write);
}

/** `base`, or `base2`, `base3`, ...: the first that is not a word of `text` nor in `taken`. */
export function unusedName(text: string, base: string, taken: ReadonlySet<string> = new Set()): string {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? base : `${base}${i}`;
    if (!taken.has(candidate) && !new RegExp(`\\b${candidate}\\b`).test(text)) return candidate;
  }
}
