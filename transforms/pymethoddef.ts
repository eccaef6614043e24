/**
 * Turns `PyMethodDef` tables into `HPyDef_METH_IMPL` definitions and gives their functions the
 * HPy method signatures.
 *
 * ## Why
 * A universal HPy module has no `PyMethodDef` (the type is incomplete there) and no function
 * taking `PyObject *`: each method is an `HPyDef` listed in a NULL-terminated `HPyDef *[]`, and its
 * implementation receives `HPyContext *ctx` and handles, with the argument tuple replaced by an
 * array and its length (porting guide, "Methods":
 * https://docs.hpyproject.org/en/latest/porting-guide.html). `PyDoc_STRVAR` and `PyDoc_STR` come
 * from `Python.h` and are gone with it.
 *
 * ## Before
 * ```c
 * PyDoc_STRVAR(pair_first_doc, "first(a, b) -> a");
 *
 * static PyObject *
 * pair_first(PyObject *self, PyObject *args)
 * {
 *     if (PyTuple_GET_SIZE(args) != 2)
 *         return NULL;
 *     return PyTuple_GET_ITEM(args, 0);
 * }
 *
 * static PyObject *
 * pair_ping(PyObject *self, PyObject *Py_UNUSED(ignored))
 * {
 *     Py_RETURN_NONE;
 * }
 *
 * static PyMethodDef pair_methods[] = {
 *     {"first", (PyCFunction)pair_first, METH_VARARGS, pair_first_doc},
 *     {"ping", (PyCFunction)pair_ping, METH_NOARGS, NULL},
 *     {NULL, NULL, 0, NULL}
 * };
 * ```
 * ## After
 * ```c
 * static const char pair_first_doc[] = "first(a, b) -> a";
 *
 * static HPy
 * pair_first(HPyContext *ctx, HPy self, const HPy *args, size_t nargs)
 * {
 *     if (nargs != 2)
 *         return NULL;
 *     return args[0];
 * }
 *
 * static HPy
 * pair_ping(HPyContext *ctx, HPy self)
 * {
 *     Py_RETURN_NONE;
 * }
 *
 * HPyDef_METH_IMPL(pair_first_def, "first", pair_first, HPyFunc_VARARGS, .doc = pair_first_doc)
 * HPyDef_METH_IMPL(pair_ping_def, "ping", pair_ping, HPyFunc_NOARGS)
 *
 * static HPyDef *pair_methods[] = {
 *     &pair_first_def,
 *     &pair_ping_def,
 *     NULL
 * };
 * ```
 * ## Safety
 * safe: a table is converted whole or not at all, and only when every function it lists is
 * defined in the same file, is used nowhere but in method tables, has the parameters its `METH_*`
 * flags imply and uses its argument tuple only in ways that keep their meaning with an array:
 * `PyTuple_GET_ITEM(args, i)` becomes `args[i]` (both borrowed from the caller) and
 * `PyTuple_GET_SIZE(args)` / `PyTuple_Size(args)` (or `HPy_Length(ctx, args)`, if capi-call ran
 * first) become `nargs`, written `(HPy_ssize_t)nargs` wherever the signedness of the count could
 * matter (arithmetic, comparison with a variable). Argument parsing calls (`PyArg_ParseTuple[AndKeywords]`, `PyArg_UnpackTuple`)
 * are left to the pyarg-parse transform, so a function that has one is converted only when
 * pyarg-parse runs too and accepts the call's format. The function keeps its name, which becomes
 * the impl of `HPyDef_METH_IMPL(<name>_def, ...)`; the table keeps its name and lists
 * `&<name>_def`. The parameters keep their names (`PyObject *Py_UNUSED(x)` of a `METH_NOARGS`
 * function disappears, the keyword dict's name now names `kwnames`). A function without `static`
 * gets it, as the prototype emitted by `HPyDef_METH_IMPL` is static (it is called from no other
 * file, which the index checks). A `self` declared as an object-struct pointer (`PointObject *self`)
 * becomes `HPy self`; its uses as a struct become the cast the old type implied
 * (`((PointObject *)self)->x`), which the pyobject-head transform turns into
 * `PointObject_AsStruct(ctx, self)`. `PyDoc_STRVAR(n, "s");` becomes `static const char n[] =
 * "s";` (its expansion) and `PyDoc_STR("s")` becomes `"s"`; a row's doc is written into its
 * `HPyDef_METH_IMPL` line, or into a `static const char <name>_doc[]` when its parentheses would
 * confuse the parser's mask of that line (`"1) first"`).
 *
 * ## Limits
 * Reported (warning), and the table is left exactly as it is:
 * - `METH_CLASS`, `METH_STATIC`, `METH_COEXIST`, `METH_METHOD` (no HPy counterpart) and flags that
 *   are not a plain `METH_*` combination;
 * - a function defined in another file or not at all, called directly, used as a value elsewhere,
 *   listed twice with different names, flags or docs, or whose `HPyDef_METH_IMPL` symbols
 *   (`<name>_def`, `<name>_def_trampoline`, `<name>_sig`) clash with a name of the file;
 * - parameters that do not match the flags, a return type other than `PyObject *`;
 * - other uses of the argument tuple (`PyTuple_GetItem(args, i)`, which checks the index, passing
 *   `args` on) or of the keyword dict, and argument parsing that pyarg-parse will not convert;
 * - a table holding preprocessor conditionals or lacking its `{NULL}` sentinel;
 * - a method that calls something no transform converts (no HPy 0.9.0 counterpart, such as
 *   `PyObject_GetIter`; a borrowed or stealing call no transform rewrites yet; a multi-step form):
 *   an HPy signature around a body that stays on the C API would not compile
 *   (`unconvertedCallReason` in `src/api/call-convertibility.ts`);
 * - a method that calls, directly or through functions of its file, a method left on the C API
 *   (its table left whole) or a helper `legacyHelpers` names (it calls something without an HPy
 *   0.9.0 counterpart, or such a helper): with an HPy signature it would call that function with
 *   handles (`cApiCallers` in `src/api/c-api-callers.ts`, the question hybrid runs ask too);
 * - a table named by a type (`.tp_methods = X` of a static `PyTypeObject`, `{Py_tp_methods, X}`
 *   of a `PyType_Slot` table) that pytype-spec leaves as it is (`tp_iter` in a universal run, a
 *   slot function used elsewhere, ...): an `HPyDef *[]` as the `tp_methods` of a C-API type does
 *   not compile, so the table and its methods stay on the C API with the type. pymethoddef asks
 *   pytype-spec's own planning (`typesLeftWhole` in `src/api/type-plans.ts`, told which tables
 *   this pass converts and which functions get HPy signatures) before it writes a table, so both
 *   take the same decision; the finding points at the type's.
 * A table shares the fate of any other table listing one of its functions. The count of a
 * `METH_FASTCALL` function becomes `size_t`: its use in arithmetic is pointed out (note).
 * `extern PyMethodDef` declarations and single `PyMethodDef` objects are reported. Every finding
 * says what to write by hand (its `suggestion`): the change after which the method converts, or
 * its HPy form.
 *
 * With `--target hybrid` the unit is the method, not the table (porting-concepts §g): a method
 * with one of the problems above keeps its C-API signature, and so does a method that calls,
 * directly or through helpers of its file, a function that stays on the C API (a legacy method,
 * or a helper `legacyHelpers` in `src/api/legacy-helpers.ts` names: it calls something without
 * an HPy 0.9.0 counterpart), since it could not call it with handles. Its entries, and entries
 * whose flags HPy lacks (`METH_CLASS`, ...) or whose shape is not a plain row, move as written
 * (with the comment lines right above them) to `static PyMethodDef <table>_legacy[]`, placed
 * right after the table and ended by the table's sentinel; the table keeps its name for the HPy
 * entries (pymoduledef registers `<table>_legacy` as `.legacy_methods`, pytype-spec as the type's
 * legacy `Py_tp_methods`). Each such method gets a note (not a warning) saying why. A table none
 * of whose entries converts stays as it is, whole; so does a table with a problem of its own
 * (syntax, sentinel, a name `<table>_legacy` already taken: warnings), and so does a table
 * whose type stays whole (a collectable type whose traverse stays legacy: a note, the type being
 * kept on the C API on purpose; a type that converts with `.legacy_slots` takes the table as
 * usual). A `<table>_legacy` next to an `HPyDef *<table>[]` is the legacy part of an earlier
 * hybrid run: a hybrid run moves the entries whose methods convert now (fixed by hand meanwhile)
 * to `<table>`, before its `NULL`, and removes the part once it is empty; a universal run reports
 * it and leaves it.
 */
import {
  applyNestedSites,
  argParseProblem,
  C_API_CALLEE_NOTE,
  callArguments,
  cApiCallers,
  functionParams,
  calleeName,
  CONVERTIBLE_ARG_PARSE_CALLS,
  defineTransform,
  functionDeclarator,
  functionName,
  indentationAt,
  legacyHelpers,
  maskText,
  structPointerUses,
  unconvertedCallReason,
  unparenthesize,
  type NestedSite,
  type RewriteApi,
  type SourceFile,
  type Span,
  type SyntaxNode,
  type TypeLeftWhole,
  typesLeftWhole,
} from '../src/api/index.js';

const METHOD_DEF_DECLARATION = `
(declaration
  type: [(type_identifier) (struct_specifier)] @type) @decl`;

const FUNCTION_DEFINITION = '(translation_unit (function_definition) @fn)';
const FILE_DECLARATION = '(translation_unit (declaration) @decl)';
const DOC_MACRO = `
(call_expression
  function: (identifier) @name (#match? @name "^PyDoc_STR(VAR)?$")
  arguments: (argument_list)) @call`;

/** HPy's four method signatures (porting-concepts §c). */
type MethKind = 'NOARGS' | 'O' | 'VARARGS' | 'KEYWORDS';

/** Something that keeps a table or a method from being converted, or a remark on a converted one. */
interface Finding {
  at: SyntaxNode | Span;
  message: string;
  notes: string[];
  /** What to write by hand (one line): the change that lets the method convert, or its HPy form. */
  suggestion: string;
}

/** One method entry of a table. */
interface Row {
  node: SyntaxNode;
  pyname: string;
  fn: string;
  kind: MethKind;
  fastcall: boolean;
  /** The doc's string pieces (one for a single literal or a name), or null for no doc. */
  doc: string[] | null;
}

/** A `PyMethodDef NAME[] = {...}` table. */
interface Table {
  decl: SyntaxNode;
  /** Every name written in the table's rows (converted or not). */
  mentions: Set<string>;
  type: SyntaxNode;
  name: SyntaxNode;
  rows: Row[];
  sentinel: SyntaxNode | null;
  findings: Finding[];
  blocked: boolean;
  /** Hybrid target: entries that stay C-API entries as they are (flags HPy lacks, other shapes). */
  legacyRows: LegacyRow[];
  /** For `<t>_legacy`, the legacy part of an earlier hybrid run: the `HPyDef *<t>[]` its entries join once they convert. */
  hpyTable: HpyTable | null;
  /** The type that uses it, when pytype-spec leaves that type whole: the table stays whole with it. */
  keptFor: TypeLeftWhole | null;
}

/** An `HPyDef *<t>[]` table of the file. */
interface HpyTable {
  decl: SyntaxNode;
  sentinel: SyntaxNode;
}

/** An entry of a table that moves, as written, to the table's legacy part (hybrid target). */
interface LegacyRow {
  node: SyntaxNode;
  /** The function it names, when that is a plain name. */
  fn: string | null;
  finding: Finding;
}

/** What converting one method function takes. */
interface FunctionPlan {
  name: string;
  rows: Row[];
  tables: Table[];
  def: SyntaxNode | null;
  prototypes: SyntaxNode[];
  findings: Finding[];
  remarks: Finding[];
  sites: NestedSite[];
  params: string;
  addStatic: boolean;
  /** Hybrid target: the function keeps its C-API signature and its entries go to the legacy part. */
  legacy: boolean;
}

const TABLE_NOTE = (table: string) => `'${table}' is left as it is: a method table is converted whole or not at all`;

export default defineTransform({
  id: 'pymethoddef',
  summary: 'PyMethodDef tables become HPyDef_METH_IMPL definitions; method functions get the HPy signatures',
  concern: 'handles',
  safety: 'safe',
  default: true,
  rewrite(file, api) {
    const all = collectTables(api);
    // The legacy part of an earlier hybrid run is only worked on by hybrid runs.
    const tables = api.target === 'hybrid' ? all : all.filter((t) => !t.hpyTable);
    if (api.target !== 'hybrid') all.filter((t) => t.hpyTable).forEach((t) => reportLegacyPart(api, t));
    const plans = planFunctions(file, api, tables);
    if (api.target === 'hybrid') {
      planLegacy(file, api, tables, plans);
      reportLegacy(api, tables, plans);
    } else {
      do blockTables(tables, plans);
      while (keepTablesOfWholeTypes(file, api, tables, plans) || blockCApiCallers(file, api, plans));
      reportBlocked(api, tables, plans);
    }
    const emitted = new Set<string>();
    for (const table of tables) {
      if (table.blocked || staysWhole(table, plans)) continue;
      if (table.hpyTable) emitIntoHpyTable(file, api, table, plans, emitted);
      else if (hasLegacyPart(table, plans)) emitSplitTable(file, api, table, plans, emitted);
      else emitTable(file, api, table, emitted);
    }
    for (const plan of plans.values()) {
      if (!plan.legacy && !plan.tables.some((t) => t.blocked)) emitFunction(api, plan);
    }
    convertDocMacros(api, all.map((t) => t.decl));
  },
});

function collectTables(api: RewriteApi): Table[] {
  const tables: Table[] = [];
  for (const { decl, type } of api.matches(METHOD_DEF_DECLARATION)) {
    if (!/^(struct\s+)?PyMethodDef$/.test(api.text(type))) continue;
    const table = readTable(api, decl, type);
    if (table) tables.push({ ...table, hpyTable: hpyTableOf(api, table.name.text) });
  }
  return tables.sort((a, b) => a.decl.startIndex - b.decl.startIndex);
}

/** Reads one `PyMethodDef` declaration; reports the ones that are not a table defined here. */
function readTable(api: RewriteApi, decl: SyntaxNode, type: SyntaxNode): Table | null {
  const init = decl.childrenForFieldName('declarator');
  const array = init.length === 1 && init[0].type === 'init_declarator' ? init[0].childForFieldName('declarator') : null;
  const name = array?.type === 'array_declarator' ? array.childForFieldName('declarator') : null;
  const value = init[0]?.childForFieldName('value');
  if (!name || name.type !== 'identifier' || value?.type !== 'initializer_list') {
    const declared = init[0]?.descendantsOfType('identifier')[0]?.text ?? 'name';
    const note = value
      ? "a single 'PyMethodDef' (for 'PyCFunction_New' and the like) has no HPy 0.9.0 counterpart: list the function in a method table instead, or keep this code on the legacy API"
      : `once the table is converted where it is defined, declare it here as 'HPyDef *${declared}[]' (keeping 'extern')`;
    const suggestion = value
      ? "an entry of the module's or the type's method table instead (an HPyDef_METH once converted), or keep this code on the C API (--target hybrid)"
      : `extern HPyDef *${declared}[];`;
    api.report(decl, `this 'PyMethodDef' declaration is not a method table defined here: left as it is`, { notes: [note], suggestion });
    return null;
  }
  const mentions = new Set(value.descendantsOfType('identifier').map((id) => id.text));
  const table: Table = { decl, mentions, type, name, rows: [], sentinel: null, findings: [], blocked: false, legacyRows: [], hpyTable: null, keptFor: null };
  if (value.hasError) {
    table.findings.push({ at: name, message: `method table '${name.text}' does not parse cleanly (preprocessor conditionals inside?)`, notes: ['convert it by hand, or move the conditionals around whole entries of a table written twice'], suggestion: `#if ... #else ... #endif around whole copies of '${name.text}' (one table per configuration, no conditional inside a table), then run hpy-migrate again` });
    return table;
  }
  for (const row of value.namedChildren) {
    if (row.type === 'comment') continue;
    readRow(api, table, row);
  }
  if (!table.sentinel) table.findings.push({ at: name, message: `method table '${name.text}' has no '{NULL, NULL, 0, NULL}' sentinel`, notes: ['add the sentinel: the table must end with one'], suggestion: `{NULL, NULL, 0, NULL} as the last entry of '${name.text}', then run hpy-migrate again` });
  return table;
}

/** The elements of a row, by field: positional (`{"f", f, METH_O, doc}`) or designated (`.ml_name = ...`). */
function rowFields(row: SyntaxNode): Record<string, SyntaxNode | undefined> | null {
  const items = row.namedChildren.filter((c) => c.type !== 'comment');
  const names = ['ml_name', 'ml_meth', 'ml_flags', 'ml_doc'];
  const fields: Record<string, SyntaxNode | undefined> = {};
  if (items.every((i) => i.type === 'initializer_pair')) {
    for (const pair of items) {
      const field = pair.childForFieldName('designator')?.namedChildren[0]?.text ?? pair.namedChildren[0]?.namedChildren[0]?.text;
      const value = pair.childForFieldName('value');
      if (!field || !names.includes(field) || !value) return null;
      fields[field] = value;
    }
    return fields;
  }
  if (items.some((i) => i.type === 'initializer_pair') || items.length > 4) return null;
  items.forEach((item, i) => (fields[names[i]] = item));
  return fields;
}

function isNullValue(node: SyntaxNode | undefined): boolean {
  if (!node) return true;
  const n = unparenthesize(node);
  return n.type === 'null' || n.text === 'NULL' || n.text === '0';
}

function readRow(api: RewriteApi, table: Table, row: SyntaxNode): void {
  const fields = row.type === 'initializer_list' ? rowFields(row) : null;
  const tableName = table.name.text;
  // In a hybrid port an entry HPy cannot express stays, as written, in the table's legacy part.
  const rowFinding = (finding: Finding): void => {
    if (api.target !== 'hybrid' || table.sentinel) table.findings.push(finding);
    else table.legacyRows.push({ node: row, fn: fields ? methodFunctionName(fields.ml_meth) : null, finding });
  };
  if (!fields) {
    rowFinding({ at: row, message: `this entry of '${tableName}' is not a '{name, function, flags, doc}' row`, notes: ['convert the table by hand'], suggestion: `{"name", function, METH_..., doc} (or '.ml_name = ...' designators) for this entry, then run hpy-migrate again` });
    return;
  }
  if (table.sentinel) {
    table.findings.push({ at: row, message: `'${tableName}' has entries after its sentinel`, notes: ['remove them or move the sentinel to the end'], suggestion: `{NULL, NULL, 0, NULL} as the last entry of '${tableName}' only` });
    return;
  }
  if (isNullValue(fields.ml_name)) {
    table.sentinel = row;
    return;
  }
  const fn = methodFunction(fields.ml_meth);
  if (!fn) {
    rowFinding({ at: fields.ml_meth ?? row, message: `the function of this entry of '${tableName}' is not a plain name`, notes: ['name the function directly (casts are fine), or convert the table by hand'], suggestion: 'the name of a function defined in this file, such as (PyCFunction)f, then run hpy-migrate again' });
    return;
  }
  const kind = readFlags(api, fields.ml_flags);
  if ('message' in kind) {
    rowFinding({ at: fields.ml_flags ?? row, ...kind });
    return;
  }
  table.rows.push({ node: row, pyname: api.text(fields.ml_name!), fn: fn.text, ...kind, doc: docText(api, fields.ml_doc) });
}

/** The name `methodFunction` finds, if any. */
function methodFunctionName(node: SyntaxNode | undefined): string | null {
  return methodFunction(node)?.text ?? null;
}

/** `f`, `(PyCFunction)f`, `(PyCFunction)(void (*)(void))f`, `&f`. */
function methodFunction(node: SyntaxNode | undefined): SyntaxNode | null {
  let n = node ? unparenthesize(node) : null;
  while (n && (n.type === 'cast_expression' || (n.type === 'pointer_expression' && n.child(0)?.type === '&'))) {
    const next = n.type === 'cast_expression' ? n.childForFieldName('value') : n.childForFieldName('argument');
    n = next ? unparenthesize(next) : null;
  }
  return n?.type === 'identifier' ? n : null;
}

/** The `METH_*` flags HPy 0.9.0 lacks, with what to write instead. */
const NO_COUNTERPART: Readonly<Record<string, string>> = {
  METH_CLASS: 'a module-level function (HPyDef_METH in the module) that takes the class as an argument',
  METH_STATIC: 'a module-level function (HPyDef_METH in the module)',
  METH_COEXIST: "the flags without 'METH_COEXIST' if the slot of the same name may provide the method",
  METH_METHOD: "a METH_FASTCALL | METH_KEYWORDS method that reaches its class through an HPyGlobal instead of the 'defining_class' argument",
};

/** `write`, and outside a hybrid run (where it is what happens) the legacy path as the other way. */
function orLegacy(api: RewriteApi, write: string, what: string): string {
  return api.target === 'hybrid' ? write : `${write}; or keep ${what} on the C API (--target hybrid moves it to the legacy methods)`;
}

const KINDS: Record<string, { kind: MethKind; fastcall: boolean }> = {
  METH_NOARGS: { kind: 'NOARGS', fastcall: false },
  METH_O: { kind: 'O', fastcall: false },
  METH_VARARGS: { kind: 'VARARGS', fastcall: false },
  'METH_KEYWORDS|METH_VARARGS': { kind: 'KEYWORDS', fastcall: false },
  METH_FASTCALL: { kind: 'VARARGS', fastcall: true },
  'METH_FASTCALL|METH_KEYWORDS': { kind: 'KEYWORDS', fastcall: true },
};

/** The HPy kind of a `METH_*` combination, or why there is none. */
function readFlags(api: RewriteApi, node: SyntaxNode | undefined): { kind: MethKind; fastcall: boolean } | Omit<Finding, 'at'> {
  const names: string[] = [];
  const visit = (n: SyntaxNode): boolean => {
    const m = unparenthesize(n);
    if (m.type === 'identifier') return names.push(m.text) > 0;
    if (m.type !== 'binary_expression' || m.childForFieldName('operator')?.type !== '|') return false;
    return visit(m.childForFieldName('left')!) && visit(m.childForFieldName('right')!);
  };
  const text = node ? api.text(node) : '0';
  if (!node || !visit(node)) {
    return {
      message: `the flags '${text}' are not a combination of METH_* names`,
      notes: ["write them as 'METH_X | METH_Y', or convert the table by hand"],
      suggestion: 'the METH_* names written out (METH_VARARGS | METH_KEYWORDS, no macro or number), then run hpy-migrate again',
    };
  }
  const missing = names.find((n) => n in NO_COUNTERPART);
  if (missing) {
    return {
      message: `'${missing}' has no HPy 0.9.0 counterpart`,
      notes: ["HPyDef_METH defines plain methods only: write this one as a module-level function, or keep it on the legacy API ('legacy_methods' of the module, hybrid ABI only)"],
      suggestion: orLegacy(api, NO_COUNTERPART[missing], 'the entry'),
    };
  }
  const kind = KINDS[[...new Set(names)].sort().join('|')];
  return (
    kind ?? {
      message: `the flags '${text}' are not a METH_* calling convention`,
      notes: ['use METH_NOARGS, METH_O, METH_VARARGS [| METH_KEYWORDS] or METH_FASTCALL [| METH_KEYWORDS]'],
      suggestion: 'one of METH_NOARGS, METH_O, METH_VARARGS, METH_VARARGS | METH_KEYWORDS, METH_FASTCALL, METH_FASTCALL | METH_KEYWORDS, with the parameters it implies',
    }
  );
}

/**
 * The `.doc` value of a row: null for NULL, the literal inside `PyDoc_STR("...")`; a literal
 * concatenated over several lines gives one piece per literal, to be laid out again.
 */
function docText(api: RewriteApi, node: SyntaxNode | undefined): string[] | null {
  if (isNullValue(node)) return null;
  let n = unparenthesize(node!);
  if (n.type === 'call_expression' && calleeName(n) === 'PyDoc_STR' && callArguments(n).length === 1) n = callArguments(n)[0];
  if (n.type === 'concatenated_string' && api.text(n).includes('\n')) {
    return n.namedChildren.filter((c) => c.type !== 'comment').map((c) => api.text(c));
  }
  return [api.text(n)];
}

const METH_IMPL = 'HPyDef_METH_IMPL(';
/** Longer `HPyDef_METH_IMPL` lines get their `.doc` on a line of its own. */
const MAX_LINE = 100;

/**
 * One `HPyDef_METH_IMPL(...)` line; a long one has its `.doc` on the next line, and a doc written
 * over several lines gets one line per piece.
 */
function methImplText(row: Row, eol: string, indent: string): string {
  const head = `${METH_IMPL}${row.fn}_def, ${row.pyname}, ${row.fn}, HPyFunc_${row.kind}`;
  if (row.doc === null) return `${head})`;
  const oneLine = `${head}, .doc = ${row.doc[0]})`;
  if (row.doc.length === 1 && indent.length + oneLine.length <= MAX_LINE) return oneLine;
  const pad = indent + ' '.repeat(METH_IMPL.length);
  const docPad = pad + ' '.repeat('.doc = '.length);
  return `${head},${eol}${pad}.doc = ${row.doc.join(eol + docPad)})`;
}

function planFunctions(file: SourceFile, api: RewriteApi, tables: Table[]): Map<string, FunctionPlan> {
  const defs = new Map<string, SyntaxNode>();
  for (const { fn } of api.matches(FUNCTION_DEFINITION)) {
    const name = functionName(fn);
    if (name) defs.set(name, fn);
  }
  const plans = new Map<string, FunctionPlan>();
  for (const table of tables) {
    for (const row of table.rows) {
      let plan = plans.get(row.fn);
      if (!plan) {
        plan = { name: row.fn, rows: [], tables: [], def: defs.get(row.fn) ?? null, prototypes: [], findings: [], remarks: [], sites: [], params: '', addStatic: false, legacy: false };
        plans.set(row.fn, plan);
      }
      plan.rows.push(row);
    }
  }
  for (const plan of plans.values()) plan.tables = tables.filter((t) => t.mentions.has(plan.name));
  const starts = new Set(tables.map((t) => t.decl.startIndex));
  // One walk over the file's identifiers, grouped by name (a walk per function is quadratic).
  const identifiers = new Map<string, SyntaxNode[]>();
  for (const id of file.tree.rootNode.descendantsOfType('identifier')) {
    const name = file.text.slice(id.startIndex, id.endIndex);
    if (plans.has(name)) identifiers.set(name, [...(identifiers.get(name) ?? []), id]);
  }
  for (const plan of plans.values()) checkFunction(file, api, plan, starts, identifiers.get(plan.name) ?? []);
  return plans;
}

function checkFunction(file: SourceFile, api: RewriteApi, plan: FunctionPlan, tableStarts: Set<number>, uses: readonly SyntaxNode[]): void {
  const first = plan.rows[0];
  const at = methodNode(first);
  if (plan.rows.some((r) => r.kind !== first.kind || r.fastcall !== first.fastcall || r.pyname !== first.pyname || r.doc?.join() !== first.doc?.join())) {
    plan.findings.push({ at, message: `'${plan.name}' is listed more than once with different names, flags or docs`, notes: ["HPyDef_METH_IMPL declares its impl once: give each entry a function of its own"], suggestion: `a function of its own for each entry (each a thin wrapper around a helper they share), then run hpy-migrate again` });
    return;
  }
  if (!plan.def) {
    const elsewhere = api.index.functions.find((f) => f.name === plan.name && f.file !== file.path);
    plan.findings.push(elsewhere
      ? { at, message: `'${plan.name}' is defined in '${elsewhere.file}', not next to its method table`, notes: ["HPyDef_METH_IMPL declares the impl 'static': move the function or the table so that both are in one file"], suggestion: `'${plan.name}' and its method table in one file, then run hpy-migrate again` }
      : { at, message: `'${plan.name}' is not defined in the project`, notes: ['convert this table by hand'], suggestion: `the definition of '${plan.name}' in this file (or no entry for it), then run hpy-migrate again` });
    return;
  }
  checkUses(file, api, plan, at, tableStarts, uses);
  checkCalls(api, plan);
  if (plan.findings.length === 0) planSignature(api, plan, first);
}

const BODY_CALLS = '(call_expression function: (identifier) @callee arguments: (argument_list) @args) @call';

/**
 * A call that no transform of this run converts keeps the whole function, and so its table, on
 * the C API: an HPy signature around it would half-convert the body (never compiles). The calls
 * this transform rewrites itself (the argument tuple's items and size) are not counted.
 */
function checkCalls(api: RewriteApi, plan: FunctionPlan): void {
  const body = plan.def!.childForFieldName('body');
  if (!body) return;
  // Only calls on the argument tuple are this transform's: it becomes the args array.
  const kind = plan.rows[0]?.kind;
  const tuple = kind === 'VARARGS' || kind === 'KEYWORDS' ? functionParams(plan.def!)[1]?.name : undefined;
  for (const { callee, call } of api.matches(BODY_CALLS, body)) {
    const name = api.text(callee);
    const first = callArguments(call)[0];
    const onTuple = tuple !== undefined && first?.type === 'identifier' && api.text(first) === tuple;
    if (onTuple && (TUPLE_ITEM.has(name) || TUPLE_SIZE.has(name) || name === 'PyTuple_GetItem')) continue;
    const why = unconvertedCallReason(api, name, callArguments(call).map((a) => api.text(a)), call);
    if (!why) continue;
    plan.findings.push({
      at: callee,
      message: `'${plan.name}' calls '${name}', which stays on the C API: ${why}`,
      notes: ['a method is converted whole or not at all: rewrite this call by hand (or wait for the transform that converts it), then run hpy-migrate again'],
      suggestion: orLegacy(api, `the HPy form of this call (see the finding on '${name}' itself), written by hand, then run hpy-migrate again`, `'${plan.name}'`),
    });
    return;
  }
}

/** The function node of a row (for positions). */
function methodNode(row: Row): SyntaxNode {
  return row.node.descendantsOfType('identifier').find((n) => n.text === row.fn) ?? row.node;
}

/** Direct calls, value uses outside method tables, prototypes, symbol clashes. */
function checkUses(file: SourceFile, api: RewriteApi, plan: FunctionPlan, at: SyntaxNode, tableStarts: Set<number>, uses: readonly SyntaxNode[]): void {
  const caller = api.index.functions.find((f) => f.calls.includes(plan.name));
  if (caller) {
    plan.findings.push({ at, message: `'${plan.name}' is also called directly, by '${caller.name}'`, notes: ["its signature becomes the HPy method signature: move the shared code into a helper that both call, then run hpy-migrate again"], suggestion: `a helper holding the shared code, called by '${caller.name}' and by '${plan.name}', then run hpy-migrate again` });
  }
  const twin = api.index.functions.find((f) => f.name === plan.name && f.file !== file.path);
  if (twin) plan.findings.push({ at, message: `another function '${plan.name}' is defined in '${twin.file}'`, notes: [`'${plan.name}_def' is a global symbol: rename one of them`], suggestion: `another name for one of the two functions '${plan.name}', then run hpy-migrate again` });
  for (const id of uses) {
    const use = classifyUse(id);
    if (use === 'prototype') plan.prototypes.push(prototypeOf(id)!);
    if (use === 'value' && !insideTable(id, tableStarts)) {
      plan.findings.push({ at: id, message: `'${plan.name}' is used here outside a method table`, notes: ['its signature becomes the HPy method signature: convert this use by hand, then run hpy-migrate again'], suggestion: `a helper holding the code of '${plan.name}', used here and called by '${plan.name}', then run hpy-migrate again` });
    }
  }
  for (const symbol of [`${plan.name}_def`, `${plan.name}_def_trampoline`, `${plan.name}_sig`]) {
    if (new RegExp(`\\b${symbol}\\b`).test(file.text)) plan.findings.push({ at, message: `'${symbol}' is already a name in this file`, notes: [`HPyDef_METH_IMPL defines '${plan.name}_def', '${plan.name}_def_trampoline' and '${plan.name}_sig': rename the existing '${symbol}'`], suggestion: `another name for the existing '${symbol}', then run hpy-migrate again` });
  }
}

type UseKind = 'definition' | 'prototype' | 'call' | 'value';

function classifyUse(id: SyntaxNode): UseKind {
  const p = id.parent;
  if (p?.type === 'call_expression' && p.childForFieldName('function')?.id === id.id) return 'call';
  if (p?.type === 'function_declarator' && p.childForFieldName('declarator')?.id === id.id) {
    if (prototypeOf(id)) return 'prototype';
    let n: SyntaxNode | null = p;
    while (n && (n.type === 'function_declarator' || n.type === 'pointer_declarator')) n = n.parent;
    if (n?.type === 'function_definition') return 'definition';
  }
  return 'value';
}

/** The file-scope declaration whose function declarator names `id`, if `id` is in one. */
function prototypeOf(id: SyntaxNode): SyntaxNode | null {
  let n: SyntaxNode | null = id.parent;
  while (n && (n.type === 'function_declarator' || n.type === 'pointer_declarator')) n = n.parent;
  return n?.type === 'declaration' && n.parent?.type === 'translation_unit' ? n : null;
}

/** Is `id` in one of the method tables (a `PyMethodDef` that is not an array counts as a use)? */
function insideTable(id: SyntaxNode, tableStarts: Set<number>): boolean {
  for (let n = id.parent; n; n = n.parent) {
    if (n.type === 'declaration') return tableStarts.has(n.startIndex);
  }
  return false;
}

/** One parameter as written: its type without spaces (`PyObject*const*`) and its name. */
interface Param {
  node: SyntaxNode;
  type: string;
  name: string | null;
  unused: boolean;
}

function readParams(fnOrDecl: SyntaxNode): Param[] | null {
  const decl = fnOrDecl.type === 'function_definition' ? functionDeclarator(fnOrDecl) : findDeclarator(fnOrDecl);
  const list = decl?.childForFieldName('parameters');
  if (!list) return null;
  const out: Param[] = [];
  for (const p of list.namedChildren) {
    if (p.type === 'comment') continue;
    if (p.type !== 'parameter_declaration') return null;
    out.push(readParam(p));
  }
  return out.length === 1 && out[0].type === 'void' ? [] : out;
}

function findDeclarator(decl: SyntaxNode): SyntaxNode | null {
  const ds = decl.childrenForFieldName('declarator');
  if (ds.length !== 1) return null;
  let d: SyntaxNode | null = ds[0];
  while (d && d.type === 'pointer_declarator') d = d.childForFieldName('declarator');
  return d?.type === 'function_declarator' ? d : null;
}

function readParam(p: SyntaxNode): Param {
  let d = p.childForFieldName('declarator');
  let name: SyntaxNode | null = null;
  let unused = false;
  while (d) {
    if (d.type === 'identifier') {
      name = d;
      break;
    }
    if (d.type === 'function_declarator' && d.childForFieldName('declarator')?.text === 'Py_UNUSED') {
      name = d.childForFieldName('parameters')?.namedChildren[0] ?? null;
      unused = true;
      break;
    }
    d = d.childForFieldName('declarator');
  }
  const typeEnd = name && !unused ? name.startIndex : d && unused ? d.startIndex : p.endIndex;
  const type = p.text.slice(0, typeEnd - p.startIndex).replace(/\/\*[\s\S]*?\*\/|\s+/g, '');
  return { node: p, type, name: name?.text ?? null, unused };
}

const OBJECT = 'PyObject*';
const STRUCT_POINTER = /^(?:struct)?([A-Za-z_]\w*)\*$/;

/** Parameter types per kind after `self` (plain, then FASTCALL). */
const EXPECTED: Record<MethKind, [string[][], string[][]]> = {
  NOARGS: [[[OBJECT]], [[OBJECT]]],
  O: [[[OBJECT, 'struct']], [[OBJECT, 'struct']]],
  VARARGS: [[[OBJECT]], [[`${OBJECT}const*`, 'PyObject**'], ['Py_ssize_t']]],
  KEYWORDS: [[[OBJECT], [OBJECT]], [[`${OBJECT}const*`, 'PyObject**'], ['Py_ssize_t'], [OBJECT]]],
};

function typeMatches(type: string, allowed: string[]): boolean {
  return allowed.includes(type) || (allowed.includes('struct') && STRUCT_POINTER.test(type) && type !== OBJECT);
}

/** Checks parameters and body, and plans the signature and body edits. */
function planSignature(api: RewriteApi, plan: FunctionPlan, row: Row): void {
  const def = plan.def!;
  const params = readParams(def);
  const expected = EXPECTED[row.kind][row.fastcall ? 1 : 0];
  const flags = flagsName(row);
  const at = functionDeclarator(def)?.childForFieldName('declarator') ?? def;
  const returnType = api.text({ start: def.childForFieldName('type')!.startIndex, end: at.startIndex }).replace(/\s+/g, '');
  if (returnType !== OBJECT) {
    plan.findings.push({ at, message: `'${plan.name}' does not return 'PyObject *'`, notes: [`a ${flags} method returns a new reference ('HPy' once ported): fix the return type by hand`], suggestion: `static PyObject *${plan.name}${expectedText(row)}, returning a new reference, then run hpy-migrate again` });
    return;
  }
  const ok = params && params.length === expected.length + 1 && typeMatches(params[0].type, [OBJECT, 'struct']) && expected.every((types, i) => typeMatches(params[i + 1].type, types)) && params.every((p) => p.name && p.name !== 'ctx');
  if (!ok) {
    plan.findings.push({ at, message: `the parameters of '${plan.name}' do not match a ${flags} method`, notes: [`expected ${expectedText(row)}; fix the function or its flags by hand`], suggestion: `${plan.name}${expectedText(row)}, or the flags its parameters imply, then run hpy-migrate again` });
    return;
  }
  for (const proto of plan.prototypes) {
    const pp = readParams(proto);
    if (!pp || pp.length !== params.length) plan.findings.push({ at: proto, message: `this prototype of '${plan.name}' does not match its definition`, notes: ['make them agree, then run hpy-migrate again'], suggestion: `the parameters of the definition of '${plan.name}', copied into this prototype` });
  }
  planBody(api, plan, row, params);
  plan.addStatic = !hasStatic(def);
}

function hasStatic(node: SyntaxNode): boolean {
  return node.namedChildren.some((c) => c.type === 'storage_class_specifier' && c.text === 'static');
}

function flagsName(row: Row): string {
  const base = row.fastcall ? 'METH_FASTCALL' : row.kind === 'KEYWORDS' ? 'METH_VARARGS' : `METH_${row.kind}`;
  return row.kind === 'KEYWORDS' ? `${base} | METH_KEYWORDS` : base;
}

function expectedText(row: Row): string {
  const [plain, fast] = [
    { NOARGS: '(PyObject *self, PyObject *unused)', O: '(PyObject *self, PyObject *arg)', VARARGS: '(PyObject *self, PyObject *args)', KEYWORDS: '(PyObject *self, PyObject *args, PyObject *kwargs)' },
    { NOARGS: '', O: '', VARARGS: '(PyObject *self, PyObject *const *args, Py_ssize_t nargs)', KEYWORDS: '(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)' },
  ];
  return (row.fastcall ? fast : plain)[row.kind];
}

/** The HPy parameter list for a kind, with the original names. */
function hpyParams(kind: MethKind, names: string[]): string {
  const [self, a, b, c] = names;
  switch (kind) {
    case 'NOARGS':
      return `(HPyContext *ctx, HPy ${self})`;
    case 'O':
      return `(HPyContext *ctx, HPy ${self}, HPy ${a})`;
    case 'VARARGS':
      return `(HPyContext *ctx, HPy ${self}, const HPy *${a}, size_t ${b})`;
    case 'KEYWORDS':
      return `(HPyContext *ctx, HPy ${self}, const HPy *${a}, size_t ${b}, HPy ${c})`;
  }
}

function planBody(api: RewriteApi, plan: FunctionPlan, row: Row, params: Param[]): void {
  const def = plan.def!;
  const names = params.map((p) => p.name!);
  structUses(api, plan, params[0]);
  if (row.kind === 'NOARGS') return noArgsBody(api, plan, params);
  if (row.kind === 'O') {
    structUses(api, plan, params[1]);
    plan.params = hpyParams('O', names);
    return;
  }
  if (row.fastcall) {
    fastcallRemarks(api, plan, names[2]);
    plan.params = hpyParams(row.kind, row.kind === 'KEYWORDS' ? names : names.slice(0, 3));
    return;
  }
  const count = unusedName(api.text(def), ['nargs', `${names[1]}_len`, `n_${names[1]}`]);
  plan.params = hpyParams(row.kind, [names[0], names[1], count, names[2]]);
  tupleUses(api, plan, row, names[1], count);
  if (row.kind === 'KEYWORDS') dictUses(api, plan, names[2]);
}

function structUses(api: RewriteApi, plan: FunctionPlan, param: Param): void {
  const m = STRUCT_POINTER.exec(param.type);
  if (!m || param.type === OBJECT) return;
  const type = param.type.startsWith('struct') ? `struct ${m[1]}` : m[1];
  const uses = structPointerUses(plan.def!, param.name!, type);
  if (!uses) {
    plan.findings.push({ at: param.node, message: `'${param.name}' is redeclared, assigned or has its address taken in '${plan.name}'`, notes: [`it becomes an 'HPy' handle: port these uses by hand (the struct is '${type}_AsStruct(ctx, ${param.name})')`], suggestion: `a local '${type} *' of its own for these uses, leaving '${param.name}' as received, then run hpy-migrate again` });
    return;
  }
  for (const u of uses) plan.sites.push({ start: u.node.startIndex, end: u.node.endIndex, build: () => u.text });
}

function identifierUses(plan: FunctionPlan, name: string): SyntaxNode[] {
  return plan.def!.childForFieldName('body')?.descendantsOfType('identifier').filter((id) => id.text === name) ?? [];
}

/** `(void)x;` statements silence the unused parameter that METH_NOARGS signatures lose: they go too. */
function noArgsBody(api: RewriteApi, plan: FunctionPlan, params: Param[]): void {
  const unused = params[1];
  plan.params = hpyParams('NOARGS', [params[0].name!]);
  if (unused.unused) return;
  for (const id of identifierUses(plan, unused.name!)) {
    const stmt = voidStatement(id);
    const line = stmt ? wholeLine(api.text({ start: 0, end: stmt.tree.rootNode.endIndex }), stmt) : null;
    if (line) plan.sites.push({ ...line, build: () => '' });
    else plan.findings.push({ at: id, message: `'${plan.name}' uses '${unused.name}', which a METH_NOARGS method no longer receives`, notes: ['it was always NULL: remove this use by hand'], suggestion: `NULL in place of '${unused.name}' (or no use of it), then run hpy-migrate again` });
  }
}

/** `(void)x;` around the identifier `x`. */
function voidStatement(id: SyntaxNode): SyntaxNode | null {
  const cast = id.parent;
  if (cast?.type !== 'cast_expression' || cast.childForFieldName('type')?.text !== 'void') return null;
  return cast.parent?.type === 'expression_statement' ? cast.parent : null;
}

/** The span of a statement's whole line (indentation and line break included), if it is alone on it. */
function wholeLine(text: string, stmt: SyntaxNode): Span | null {
  const start = text.lastIndexOf('\n', stmt.startIndex - 1) + 1;
  const nl = text.indexOf('\n', stmt.endIndex);
  const end = nl === -1 ? text.length : nl + 1;
  const rest = text.slice(stmt.endIndex, nl === -1 ? text.length : nl);
  if (text.slice(start, stmt.startIndex).trim() !== '' || rest.trim() !== '') return null;
  return { start, end };
}

const TUPLE_ITEM = new Set(['PyTuple_GET_ITEM']);
const TUPLE_SIZE = new Set(['PyTuple_GET_SIZE', 'PyTuple_Size']);

/** `PyTuple_GET_SIZE(args)`, or the same already renamed by capi-call: `HPy_Length(ctx, args)`. */
function isSizeCall(use: CallUse): boolean {
  if (TUPLE_SIZE.has(use.callee)) return use.index === 0 && use.args.length === 1;
  return use.callee === 'HPy_Length' && use.index === 1 && use.args.length === 2 && use.args[0].text === 'ctx';
}

/** The argument tuple's uses: items and size become array reads; parse calls go to pyarg-parse. */
function tupleUses(api: RewriteApi, plan: FunctionPlan, row: Row, args: string, count: string): void {
  for (const id of identifierUses(plan, args)) {
    const use = callUse(id);
    const callee = use?.callee ?? '';
    if (use && use.index === 0 && TUPLE_ITEM.has(callee) && use.args.length === 2) {
      const index = use.args[1];
      plan.sites.push({ start: use.call.startIndex, end: use.call.endIndex, build: (render) => `${args}[${render(index)}]` });
    } else if (use && isSizeCall(use)) {
      plan.sites.push({ start: use.call.startIndex, end: use.call.endIndex, build: () => countText(use.call, count) });
    } else if (use && use.index === 0 && CONVERTIBLE_ARG_PARSE_CALLS.includes(callee)) {
      parseCallUse(api, plan, row, use.call, callee);
    } else if (use && callee === 'PyTuple_GetItem' && use.index === 0) {
      plan.findings.push({ at: use.call, message: `'PyTuple_GetItem(${args}, ...)' checks its index, which '${args}[i]' would not`, notes: [`write the check by hand ('if (i >= ${count})' raising IndexError) and read '${args}[i]', or use 'PyTuple_GET_ITEM' where the index is known to be valid; then run hpy-migrate again`], suggestion: `PyTuple_GET_ITEM(${args}, i) after a test of i against PyTuple_GET_SIZE(${args}) that raises IndexError, then run hpy-migrate again` });
    } else {
      plan.findings.push({ at: id, message: `'${plan.name}' uses its argument tuple '${args}' as an object`, notes: [`a ${flagsName(row)} method receives 'const HPy *${args}, size_t ${count}' instead of a tuple: port this use by hand (build a tuple with 'HPyTuple_FromArray' if one is really needed)`], suggestion: `PyTuple_GET_ITEM(${args}, i) and PyTuple_GET_SIZE(${args}) instead, then run hpy-migrate again; once ported, HPyTuple_FromArray(ctx, ${args}, ${count}) where a tuple is really needed` });
    }
  }
}

/** The keyword dict may only feed `PyArg_ParseTupleAndKeywords`. */
function dictUses(api: RewriteApi, plan: FunctionPlan, kw: string): void {
  for (const id of identifierUses(plan, kw)) {
    const use = callUse(id);
    if (use && use.index === 1 && use.callee === 'PyArg_ParseTupleAndKeywords') continue;
    plan.findings.push({ at: id, message: `'${plan.name}' uses its keyword dict '${kw}'`, notes: ["an HPyFunc_KEYWORDS method gets the keyword values in 'args' after the positional ones and their names in the tuple 'kwnames': port this use by hand"], suggestion: `PyArg_ParseTupleAndKeywords(args, ${kw}, ...) for the keywords, then run hpy-migrate again; by hand: HPyArg_ParseKeywords(ctx, &ht, args, nargs, ${kw}, fmt, keywords, ...)` });
  }
}

/** An argument parsing call on the tuple: fine if pyarg-parse runs and accepts it. */
function parseCallUse(api: RewriteApi, plan: FunctionPlan, row: Row, call: SyntaxNode, callee: string): void {
  const shape = callee === 'PyArg_ParseTupleAndKeywords' && row.kind === 'KEYWORDS' ? 'keywords' : 'positional';
  const problem = argParseProblem(callee, callArguments(call).map((a) => api.text(a)), shape);
  if (problem) {
    plan.findings.push({ at: call, message: `'${callee}' in '${plan.name}' cannot become an HPyArg call: ${problem}`, notes: ['port the parsing by hand, then run hpy-migrate again'], suggestion: "each unit HPy lacks parsed as 'O' and converted by hand (see the pyarg-parse finding on this call), then run hpy-migrate again" });
  } else if (!api.isSelected('pyarg-parse')) {
    const how = api.isRegistered('pyarg-parse') ? "it is a review transform: run it with '--all' or '--transforms'" : 'no transform of this release converts it';
    const suggestion = api.isRegistered('pyarg-parse')
      ? 'hpy-migrate --all (or --transforms with pyarg-parse as well), which converts the parsing too'
      : 'HPyArg_Parse(ctx, NULL, args, nargs, fmt, ...) by hand, with the HPy method signature';
    plan.findings.push({ at: call, message: `'${callee}' in '${plan.name}' needs the pyarg-parse transform, which is not part of this run`, notes: [`${how}, or port the parsing by hand`], suggestion });
  }
}

interface CallUse {
  call: SyntaxNode;
  callee: string;
  index: number;
  args: SyntaxNode[];
}

function callUse(id: SyntaxNode): CallUse | null {
  const list = id.parent;
  const call = list?.type === 'argument_list' ? list.parent : null;
  if (!call || call.type !== 'call_expression') return null;
  const args = callArguments(call);
  return { call, callee: calleeName(call) ?? '', index: args.findIndex((a) => a.id === id.id), args };
}

// Parents where the count can be `size_t` without changing what the code computes.
const PLAIN_COUNT_PARENTS = new Set(['init_declarator', 'return_statement', 'expression_statement', 'argument_list', 'if_statement', 'while_statement', 'subscript_expression']);

/** `nargs`, or `(HPy_ssize_t)nargs` where the old signed count could make a difference. */
function countText(call: SyntaxNode, count: string): string {
  let up = call;
  while (up.parent?.type === 'parenthesized_expression') up = up.parent;
  const p = up.parent;
  if (!p) return count;
  const op = p.childForFieldName('operator')?.type ?? '';
  const other = p.type === 'binary_expression' ? (p.childForFieldName('left')?.id === up.id ? p.childForFieldName('right') : p.childForFieldName('left')) : null;
  const plain =
    PLAIN_COUNT_PARENTS.has(p.type) ||
    (p.type === 'assignment_expression' && op === '=' && p.childForFieldName('right')?.id === up.id) ||
    (p.type === 'unary_expression' && op === '!') ||
    (p.type === 'binary_expression' && (op === '==' || op === '!=' || op === '&&' || op === '||')) ||
    (p.type === 'binary_expression' && ['<', '>', '<=', '>='].includes(op) && other?.type === 'number_literal');
  return plain ? count : `(HPy_ssize_t)${count}`;
}

/** A FASTCALL count becomes `size_t`: arithmetic on it is pointed out (it no longer goes negative). */
function fastcallRemarks(api: RewriteApi, plan: FunctionPlan, count: string): void {
  for (const id of identifierUses(plan, count)) {
    const p = id.parent;
    const op = p?.childForFieldName('operator')?.type ?? '';
    if ((p?.type === 'binary_expression' && op === '-') || (p?.type === 'unary_expression' && op === '-')) {
      plan.remarks.push({ at: id, message: `'${count}' is now 'size_t': check this arithmetic for unsigned wrap-around`, notes: ["HPyFunc_VARARGS and HPyFunc_KEYWORDS pass the count as 'size_t'; cast it to 'HPy_ssize_t' where a negative result is possible"], suggestion: `(HPy_ssize_t)${count} in this arithmetic, if its result may be negative` });
    }
  }
}

function unusedName(text: string, candidates: string[]): string {
  for (const c of candidates) if (!new RegExp(`\\b${c}\\b`).test(text)) return c;
  for (let i = 2; ; i++) if (!new RegExp(`\\b${candidates[0]}${i}\\b`).test(text)) return `${candidates[0]}${i}`;
}

/**
 * A method table whose type pytype-spec leaves whole (asked of the same planning,
 * `typesLeftWhole` in `src/api/type-plans.ts`) stays whole too, and its methods on the C API: a
 * C-API type cannot take an `HPyDef *[]` as its `tp_methods`. The planning reads this pass's
 * text, so it is told which tables stay `PyMethodDef` and which functions get HPy signatures.
 * True if a table is newly kept (the tables and methods are then decided again).
 */
function keepTablesOfWholeTypes(file: SourceFile, api: RewriteApi, tables: Table[], plans: Map<string, FunctionPlan>): boolean {
  const candidates = tables.filter((t) => !t.blocked && !t.hpyTable && !(api.target === 'hybrid' && staysWhole(t, plans)));
  if (candidates.length === 0) return false;
  const keptWhole = new Set(tables.filter((t) => !candidates.includes(t)).map((t) => t.name.text));
  const hpyFunctions = new Set([...plans.values()].filter((p) => !p.legacy && !p.tables.some((t) => t.blocked)).map((p) => p.name));
  let kept = false;
  for (const type of typesLeftWhole(api, file, { keptWhole, hpyFunctions })) {
    const table = candidates.find((t) => t.name.text === type.methodTable);
    if (!table || table.keptFor) continue;
    table.keptFor = type;
    table.blocked = kept = true;
  }
  return kept;
}

/** The finding on a table kept whole with its type: a note in a hybrid run (it is legacy on purpose). */
function reportKeptForType(api: RewriteApi, table: Table, type: TypeLeftWhole): void {
  const name = table.name.text;
  api.report(table.name, `method table '${name}' is left as it is: '${type.variable}', the type that uses it, stays on the C API`, {
    severity: api.target === 'hybrid' ? 'note' : 'warning',
    notes: [
      `pytype-spec leaves '${type.variable}' as it was: ${type.why} (its findings say why and what to write)`,
      `a C-API type cannot list HPy methods ('HPyDef *${name}[]' as its 'tp_methods' would not compile): the table and its methods stay on the C API with the type`,
    ],
    suggestion: `the fixes the pytype-spec findings on '${type.variable}' give, then run hpy-migrate again ('${name}' converts with the type)`,
  });
}

/** A table is blocked by its own findings, its functions' or its type's; a function by any of its tables. */
function blockTables(tables: Table[], plans: Map<string, FunctionPlan>): void {
  for (const t of tables) t.blocked = t.findings.length > 0 || t.keptFor !== null || t.rows.some((r) => plans.get(r.fn)!.findings.length > 0);
  for (let changed = true; changed; ) {
    changed = false;
    for (const plan of plans.values()) {
      if (!plan.tables.some((t) => t.blocked)) continue;
      for (const t of plan.tables) if (!t.blocked) changed = t.blocked = true;
    }
  }
}

function reportBlocked(api: RewriteApi, tables: Table[], plans: Map<string, FunctionPlan>): void {
  const reported = new Set<Table>();
  const report = (f: Finding, owners: Table[]) => {
    owners.forEach((t) => reported.add(t));
    api.report(f.at, f.message, { notes: [...f.notes, ...owners.map((t) => TABLE_NOTE(t.name.text))], suggestion: f.suggestion });
  };
  for (const t of tables) t.findings.forEach((f) => report(f, [t]));
  for (const t of tables) {
    if (!t.keptFor || reported.has(t)) continue;
    reported.add(t);
    reportKeptForType(api, t, t.keptFor);
  }
  for (const plan of plans.values()) {
    plan.findings.forEach((f) => report(f, plan.tables));
    if (!plan.tables.some((t) => t.blocked)) plan.remarks.forEach((r) => api.report(r.at, r.message, { severity: 'note', notes: r.notes, suggestion: r.suggestion }));
  }
  for (const t of tables) {
    if (!t.blocked || reported.has(t)) continue;
    const shared = t.rows.map((r) => plans.get(r.fn)!).find((p) => p.tables.some((o) => o !== t && o.blocked))!;
    const other = shared.tables.find((o) => o !== t && o.blocked)!;
    api.report(t.name, `method table '${t.name.text}' is left as it is: it shares '${shared.name}' with '${other.name.text}', which cannot be converted`, {
      notes: ['a function listed in two tables is converted with both or with neither'],
      suggestion: `the fixes the findings of '${other.name.text}' give, then run hpy-migrate again`,
    });
  }
}

const LEGACY_SUFFIX = '_legacy';

const HPY_TABLE = `
(declaration
  type: (type_identifier) @type (#eq? @type "HPyDef")
  declarator: (init_declarator
    declarator: (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
    value: (initializer_list) @list)) @decl`;

/**
 * For a table `<t>_legacy` next to an `HPyDef *<t>[]` ending with `NULL`, that table: the
 * legacy part an earlier hybrid run made of `<t>`.
 */
function hpyTableOf(api: RewriteApi, name: string): HpyTable | null {
  if (!name.endsWith(LEGACY_SUFFIX)) return null;
  const base = name.slice(0, -LEGACY_SUFFIX.length);
  for (const { decl, name: id, list } of api.matches(HPY_TABLE)) {
    if (api.text(id) !== base) continue;
    const items = list.namedChildren.filter((n) => n.type !== 'comment');
    const last = items[items.length - 1];
    return last && isNullValue(last) ? { decl, sentinel: last } : null;
  }
  return null;
}

/** Universal target: the legacy part of an earlier hybrid run is reported, never converted. */
function reportLegacyPart(api: RewriteApi, part: Table): void {
  const base = part.name.text.slice(0, -LEGACY_SUFFIX.length);
  api.report(part.name, `'${part.name.text}' holds the methods a hybrid port left on the C API: a universal build cannot register them`, {
    notes: [
      `make each method convertible (see the notes of a '--target hybrid' run), run hpy-migrate with '--target hybrid' again to move its entry to '${base}', then run it for the universal target`,
    ],
    suggestion: `each method made convertible, then hpy-migrate --target hybrid (its entry moves to '${base}') before --target universal; until then build with --hpy-abi=hybrid`,
  });
}

/**
 * Hybrid target, on the legacy part of an earlier run: the entries whose methods convert now
 * join the HPy table before its `NULL`; the part goes once it is empty (pymoduledef then drops
 * `.legacy_methods`).
 */
function emitIntoHpyTable(file: SourceFile, api: RewriteApi, part: Table, plans: Map<string, FunctionPlan>, emitted: Set<string>): void {
  const target = part.hpyTable!;
  const rows = part.rows.filter((r) => !plans.get(r.fn)!.legacy);
  const indent = indentationAt(file.text, target.decl.startIndex);
  const lines = rows.filter((r) => !emitted.has(r.fn)).flatMap((r) => (emitted.add(r.fn), definitionLines(file, r, api.eol, indent)));
  if (lines.length > 0) api.insertBefore(target.decl, lines.join(api.eol + indent) + api.eol + api.eol + indent);
  const lineStart = file.text.lastIndexOf('\n', target.sentinel.startIndex - 1) + 1;
  const before = file.text.slice(lineStart, target.sentinel.startIndex);
  if (/^[ \t]*$/.test(before)) api.insertBefore({ start: lineStart, end: lineStart }, rows.map((r) => `${before}&${r.fn}_def,${api.eol}`).join(''));
  else api.insertBefore(target.sentinel, rows.map((r) => `&${r.fn}_def, `).join(''));
  if (hasLegacyPart(part, plans)) {
    for (const r of rows) for (const node of [...commentsAbove(file.text, r.node), r.node]) api.remove(entryLine(file.text, node).span);
  } else {
    api.remove(declarationLines(file.text, part.decl));
  }
}

/** A file-scope declaration's whole lines, with the blank line before it. */
function declarationLines(text: string, decl: SyntaxNode): Span {
  let start = text.lastIndexOf('\n', decl.startIndex - 1) + 1;
  const previous = text.lastIndexOf('\n', start - 2) + 1;
  if (start > 0 && /^[ \t]*\r?\n$/.test(text.slice(previous, start))) start = previous;
  const nl = text.indexOf('\n', decl.endIndex);
  return { start, end: nl === -1 ? text.length : nl + 1 };
}

/**
 * Hybrid target: a method that cannot be converted keeps its C-API signature and its entries move
 * to the table's legacy part; so does a method that calls such a function (directly or through
 * helpers of the file), which could not call it with handles. Only what is wrong with a table as
 * a whole (its syntax, its sentinel, the name of its legacy part) still keeps it whole.
 */
function planLegacy(file: SourceFile, api: RewriteApi, tables: Table[], plans: Map<string, FunctionPlan>): void {
  for (const t of tables) t.blocked = t.findings.length > 0;
  const legacyEntries = new Set(tables.flatMap((t) => t.legacyRows.map((r) => r.fn ?? '')));
  for (const plan of plans.values()) {
    if (legacyEntries.has(plan.name)) {
      plan.findings.push({ at: methodNode(plan.rows[0]), message: `'${plan.name}' is also listed in an entry that stays on the C API`, notes: ['a function has one signature: all its entries stay legacy'], suggestion: `a function of its own for each entry (each a thin wrapper around a helper they share), then run hpy-migrate again` });
    }
  }
  do legacyClosure(file, api, tables, plans);
  while (blockClashingTables(file, tables, plans) || keepTablesOfWholeTypes(file, api, tables, plans));
}

/** A table whose legacy part's name is taken stays whole (reported); true if one is found. */
function blockClashingTables(file: SourceFile, tables: Table[], plans: Map<string, FunctionPlan>): boolean {
  let found = false;
  for (const t of tables) {
    const legacyName = `${t.name.text}${LEGACY_SUFFIX}`;
    if (t.blocked || t.hpyTable || !hasLegacyPart(t, plans) || staysWhole(t, plans) || !new RegExp(`\\b${legacyName}\\b`).test(file.text)) continue;
    t.findings.push({ at: t.name, message: `'${legacyName}' is already a name in this file`, notes: [`the entries that stay on the C API go to a new table '${legacyName}': rename the existing one`], suggestion: `another name for the existing '${legacyName}', then run hpy-migrate --target hybrid again` });
    t.blocked = found = true;
  }
  return found;
}

/** Marks legacy the methods with findings, those of tables left whole, and their callers. */
function legacyClosure(file: SourceFile, api: RewriteApi, tables: Table[], plans: Map<string, FunctionPlan>): void {
  for (const plan of plans.values()) {
    const whole = plan.tables.find((t) => t.blocked);
    if (whole && plan.findings.length === 0 && plan.tables.some((t) => !t.blocked)) {
      plan.findings.push({ at: methodNode(plan.rows[0]), message: `'${plan.name}' is also listed in '${whole.name.text}', which is left as it is`, notes: ['a function has one signature: all its entries stay legacy'], suggestion: `the fixes the findings of '${whole.name.text}' give, then run hpy-migrate again` });
    }
    if (plan.findings.length > 0 || whole) plan.legacy = true;
  }
  const helpers = legacyHelpers(api.index);
  const stays = new Set([...[...plans.values()].filter((p) => p.legacy).map((p) => p.name), ...helpers.keys()]);
  const reaches = cApiCallers(api.index, file.path, stays);
  for (const plan of plans.values()) {
    const callee = reaches.get(plan.name);
    if (plan.legacy || callee === undefined) continue;
    plan.findings.push(callerFinding(api, plan, callee, helpers));
    plan.legacy = true;
  }
}

/**
 * Universal target: a method whose body calls, directly or through functions of the file, a
 * method left on the C API (its table left whole) or a helper that stays on the C API
 * (`legacyHelpers`) keeps its C-API signature too, with its table: with an HPy signature it would
 * call that function with handles. True if a method is newly kept
 * (the tables are then blocked again).
 */
function blockCApiCallers(file: SourceFile, api: RewriteApi, plans: Map<string, FunctionPlan>): boolean {
  const kept = (p: FunctionPlan) => p.tables.some((t) => t.blocked);
  const helpers = legacyHelpers(api.index);
  const stays = new Set([...[...plans.values()].filter(kept).map((p) => p.name), ...helpers.keys()]);
  if (stays.size === 0) return false;
  const reaches = cApiCallers(api.index, file.path, stays);
  let found = false;
  for (const plan of plans.values()) {
    const callee = reaches.get(plan.name);
    if (kept(plan) || plan.findings.length > 0 || callee === undefined) continue;
    plan.findings.push(callerFinding(api, plan, callee, helpers));
    found = true;
  }
  return found;
}

/** The finding on a method that calls `callee`, which stays on the C API (or leads to one that does). */
function callerFinding(api: RewriteApi, plan: FunctionPlan, callee: string, helpers: ReadonlyMap<string, { call: string; via: boolean }>): Finding {
  const call = plan.def ? api.matches(BODY_CALLS, plan.def).find(({ callee: c }) => api.text(c) === callee) : undefined;
  const helper = helpers.get(callee);
  const what = helper?.via ? 'a helper that stays on the C API' : 'which has no HPy 0.9.0 counterpart';
  const why = helper ? [`'${callee}' calls '${helper.call}', ${what}`] : [];
  return {
    at: call?.callee ?? methodNode(plan.rows[0]),
    message: `'${plan.name}' calls '${callee}', which stays on the C API`,
    notes: [...why, C_API_CALLEE_NOTE],
    suggestion: orLegacy(api, `'${callee}' ported first (an HPy function taking 'HPyContext *ctx' and handles), then run hpy-migrate again`, `'${plan.name}'`),
  };
}

/** Does the table keep entries on the C API (hybrid target)? */
function hasLegacyPart(table: Table, plans: Map<string, FunctionPlan>): boolean {
  return table.legacyRows.length > 0 || table.rows.some((r) => plans.get(r.fn)!.legacy);
}

/** Hybrid target: a table none of whose entries converts stays as it is, a legacy table whole. */
function staysWhole(table: Table, plans: Map<string, FunctionPlan>): boolean {
  return hasLegacyPart(table, plans) && table.rows.every((r) => plans.get(r.fn)!.legacy);
}

/** Where a legacy method of `table` is listed once the table is emitted. */
function legacyHome(table: Table, plans: Map<string, FunctionPlan>): string {
  return staysWhole(table, plans) || table.hpyTable ? table.name.text : `${table.name.text}${LEGACY_SUFFIX}`;
}

const LEGACY_NOTE = (table: string) =>
  `its entry stays in the C-API table '${table}', which an HPy module registers as legacy methods (hybrid ABI only)`;

/** Hybrid target: whole tables left (warnings), and one note for each method that stays legacy. */
function reportLegacy(api: RewriteApi, tables: Table[], plans: Map<string, FunctionPlan>): void {
  for (const t of tables) t.findings.forEach((f) => api.report(f.at, f.message, { notes: [...f.notes, TABLE_NOTE(t.name.text)], suggestion: f.suggestion }));
  for (const t of tables) if (t.keptFor && t.findings.length === 0) reportKeptForType(api, t, t.keptFor);
  for (const t of tables) {
    if (t.blocked) continue;
    for (const r of t.legacyRows) {
      api.report(r.finding.at, `this entry stays on the C API: ${r.finding.message}`, { severity: 'note', notes: [...r.finding.notes, LEGACY_NOTE(legacyHome(t, plans))], suggestion: r.finding.suggestion });
    }
  }
  for (const plan of plans.values()) {
    const table = plan.tables.find((t) => !t.blocked);
    if (!plan.legacy || !table || plan.findings.length === 0) {
      if (!plan.legacy) plan.remarks.forEach((r) => api.report(r.at, r.message, { severity: 'note', notes: r.notes, suggestion: r.suggestion }));
      continue;
    }
    const [first, ...more] = plan.findings;
    const own = `'${plan.name}' `;
    const why = first.message.startsWith(own) ? `it ${first.message.slice(own.length)}` : first.message;
    api.report(first.at, `'${plan.name}' stays on the legacy path: ${why}`, {
      severity: 'note',
      notes: [...first.notes, ...more.flatMap((f) => [f.message, ...f.notes]), LEGACY_NOTE(legacyHome(table, plans))],
      suggestion: first.suggestion,
    });
  }
}

/**
 * Hybrid target: the table keeps its name for its HPy entries and a `PyMethodDef <t>_legacy[]`
 * right after it lists, as they were written, the entries that stay on the C API.
 */
function emitSplitTable(file: SourceFile, api: RewriteApi, table: Table, plans: Map<string, FunctionPlan>, emitted: Set<string>): void {
  const hpyRows = table.rows.filter((r) => !plans.get(r.fn)!.legacy);
  const rows = [...table.rows.filter((r) => plans.get(r.fn)!.legacy).map((r) => r.node), ...table.legacyRows.map((r) => r.node)];
  const legacy = rows.flatMap((row) => [...commentsAbove(file.text, row), row]).sort((a, b) => a.startIndex - b.startIndex);
  emitTable(file, api, table, emitted, hpyRows);
  for (const node of legacy) api.remove(entryLine(file.text, node).span);
  api.insertAfter(table.decl, `${api.eol}${api.eol}${legacyTableText(file, api, table, legacy)}`);
}

/** The comment lines right above an entry (no blank line between): they go where it goes. */
function commentsAbove(text: string, row: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  let next = row;
  for (let prev = row.previousNamedSibling; prev?.type === 'comment'; prev = prev.previousNamedSibling) {
    const lineStart = text.lastIndexOf('\n', prev.startIndex - 1) + 1;
    if (!/^[ \t]*$/.test(text.slice(lineStart, prev.startIndex)) || !/^[ \t]*\r?\n[ \t]*$/.test(text.slice(prev.endIndex, next.startIndex))) break;
    out.unshift(prev);
    next = prev;
  }
  return out;
}

/** The `PyMethodDef <t>_legacy[]` declaration holding `entries` and the table's sentinel. */
function legacyTableText(file: SourceFile, api: RewriteApi, table: Table, entries: SyntaxNode[]): string {
  const value = table.decl.descendantsOfType('initializer_list')[0];
  const head = `${api.text({ start: table.decl.startIndex, end: table.name.endIndex })}${LEGACY_SUFFIX}${api.text({ start: table.name.endIndex, end: value.startIndex })}`;
  const tail = api.text({ start: value.endIndex, end: table.decl.endIndex });
  const sentinel = table.sentinel!;
  if (!api.text(value).includes('\n')) return `${head}{ ${[...entries, sentinel].map((n) => api.text(n)).join(', ')} }${tail}`;
  const indent = indentationAt(file.text, entries[0].startIndex) || indentationAt(file.text, table.decl.startIndex) + '    ';
  const lines = [...entries, sentinel].map((n) => entryLine(file.text, n, n !== sentinel && n.type !== 'comment').copy);
  const close = value.endIndex - 1;
  const closeIndent = /^[ \t]*$/.test(file.text.slice(file.text.lastIndexOf('\n', close - 1) + 1, close)) ? indentationAt(file.text, close) : indentationAt(file.text, table.decl.startIndex);
  return [`${head}{`, ...lines.map((l) => (l.startsWith(' ') || l.startsWith('\t') ? l : indent + l)), `${closeIndent}}${tail}`].join(api.eol);
}

/**
 * An entry as a line of a table (with its trailing comment and, when `comma`, a comma after it),
 * and the span to remove it: its whole lines when it stands alone on them, else the entry and
 * the comma after it.
 */
function entryLine(text: string, node: SyntaxNode, comma = true): { copy: string; span: Span } {
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  const nl = text.indexOf('\n', node.endIndex);
  const lineEnd = nl === -1 ? text.length : nl + 1;
  const before = text.slice(lineStart, node.startIndex);
  const after = text.slice(node.endIndex, lineEnd).replace(/\r?\n$/, '');
  const entry = text.slice(node.startIndex, node.endIndex);
  if (/^[ \t]*$/.test(before) && /^[ \t]*,?[ \t]*(\/\*.*\*\/|\/\/.*)?[ \t]*$/.test(after)) {
    const tail = after.trimEnd();
    const withComma = !comma || tail.trimStart().startsWith(',') ? tail : `,${tail}`;
    return { copy: `${before}${entry}${withComma}`, span: { start: lineStart, end: lineEnd } };
  }
  const following = /^[ \t]*,[ \t]*/.exec(text.slice(node.endIndex))?.[0] ?? '';
  return { copy: `${entry}${comma ? ',' : ''}`, span: { start: node.startIndex, end: node.endIndex + following.length } };
}

function emitTable(file: SourceFile, api: RewriteApi, table: Table, emitted: Set<string>, rows: readonly Row[] = table.rows): void {
  const indent = indentationAt(file.text, table.decl.startIndex);
  const lines: string[] = [];
  for (const row of rows) {
    if (emitted.has(row.fn)) continue;
    emitted.add(row.fn);
    lines.push(...definitionLines(file, row, api.eol, indent));
  }
  if (lines.length > 0) api.insertBefore(table.decl, lines.join(api.eol + indent) + api.eol + api.eol + indent);
  api.replace(table.type, 'HPyDef');
  api.insertBefore(table.name, '*');
  for (const row of rows) api.replace(row.node, `&${row.fn}_def`);
  if (table.sentinel) api.replace(table.sentinel, 'NULL');
}

/**
 * The `HPyDef_METH_IMPL` line of a row. The parser reads such a line through a mask that counts
 * parentheses without knowing string literals; a doc whose parentheses would defeat it (`"1) a"`)
 * goes into a `static const char <fn>_doc[]` of its own, so that the output still parses.
 */
function definitionLines(file: SourceFile, row: Row, eol: string, indent: string): string[] {
  const line = methImplText(row, eol, indent);
  const masked = maskText(line).spans;
  if (masked.length === 1 && masked[0].start === 0 && masked[0].end === line.length) return [line];
  const name = unusedIdentifier(file.text, `${row.fn}_doc`);
  const doc = `static const char ${name}[] = ${row.doc!.join(eol + indent + ' '.repeat(`static const char ${name}[] = `.length))};`;
  return [doc, methImplText({ ...row, doc: [name] }, eol, indent)];
}

function unusedIdentifier(text: string, base: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}${i}`;
    if (!new RegExp(`\\b${name}\\b`).test(text)) return name;
  }
}

function emitFunction(api: RewriteApi, plan: FunctionPlan): void {
  for (const node of [plan.def!, ...plan.prototypes]) {
    const decl = node.type === 'function_definition' ? functionDeclarator(node)! : findDeclarator(node)!;
    const name = decl.childForFieldName('declarator')!;
    const type = node.childForFieldName('type')!;
    const between = api.text({ start: type.endIndex, end: name.startIndex });
    const afterStar = between.slice(between.lastIndexOf('*') + 1);
    api.replace({ start: type.startIndex, end: name.startIndex }, `HPy${/\n/.test(afterStar) ? afterStar : ' '}`);
    api.replace(decl.childForFieldName('parameters')!, plan.params);
    if (plan.addStatic && !hasStatic(node)) api.insertBefore(node, 'static ');
  }
  applyNestedSites(api, plan.sites);
}

/** `PyDoc_STRVAR(name, "text");` and `PyDoc_STR("text")` (outside method tables, which rebuild their docs). */
function convertDocMacros(api: RewriteApi, tables: SyntaxNode[]): void {
  for (const { call, name } of api.matches(DOC_MACRO)) {
    if (tables.some((t) => t.startIndex <= call.startIndex && call.endIndex <= t.endIndex)) continue;
    const args = callArguments(call);
    if (name.text === 'PyDoc_STR') {
      if (args.length === 1) api.replace(call, api.text(args[0]));
      continue;
    }
    const stmt = call.parent;
    if (args.length !== 2 || args[0].type !== 'identifier' || stmt?.type !== 'expression_statement') continue;
    const gap = api.text({ start: args[0].endIndex, end: args[1].startIndex }).replace(/^\s*,[ \t]*/, '');
    const sep = /\n/.test(gap) ? gap : ' ';
    api.replace(stmt, `static const char ${args[0].text}[] =${sep}${api.text(args[1])};`);
  }
}
