/**
 * Turns `PyArg_ParseTuple`, `PyArg_ParseTupleAndKeywords` and `PyArg_UnpackTuple` into HPy's
 * argument parsers, with an `HPyTracker` where the parser creates handles.
 *
 * ## Why
 * HPy methods and slots receive their arguments as an array (`const HPy *args` and its length),
 * keyword names as a tuple (`kwnames`) or, in `tp_new`/`tp_init`, a dict (`kw`); the CPython
 * parsers, which read a tuple, do not exist in a universal build. HPy's `HPyArg_Parse`,
 * `HPyArg_ParseKeywords` and `HPyArg_ParseKeywordsDict` take the same format strings for the
 * common units, but the keyword parsers return new handles for `O` units, owned by a tracker that
 * must be closed once the handles are no longer needed (porting guide, "Argument parsing":
 * https://docs.hpyproject.org/en/latest/porting-guide.html; HPy's `argparse.c`).
 *
 * ## Before
 * ```c
 * static HPy
 * shop_price(HPyContext *ctx, HPy self, const HPy *args, size_t nargs, HPy kwnames)
 * {
 *     static char *kwlist[] = {"item", "count", NULL};
 *     PyObject *item;
 *     int count = 1;
 *     if (!PyArg_ParseTupleAndKeywords(args, kwnames, "O|i", kwlist, &item, &count))
 *         return NULL;
 *     if (count < 0) {
 *         PyErr_SetString(PyExc_ValueError, "count must be >= 0");
 *         return NULL;
 *     }
 *     return Py_BuildValue("(Oi)", item, count);
 * }
 * ```
 * ## After
 * ```c
 * // Added by hpy-migrate: HPy 0.9.0's keyword parsers ignore extra positional arguments, unknown
 * // keywords and keywords that repeat a positional argument, which CPython rejects with a TypeError.
 * static int
 * check_arguments(HPyContext *ctx, const char *fname, const char *kwlist[], size_t nargs, HPy names, int is_dict)
 * {
 *     size_t len = 0;
 *     while (kwlist[len] != NULL)
 *         len++;
 *     if (nargs > len) {
 *         HPyErr_Format(ctx, ctx->h_TypeError, "%s%s takes at most %d argument%s (%d given)", fname ? fname : "function", fname ? "()" : "", (int)len, len == 1 ? "" : "s", (int)nargs);
 *         return 0;
 *     }
 *     if (HPy_IsNull(names))
 *         return 1;
 *     HPy keys = is_dict ? HPyDict_Keys(ctx, names) : HPy_Dup(ctx, names);
 *     if (HPy_IsNull(keys))
 *         return 0;
 *     HPy_ssize_t n = HPy_Length(ctx, keys);
 *     int ok = n >= 0;
 *     for (HPy_ssize_t i = 0; ok && i < n; i++) {
 *         HPy key = HPy_GetItem_i(ctx, keys, i);
 *         const char *kw = HPy_IsNull(key) ? NULL : HPyUnicode_AsUTF8AndSize(ctx, key, NULL);
 *         size_t k = 0;
 *         while (kw != NULL && kwlist[k] != NULL) {
 *             const char *a = kwlist[k], *b = kw;
 *             while (*a != '\0' && *a == *b) {
 *                 a++;
 *                 b++;
 *             }
 *             if (kwlist[k][0] != '\0' && *a == *b)
 *                 break;
 *             k++;
 *         }
 *         ok = kw != NULL && kwlist[k] != NULL && k >= nargs;
 *         if (kw != NULL && kwlist[k] == NULL)
 *             HPyErr_Format(ctx, ctx->h_TypeError, "'%s' is an invalid keyword argument for %s%s", kw, fname ? fname : "this function", fname ? "()" : "");
 *         else if (kw != NULL && !ok)
 *             HPyErr_Format(ctx, ctx->h_TypeError, "argument for %s%s given by name ('%s') and position (%d)", fname ? fname : "function", fname ? "()" : "", kw, (int)k + 1);
 *         if (!HPy_IsNull(key))
 *             HPy_Close(ctx, key);
 *     }
 *     HPy_Close(ctx, keys);
 *     return ok;
 * }
 *
 * static HPy
 * shop_price(HPyContext *ctx, HPy self, const HPy *args, size_t nargs, HPy kwnames)
 * {
 *     HPyTracker ht;
 *     static const char *kwlist[] = {"item", "count", NULL};
 *     PyObject *item;
 *     int count = 1;
 *     if (!check_arguments(ctx, NULL, kwlist, nargs, kwnames, 0))
 *         return NULL;
 *     if (!HPyArg_ParseKeywords(ctx, &ht, args, nargs, kwnames, "O|i", kwlist, &item, &count))
 *         return NULL;
 *     if (count < 0) {
 *         PyErr_SetString(PyExc_ValueError, "count must be >= 0");
 *         HPyTracker_Close(ctx, ht);
 *         return NULL;
 *     }
 *     HPy ret = Py_BuildValue("(Oi)", item, count);
 *     HPyTracker_Close(ctx, ht);
 *     return ret;
 * }
 * ```
 * ## Safety
 * review: the format string and the outputs are kept as written, so the units must still agree
 * with the outputs' types (`n` is an `HPy_ssize_t`, `O` an `HPy` once pyobject-pointer has run).
 * `HPyArg_Parse` stores the caller's handles for `O` units, like the borrowed references of
 * `PyArg_ParseTuple`: they are never closed. With keywords, `O` outputs are new handles owned by
 * a tracker (`HPyTracker ht;`, declared first in the function) which the parser closes itself on
 * failure; on success `HPyTracker_Close(ctx, ht)` is written before every later `return` (and
 * `Py_RETURN_*`). A returned expression that uses an `O` output is computed before the close,
 * and `Py_INCREF(x); return x;` of an output becomes `HPy_Dup` before the close. The reviewer
 * checks that nothing else keeps an output past the close: a handle stored in a struct needs
 * `HPyField_Store` (which keeps its own reference) or `HPy_Dup`.
 * Three gaps of HPy 0.9.0's parsers (argparse.c, checked by running them) are closed in the code:
 * - an omitted optional `s` or `p` argument crashes the parser (it reads a null handle), and an
 *   `s` text from a keyword dict points into a handle the parser closes: such a unit is parsed as
 *   `O` into `HPy x_obj = HPy_NULL;` and read after the parse with `HPyUnicode_AsUTF8AndSize` or
 *   `HPy_IsTrue` (an `s` read this way lets embedded NUL characters through);
 * - the keyword parsers ignore extra positional arguments, unknown keywords and keywords that
 *   repeat a positional argument: a `check_arguments` helper, added once per file, raises
 *   CPython's TypeError for them before the parse.
 * `static char *kwlist[]` becomes `static const char *kwlist[]`, the type HPy takes (a
 * `(char **)kwlist` cast goes). `PyArg_UnpackTuple(args, "f", 1, 2, &a, &b)` becomes
 * `HPyArg_Parse` with the format `"O|O:f"`: same checks, HPy's wording of the error.
 *
 * ## Limits
 * Only calls that parse the argument array of a function with an HPy signature (written by the
 * pymethoddef and pytype-spec transforms) are converted; the others are reported (HPy 0.9.0 has no
 * tuple parser). Reported and left as they are: format units HPy lacks (`O!`, `O&`, `s#`, `z`,
 * `y`, `S`, `U`, `c`, `C`, `D`, `es`, `w*`, `(...)`, ...), each with the code to write instead; a
 * format that is not a string literal; a kwlist that is not a local or file-scope array; and, when
 * a tracker is needed or a unit is read by hand, a call whose success path cannot be told apart
 * with certainty (not written `if (!call) return ...;`, with the tracker directly in the function
 * body, a `goto` around it, two such calls in a function, an output stored straight into a struct,
 * a parsed handle returned without a new reference, a format made of several literals). A keyword
 * parse not written `if (!call) ...` is converted without the argument check (its note says so).
 * `PyArg_Parse`, `PyArg_VaParse*` and `_PyArg_ParseStackAndKeywords` are reported.
 * With `--target hybrid`, a function that stays on the C API on purpose (`legacyFunctionCheck`: listed
 * in a C-API table a signature transform of the run kept, or a legacy helper) is left without a
 * warning: a hybrid build runs its CPython parser as it is (a legacy helper gets the one shared note).
 * Under the universal target a legacy helper is left the same way: the one shared warning says why.
 */
import {
  argParseProblem,
  CALL_OWNERS,
  callArguments,
  calleeName,
  CONVERTIBLE_ARG_PARSE_CALLS,
  defineTransform,
  enclosingFunction,
  functionName,
  functionParams,
  legacyFunctionCheck,
  indentationAt,
  needsTracker,
  parseArgFormat,
  stringLiteralValue,
  unparenthesize,
  unpackTupleFormat,
  type ArgFormat,
  type ArgParseShape,
  type FormatUnit,
  type RewriteApi,
  type SourceFile,
  type Span,
  type SyntaxNode,
} from '../src/api/index.js';

const PARSE_CALL = `
(call_expression
  function: (identifier) @name (#match? @name "^_?PyArg_")
  arguments: (argument_list)) @call`;

const OWNED = new Set(Object.keys(CALL_OWNERS).filter((k) => CALL_OWNERS[k] === 'pyarg-parse'));

/** The argument parameters of a function with an HPy signature. */
interface Signature {
  fn: SyntaxNode;
  shape: ArgParseShape;
  ctx: string;
  args: string;
  nargs: string;
  kw: string | null;
}

/** A planned edit (every edit of this transform carries a note). */
interface Change extends Span {
  text: string;
  note: string;
}

/** A call left as it is, and why. */
type Found = { finding: { at: SyntaxNode; message: string; notes: string[]; suggestion: string } };

/** What happens to one call: edits, or a report. */
type Plan = { changes: Change[] } | Found;

const NOT_AN_ARRAY_NOTE =
  "if it is a method or a slot, its table or type was not converted (see the other warnings); if it parses a tuple of its own, HPy 0.9.0 has no tuple parser: read the items with 'HPy_GetItem_i' and convert each one";

const NOT_AN_ARRAY_SUGGESTION =
  "HPyArg_Parse(ctx, NULL, args, nargs, fmt, ...) once the function is an HPy method or slot (see the findings of its table); for a tuple of your own: HPy_GetItem_i(ctx, t, i) per item, closed after use";
const KEYWORDS_SUGGESTION = 'HPyArg_ParseKeywords(ctx, &ht, args, nargs, kwnames, fmt, kwlist, ...) with the keywords of the function, then HPyTracker_Close(ctx, ht)';
const TRACKER_SUGGESTION = "HPyTracker ht; declared first, '&ht' passed to the parser, and HPyTracker_Close(ctx, ht) on every path after a successful parse";
const TRACKER_NOTE =
  "put the call first in 'if (!call) return ...;' directly in the function body (no goto around it), then run hpy-migrate again; or convert it by hand: declare 'HPyTracker ht;', pass '&ht' and call 'HPyTracker_Close(ctx, ht)' on every path after a successful parse";

export default defineTransform({
  id: 'pyarg-parse',
  summary: 'PyArg_ParseTuple[AndKeywords] and PyArg_UnpackTuple become HPyArg_Parse[Keywords[Dict]] with a tracker',
  concern: 'arg-parsing',
  safety: 'review',
  default: false,
  after: ['pymethoddef', 'pytype-spec'],
  rewrite(file, api) {
    const run: Run = { file, api, tracked: new Set(), helper: { name: unusedName(file.text, ['check_arguments', 'hpy_migrate_check_arguments']), firstUse: null } };
    const edited = new Set<string>();
    const legacy = legacyFunctionCheck(api);
    for (const { call, name } of api.matches(PARSE_CALL)) {
      if (!OWNED.has(name.text)) continue;
      // Hybrid: a function kept on the C API on purpose parses its tuple as it did, without a warning.
      const fn = enclosingFunction(call);
      if (fn && legacy(fn)) continue;
      const plan = planCall(run, call, name.text);
      if ('finding' in plan) {
        api.report(plan.finding.at, plan.finding.message, { notes: plan.finding.notes, suggestion: plan.finding.suggestion });
        continue;
      }
      for (const c of plan.changes) {
        // A kwlist shared by two calls is edited once.
        const key = `${c.start}:${c.end}:${c.text}`;
        if (!edited.has(key)) api.replace(c, c.text, { note: c.note });
        edited.add(key);
      }
    }
    if (run.helper.firstUse) insertHelper(run, run.helper.firstUse);
  },
});

/** What the calls of one file share. */
interface Run {
  file: SourceFile;
  api: RewriteApi;
  /** Functions (by start) that already have a tracker. */
  tracked: Set<number>;
  /** The argument-check helper: its name, and the first function that calls it. */
  helper: { name: string; firstUse: SyntaxNode | null };
}

/**
 * The helper that rejects extra positional arguments, unknown keywords and keywords repeating a
 * positional argument as CPython's parsers do; HPy 0.9.0's parsers only look up the names of the list.
 */
function helperText(name: string, eol: string): string {
  return [
    "// Added by hpy-migrate: HPy 0.9.0's keyword parsers ignore extra positional arguments, unknown",
    '// keywords and keywords that repeat a positional argument, which CPython rejects with a TypeError.',
    'static int',
    `${name}(HPyContext *ctx, const char *fname, const char *kwlist[], size_t nargs, HPy names, int is_dict)`,
    '{',
    '    size_t len = 0;',
    '    while (kwlist[len] != NULL)',
    '        len++;',
    '    if (nargs > len) {',
    `        HPyErr_Format(ctx, ctx->h_TypeError, "%s%s takes at most %d argument%s (%d given)", fname ? fname : "function", fname ? "()" : "", (int)len, len == 1 ? "" : "s", (int)nargs);`,
    '        return 0;',
    '    }',
    '    if (HPy_IsNull(names))',
    '        return 1;',
    '    HPy keys = is_dict ? HPyDict_Keys(ctx, names) : HPy_Dup(ctx, names);',
    '    if (HPy_IsNull(keys))',
    '        return 0;',
    '    HPy_ssize_t n = HPy_Length(ctx, keys);',
    '    int ok = n >= 0;',
    '    for (HPy_ssize_t i = 0; ok && i < n; i++) {',
    '        HPy key = HPy_GetItem_i(ctx, keys, i);',
    '        const char *kw = HPy_IsNull(key) ? NULL : HPyUnicode_AsUTF8AndSize(ctx, key, NULL);',
    '        size_t k = 0;',
    '        while (kw != NULL && kwlist[k] != NULL) {',
    '            const char *a = kwlist[k], *b = kw;',
    "            while (*a != '\\0' && *a == *b) {",
    '                a++;',
    '                b++;',
    '            }',
    "            if (kwlist[k][0] != '\\0' && *a == *b)",
    '                break;',
    '            k++;',
    '        }',
    '        ok = kw != NULL && kwlist[k] != NULL && k >= nargs;',
    '        if (kw != NULL && kwlist[k] == NULL)',
    `            HPyErr_Format(ctx, ctx->h_TypeError, "'%s' is an invalid keyword argument for %s%s", kw, fname ? fname : "this function", fname ? "()" : "");`,
    '        else if (kw != NULL && !ok)',
    `            HPyErr_Format(ctx, ctx->h_TypeError, "argument for %s%s given by name ('%s') and position (%d)", fname ? fname : "function", fname ? "()" : "", kw, (int)k + 1);`,
    '        if (!HPy_IsNull(key))',
    '            HPy_Close(ctx, key);',
    '    }',
    '    HPy_Close(ctx, keys);',
    '    return ok;',
    '}',
    '',
    '',
  ].join(eol);
}

/** Inserts the argument-check helper before `fn` and the comments right above it. */
function insertHelper(run: Run, fn: SyntaxNode): void {
  let at = fn;
  for (let c = fn.previousNamedSibling; c?.type === 'comment' && c.endPosition.row >= at.startPosition.row - 1; c = c.previousNamedSibling) at = c;
  run.api.insertBefore(at, helperText(run.helper.name, run.file.eol), {
    note: `'${run.helper.name}' rejects extra positional arguments and unknown keywords before each converted keyword parse, as CPython's parsers did (HPy 0.9.0's do not)`,
  });
}

function finding(at: SyntaxNode, message: string, notes: string[], suggestion: string): Found {
  return { finding: { at, message, notes, suggestion } };
}

/** Reads `(HPyContext *ctx, HPy self, const HPy *args, size_t|HPy_ssize_t nargs[, HPy kw])`. */
function signatureOf(fn: SyntaxNode): Signature | null {
  const p = functionParams(fn);
  const types = p.map((x) => x.type.replace(/\s+/g, ''));
  if (p.length < 4 || types[0] !== 'HPyContext*' || types[1] !== 'HPy' || types[2] !== 'HPy*') return null;
  const base = { fn, ctx: p[0].name, args: p[2].name, nargs: p[3].name };
  if (p.length === 4 && types[3] === 'size_t') return { ...base, shape: 'positional', kw: null };
  if (p.length === 5 && types[4] === 'HPy' && types[3] === 'size_t') return { ...base, shape: 'keywords', kw: p[4].name };
  if (p.length === 5 && types[4] === 'HPy' && types[3] === 'HPy_ssize_t') return { ...base, shape: 'dict', kw: p[4].name };
  return null;
}

function planCall(run: Run, call: SyntaxNode, callee: string): Plan {
  const { api } = run;
  const fn = enclosingFunction(call);
  const sig = fn ? signatureOf(fn) : null;
  const where = fn ? `'${functionName(fn) ?? 'this function'}'` : 'file scope';
  if (!CONVERTIBLE_ARG_PARSE_CALLS.includes(callee)) {
    const how = callee === 'PyArg_Parse'
      ? "convert the object directly ('HPyLong_AsLong', 'HPyFloat_AsDouble', 'HPyUnicode_AsUTF8AndSize', ...)"
      : "parse the arguments with 'HPyArg_Parse' or 'HPyArg_ParseKeywords' by hand";
    return finding(call, `'${callee}' has no HPy 0.9.0 counterpart: left as it is`, ['HPy 0.9.0 parses only argument arrays, with HPyArg_Parse and HPyArg_ParseKeywords[Dict]'], how);
  }
  const args = callArguments(call);
  if (!sig || args[0]?.type !== 'identifier' || args[0].text !== sig.args) {
    return finding(call, `'${callee}' in ${where} does not parse an HPy argument array: left as it is`, [NOT_AN_ARRAY_NOTE], NOT_AN_ARRAY_SUGGESTION);
  }
  const keywords = callee === 'PyArg_ParseTupleAndKeywords';
  const shape: ArgParseShape = keywords ? (sig.shape === 'positional' ? 'positional' : sig.shape) : 'positional';
  const texts = args.map((a) => api.text(a));
  const problem = argParseProblem(callee, texts, shape);
  if (problem) return formatFinding(call, callee, problem, texts, shape);
  if (callee === 'PyArg_UnpackTuple') return { changes: [unpackChange(call, sig, texts)] };
  return planParse(run, { call, args, sig, keywords });
}

/** The report for a format HPy cannot parse: one note per unit, with what to write instead. */
function formatFinding(call: SyntaxNode, callee: string, problem: string, texts: string[], shape: ArgParseShape): Plan {
  const format = stringLiteralValue(texts[callee === 'PyArg_ParseTuple' ? 1 : 2]);
  const units = format === null ? [] : parseArgFormat(format, shape).problems;
  const notes = units.length > 0 ? units.map((u) => `'${u.unit}': ${u.replacement}`) : ['port this call by hand'];
  return finding(call, `'${callee}' is left as it is: ${problem}`, notes, "the HPyArg_Parse* call with each unit HPy lacks parsed as 'O' (an HPy handle) and converted by hand as the notes say");
}

/** `PyArg_UnpackTuple(args, "f", min, max, &a, ...)` -> `HPyArg_Parse(ctx, NULL, args, nargs, "O|O:f", &a, ...)`. */
function unpackChange(call: SyntaxNode, sig: Signature, texts: string[]): Change {
  const format = unpackTupleFormat(stringLiteralValue(texts[1])!, Number(texts[2]), Number(texts[3]));
  const outputs = texts.slice(4).join(', ');
  return {
    start: call.startIndex,
    end: call.endIndex,
    text: `HPyArg_Parse(${sig.ctx}, NULL, ${sig.args}, ${sig.nargs}, ${format}, ${outputs})`,
    note: "'PyArg_UnpackTuple' becomes 'HPyArg_Parse' with one 'O' unit per output: same argument checks, HPy's wording of the TypeError; the handles are the caller's (never close them)",
  };
}

/** A `PyArg_ParseTuple` or `PyArg_ParseTupleAndKeywords` call in a function with an HPy signature. */
interface ParseCall {
  call: SyntaxNode;
  args: SyntaxNode[];
  sig: Signature;
  keywords: boolean;
}

/** A text replacement inside the call. */
interface Swap extends Span {
  text: string;
}

function planParse(run: Run, p: ParseCall): Plan {
  const { call, args, sig, keywords } = p;
  const name = keywords ? 'PyArg_ParseTupleAndKeywords' : 'PyArg_ParseTuple';
  const prelude = keywords ? keywordPrelude(run, p) : { swaps: [], changes: [] };
  if ('finding' in prelude) return prelude;
  const shape: ArgParseShape = keywords ? sig.shape : 'positional';
  const formatNode = args[keywords ? 2 : 1];
  const format = parseArgFormat(stringLiteralValue(run.api.text(formatNode))!, shape);
  const manual = unitsToRead(format, shape);
  const tracker = keywords && (manual.length > 0 || needsTracker(format, shape));
  if (tracker && run.tracked.has(sig.fn.startIndex)) return finding(call, `a second '${name}' in '${functionName(sig.fn)}' would need a second tracker: left as it is`, [TRACKER_NOTE], 'one HPyTracker for both parses: HPyTracker ht; passed as &ht to each, and HPyTracker_Close(ctx, ht) once on every path after them');
  const checked = checkedGuard(call, sig, tracker);
  if ('finding' in checked && (tracker || manual.length > 0)) return checked;
  const guard = 'finding' in checked ? null : checked.node;
  const trackerName = tracker ? unusedName(run.api.text(sig.fn), ['ht', 'tracker']) : null;
  const { swaps, changes } = prelude;
  if (guard) {
    const guarded = guardedChanges(run, p, { guard, formatNode, format, manual, trackerName });
    if ('finding' in guarded) return guarded;
    swaps.push(...guarded.swaps);
    changes.push(...guarded.changes);
  }
  const head = parserHead(sig, keywords, trackerName ? `&${trackerName}` : 'NULL');
  const note = callNote(sig, keywords, format, trackerName, !guard);
  return { changes: [callChange(run.file, run.api, call, args[keywords ? 1 : 0], head, note, swaps), ...changes] };
}

/** The checks of a keyword parse's arguments, and the kwlist's edits. */
function keywordPrelude(run: Run, p: ParseCall): { swaps: Swap[]; changes: Change[] } | Found {
  const { call, args, sig } = p;
  const name = 'PyArg_ParseTupleAndKeywords';
  if (args.length < 4) return finding(call, `'${name}' with ${args.length} arguments is left as it is`, ['port this call by hand'], KEYWORDS_SUGGESTION);
  if (args[1].type !== 'identifier' || args[1].text !== sig.kw) {
    return finding(call, `'${name}' in '${functionName(sig.fn)}' does not parse the function's keywords '${sig.kw}': left as it is`, ['port this call by hand'], KEYWORDS_SUGGESTION);
  }
  const kwlist = kwlistChanges(run.api, sig.fn, args[3]);
  if ('finding' in kwlist) return kwlist;
  const swaps = kwlist.argument ? [{ start: args[3].startIndex, end: args[3].endIndex, text: kwlist.argument }] : [];
  return { swaps, changes: kwlist.changes };
}

interface Guarded {
  guard: SyntaxNode;
  formatNode: SyntaxNode;
  format: ArgFormat;
  manual: number[];
  trackerName: string | null;
}

/** What goes around an `if (!call) ...` guard: units read by hand, the tracker's closes, the argument check. */
function guardedChanges(run: Run, p: ParseCall, g: Guarded): { swaps: Swap[]; changes: Change[] } | Found {
  const { file } = run;
  const { args, sig, keywords } = p;
  const outputs = args.slice(keywords ? 4 : 2);
  const taken = new Set<string>();
  const swaps: Swap[] = [];
  const changes: Change[] = [];
  const before: string[] = [];
  let names: string[] = [];
  if (g.manual.length > 0) {
    const read = readByHand(run, { sig, guard: g.guard, formatNode: g.formatNode, outputs, manual: g.manual, trackerName: g.trackerName, taken });
    if ('finding' in read) return read;
    swaps.push(...read.swaps);
    before.push(...read.decls);
    names = read.names;
    changes.push({ start: g.guard.endIndex, end: g.guard.endIndex, text: read.after, note: read.note });
  }
  if (g.trackerName) {
    const closes = trackerChanges(file, run.api, { call: p.call, sig, guard: g.guard, name: g.trackerName, taken, outputs: objectOutputs(outputs, g.format, names) });
    if ('finding' in closes) return closes;
    changes.push(...closes.closes);
    run.tracked.add(sig.fn.startIndex);
  }
  if (keywords) before.push(keywordCheck(run, sig, g.guard, args[3], g.format));
  if (before.length > 0) {
    const eolIndent = file.eol + indentationAt(file.text, g.guard.startIndex);
    changes.push({ start: g.guard.startIndex, end: g.guard.startIndex, text: before.join(eolIndent) + eolIndent, note: beforeNote(keywords, g.manual.length > 0) });
  }
  return { swaps, changes };
}

/** The review note of the call itself. */
function callNote(sig: Signature, keywords: boolean, format: ArgFormat, tracker: string | null, unchecked: boolean): string {
  const parser = parserName(sig, keywords);
  if (tracker) return `'${parser}' returns new handles for the 'O' units, owned by the tracker '${tracker}': closed by the parser on failure, by 'HPyTracker_Close' before each later return`;
  if (keywords && unchecked) return `'${parser}' takes the same format, but ignores extra positional arguments and unknown keywords, which CPython rejects: check them by hand if callers rely on the TypeError`;
  if (!keywords && format.units.some((u) => u.code === 'O')) {
    return "'HPyArg_Parse' stores the caller's handles for 'O' units, like the borrowed references before: never close them, 'HPy_Dup' one you keep";
  }
  return `'${parser}' takes the same format: check that each output's type still matches its unit`;
}

function beforeNote(keywords: boolean, manual: boolean): string {
  const check = "HPy 0.9.0's keyword parsers ignore extra positional arguments, unknown keywords and keywords repeating a positional argument: this check rejects them with CPython's TypeError";
  const handles = 'the handle of a unit read by hand starts as \'HPy_NULL\'';
  if (!keywords) return handles;
  return manual ? `${check}; ${handles}` : check;
}

/** `if (!check_arguments(ctx, "f", kwlist, nargs, kwnames, 0))` + the failure branch of the parse. */
function keywordCheck(run: Run, sig: Signature, guard: SyntaxNode, kwlist: SyntaxNode, format: ArgFormat): string {
  const fn = run.helper.firstUse;
  if (!fn || sig.fn.startIndex < fn.startIndex) run.helper.firstUse = sig.fn;
  const name = format.name === null ? 'NULL' : `"${format.name}"`;
  const list = unwrapValue(kwlist).text;
  const cond = guard.childForFieldName('condition')!;
  const branch = run.api.text({ start: cond.endIndex, end: guard.endIndex });
  return `if (!${run.helper.name}(${sig.ctx}, ${name}, ${list}, ${sig.nargs}, ${sig.kw}, ${sig.shape === 'dict' ? 1 : 0}))${branch}`;
}

function parserName(sig: Signature, keywords: boolean): string {
  if (!keywords) return 'HPyArg_Parse';
  return sig.shape === 'dict' ? 'HPyArg_ParseKeywordsDict' : 'HPyArg_ParseKeywords';
}

/** `HPyArg_Parse(ctx, NULL, args, nargs` / `HPyArg_ParseKeywords(ctx, &ht, args, nargs, kwnames`. */
function parserHead(sig: Signature, keywords: boolean, tracker: string): string {
  const kw = keywords ? `, ${sig.kw}` : '';
  return `${parserName(sig, keywords)}(${sig.ctx}, ${tracker}, ${sig.args}, ${sig.nargs}${kw}`;
}

function plainNote(sig: Signature, keywords: boolean, format: ArgFormat): string {
  if (!keywords && format.units.some((u) => u.code === 'O')) {
    return "'HPyArg_Parse' stores the caller's handles for 'O' units, like the borrowed references before: never close them, 'HPy_Dup' one you keep";
  }
  return `'${parserName(sig, keywords)}' takes the same format: check that each output's type still matches its unit`;
}

/**
 * Indices of the units HPy 0.9.0 cannot parse as they are, to read by hand: an optional `s` or
 * `p` (its parser reads an omitted optional argument of these two units through a null handle and
 * crashes) and an `s` read from a keyword dict (the text would point into a handle the parser has
 * closed).
 */
function unitsToRead(format: ArgFormat, shape: ArgParseShape): number[] {
  const byHand = (u: FormatUnit) => (u.code === 's' && (u.optional || shape === 'dict')) || (u.code === 'p' && u.optional);
  return format.units.flatMap((u, i) => (byHand(u) ? [i] : []));
}

/**
 * The whole call rewritten: `head` replaces the text up to the end of `last`, the rest is kept
 * (continuation lines aligned on the old parenthesis move with it; `swaps` replace parts of it).
 */
function callChange(file: SourceFile, api: RewriteApi, call: SyntaxNode, last: SyntaxNode, head: string, note: string, swaps: Swap[] = []): Change {
  let rest = '';
  let at = last.endIndex;
  for (const s of [...swaps].sort((a, b) => a.start - b.start)) {
    rest += api.text({ start: at, end: s.start }) + s.text;
    at = s.end;
  }
  rest += api.text({ start: at, end: call.endIndex });
  const lineStart = file.text.lastIndexOf('\n', call.startIndex - 1) + 1;
  const oldOpen = call.childForFieldName('arguments')!.startIndex - lineStart;
  const newOpen = call.startIndex - lineStart + head.indexOf('(');
  const aligned = rest.replace(new RegExp(`\n {${oldOpen + 1}}(?=\\S)`, 'g'), `\n${' '.repeat(newOpen + 1)}`);
  return { start: call.startIndex, end: call.endIndex, text: head + aligned, note };
}

interface ManualInput {
  sig: Signature;
  guard: SyntaxNode;
  formatNode: SyntaxNode;
  outputs: SyntaxNode[];
  /** Indices of the units to read by hand (see {@link unitsToRead}). */
  manual: number[];
  trackerName: string | null;
  taken: Set<string>;
}

/** How a unit parsed as `O` is read: the call, and the test of its error value. */
const READERS: Record<string, { read: (ctx: string, h: string) => string; failed: (x: string) => string }> = {
  s: { read: (ctx, h) => `HPyUnicode_AsUTF8AndSize(${ctx}, ${h}, NULL)`, failed: (x) => `${x} == NULL` },
  p: { read: (ctx, h) => `HPy_IsTrue(${ctx}, ${h})`, failed: (x) => `${x} < 0` },
};

/** Why units are read by hand (see {@link unitsToRead}). */
function manualNote(codes: string[], shape: ArgParseShape): string {
  const why: string[] = [];
  const optional = [...new Set(codes)].map((c) => `'${c}'`).join(' or ');
  if (shape !== 'dict' || codes.includes('p')) why.push(`HPy 0.9.0's parser crashes when an optional ${optional} argument is omitted`);
  if (shape === 'dict' && codes.includes('s')) why.push("'HPyArg_ParseKeywordsDict' closes the handle of a keyword argument that an 's' text points into");
  const readers: string[] = [];
  if (codes.includes('s')) readers.push("an 's' with 'HPyUnicode_AsUTF8AndSize' while the handle is open (unlike 's', it lets embedded NUL characters through)");
  if (codes.includes('p')) readers.push("a 'p' with 'HPy_IsTrue'");
  return `${why.join('; ')}: the unit is parsed as 'O' and read by hand, ${readers.join(', ')}`;
}

/** Each such unit becomes `O` into a new handle, read after the successful parse. */
function readByHand(run: Run, m: ManualInput): { swaps: Swap[]; decls: string[]; after: string; names: string[]; note: string } | Found {
  const { file, api } = run;
  const fail = failureStatement(m.guard);
  if (m.formatNode.type !== 'string_literal' || !fail) {
    return finding(
      m.guard,
      `the 's' or 'p' unit of this call cannot be read by hand here (a format made of several literals, or a failure branch that does more than return): left as it is`,
      ["HPy 0.9.0 crashes on an omitted optional 's' or 'p' argument"],
      "the unit parsed as 'O' (default 'HPy_NULL') and read with 'HPyUnicode_AsUTF8AndSize' or 'HPy_IsTrue' when given",
    );
  }
  const units = parseArgFormat(stringLiteralValue(api.text(m.formatNode))!, 'keywords').units;
  const step = indentStep(file.text, m.sig.fn);
  const swaps: Swap[] = [];
  const decls: string[] = [];
  const reads: string[] = [];
  const names: string[] = [];
  for (const i of m.manual) {
    const out = m.outputs[i] ? unparenthesize(m.outputs[i]) : null;
    const id = out?.type === 'pointer_expression' && out.child(0)?.type === '&' ? out.childForFieldName('argument') : null;
    if (id?.type !== 'identifier') return finding(m.outputs[i] ?? m.guard, `the output of this '${units[i].code}' unit is not a local variable: the call is left as it is`, ['the value is read from a handle after the parse, into a variable of the function'], 'the address of a local variable (&x), then run hpy-migrate again');
    const handle = unusedName(api.text(m.sig.fn), [`${id.text}_obj`, `${id.text}_h`], m.taken);
    m.taken.add(handle);
    // A text points into its handle: it counts as a use of the tracked handles.
    if (units[i].code === 's') names.push(id.text);
    const at = m.formatNode.startIndex + 1 + units[i].offset;
    swaps.push({ start: at, end: at + 1, text: 'O' }, { start: id.startIndex, end: id.endIndex, text: handle });
    decls.push(`HPy ${handle} = HPy_NULL;`);
    reads.push(...readLines(m, units[i], id.text, handle, fail, step));
  }
  const eolIndent = file.eol + indentationAt(file.text, m.guard.startIndex);
  const note = manualNote(m.manual.map((i) => units[i].code), m.sig.shape);
  return { swaps, decls, names, note, after: eolIndent + reads.join(eolIndent) };
}

/** `x = <read>(ctx, h); if (<failed>) fail`, inside `if (!HPy_IsNull(h))` when optional. */
function readLines(m: ManualInput, unit: FormatUnit, name: string, handle: string, fail: string, step: string): string[] {
  const reader = READERS[unit.code];
  const test = `if (${reader.failed(name)})`;
  const failLines = m.trackerName ? [`${test} {`, `${step}HPyTracker_Close(${m.sig.ctx}, ${m.trackerName});`, `${step}${fail}`, '}'] : [test, `${step}${fail}`];
  const read = [`${name} = ${reader.read(m.sig.ctx, handle)};`, ...failLines];
  // A required argument is always there after a successful parse: no null test around the read.
  return unit.optional ? [`if (!HPy_IsNull(${handle})) {`, ...read.map((l) => step + l), '}'] : read;
}

/** The one statement of a failure branch (`return NULL;`), if that is all it does. */
function failureStatement(guard: SyntaxNode): string | null {
  const branch = guard.childForFieldName('consequence')!;
  const stmts = branch.type === 'compound_statement' ? branch.namedChildren.filter((c) => c.type !== 'comment') : [branch];
  return stmts.length === 1 && stmts[0].type === 'return_statement' ? stmts[0].text : null;
}

/** One level of indentation in the function (its body's first statement, relative to its braces). */
function indentStep(text: string, fn: SyntaxNode): string {
  const body = fn.childForFieldName('body')!;
  const first = body.namedChildren[0];
  const inner = first ? indentationAt(text, first.startIndex) : '    ';
  const outer = indentationAt(text, body.startIndex);
  return inner.startsWith(outer) && inner.length > outer.length ? inner.slice(outer.length) : '    ';
}

/**
 * `static char *kwlist[]` -> `static const char *kwlist[]`; `argument` is the new text of a
 * `(char **)kwlist` argument, whose cast goes.
 */
function kwlistChanges(api: RewriteApi, fn: SyntaxNode, arg: SyntaxNode): { changes: Change[]; argument: string | null } | Found {
  let value = unparenthesize(arg);
  const changes: Change[] = [];
  let argument: string | null = null;
  if (value.type === 'cast_expression') {
    value = unparenthesize(value.childForFieldName('value')!);
    argument = api.text(value);
  }
  const decl = value.type === 'identifier' ? arrayDeclaration(fn, value.text) : null;
  if (!decl) return finding(arg, `the keyword list '${api.text(arg)}' is not a local or file-scope array: the call is left as it is`, ['the HPy parsers take a const char *[] that the transform retypes where it is declared'], "static const char *kwlist[] = {..., NULL}; passed by name, then run hpy-migrate again");
  const type = decl.childForFieldName('type')!;
  const note = `'${value.text}' becomes 'const char *[]', the type the HPy parsers take`;
  const qualifiers = decl.namedChildren.filter((c) => c.type === 'type_qualifier' && c.startIndex < type.startIndex);
  if (qualifiers.length === 0) changes.push({ start: type.startIndex, end: type.startIndex, text: 'const ', note });
  const pointer = decl.childForFieldName('declarator')?.childForFieldName('declarator');
  const inner = pointer?.namedChildren.find((c) => c.type === 'type_qualifier');
  if (inner) changes.push({ start: inner.startIndex, end: inner.nextSibling!.startIndex, text: '', note });
  return { changes, argument };
}

/** The declaration of `char *name[]` in `fn` or at file scope. */
function arrayDeclaration(fn: SyntaxNode, name: string): SyntaxNode | null {
  const candidates = [...(fn.childForFieldName('body')?.descendantsOfType('declaration') ?? []), ...fn.tree.rootNode.namedChildren.filter((n) => n.type === 'declaration')];
  for (const decl of candidates) {
    if (decl.childForFieldName('type')?.text !== 'char') continue;
    const init = decl.childrenForFieldName('declarator');
    if (init.length !== 1 || init[0].type !== 'init_declarator') continue;
    const pointer = init[0].childForFieldName('declarator');
    const array = pointer?.type === 'pointer_declarator' ? pointer.childForFieldName('declarator') : null;
    if (array?.type === 'array_declarator' && array.childForFieldName('declarator')?.text === name) return decl;
  }
  return null;
}

/**
 * The `if (!call) return ...;` around the call, when the code after it runs only after a successful
 * parse. With a tracker, that code must reach every return: the `if` stands directly in the body and
 * no goto crosses it.
 */
function checkedGuard(call: SyntaxNode, sig: Signature, tracker: boolean): { node: SyntaxNode } | Found {
  const body = sig.fn.childForFieldName('body')!;
  const guard = failureGuard(call);
  const at = (why: string) => finding(call, `the success path of this call cannot be told apart with certainty (${why}): left as it is`, [TRACKER_NOTE], TRACKER_SUGGESTION);
  if (!guard || (tracker ? guard.parent?.id !== body.id : guard.parent?.type !== 'compound_statement')) {
    return at(`the call is not the condition of an 'if (!call)'${tracker ? ' directly in the function body' : ''}`);
  }
  if (guard.childForFieldName('alternative')) return at("the 'if' has an 'else'");
  if (!alwaysReturns(guard.childForFieldName('consequence')!)) return at('the failure branch does not end in a return, or jumps');
  if (tracker && jumpsAcross(body, guard)) return at('a goto crosses the call');
  return { node: guard };
}

interface TrackerInput {
  call: SyntaxNode;
  sig: Signature;
  guard: SyntaxNode;
  name: string;
  taken: Set<string>;
  /** Variables that hold tracked handles or point into them; null when one is not a plain variable. */
  outputs: Set<string> | null;
}

/** The tracker's declaration and a close on every return after the successful parse. */
function trackerChanges(file: SourceFile, api: RewriteApi, t: TrackerInput): { closes: Change[] } | Found {
  const body = t.sig.fn.childForFieldName('body')!;
  const at = (why: string, notes = [TRACKER_NOTE], suggestion = TRACKER_SUGGESTION) => finding(t.call, `the tracker of this call cannot be closed on every path with certainty (${why}): left as it is`, notes, suggestion);
  if (!t.outputs) return at("an 'O' output is not a local variable");
  const closes: Change[] = [trackerDeclaration(file, body, t.name)];
  const context: CloseContext = { sig: t.sig, name: t.name, outputs: t.outputs, taken: t.taken };
  for (const ret of returnsAfter(body, t.guard.endIndex)) {
    const change = closeBefore(file, api, ret, context);
    if (!change) {
      return at(`'${api.text(ret)}' returns a parsed handle without a new reference`, [
        "the keyword parser's handles are closed with the tracker (CPython returned a borrowed reference here)",
      ], "'Py_INCREF(x);' right before 'return x;', then run hpy-migrate again (it becomes 'return HPy_Dup(ctx, x);')");
    }
    closes.push(...change);
  }
  return { closes };
}

/** The `if` statement whose condition is `!call` or `call == 0`. */
function failureGuard(call: SyntaxNode): SyntaxNode | null {
  let up = call;
  while (up.parent?.type === 'parenthesized_expression') up = up.parent;
  let cond = up.parent;
  if (cond?.type === 'unary_expression' && cond.childForFieldName('operator')?.type === '!') {
    // the `!call` node itself
  } else if (cond?.type === 'binary_expression' && cond.childForFieldName('operator')?.type === '==') {
    const other = cond.childForFieldName('left')?.id === up.id ? cond.childForFieldName('right') : cond.childForFieldName('left');
    if (other?.text !== '0') return null;
  } else return null;
  while (cond.parent?.type === 'parenthesized_expression') cond = cond.parent;
  const stmt = cond.parent;
  return stmt?.type === 'if_statement' && stmt.childForFieldName('condition')?.id === cond.id ? stmt : null;
}

/** Does the branch always leave the function by `return` (and never jump)? */
function alwaysReturns(branch: SyntaxNode): boolean {
  const jumps = ['goto_statement', 'break_statement', 'continue_statement'];
  if (jumps.some((j) => branch.type === j || branch.descendantsOfType(j).length > 0)) return false;
  if (branch.type === 'return_statement') return true;
  const last = branch.type === 'compound_statement' ? branch.namedChildren.filter((c) => c.type !== 'comment').at(-1) : null;
  return last?.type === 'return_statement';
}

/** A goto before the call to a label after it, or after the call to a label before it. */
function jumpsAcross(body: SyntaxNode, guard: SyntaxNode): boolean {
  const labels = new Map(body.descendantsOfType('labeled_statement').map((l) => [l.childForFieldName('label')!.text, l.startIndex]));
  return body.descendantsOfType('goto_statement').some((g) => {
    const target = labels.get(g.childForFieldName('label')!.text);
    if (target === undefined) return false;
    return g.startIndex < guard.startIndex ? target > guard.startIndex : target < guard.startIndex;
  });
}

/** Names of the `&x` outputs of `O` units, plus `extra` (null when one is not a plain variable). */
function objectOutputs(outputs: SyntaxNode[], format: ArgFormat, extra: string[]): Set<string> | null {
  const names = new Set<string>(extra);
  for (const [i, unit] of format.units.entries()) {
    if (unit.code !== 'O') continue;
    const out = outputs[i] ? unparenthesize(outputs[i]) : null;
    const id = out?.type === 'pointer_expression' && out.child(0)?.type === '&' ? out.childForFieldName('argument') : null;
    if (id?.type !== 'identifier') return null;
    names.add(id.text);
  }
  return names;
}

function trackerDeclaration(file: SourceFile, body: SyntaxNode, name: string): Change {
  const first = body.namedChildren[0];
  const indent = first ? indentationAt(file.text, first.startIndex) : '    ';
  const eol = file.eol;
  const open = body.child(0)!;
  return { start: open.endIndex, end: open.endIndex, text: `${eol}${indent}HPyTracker ${name};`, note: `the tracker '${name}' owns the handles the parser creates for the 'O' units` };
}

const RETURN_MACROS = /^Py_RETURN_[A-Z]+$/;

/** Return statements and `Py_RETURN_*;` after `from`, in order. */
function returnsAfter(body: SyntaxNode, from: number): SyntaxNode[] {
  const macros = body.descendantsOfType('expression_statement').filter((s) => s.namedChildCount === 1 && RETURN_MACROS.test(s.namedChildren[0].text));
  return [...body.descendantsOfType('return_statement'), ...macros].filter((r) => r.startIndex >= from).sort((a, b) => a.startIndex - b.startIndex);
}

interface CloseContext {
  sig: Signature;
  name: string;
  outputs: Set<string>;
  /** Temporaries already given out in this function. */
  taken: Set<string>;
}

const CLOSE_NOTE = "the tracker is closed before this return: check that nothing returned or kept still needs its handles (keep one with 'HPy_Dup' or 'HPyField_Store')";

/** The close before one return; null when the return hands out a parsed handle as it is. */
function closeBefore(file: SourceFile, api: RewriteApi, ret: SyntaxNode, c: CloseContext): Change[] | null {
  const close = `HPyTracker_Close(${c.sig.ctx}, ${c.name});`;
  const value = ret.type === 'return_statement' ? ret.namedChildren.find((n) => n.type !== 'comment') : undefined;
  if (!value || !usesAny(value, c.outputs)) {
    if (acceptsStatements(ret)) return [{ start: ret.startIndex, end: ret.startIndex, text: `${close}${file.eol}${indentationAt(file.text, ret.startIndex)}`, note: CLOSE_NOTE }];
    return [{ start: ret.startIndex, end: ret.endIndex, text: `{ ${close} ${api.text(ret)} }`, note: CLOSE_NOTE }];
  }
  const bare = unwrapValue(value);
  if (bare.type === 'identifier' && c.outputs.has(bare.text)) {
    const incref = previousStatement(ret);
    if (!incref || !isIncrefOf(incref, bare.text) || ret.parent?.type !== 'compound_statement') return null;
    const text = computeThenClose(file, c, incref, `HPy_Dup(${c.sig.ctx}, ${bare.text})`);
    return [{ start: incref.startIndex, end: ret.endIndex, text, note: `'Py_INCREF' of a parsed handle becomes 'HPy_Dup' before the tracker closes it` }];
  }
  if (containsOutputValue(bare, c.outputs)) return null;
  const text = computeThenClose(file, c, ret, api.text(value));
  return [{ start: ret.startIndex, end: ret.endIndex, text, note: `the returned value uses a parsed handle: it is computed before the tracker closes it` }];
}

/**
 * `T tmp = value; HPyTracker_Close(ctx, ht); return tmp;` in place of `at`: one statement per
 * line directly in a block (each temporary has a name of its own), in braces elsewhere.
 */
function computeThenClose(file: SourceFile, c: CloseContext, at: SyntaxNode, value: string): string {
  const type = c.sig.fn.childForFieldName('type')!.text;
  const tmp = unusedName(file.text.slice(c.sig.fn.startIndex, c.sig.fn.endIndex), ['ret', 'retval'], c.taken);
  c.taken.add(tmp);
  const lines = [`${type} ${tmp} = ${value};`, `HPyTracker_Close(${c.sig.ctx}, ${c.name});`, `return ${tmp};`];
  if (at.parent?.type === 'compound_statement') return lines.join(file.eol + indentationAt(file.text, at.startIndex));
  return `{ ${lines.join(' ')} }`;
}

function usesAny(node: SyntaxNode, names: Set<string>): boolean {
  return node.descendantsOfType('identifier').some((id) => names.has(id.text));
}

function unwrapValue(node: SyntaxNode): SyntaxNode {
  let n = unparenthesize(node);
  while (n.type === 'cast_expression') n = unparenthesize(n.childForFieldName('value')!);
  return n;
}

/** `c ? x : y` where a branch is a parsed handle itself. */
function containsOutputValue(node: SyntaxNode, outputs: Set<string>): boolean {
  if (node.type === 'identifier') return outputs.has(node.text);
  if (node.type === 'conditional_expression') {
    return ['consequence', 'alternative'].some((f) => {
      const branch = node.childForFieldName(f);
      return !!branch && containsOutputValue(unwrapValue(branch), outputs);
    });
  }
  return node.type === 'comma_expression' && containsOutputValue(unwrapValue(node.lastNamedChild!), outputs);
}

/** Can statements be inserted before `stmt` without braces? (in a block, a case, or after a label there) */
function acceptsStatements(stmt: SyntaxNode): boolean {
  let s = stmt;
  while (s.parent?.type === 'labeled_statement') s = s.parent;
  const p = s.parent;
  return !!p && (p.type === 'compound_statement' || p.type === 'case_statement');
}

function previousStatement(stmt: SyntaxNode): SyntaxNode | null {
  let n = stmt.previousNamedSibling;
  while (n && n.type === 'comment') n = n.previousNamedSibling;
  return n;
}

function isIncrefOf(stmt: SyntaxNode, name: string): boolean {
  const call = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : null;
  if (call?.type !== 'call_expression' || calleeName(call) !== 'Py_INCREF') return false;
  const args = callArguments(call);
  return args.length === 1 && unparenthesize(args[0]).text === name;
}

function unusedName(text: string, candidates: string[], taken: ReadonlySet<string> = new Set()): string {
  const free = (name: string) => !taken.has(name) && !new RegExp(`\\b${name}\\b`).test(text);
  for (const c of candidates) if (free(c)) return c;
  for (let i = 2; ; i++) if (free(`${candidates[0]}${i}`)) return `${candidates[0]}${i}`;
}
