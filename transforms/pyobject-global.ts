/**
 * Turns file-scope `PyObject *` variables into `HPyGlobal`s, listed in the module def's
 * `.globals`, and loads them into a handle, closed after the statement, wherever they are read.
 *
 * ## Why
 * An `HPy` handle may not outlive the call that received it, so an object kept for the whole
 * module (a type made at init, an exception, a cache) is an `HPyGlobal`: written with
 * `HPyGlobal_Store(ctx, &g, h)` (which keeps its own reference) and read with
 * `HPyGlobal_Load(ctx, g)`, a new handle to close; every HPyGlobal is listed in the `.globals`
 * of the `HPyModuleDef` (porting guide, "HPyGlobal":
 * https://docs.hpyproject.org/en/latest/api-reference/hpy-global.html, and
 * https://docs.hpyproject.org/en/latest/porting-guide.html).
 *
 * ## Before
 * ```c
 * static PyObject *PointType = NULL;
 *
 * static int
 * is_point(HPyContext *ctx, HPy obj)
 * {
 *     return PyObject_TypeCheck(obj, (PyTypeObject *)PointType);
 * }
 *
 * static HPy
 * point_type(HPyContext *ctx, HPy module)
 * {
 *     Py_INCREF(PointType);
 *     return PointType;
 * }
 *
 * static HPyModuleDef geometry_module = {
 *     .defines = geometry_defines,
 * };
 * ```
 * ## After
 * ```c
 * static HPyGlobal PointType;
 *
 * static int
 * is_point(HPyContext *ctx, HPy obj)
 * {
 *     HPy h_PointType = HPyGlobal_Load(ctx, PointType);
 *     int result = PyObject_TypeCheck(obj, h_PointType);
 *     HPy_Close(ctx, h_PointType);
 *     return result;
 * }
 *
 * static HPy
 * point_type(HPyContext *ctx, HPy module)
 * {
 *     return HPyGlobal_Load(ctx, PointType);
 * }
 *
 * static HPyGlobal *geometry_module_globals[] = {
 *     &PointType,
 *     NULL
 * };
 *
 * static HPyModuleDef geometry_module = {
 *     .defines = geometry_defines,
 *     .globals = geometry_module_globals,
 * };
 * ```
 * ## Safety
 * safe: a read gets the object the C global held, through a handle that lives for its statement:
 * loaded right before it (`HPy h_G = HPyGlobal_Load(ctx, G);`, the casts to `PyObject *` or
 * `PyTypeObject *` go) and closed right after it; a `return` computes its value into a new local
 * `result` of the function's return type first; an `if` whose condition reads the global closes
 * the handle first thing in each branch (an `else` is added when there is none). `Py_INCREF(G);`
 * followed by `return G;` (or `x = G;`), and `return Py_NewRef(G);`, hand out a loaded handle: the
 * new reference they stood for. The declaration becomes `static HPyGlobal G;` (HPy keeps globals
 * per interpreter and releases them at exit) and `&G` is listed in the `.globals` of the file's
 * `HPyModuleDef` (a `<def>_globals` array is written before the def when it has none). The
 * module's init code is pymoduledef's: it stores the object with `HPyGlobal_Store` in the exec
 * slot, which this transform leaves as it is, and hands a global over only when this transform
 * converts every other use of it (the analysis is shared, `src/api/object-globals.ts`).
 *
 * ## Limits
 * A global is converted whole or not at all (reported, left as a C global, warning): not `static`,
 * initialised with something other than `NULL`, declared together with one that stays, declared
 * after the module def, or in a file without an `HPyModuleDef` (the module is converted first, by
 * pymoduledef; a global of another file is listed by hand); used at file scope, in a function
 * without `ctx` (a legacy callback, traverse, destroy, an init function that was not converted),
 * assigned outside the module init (lazy initialisation: HPy 0.9.0 cannot test an HPyGlobal for
 * emptiness, loading an empty one crashes), tested for NULL, its address taken, reference
 * counting on it other than the new-reference patterns above, returned or copied into a variable
 * without a new reference, or read in a loop header, a `switch` or an `else if` condition. Plain C
 * data (ints, flags, C pointers) stays in ordinary C globals and is not looked at.
 */
import {
  applyNestedSites,
  contextGuard,
  contextGuardSuggestion,
  defineTransform,
  functionReturnType,
  handleStatementSite,
  indentationAt,
  objectGlobalsOf,
  suggestingApi,
  unusedName,
  type GlobalUse,
  type HandleHost,
  type NestedSite,
  type ObjectGlobal,
  type RewriteApi,
  type SourceFile,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const MODULE_DEFS = `(declaration type: (type_identifier) @type (#eq? @type "HPyModuleDef")
  declarator: (init_declarator declarator: (identifier) @name value: (initializer_list) @list)) @decl`;
const GLOBAL_ARRAYS = `(declaration type: (type_identifier) @type (#eq? @type "HPyGlobal")
  declarator: (init_declarator declarator: (pointer_declarator declarator: (array_declarator declarator: (identifier) @name)) value: (initializer_list) @list)) @decl`;

/** What a file-scope object becomes when written by hand. */
function globalForm(name: string): string {
  return `static HPyGlobal ${name}; listed in the '.globals' of the HPyModuleDef; HPyGlobal_Store(ctx, &${name}, h) in the HPy_mod_exec slot; HPy h = HPyGlobal_Load(ctx, ${name}); ... HPy_Close(ctx, h); at each use`;
}

/** The module def of the file, where the globals are listed. */
interface ModuleDef {
  decl: SyntaxNode;
  name: string;
  list: SyntaxNode;
}

/** One host statement: the globals loaded before it. */
interface HostPlan {
  host: HandleHost;
  fn: SyntaxNode;
  /** Global name to the local handle loaded for it. */
  loads: Map<string, string>;
}

export default defineTransform({
  id: 'pyobject-global',
  summary: 'file-scope PyObject * variables become HPyGlobals: listed in the module def, loaded and closed where they are read',
  concern: 'globals',
  safety: 'safe',
  default: true,
  // The exec slot stores the objects (pymoduledef); the body transforms then see loaded handles.
  after: ['pymoduledef'],
  rewrite(file, api) {
    rewriteGlobals(file, api);
  },
});

function rewriteGlobals(file: SourceFile, api: RewriteApi): void {
  const globals = objectGlobalsOf(api, file.text, { skipModuleInit: false });
  if (globals.length === 0) return;
  const def = moduleDef(api);
  for (const g of globals) {
    if (!g.problem && !def) {
      g.problem = { at: g.id, message: `'${g.name}' is a file-scope object, but the file has no 'HPyModuleDef' to list it in: left as a C global`, notes: ['the pymoduledef transform converts the module definition (see its diagnostics for why it did not); an HPyGlobal must be listed in its .globals'] };
    }
  }
  for (const g of globals) if (g.problem) api.report(g.problem.at, g.problem.message, { notes: g.problem.notes, suggestion: globalForm(g.name) });
  const converted = globals.filter((g) => !g.problem && !globals.some((o) => o.problem && o.declaration.id === g.declaration.id));
  if (converted.length === 0 || !def) return;
  const listing = listGlobals(api, file.text, def, converted.map((g) => g.name));
  if ('message' in listing) {
    api.report(listing.at, listing.message, { notes: listing.notes, suggestion: `${converted.map((g) => `&${g.name}`).join(', ')} in the NULL-ended 'HPyGlobal *[]' that '.globals' names` });
    return;
  }
  const sites: NestedSite[] = [];
  convertDeclarations(api, converted, sites);
  convertUses(api, file.text, converted, sites);
  applyNestedSites(api, sites);
  listing.apply();
}

/** The `HPyModuleDef` of the file (the first, if several). */
function moduleDef(api: RewriteApi): ModuleDef | null {
  const m = api.matches(MODULE_DEFS).find((x) => x.decl.parent?.type === 'translation_unit');
  return m ? { decl: m.decl, name: api.text(m.name), list: m.list } : null;
}

/** `static PyObject *A = NULL, *B;` becomes `static HPyGlobal A, B;`. */
function convertDeclarations(api: RewriteApi, globals: ObjectGlobal[], sites: NestedSite[]): void {
  const done = new Set<number>();
  for (const g of globals) {
    if (done.has(g.declaration.id)) continue;
    done.add(g.declaration.id);
    const decl = g.declaration;
    const names = globals.filter((o) => o.declaration.id === decl.id).map((o) => o.name);
    const type = decl.childForFieldName('type')!;
    const head = api.text({ start: decl.startIndex, end: type.startIndex });
    const text = `${head}HPyGlobal ${names.join(', ')};`;
    sites.push({ start: decl.startIndex, end: decl.endIndex, build: () => text });
  }
}

/** Reads load the global before their statement and close it after; new references become loads. */
function convertUses(api: RewriteApi, text: string, globals: ObjectGlobal[], sites: NestedSite[]): void {
  const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
  const hosts = new Map<number, HostPlan>();
  const taken = new Map<number, Set<string>>();
  for (const g of globals) {
    for (const use of g.uses) {
      if (use.kind === 'converted') continue;
      if (!guard.allows(use.node, 'HPyGlobal_Load')) continue;
      if (use.kind === 'new-reference') {
        planNewReference(api, text, g, use, sites);
        continue;
      }
      const plan = hosts.get(use.host.stmt.id) ?? { host: use.host, fn: use.fn, loads: new Map<string, string>() };
      hosts.set(use.host.stmt.id, plan);
      const names = taken.get(use.fn.id) ?? new Set<string>();
      taken.set(use.fn.id, names);
      let local = plan.loads.get(g.name);
      if (!local) {
        local = unusedName(api.text(use.fn), `h_${g.name}`, names);
        names.add(local);
        plan.loads.set(g.name, local);
      }
      const handle = local;
      sites.push({ start: use.node.startIndex, end: use.node.endIndex, build: () => handle });
    }
  }
  for (const plan of hosts.values()) {
    const names = taken.get(plan.fn.id)!;
    const isReturn = plan.host.kind === 'statement' && plan.host.stmt.type === 'return_statement';
    const result = isReturn ? unusedName(api.text(plan.fn), 'result', names) : '';
    names.add(result);
    const opens = [...plan.loads].map(([g, h]) => `HPy ${h} = HPyGlobal_Load(ctx, ${g});`);
    sites.push(handleStatementSite(api, text, { host: plan.host, opens, closes: [...plan.loads.values()].reverse(), result, returnType: functionReturnType(api, plan.fn) }));
  }
}

/** `Py_INCREF(G); return G;` becomes `return HPyGlobal_Load(ctx, G);` (the same for `x = G;`). */
function planNewReference(api: RewriteApi, text: string, g: ObjectGlobal, use: Extract<GlobalUse, { kind: 'new-reference' }>, sites: NestedSite[]): void {
  const load = `HPyGlobal_Load(ctx, ${g.name})`;
  sites.push({ start: use.node.startIndex, end: use.node.endIndex, build: () => load });
  if (use.incref) {
    const span = wholeLines(text, use.incref);
    sites.push({ ...span, build: () => '' });
  }
}

/**
 * Lists the globals in the module def: in its `.globals` array, or a new `<def>_globals` array
 * written before it. Planned first, applied once the globals are converted.
 */
function listGlobals(api: RewriteApi, text: string, def: ModuleDef, names: string[]): { apply: () => void } | { at: SyntaxNode; message: string; notes: string[] } {
  const eol = api.eol;
  const pair = def.list.namedChildren.find((c) => c.type === 'initializer_pair' && api.text(c.childForFieldName('designator')!) === '.globals');
  const value = pair?.childForFieldName('value');
  if (value) {
    const array = api.matches(GLOBAL_ARRAYS).find((m) => api.text(m.name) === api.text(value));
    const end = array?.list.namedChildren.find((c) => /^(NULL|0)$/.test(api.text(c)));
    if (!array || !end) {
      return { at: value, message: `'${def.name}' lists its globals in '${api.text(value)}', which is not an 'HPyGlobal *[]' of this file ending with NULL: the globals are left as C globals`, notes: [`list ${names.map((n) => `'&${n}'`).join(', ')} in '.globals' by hand, or make '${api.text(value)}' such an array, then run hpy-migrate again`] };
    }
    const listed = new Set(array.list.namedChildren.map((c) => api.text(c).replace(/\s+/g, '')));
    const missing = names.filter((n) => !listed.has(`&${n}`));
    const lineStart = text.lastIndexOf('\n', end.startIndex - 1) + 1;
    const ownLine = /^[ \t]*$/.test(text.slice(lineStart, end.startIndex));
    const indent = indentationAt(text, end.startIndex);
    const entries = ownLine ? missing.map((n) => `&${n},${eol}${indent}`).join('') : missing.map((n) => `&${n}, `).join('');
    return { apply: () => missing.length > 0 && api.insertBefore(end, entries) };
  }
  const arrayName = unusedName(text, `${def.name}_globals`);
  const elements = def.list.namedChildren.filter((c) => c.type !== 'comment');
  const last = elements[elements.length - 1];
  const unit = (last && indentationAt(text, last.startIndex)) || '    ';
  const array = [`static HPyGlobal *${arrayName}[] = {`, ...names.map((n) => `${unit}&${n},`), `${unit}NULL`, '};', '', ''].join(eol);
  return {
    apply: () => {
      api.insertBefore({ start: leadingStart(text, def.decl), end: def.decl.endIndex }, array);
      if (!last) api.replace(def.list, `{ .globals = ${arrayName} }`);
      else if (!api.text(def.list).includes('\n')) api.insertAfter(last, `, .globals = ${arrayName}`);
      else {
        const comma = /^[ \t]*,/.exec(text.slice(last.endIndex));
        const at = last.endIndex + (comma ? comma[0].length : 0);
        api.insertAfter({ start: at, end: at }, `${comma ? '' : ','}${eol}${unit}.globals = ${arrayName}${comma ? ',' : ''}`);
      }
    },
  };
}

/** The start of the line of a file-scope declaration, with the comment lines right above it. */
function leadingStart(text: string, decl: SyntaxNode): number {
  let start = decl.startIndex;
  let prev = decl.previousNamedSibling;
  while (prev?.type === 'comment' && /^[ \t]*\r?\n[ \t]*$/.test(text.slice(prev.endIndex, start))) {
    start = prev.startIndex;
    prev = prev.previousNamedSibling;
  }
  return text.lastIndexOf('\n', start - 1) + 1;
}

/** The lines a node stands on, line break included, when it is alone on them; else the node. */
function wholeLines(text: string, node: SyntaxNode): Span {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const rest = /^[ \t]*(\r?\n)/.exec(text.slice(node.endIndex));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, node.startIndex))) return { start: lineStart, end: node.endIndex + rest[0].length };
  return { start: node.startIndex, end: node.endIndex };
}
