/**
 * Object structs (the C structs laid out as Python objects) and type specs, as one file shows
 * them, completed by the project index for structs defined elsewhere (a header). Shared by the
 * transforms that port the struct (`PyObject_HEAD`, casts) and its `PyObject *` members.
 */
import type { ObjectStructFact } from './project-index.js';
import type { RewriteApi, SourceFile, SyntaxNode } from './types.js';

/** An object struct seen from one file. */
export interface ObjectStruct {
  /** The typedef name: the `T` of `T_AsStruct` and `HPyType_HELPERS(T)`; null without a typedef. */
  name: string | null;
  tag: string | null;
  /** The head the struct starts with in the current text; null once removed. */
  head: 'PyObject_HEAD' | 'PyObject_VAR_HEAD' | null;
  /** The helpers macro written for it in this file, if any. */
  helpers: 'pure' | 'legacy' | null;
  /** Its definition, when it is in this file. */
  local: LocalStruct | null;
  /** Names of its `PyObject *` members. */
  objectFields: string[];
  /** Every member name (definitions in this file only). */
  fields: string[] | null;
}

/** Where an object struct is defined in the current file. */
export interface LocalStruct {
  /** The `struct_specifier` with the body. */
  specifier: SyntaxNode;
  /** The last of the struct definition and its typedef: helpers go after it. */
  end: SyntaxNode;
  /** The first member (the masked head, when there is one). */
  first: SyntaxNode | null;
  /** The member declarations `PyObject *f;` by member name. */
  objectFieldNodes: Map<string, SyntaxNode>;
}

const STRUCT_BODIES = '(struct_specifier body: (field_declaration_list) @body) @struct';
const TAG_TYPEDEFS = '(type_definition type: (struct_specifier name: (type_identifier) @tag !body) declarator: (type_identifier) @name) @typedef';
const HELPERS = /^[ \t]*HPyType_(LEGACY_)?HELPERS\s*\(\s*(\w+)\s*[,)]/gm;
const HEAD = /^PyObject_(VAR_)?HEAD\b/;

/** The object structs of a file: those defined in it, then those the index knows from other files. */
export function objectStructsOf(api: RewriteApi, file: SourceFile): ObjectStruct[] {
  const helpers = helpersIn(file.text);
  const tagTypedefs = new Map<string, SyntaxNode>();
  for (const m of api.matches(TAG_TYPEDEFS)) tagTypedefs.set(api.text(m.tag), m.typedef);
  const out: ObjectStruct[] = [];
  for (const m of api.matches(STRUCT_BODIES)) {
    if (insideFunction(m.struct)) continue;
    const s = localStruct(api, m.struct, m.body, tagTypedefs, helpers);
    if (s) out.push(s);
  }
  for (const fact of api.index.objectStructs) {
    const name = typedefName(fact);
    if (out.some((s) => (name !== null && s.name === name) || (fact.tag !== null && s.tag === fact.tag))) continue;
    const h = name ? helpers.get(name) ?? null : null;
    out.push({ name, tag: fact.tag, head: fact.head, helpers: h, local: null, objectFields: fact.objectFields, fields: null });
  }
  return out;
}

function typedefName(fact: ObjectStructFact): string | null {
  return fact.typedefs.find((t) => /^\w+$/.test(t)) ?? null;
}

/** `HPyType_HELPERS(T)` (pure) and `HPyType_LEGACY_HELPERS(T)` written in the text, by `T`. */
export function helpersIn(text: string): Map<string, 'pure' | 'legacy'> {
  const out = new Map<string, 'pure' | 'legacy'>();
  for (const m of text.matchAll(HELPERS)) out.set(m[2], m[1] ? 'legacy' : 'pure');
  return out;
}

function insideFunction(node: SyntaxNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'function_definition') return true;
  return false;
}

function localStruct(api: RewriteApi, struct: SyntaxNode, body: SyntaxNode, tagTypedefs: Map<string, SyntaxNode>, helpers: Map<string, 'pure' | 'legacy'>): ObjectStruct | null {
  const tag = struct.childForFieldName('name');
  const tagText = tag ? api.text(tag) : null;
  const decl = struct.parent;
  let name: string | null = null;
  let end: SyntaxNode = decl && (decl.type === 'type_definition' || decl.type === 'declaration') ? decl : struct;
  if (decl?.type === 'type_definition') {
    name = decl.childrenForFieldName('declarator').map((d) => api.text(d)).find((t) => /^\w+$/.test(t)) ?? null;
  } else if (tagText && tagTypedefs.has(tagText)) {
    const td = tagTypedefs.get(tagText)!;
    name = api.text(td.childForFieldName('declarator')!);
    if (td.startIndex > end.startIndex) end = td;
  }
  const members = body.namedChildren.filter((c) => c.type === 'field_declaration');
  const first = members[0] ?? null;
  const headMatch = first ? HEAD.exec(api.text({ start: first.startIndex, end: body.endIndex })) : null;
  const head = headMatch ? (headMatch[1] ? 'PyObject_VAR_HEAD' : 'PyObject_HEAD') : null;
  const h = name ? helpers.get(name) ?? null : null;
  if (!head && !h) return null;
  const own = head ? members.slice(1) : members;
  const objectFieldNodes = objectMembers(api, own);
  return { name, tag: tagText, head, helpers: h, local: { specifier: struct, end, first, objectFieldNodes }, objectFields: [...objectFieldNodes.keys()], fields: own.flatMap((f) => memberNames(api, f)) };
}

/** `PyObject *f;` members by name (one `*`, no array). */
function objectMembers(api: RewriteApi, members: SyntaxNode[]): Map<string, SyntaxNode> {
  const out = new Map<string, SyntaxNode>();
  for (const f of members) {
    const type = f.childForFieldName('type');
    if (!type || api.text(type) !== 'PyObject') continue;
    for (const d of f.childrenForFieldName('declarator')) {
      const inner = d.type === 'pointer_declarator' ? d.childForFieldName('declarator') : null;
      if (inner?.type === 'field_identifier') out.set(api.text(inner), f);
    }
  }
  return out;
}

function memberNames(api: RewriteApi, member: SyntaxNode): string[] {
  const out: string[] = [];
  for (let d of member.childrenForFieldName('declarator')) {
    while (d.type !== 'field_identifier' && d.childForFieldName('declarator')) d = d.childForFieldName('declarator')!;
    if (d.type === 'field_identifier') out.push(api.text(d));
  }
  return out;
}

/** The object struct a pointer type names (`PointObject`, `struct Point`), if any. */
export function structNamed(structs: readonly ObjectStruct[], type: string): ObjectStruct | undefined {
  const t = type.replace(/\s+/g, ' ').trim();
  const tag = /^struct (\w+)$/.exec(t);
  return tag ? structs.find((s) => s.tag === tag[1]) : structs.find((s) => s.name === t);
}

/** A type definition: `HPyType_Spec` (ported), or a `PyType_Spec` / `PyTypeObject` still legacy. */
export interface TypeSpec {
  name: string;
  kind: 'HPyType_Spec' | 'PyType_Spec' | 'PyTypeObject';
  declaration: SyntaxNode;
  initializer: SyntaxNode;
  /** The type named by the first `sizeof(...)` of the initializer (the basic size). */
  basicsize: string | null;
  /** `.field = value` pairs by field name. */
  fields: Map<string, SyntaxNode>;
}

const SPECS = `(declaration type: (type_identifier) @type (#match? @type "^(HPyType_Spec|PyType_Spec|PyTypeObject)$")
  declarator: (init_declarator declarator: (identifier) @name value: (initializer_list) @init)) @decl`;
const SIZEOFS = '(sizeof_expression) @sizeof';

/** The type specs and type objects defined in a file. */
export function typeSpecsOf(api: RewriteApi): TypeSpec[] {
  return api.matches(SPECS).map((m) => {
    const fields = new Map<string, SyntaxNode>();
    for (const pair of m.init.namedChildren) {
      const designator = pair.type === 'initializer_pair' ? pair.childForFieldName('designator') : null;
      if (designator?.type === 'field_designator') fields.set(api.text(designator).replace(/^\.\s*/, ''), pair);
    }
    const sizes = api.matches(SIZEOFS, m.init).map((s) => sizeofArgument(api, s.sizeof));
    return {
      name: api.text(m.name),
      kind: api.text(m.type) as TypeSpec['kind'],
      declaration: m.decl,
      initializer: m.init,
      basicsize: sizes.find((s) => s !== null) ?? null,
      fields,
    };
  });
}

/** `T` of `sizeof(T)` / `sizeof(struct X)`, spaces normalised. */
function sizeofArgument(api: RewriteApi, node: SyntaxNode): string | null {
  const m = /^sizeof\s*\(\s*([\w\s]+?)\s*\)$/.exec(api.text(node));
  return m ? m[1].replace(/\s+/g, ' ') : null;
}

/** Is `spec` the type of `s` (its basic size is `sizeof` the struct)? */
export function specOfStruct(spec: TypeSpec, s: ObjectStruct): boolean {
  if (!spec.basicsize) return false;
  return spec.basicsize === s.name || (s.tag !== null && spec.basicsize === `struct ${s.tag}`);
}
