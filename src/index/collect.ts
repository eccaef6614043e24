import {

  functionName,
  functionParams,
  hasContextParam,
  type CParser,
  type FunctionFact,
  type GlobalFact,
  type ObjectStructFact,
  type ProjectIndex,
  type SyntaxNode,
} from '../api/index.js';

/** One file to index. */
export interface IndexInput {
  path: string;
  text: string;
}

const CALLS = '(call_expression function: (identifier) @name)';
const IDENTIFIERS = '[(identifier) (type_identifier)] @id';
// CPython names, HPy names (half-ported code) and `ctx` itself.
const API_NAME = /^_?Py[A-Za-z0-9_]*$|^PY_[A-Z0-9_]+$|^HPy[A-Za-z0-9_]*$|^ctx$/;

/** Parses every file once and collects the project-wide facts. */
export function collectIndex(files: readonly IndexInput[], parser: CParser): ProjectIndex {
  const index: ProjectIndex = { files: files.map((f) => f.path), functions: [], globals: [], objectStructs: [], callbacks: [] };
  const valueUses = new Set<string>();
  for (const f of files) {
    const root = parser.parse(f.text).rootNode;
    for (const node of root.namedChildren) {
      if (node.type === 'function_definition') index.functions.push(functionFact(f, node, parser));
      else if (node.type === 'declaration') index.globals.push(...globalFacts(f, node));
      if (node.type === 'declaration' || node.type === 'type_definition' || node.type === 'struct_specifier') {
        const s = objectStructFact(f, node);
        if (s) index.objectStructs.push(s);
      }
    }
    for (const m of parser.query(IDENTIFIERS).matches(root)) {
      const id = m.captures[0].node;
      if (id.type === 'identifier' && isValueUse(id)) valueUses.add(id.text);
    }
  }
  const defined = new Set(index.functions.map((fn) => fn.name));
  index.callbacks = [...valueUses].filter((n) => defined.has(n)).sort();
  return index;
}

/** An identifier used as a value: not called, not declared (`f` in `{"f", f, METH_O}`, `.tp_init = f`). */
function isValueUse(id: SyntaxNode): boolean {
  const p = id.parent;
  if (!p) return false;
  if (p.type === 'call_expression') return p.childForFieldName('function')?.id !== id.id;
  return !DECLARING_PARENTS.has(p.type);
}

const DECLARING_PARENTS = new Set([
  'function_declarator', 'init_declarator', 'declaration', 'parameter_declaration', 'pointer_declarator',
  'array_declarator', 'field_declaration', 'type_definition', 'preproc_def', 'preproc_function_def',
  'field_identifier', 'labeled_statement', 'goto_statement', 'struct_specifier', 'enumerator',
]);

function functionFact(f: IndexInput, node: SyntaxNode, parser: CParser): FunctionFact {
  const body = node.childForFieldName('body');
  const calls = new Set<string>();
  if (body) {
    for (const m of parser.query(CALLS).matches(body)) calls.add(m.captures[0].node.text);
  }
  const declarator = node.childForFieldName('declarator');
  const stars = declarator?.type === 'pointer_declarator' ? ' *' : '';
  return {
    file: f.path,
    line: node.startPosition.row + 1,
    name: functionName(node) ?? '',
    returnType: (node.childForFieldName('type')?.text ?? '') + stars,
    params: functionParams(node),
    hasContext: hasContextParam(node),
    calls: [...calls].sort(),
    usesApi: body ? usesApi(f.text, body, parser) : false,
  };
}

function usesApi(text: string, body: SyntaxNode, parser: CParser): boolean {
  // Masked macros (Py_BEGIN_ALLOW_THREADS) are not identifiers in the tree: read them from the source.
  if (/\bPy_(?:BEGIN|END)_ALLOW_THREADS\b/.test(text.slice(body.startIndex, body.endIndex))) return true;
  return parser.query(IDENTIFIERS).matches(body).some((m) => API_NAME.test(m.captures[0].node.text));
}

function globalFacts(f: IndexInput, node: SyntaxNode): GlobalFact[] {
  if (node.childForFieldName('type')?.text !== 'PyObject') return [];
  const isStatic = node.namedChildren.some((c) => c.type === 'storage_class_specifier' && c.text === 'static');
  const out: GlobalFact[] = [];
  for (const d of node.childrenForFieldName('declarator')) {
    let n: SyntaxNode | null = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
    if (n?.type !== 'pointer_declarator') continue;
    n = n.childForFieldName('declarator');
    if (n?.type === 'identifier') out.push({ file: f.path, line: d.startPosition.row + 1, name: n.text, isStatic });
  }
  return out;
}

function objectStructFact(f: IndexInput, node: SyntaxNode): ObjectStructFact | null {
  const struct = node.type === 'struct_specifier' ? node : node.childForFieldName('type');
  if (struct?.type !== 'struct_specifier') return null;
  const body = struct.childForFieldName('body');
  const first = body?.namedChildren.find((c) => c.type === 'field_declaration');
  // The masked parse sees a field `int _pyhead_;` where the source says PyObject_HEAD (the mask
  // may be shorter than the macro, so read the source from the field's start).
  const firstText = first ? f.text.slice(first.startIndex) : '';
  if (!first || !/^PyObject_(VAR_)?HEAD\b/.test(firstText)) return null;
  const typedefs = node.type === 'type_definition' ? node.childrenForFieldName('declarator').map((d) => d.text) : [];
  const objectFields: string[] = [];
  for (const field of body!.namedChildren) {
    if (field.type !== 'field_declaration' || field.childForFieldName('type')?.text !== 'PyObject') continue;
    for (const d of field.childrenForFieldName('declarator')) {
      if (d.type === 'pointer_declarator') objectFields.push(d.childForFieldName('declarator')?.text ?? '');
    }
  }
  return {
    file: f.path,
    line: node.startPosition.row + 1,
    tag: struct.childForFieldName('name')?.text ?? null,
    typedefs,
    head: firstText.startsWith('PyObject_VAR_HEAD') ? 'PyObject_VAR_HEAD' : 'PyObject_HEAD',
    objectFields,
  };
}

