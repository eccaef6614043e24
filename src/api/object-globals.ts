/**
 * File-scope `PyObject *` variables (caches, exception and type objects made at module init) and
 * whether each can become an `HPyGlobal` (porting-concepts §f): what every use of one turns into,
 * or why it must stay a C global. Shared by the transform that converts them (pyobject-global)
 * and the one that writes the module's exec slot (pymoduledef), which hands a global over only
 * when the other uses of it convert, so that the two never disagree.
 */
import { callArguments, calleeName, enclosingFunction, functionName, functionParams, hasContextParam, unparenthesize } from './c-syntax.js';
import { contextScope, isModuleInit, type ContextScope } from './context-scope.js';
import { handleHost, type HandleHost } from './statement-handles.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** A file-scope `PyObject *` variable. */
export interface ObjectGlobal {
  name: string;
  /** The file-scope declaration (it may declare several globals). */
  declaration: SyntaxNode;
  /** The identifier that declares it. */
  id: SyntaxNode;
  /** Its uses in functions (those in the module init function left out when asked). */
  uses: GlobalUse[];
  /** Why it stays a C global; null when it can become an HPyGlobal. */
  problem: GlobalProblem | null;
}

/** Why a global stays a C global: where, what, and what to do instead. */
export interface GlobalProblem {
  at: SyntaxNode;
  message: string;
  notes: string[];
}

/** One use of a global in a function, and what it becomes. */
export type GlobalUse =
  /** A read (`node` with its casts): loaded into a handle for the statement `host`, closed after it. */
  | { kind: 'read'; node: SyntaxNode; host: HandleHost; fn: SyntaxNode }
  /** A new reference returned or kept (`Py_INCREF(G); return G;`, `return Py_NewRef(G);`): `node` becomes a load. */
  | { kind: 'new-reference'; node: SyntaxNode; incref: SyntaxNode | null; fn: SyntaxNode }
  /** Already an HPyGlobal use: `HPyGlobal_Store(ctx, &G, h)`, `HPyGlobal_Load(ctx, G)`. */
  | { kind: 'converted'; node: SyntaxNode };

const FILE_DECLARATIONS = '(translation_unit (declaration) @decl)';
const IDENTIFIERS = '(identifier) @id';
const LOCAL_DECLARATIONS = '[(declaration) (parameter_declaration)] @decl';
const MODULE_DEF = /^[ \t]*(?:static\s+)?(?:struct\s+)?H?PyModuleDef\s+\w+\s*=/m;
const OBJECT_CAST = /^(PyObject|PyTypeObject)\s*\*$/;
const INCREFS = /^Py_X?INCREF$/;
const NEW_REFS = /^Py_X?NewRef$/;
const REFCOUNTS = /^(Py_X?INCREF|Py_X?DECREF|Py_CLEAR|Py_X?NewRef|Py_X?SETREF)$/;

const HOW = (name: string) =>
  `an HPyGlobal is set with 'HPyGlobal_Store(ctx, &${name}, h)' in the module's exec slot and read with 'HPyGlobal_Load(ctx, ${name})', a new handle closed after each use`;

/**
 * The file-scope `PyObject *` variables of the file (`text`, the file's current text) with their uses and verdicts. With
 * `skipModuleInit`, uses inside `PyInit_*` are left out (the caller converts that function).
 */
export function objectGlobalsOf(api: RewriteApi, text: string, options: { skipModuleInit: boolean }): ObjectGlobal[] {
  const globals = declaredGlobals(api);
  if (globals.length === 0) return [];
  const scope = contextScope(api.index, text, api.target);
  const moduleDef = MODULE_DEF.exec(text);
  const ids = api.matches(IDENTIFIERS);
  for (const g of globals) {
    if (g.problem) continue;
    if (!moduleDef) {
      g.problem = { at: g.id, message: `'${g.name}' is a file-scope object in a file without the module definition: left as a C global`, notes: ["every HPyGlobal is listed in the '.globals' of the HPyModuleDef: move the global to the file of the module def (or list it there by hand, declared 'extern'), then run hpy-migrate again"] };
      continue;
    }
    if (g.declaration.startIndex > moduleDef.index) {
      g.problem = { at: g.id, message: `'${g.name}' is declared after the module definition: left as a C global`, notes: ["the module def lists every HPyGlobal in '.globals': move the declaration above it, then run hpy-migrate again"] };
      continue;
    }
    for (const { id } of ids) {
      if (id.id === g.id.id || api.text(id) !== g.name) continue;
      const use = classifyUse(api, scope, g, id, options.skipModuleInit);
      if (use && 'problem' in use) {
        g.problem ??= use.problem;
      } else if (use) g.uses.push(use);
    }
  }
  shareProblems(globals);
  return globals;
}

/** The file-scope `PyObject *G [= NULL]` variables; those that cannot be converted carry a problem already. */
function declaredGlobals(api: RewriteApi): ObjectGlobal[] {
  const out: ObjectGlobal[] = [];
  for (const { decl } of api.matches(FILE_DECLARATIONS)) {
    if (api.text(decl.childForFieldName('type')!) !== 'PyObject') continue;
    const isStatic = decl.namedChildren.some((c) => c.type === 'storage_class_specifier' && api.text(c) === 'static');
    const qualified = decl.namedChildren.some((c) => c.type === 'type_qualifier' || (c.type === 'storage_class_specifier' && api.text(c) !== 'static'));
    for (const d of decl.childrenForFieldName('declarator')) {
      const value = d.type === 'init_declarator' ? d.childForFieldName('value') : null;
      const pointer = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
      const id = pointer?.type === 'pointer_declarator' ? pointer.childForFieldName('declarator') : null;
      if (id?.type !== 'identifier') continue;
      const name = api.text(id);
      const g: ObjectGlobal = { name, declaration: decl, id, uses: [], problem: null };
      if (!isStatic || qualified) {
        g.problem = { at: id, message: `'${name}' is not a plain 'static' object pointer: left as a C global`, notes: ["another file may use a global that is not 'static': declare it 'static PyObject *', or convert it to an HPyGlobal by hand", HOW(name)] };
      } else if (value && !/^(NULL|0)$/.test(api.text(unparenthesize(value)))) {
        g.problem = { at: value, message: `'${name}' is initialised with '${api.text(value)}': left as a C global`, notes: [`an HPyGlobal starts empty: store the object in the module's exec slot ('HPyGlobal_Store(ctx, &${name}, h)'), then run hpy-migrate again`] };
      }
      out.push(g);
    }
  }
  return out;
}

/** A declaration converts whole: a problem of one of its globals keeps the others too. */
function shareProblems(globals: ObjectGlobal[]): void {
  for (const g of globals) {
    if (g.problem) continue;
    const other = globals.find((o) => o.problem && o.declaration.id === g.declaration.id);
    if (other) g.problem = { at: g.id, message: `'${g.name}' shares its declaration with '${other.name}', which stays a C global: left as a C global`, notes: ['declare each global on its own, then run hpy-migrate again'] };
  }
}

/** The expression around `node` without its parentheses and casts to an object pointer. */
export function objectCastsAround(api: RewriteApi, node: SyntaxNode): SyntaxNode {
  let n = node;
  for (;;) {
    const p = n.parent;
    if (p?.type === 'parenthesized_expression') n = p;
    else if (p?.type === 'cast_expression' && OBJECT_CAST.test(api.text(p.childForFieldName('type')!).trim())) n = p;
    else return n;
  }
}

type Classified = GlobalUse | { problem: GlobalProblem } | null;

/** What one use of `g` becomes, why it cannot be converted, or null when it is not a use of `g`. */
function classifyUse(api: RewriteApi, scope: ContextScope, g: ObjectGlobal, id: SyntaxNode, skipModuleInit: boolean): Classified {
  const fail = (at: SyntaxNode, message: string, notes: string[]): Classified => ({ problem: { at, message: `${message}: '${g.name}' is left as a C global`, notes: [...notes, HOW(g.name)] } });
  const fn = enclosingFunction(id);
  if (!fn) return fail(id, `'${g.name}' is used at file scope`, ['no context exists there to load the global: use it inside a function']);
  const fname = functionName(fn) ?? '';
  if (shadows(api, fn, g.name)) return null;
  if (skipModuleInit && isModuleInit(fname)) return null;
  const converted = convertedUse(api, id);
  if (converted) return converted;
  if (!hasContextParam(fn) && !(scope.needsContext(fname) && !scope.isCallback(fname) && !scope.isWithoutContext(fname, functionParams(fn)))) {
    return fail(id, `'${g.name}' is used in '${fname}', which has no 'HPyContext *ctx'`, [isModuleInit(fname) ? 'the module init function was not converted (see the pymoduledef diagnostics)' : 'the function keeps its C-API signature or is called by HPy without a context (traverse, destroy): loading a global needs ctx']);
  }
  const outer = objectCastsAround(api, id);
  const p = outer.parent;
  if (id.parent?.type === 'pointer_expression') return fail(id.parent, `'${api.text(id.parent)}' uses the global as a pointer`, ['an HPyGlobal is only written with HPyGlobal_Store and read with HPyGlobal_Load: convert this use by hand']);
  if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === outer.id) {
    return fail(p, `'${g.name}' is assigned in '${fname}'`, ['HPy 0.9.0 cannot test an HPyGlobal for emptiness (loading an empty one crashes), so a global set lazily cannot be ported as it is: create the object in the module init function instead']);
  }
  const call = p?.type === 'argument_list' ? p.parent : null;
  const callee = call ? calleeName(call) ?? '' : '';
  if (call && REFCOUNTS.test(callee)) return refcountUse(api, g, fn, call, callee, fail);
  if (p?.type === 'return_statement' || isCopy(outer)) return newReference(api, g, fn, outer, fail);
  if (isNullTest(api, outer)) return fail(p ?? outer, `'${g.name}' is tested for NULL in '${fname}'`, ['HPy 0.9.0 cannot test an HPyGlobal for emptiness (loading an empty one crashes): create the object in the module init function, where a failure stops the import, and drop the test']);
  const host = handleHost(outer, false);
  if ('problem' in host) {
    return fail(outer, `'${g.name}' is read in a place where no handle can be loaded before the statement`, ['the global is loaded into a handle before an expression statement, a declaration, a return or an if, and closed after it: compute the value into a local first (outside loop headers and else-if conditions)']);
  }
  return { kind: 'read', node: outer, host, fn };
}

/** `HPyGlobal_Store(ctx, &G, h)` and `HPyGlobal_Load(ctx, G)`: nothing left to do. */
function convertedUse(api: RewriteApi, id: SyntaxNode): GlobalUse | null {
  const address = id.parent?.type === 'pointer_expression' && id.parent.child(0)?.type === '&' ? id.parent : null;
  const arg = address ?? id;
  const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : null;
  if (!call || callArguments(call)[1]?.id !== arg.id) return null;
  const callee = calleeName(call);
  if ((callee === 'HPyGlobal_Store' && address) || (callee === 'HPyGlobal_Load' && !address)) return { kind: 'converted', node: id };
  return null;
}

/** Does the function declare a parameter or local of that name (its uses are not the global's)? */
function shadows(api: RewriteApi, fn: SyntaxNode, name: string): boolean {
  for (const { decl } of api.matches(LOCAL_DECLARATIONS, fn)) {
    for (const d of decl.childrenForFieldName('declarator')) {
      let n: SyntaxNode | null = d;
      while (n && n.type !== 'identifier') n = n.childForFieldName('declarator');
      if (n && api.text(n) === name) return true;
    }
  }
  return false;
}

type Fail = (at: SyntaxNode, message: string, notes: string[]) => Classified;

/** `Py_INCREF(G);` before a `return G;` or a copy is taken by that use; `return Py_NewRef(G);` is a load. */
function refcountUse(api: RewriteApi, g: ObjectGlobal, fn: SyntaxNode, call: SyntaxNode, callee: string, fail: Fail): Classified {
  if (NEW_REFS.test(callee) && objectCastsAround(api, call).parent?.type === 'return_statement') {
    return { kind: 'new-reference', node: objectCastsAround(api, call), incref: null, fn };
  }
  const stmt = call.parent;
  const next = stmt?.type === 'expression_statement' ? nextStatement(stmt) : null;
  if (INCREFS.test(callee) && next && takesNewReference(api, next, g.name)) return null;
  return fail(call, `'${api.text(call)}' counts references of the global`, ["an HPyGlobal keeps its own reference: a handle from 'HPyGlobal_Load' is the new reference ('return HPyGlobal_Load(ctx, G);'); convert this use by hand"]);
}

/** `return G;`, `x = G;`, `T x = G;` after `Py_INCREF(G);`: the caller or the variable gets a loaded handle. */
function newReference(api: RewriteApi, g: ObjectGlobal, fn: SyntaxNode, outer: SyntaxNode, fail: Fail): Classified {
  let stmt: SyntaxNode | null = outer.parent;
  while (stmt && !['return_statement', 'expression_statement', 'declaration'].includes(stmt.type)) stmt = stmt.parent;
  const prev = stmt ? previousStatement(stmt) : null;
  const call = prev?.type === 'expression_statement' ? prev.namedChildren[0] : null;
  const incref = call?.type === 'call_expression' && INCREFS.test(calleeName(call) ?? '') && callArguments(call).length === 1 && api.text(unparenthesize(callArguments(call)[0])) === g.name;
  if (incref && stmt && takesNewReference(api, stmt, g.name)) return { kind: 'new-reference', node: outer, incref: prev, fn };
  const what = outer.parent?.type === 'return_statement' ? 'returned without a new reference' : 'copied into a variable';
  return fail(outer, `'${g.name}' is ${what}`, ["write 'HPyGlobal_Load(ctx, G)' where a new reference is handed out (closed by its owner), or load it where it is used"]);
}

/** Is `stmt` `return G;`, `x = G;` or `T x = G;` (casts allowed)? */
function takesNewReference(api: RewriteApi, stmt: SyntaxNode, name: string): boolean {
  let value: SyntaxNode | null | undefined = null;
  if (stmt.type === 'return_statement') value = stmt.namedChildren.find((c) => c.type !== 'comment');
  else if (stmt.type === 'expression_statement' && stmt.namedChildren[0]?.type === 'assignment_expression') value = stmt.namedChildren[0].childForFieldName('right');
  else if (stmt.type === 'declaration' && stmt.childrenForFieldName('declarator').length === 1) value = stmt.childForFieldName('declarator')?.childForFieldName('value');
  if (!value) return false;
  let v = unparenthesize(value);
  while (v.type === 'cast_expression' && OBJECT_CAST.test(api.text(v.childForFieldName('type')!).trim())) v = unparenthesize(v.childForFieldName('value')!);
  return v.type === 'identifier' && api.text(v) === name;
}

/** Is `outer` the whole value of an assignment or of an initialised declaration? */
function isCopy(outer: SyntaxNode): boolean {
  const p = outer.parent;
  if (p?.type === 'assignment_expression') return p.childForFieldName('right')?.id === outer.id;
  return p?.type === 'init_declarator' && p.childForFieldName('value')?.id === outer.id;
}

/** `G == NULL`, `G != NULL`, `!G`, or `G` as a condition or an operand of `&&`/`||`. */
function isNullTest(api: RewriteApi, outer: SyntaxNode): boolean {
  const p = outer.parent;
  if (!p) return false;
  const op = p.childForFieldName('operator')?.type;
  if (p.type === 'binary_expression' && (op === '==' || op === '!=')) {
    const other = p.childForFieldName('left')?.id === outer.id ? p.childForFieldName('right') : p.childForFieldName('left');
    return !!other && /^(NULL|0)$/.test(api.text(unparenthesize(other)));
  }
  if (p.type === 'unary_expression' && op === '!') return true;
  if (p.type === 'binary_expression') return op === '&&' || op === '||';
  const g = p.parent;
  if (p.type === 'parenthesized_expression' && g && ['if_statement', 'while_statement', 'do_statement'].includes(g.type)) return g.childForFieldName('condition')?.id === p.id;
  return p.type === 'conditional_expression' && p.childForFieldName('condition')?.id === outer.id;
}

function nextStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.nextNamedSibling;
  while (n?.type === 'comment') n = n.nextNamedSibling;
  return n;
}

function previousStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.previousNamedSibling;
  while (n?.type === 'comment') n = n.previousNamedSibling;
  return n;
}
