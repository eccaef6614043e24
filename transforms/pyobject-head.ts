/**
 * Ports object structs: `PyObject_HEAD` goes, `HPyType_HELPERS(T)` follows the struct, and every
 * `(T *)h` cast of a handle becomes `T_AsStruct(ctx, h)`.
 *
 * ## Why
 * An HPy object is an opaque handle: its C struct is reached through the `T_AsStruct` function
 * that `HPyType_HELPERS(T)` generates, never by casting the handle. A pure HPy type's struct holds
 * only its own data, without `PyObject_HEAD` (porting guide, "Porting types":
 * https://docs.hpyproject.org/en/latest/porting-guide.html, and `hpy/hpytype.h`); the spec says
 * which layout it has with `.builtin_shape = SHAPE(T)`.
 *
 * ## Before
 * ```c
 * typedef struct {
 *     PyObject_HEAD
 *     double x;
 *     double y;
 * } PointObject;
 *
 * static HPy Point_norm(HPyContext *ctx, HPy self)
 * {
 *     return HPyFloat_FromDouble(ctx, ((PointObject *)self)->x + ((PointObject *)self)->y);
 * }
 *
 * static HPy Point_x(HPyContext *ctx, HPy self, void *closure)
 * {
 *     PointObject *p = (PointObject *)self;
 *     return HPyFloat_FromDouble(ctx, p->x);
 * }
 *
 * static HPyType_Spec Point_spec = {
 *     .name = "geometry.Point",
 *     .basicsize = sizeof(PointObject),
 *     .defines = Point_defines,
 * };
 * ```
 * ## After
 * ```c
 * typedef struct {
 *     double x;
 *     double y;
 * } PointObject;
 *
 * HPyType_HELPERS(PointObject)
 *
 * static HPy Point_norm(HPyContext *ctx, HPy self)
 * {
 *     PointObject *self_data = PointObject_AsStruct(ctx, self);
 *     return HPyFloat_FromDouble(ctx, self_data->x + self_data->y);
 * }
 *
 * static HPy Point_x(HPyContext *ctx, HPy self, void *closure)
 * {
 *     PointObject *p = PointObject_AsStruct(ctx, self);
 *     return HPyFloat_FromDouble(ctx, p->x);
 * }
 *
 * static HPyType_Spec Point_spec = {
 *     .name = "geometry.Point",
 *     .basicsize = sizeof(PointObject),
 *     .builtin_shape = SHAPE(PointObject),
 *     .defines = Point_defines,
 * };
 * ```
 * ## Safety
 * safe: `T_AsStruct(ctx, h)` returns the pointer the cast gave, for the layout the helpers
 * declare. The struct loses its head only when nothing in the file still needs it: no legacy
 * `PyType_Spec`/`PyTypeObject` of the struct, no `legacy_slots` in its `HPyType_Spec`, no legacy
 * callback (a function without `ctx` whose signature the C API dictates) that casts to it or takes
 * it as a parameter, no cast of a pointer that is not a handle (`(T *)type->tp_alloc(type, 0)`).
 * Otherwise the head stays and the helpers are `HPyType_LEGACY_HELPERS(T)`, the layout HPy
 * requires for legacy types (reported; a later run says when nothing needs it any more). A handle
 * used as a struct several times is read once, into `T *h_data`: at the statement of its first
 * use when that use runs whenever the statement does (not under `if`, `?:`, `&&`, `||` or a loop
 * body), the handle is not written from there on and no `goto` jumps over the new declaration;
 * else at the top of the body when the handle is always an instance (the function's original
 * parameter was `T *`, or it is the object parameter of an HPy impl other than a binary number
 * slot) and never written. The debug mode checks the object's type in `T_AsStruct`, so the call
 * never moves to where the handle may be another type (a reflected number operand). Elsewhere
 * each use becomes `T_AsStruct(ctx, h)` in place. `h->field` on a handle (half-ported code) is
 * rewritten when the struct is certain: the function's original parameter type in the index, or
 * the only struct of the file with every member used.
 *
 * ## Limits
 * Reported and left alone:
 * - `PyObject_VAR_HEAD` structs (HPy 0.9.0 has no var-sized objects), structs without a typedef
 *   name (`HPyType_HELPERS(struct X)` cannot paste its names), structs with no member besides the
 *   head, structs that do not parse (`PyObject_HEAD;` with a semicolon, until the parse mask
 *   covers it), and structs of types still defined as `PyType_Spec`/`PyTypeObject` (also when the
 *   struct is in another file, which ports it anyway);
 * - casts in legacy callbacks (no `ctx`), and casts of expressions that are not a handle variable
 *   (`(T *)type->tp_alloc(type, 0)`: allocate with `HPy_New`);
 * - `h->field` on a handle whose struct is not certain, and a handle cast to a type that is not
 *   a known object struct.
 * Reported and converted: a pure type whose spec allows subclasses (HPy 0.9.0 on CPython gives
 * `HPy_New`, destroy and traverse the wrong struct address for instances of Python subclasses).
 * Casts of `void *` (in `HPy_tp_traverse` and `HPy_tp_destroy` impls) and of struct pointers are
 * plain C and stay. Helpers of the project are converted (reported when missing-context, which
 * gives them `ctx`, does not run). A struct in a header is ported in the header; a `.c` file
 * converts its casts from the index facts and assumes the pure layout there, so a spec with
 * `legacy_slots` whose struct lives in another file is reported. `.builtin_shape` is added only to
 * an `HPyType_Spec` of the same file (the default, `HPyType_BuiltinShape_Object`, is the pure
 * layout anyway), and never over one already there (pytype-spec writes
 * `HPyType_BuiltinShape_Legacy` with the `.legacy_slots` of a hybrid port). With `--target hybrid`
 * the legacy layout is the plan, not a shortfall: keeping the head and leaving a legacy
 * callback's cast of a struct of this file are notes instead of warnings, and so is the struct of a
 * type that stays a `PyType_Spec`/`PyTypeObject` (left untouched, whatever else of it HPy lacks: a
 * hybrid build creates the type as it is). Every warning says what to write by hand (its
 * `suggestion`).
 */
import {
  contextGuard,
  contextGuardSuggestion,
  contextScope,
  declarationsOf,
  defineTransform,
  functionName,
  functionParams,
  hasContextParam,
  indentationAt,
  isHandleDeclaration,
  objectStructsOf,
  specOfStruct,
  structNamed,
  suggestingApi,
  typeSpecsOf,
  unparenthesize,
  unusedName,
  writesOf,
  type ContextGuard,
  type ContextScope,
  type Declared,
  type ObjectStruct,
  type RewriteApi,
  type SourceFile,
  type SyntaxNode,
  type TypeSpec,
} from '../src/api/index.js';

const CASTS = '(cast_expression type: (type_descriptor) @type value: (_) @value) @cast';
const ARROWS = '(field_expression argument: (identifier) @base field: (field_identifier) @field) @access';
const GOTOS = '(goto_statement label: (statement_identifier) @label) @goto';
const LABELS = '(labeled_statement label: (statement_identifier) @label) @stmt';

/** How a struct is laid out once ported. */
type Layout =
  | { kind: 'pure' }
  | { kind: 'legacy'; why: string }
  | { kind: 'leave' };

/** One place where a handle is used as a struct pointer. */
interface StructUse {
  /** What is replaced by the struct pointer (the cast, or the handle before `->`). */
  target: SyntaxNode;
  /** The handle expression's text. */
  handle: string;
  /** Is the handle a plain variable (it can be read once into a local)? */
  variable: boolean;
  struct: ObjectStruct;
}

/** What one function does with object structs. */
interface FunctionScan {
  fn: SyntaxNode;
  /** `hpy`: has ctx; `helper`: one of the project's functions; `legacy`: a callback without ctx. */
  role: 'hpy' | 'helper' | 'legacy';
  uses: StructUse[];
  /** Structs whose legacy layout the function relies on, and why. */
  legacyStructs: Map<ObjectStruct, string>;
  /** Casts of a legacy function, left alone. */
  legacyCasts: { cast: SyntaxNode; struct: ObjectStruct }[];
}

/** What every pass needs. */
interface Context {
  api: RewriteApi;
  file: SourceFile;
  structs: ObjectStruct[];
  scope: ContextScope;
}

export default defineTransform({
  id: 'pyobject-head',
  summary: 'object structs lose PyObject_HEAD and get HPyType_HELPERS; (T *)h casts become T_AsStruct(ctx, h)',
  concern: 'type-specs',
  safety: 'safe',
  default: true,
  after: ['pytype-spec'],
  rewrite(file, api) {
    const structs = objectStructsOf(api, file).filter((s) => s.head !== null || s.helpers !== null);
    if (structs.length === 0) return;
    const cx: Context = { api, file, structs, scope: contextScope(api.index, file.text, api.target) };
    const specs = typeSpecsOf(api);
    const scans = file.tree.rootNode.descendantsOfType('function_definition').map((fn) => scanFunction(cx, fn));
    const layouts = new Map(structs.map((s) => [s, layoutOf(cx, s, specs, scans)]));
    for (const s of structs) if (s.local) convertStruct(cx, s, layouts.get(s)!);
    const guard = contextGuard(suggestingApi(api, contextGuardSuggestion));
    for (const scan of scans) convertUses(cx, scan, layouts, guard);
    for (const spec of specs) addShape(cx, spec, layouts);
  },
});

/** Decides the layout of a struct (and reports a struct left alone). */
function layoutOf(cx: Context, s: ObjectStruct, specs: TypeSpec[], scans: FunctionScan[]): Layout {
  if (!s.local) return externalLayout(cx, s, specs);
  if (!s.head) return { kind: 'pure' };
  const why = legacyReason(s, specs, scans);
  if (s.helpers === 'legacy') {
    if (!why) {
      cx.api.report(s.local.first ?? s.local.specifier, `nothing in this file needs the legacy layout of '${s.name}' any more`, {
        severity: 'note',
        notes: [`remove PyObject_HEAD and write 'HPyType_HELPERS(${s.name})' instead of 'HPyType_LEGACY_HELPERS(${s.name})' (and check the other files that use it)`],
        suggestion: `'${s.name}' without PyObject_HEAD, followed by 'HPyType_HELPERS(${s.name})' in place of 'HPyType_LEGACY_HELPERS(${s.name})'`,
      });
    }
    return { kind: 'legacy', why: why ?? '' };
  }
  if (keptForHybridType(cx, s, specs)) return { kind: 'leave' };
  const left = leftAloneBecause(s, specs);
  if (left) {
    cx.api.report(s.local.first ?? s.local.specifier, left.message, { notes: left.notes, suggestion: left.suggestion });
    return { kind: 'leave' };
  }
  return why ? { kind: 'legacy', why } : { kind: 'pure' };
}

/**
 * A struct defined in another file is ported there (assumed pure). A legacy type of it in this
 * file contradicts that: reported, and its casts here are left alone.
 */
function externalLayout(cx: Context, s: ObjectStruct, specs: TypeSpec[]): Layout {
  if (!s.name || s.head === 'PyObject_VAR_HEAD') return { kind: 'leave' };
  const legacyType = specs.find((t) => t.kind !== 'HPyType_Spec' && specOfStruct(t, s));
  if (!legacyType) return { kind: 'pure' };
  cx.api.report(legacyType.declaration, `'${legacyType.name}' is still a ${legacyType.kind}, but its struct '${s.name}' is defined in another file, where it loses PyObject_HEAD`, {
    notes: [`port the type (pytype-spec transform) and run hpy-migrate again, or keep the struct legacy where it is defined: PyObject_HEAD and 'HPyType_LEGACY_HELPERS(${s.name})'`],
    suggestion: `'${legacyType.name}' ported first (the pytype-spec findings on it say what to write); or, where '${s.name}' is defined, PyObject_HEAD kept and 'HPyType_LEGACY_HELPERS(${s.name})'`,
  });
  return { kind: 'leave' };
}

/** Why a struct must keep the legacy layout: legacy slots in its spec, or code relying on it. */
function legacyReason(s: ObjectStruct, specs: TypeSpec[], scans: FunctionScan[]): string | null {
  const hpySpec = specs.find((t) => t.kind === 'HPyType_Spec' && specOfStruct(t, s) && t.fields.has('legacy_slots'));
  if (hpySpec) return `its type '${hpySpec.name}' has legacy_slots`;
  for (const scan of scans) {
    const why = scan.legacyStructs.get(s);
    if (why) return why;
  }
  return null;
}

/**
 * Hybrid: the struct of a type that stays a `PyType_Spec`/`PyTypeObject` keeps its head as the
 * C-API type needs, which is the plan of a hybrid port, not a shortfall: left alone with a note
 * (no suggestion: nothing to write), whatever else the struct has that HPy lacks, since the type
 * is not ported. True when it reported so. A struct that does not parse is still a warning.
 */
function keptForHybridType(cx: Context, s: ObjectStruct, specs: TypeSpec[]): boolean {
  const local = s.local!;
  if (cx.api.target !== 'hybrid' || local.specifier.hasError) return false;
  const legacyType = specs.find((t) => t.kind !== 'HPyType_Spec' && specOfStruct(t, s));
  if (!legacyType) return false;
  cx.api.report(local.first ?? local.specifier, `'${s.name ?? `struct ${s.tag}`}' is the struct of '${legacyType.name}', which stays a ${legacyType.kind} in this hybrid port: ${s.head ?? 'PyObject_HEAD'} stays`, {
    severity: 'note',
    notes: [`a hybrid build creates '${legacyType.name}' from its C-API definition as it is; once it is an HPyType_Spec (the pytype-spec findings on it say what it lacks), run hpy-migrate again`],
  });
  return true;
}

/** Why a struct of this file cannot be ported at all, if it cannot. */
function leftAloneBecause(s: ObjectStruct, specs: TypeSpec[]): { message: string; notes: string[]; suggestion: string } | null {
  const label = s.name ?? `struct ${s.tag}`;
  if (s.local!.specifier.hasError) {
    return { message: `'${label}' does not parse cleanly: left alone`, notes: ["write 'PyObject_HEAD' without a semicolon (the macro brings its own), or fix the syntax, and run hpy-migrate again"], suggestion: `'PyObject_HEAD' without a semicolon as the first line of '${label}' (or its syntax error fixed), then run hpy-migrate again` };
  }
  if (s.head === 'PyObject_VAR_HEAD') {
    return { message: `'${label}' is a variable-size object ('PyObject_VAR_HEAD'): left alone`, notes: ['HPy 0.9.0 has no variable-size objects (itemsize is not supported): keep the type legacy, or keep the items in a separately allocated C array and use PyObject_HEAD'], suggestion: `PyObject_HEAD and a pointer to the items in a malloc'd array (freed in an HPy_tp_destroy impl) in '${label}', an item size of 0 in its type; or keep the type on the C API` };
  }
  if (!s.name) {
    return { message: `'${label}' has no typedef name: left alone`, notes: [`HPyType_HELPERS pastes its argument into the names 'T_AsStruct' and 'T_SHAPE', so it needs a one-word type name: add a typedef such as 'typedef struct ${s.tag} ${s.tag};' and run hpy-migrate again`], suggestion: `'typedef struct ${s.tag} ${s.tag};' after the struct, '${s.tag}' in the casts and in 'sizeof', then run hpy-migrate again` };
  }
  if (s.fields?.length === 0) {
    return { message: `'${label}' has no member besides PyObject_HEAD: left alone`, notes: ['a pure HPy type without data needs no struct: drop it with its casts and let basicsize be 0'], suggestion: `no struct: '${label}' and its casts removed, and no '.basicsize' in the type's spec (0)` };
  }
  const legacyType = specs.find((t) => t.kind !== 'HPyType_Spec' && specOfStruct(t, s));
  if (legacyType) {
    return { message: `'${label}' is the struct of '${legacyType.name}', still a ${legacyType.kind}: left alone`, notes: ["PyObject_HEAD stays until the type itself is ported (pytype-spec transform); then run hpy-migrate again"], suggestion: `nothing in '${label}': port '${legacyType.name}' first (the pytype-spec findings on it say what to write), then run hpy-migrate again` };
  }
  return null;
}

/** Removes the head and writes the helpers (pure), or writes the legacy helpers (reported). */
function convertStruct(cx: Context, s: ObjectStruct, layout: Layout): void {
  const { api } = cx;
  const local = s.local!;
  if (layout.kind === 'leave') return;
  if (layout.kind === 'legacy') {
    if (s.helpers) return;
    // In hybrid the legacy layout is the plan, not a shortfall: a note.
    const hybrid = api.target === 'hybrid';
    api.report(local.first ?? local.specifier, `'${s.name}' keeps PyObject_HEAD: ${layout.why}`, {
      severity: hybrid ? 'note' : 'warning',
      notes: [`a type used by legacy code must keep the legacy layout: 'HPyType_LEGACY_HELPERS(${s.name})' gives '${s.name}_AsStruct' for the HPy code; once the rest is ported, remove PyObject_HEAD and use 'HPyType_HELPERS(${s.name})'`],
      // In hybrid the legacy layout is the plan: nothing to write.
      ...(hybrid ? {} : { suggestion: `the code that needs the legacy layout ported first (${layout.why}), then '${s.name}' without PyObject_HEAD and 'HPyType_HELPERS(${s.name})'; or keep it legacy: run with --target hybrid` }),
    });
    insertHelpers(cx, local.end, `HPyType_LEGACY_HELPERS(${s.name})`);
    return;
  }
  if (s.head && local.first) api.remove(headSpan(cx, local.first));
  if (!s.helpers) insertHelpers(cx, local.end, `HPyType_HELPERS(${s.name})`);
  if (s.head) reportSubclassing(cx, s);
}

/**
 * HPy 0.9.0's CPython runtime takes the layout of an instance from its own type: a subclass
 * made in Python is no HPy type, so its instances count as legacy and `HPy_New`, the destroy and
 * the traverse impls get the object's address instead of its struct (verified: the instance is
 * corrupted). A pure type that allows subclasses is reported.
 */
function reportSubclassing(cx: Context, s: ObjectStruct): void {
  const spec = typeSpecsOf(cx.api).find((t) => t.kind === 'HPyType_Spec' && specOfStruct(t, s) && /\b(HPy|Py)_TPFLAGS_BASETYPE\b/.test(cx.api.text(t.fields.get('flags') ?? t.initializer)));
  if (!spec) return;
  cx.api.report(s.local!.first ?? s.local!.specifier, `'${s.name}' becomes a pure HPy struct, and '${spec.name}' allows subclasses: HPy 0.9.0 mishandles their instances on CPython`, {
    notes: [`for an instance of a class that subclasses it in Python, HPy 0.9.0 hands 'HPy_New', the HPy_tp_destroy and the HPy_tp_traverse impls the object's address instead of its '${s.name}' (it takes the subclass for a legacy type), which corrupts the object; avoid Python subclasses, or keep the type legacy (PyObject_HEAD, HPyType_LEGACY_HELPERS, hybrid ABI)`],
    suggestion: `'.flags' of '${spec.name}' without HPy_TPFLAGS_BASETYPE, if Python code need not subclass it; else a legacy layout: PyObject_HEAD kept in '${s.name}', 'HPyType_LEGACY_HELPERS(${s.name})', a hybrid ABI build`,
  });
}

/** The text to delete for the head: its whole line when it stands alone, else the macro and its spaces. */
function headSpan(cx: Context, first: SyntaxNode): { start: number; end: number } {
  const text = cx.file.text;
  const m = /^PyObject_HEAD\b[ \t]*;?[ \t]*/.exec(text.slice(first.startIndex))!;
  const lineStart = text.lastIndexOf('\n', first.startIndex - 1) + 1;
  const end = first.startIndex + m[0].length;
  const rest = /^\r?\n/.exec(text.slice(end));
  if (rest && /^[ \t]*$/.test(text.slice(lineStart, first.startIndex))) return { start: lineStart, end: end + rest[0].length };
  return { start: first.startIndex, end };
}

/** Writes `line` after the struct definition (and its typedef), set off by a blank line. */
function insertHelpers(cx: Context, end: SyntaxNode, line: string): void {
  const { api, file } = cx;
  const text = file.text;
  let at = end.endIndex;
  const semi = /^[ \t]*;/.exec(text.slice(at));
  if (semi) at += semi[0].length;
  const trailing = /^[ \t]*(?:\/\*[^\n]*?\*\/[ \t]*|\/\/[^\n]*)?(?=\r?\n|$)/.exec(text.slice(at));
  if (trailing) at += trailing[0].length;
  const next = text.slice(at).replace(/^\r?\n/, '');
  const blankFollows = next === '' || /^[ \t]*\r?\n/.test(next);
  api.insertAfter({ start: at, end: at }, `${api.eol}${api.eol}${line}${blankFollows ? '' : api.eol}`);
}

/** Adds `.builtin_shape = SHAPE(T),` after `.basicsize` in an HPyType_Spec of the file. */
function addShape(cx: Context, spec: TypeSpec, layouts: Map<ObjectStruct, Layout>): void {
  const { api } = cx;
  if (spec.kind !== 'HPyType_Spec' || spec.fields.has('builtin_shape')) return;
  const s = cx.structs.find((x) => specOfStruct(spec, x));
  const layout = s && layouts.get(s);
  if (!s || !layout || layout.kind === 'leave') return;
  if (!s.local && spec.fields.has('legacy_slots')) {
    api.report(spec.fields.get('legacy_slots')!, `'${spec.name}' has legacy_slots, but its struct '${s.name}' is defined in another file and ported as a pure HPy struct`, {
      notes: [`a type with legacy slots needs the legacy layout: keep PyObject_HEAD in '${s.name}', write 'HPyType_LEGACY_HELPERS(${s.name})' there and '.builtin_shape = SHAPE(${s.name})' here`],
      suggestion: `where '${s.name}' is defined: PyObject_HEAD kept and 'HPyType_LEGACY_HELPERS(${s.name})'; here: '.builtin_shape = SHAPE(${s.name})'`,
    });
    return;
  }
  const pair = spec.fields.get('basicsize');
  if (!pair) return;
  api.insertAfter(pair, shapeText(cx, pair, s.name!));
}

/**
 * The new initializer, placed like the `.basicsize` one (own line or same line). It goes right
 * after the pair, before the comma that may follow it, so it always starts with its own comma.
 */
function shapeText(cx: Context, pair: SyntaxNode, name: string): string {
  const text = cx.file.text;
  const lineStart = text.lastIndexOf('\n', pair.startIndex - 1) + 1;
  const ownLine = /^[ \t]*$/.test(text.slice(lineStart, pair.startIndex));
  const sep = ownLine ? `${cx.api.eol}${indentationAt(text, pair.startIndex)}` : ' ';
  return `,${sep}.builtin_shape = SHAPE(${name})`;
}

/** Finds the struct uses of one function and what kind of function it is. */
function scanFunction(cx: Context, fn: SyntaxNode): FunctionScan {
  const { api } = cx;
  const name = functionName(fn) ?? '';
  // A callback without ctx has a signature the C API dictates: legacy. Other functions are the
  // project's helpers, which missing-context gives a ctx when they use objects.
  const role = hasContextParam(fn) ? 'hpy' : cx.scope.isCallback(name) ? 'legacy' : 'helper';
  const decls = declarationsOf(api, fn);
  const scan: FunctionScan = { fn, role, uses: [], legacyStructs: new Map(), legacyCasts: [] };
  if (role === 'legacy') {
    for (const d of decls.values()) {
      const s = d.param && d.pointers === 1 ? structNamed(cx.structs, d.type) : undefined;
      if (s) scan.legacyStructs.set(s, legacyCallbackReason(name));
    }
  }
  const body = fn.childForFieldName('body');
  if (!body) return scan;
  for (const m of api.matches(CASTS, body)) scanCast(cx, scan, decls, m.cast, m.type, m.value);
  if (role !== 'legacy') scanArrows(cx, scan, decls, body);
  return scan;
}

/** What a cast's operand is: a handle variable, an element of a handle array, plain C, or anything else. */
type OperandKind = 'variable' | 'element' | 'plain' | 'other';

function operandKind(cx: Context, operand: SyntaxNode, decls: Map<string, Declared>): OperandKind {
  const { api } = cx;
  if (operand.type === 'identifier') {
    const d = decls.get(api.text(operand));
    if (isHandleDeclaration(d)) return 'variable';
    return d ? 'plain' : 'other';
  }
  if (operand.type === 'subscript_expression') {
    const array = operand.childForFieldName('argument');
    const d = array?.type === 'identifier' ? decls.get(api.text(array)) : undefined;
    if (d && ((d.type === 'HPy' && d.pointers === 1) || (d.type === 'PyObject' && d.pointers === 2))) return 'element';
    return 'other';
  }
  if (operand.type === 'call_expression' && /_AsStruct$/.test(api.text(operand.childForFieldName('function')!))) return 'plain';
  return 'other';
}

const CAST_TYPE = /^(struct \w+|\w+) ?\*$/;
/** An allocation of a new instance (`type->tp_alloc(type, 0)`, `PyObject_New(T, type)`). */
const NEW_INSTANCE = /\btp_alloc\b|\bPyObject_(GC_)?NEW\b|\bPyObject_(GC_)?New\b|\bPyType_GenericAlloc\b/;

function scanCast(cx: Context, scan: FunctionScan, decls: Map<string, Declared>, cast: SyntaxNode, type: SyntaxNode, value: SyntaxNode): void {
  const { api } = cx;
  const typeName = CAST_TYPE.exec(api.text(type).replace(/\s+/g, ' ').trim())?.[1];
  if (!typeName) return;
  const operand = unparenthesize(value);
  const kind = operandKind(cx, operand, decls);
  const s = structNamed(cx.structs, typeName);
  if (!s) {
    if (scan.role !== 'legacy') reportUnknownStruct(cx, cast, typeName, operand, decls);
    return;
  }
  if (kind === 'plain') return;
  if (scan.role === 'legacy') {
    scan.legacyStructs.set(s, legacyCallbackReason(functionName(scan.fn) ?? ''));
    scan.legacyCasts.push({ cast, struct: s });
    return;
  }
  if (kind === 'other') {
    // The pointer comes from elsewhere (tp_alloc, a field, a borrowed item): it has the legacy layout.
    scan.legacyStructs.set(s, `'${functionName(scan.fn)}' reads it through '${api.text(operand)}', which is not a handle`);
    api.report(cast, `'${api.text(cast)}' casts an expression that is not a handle variable: left alone`, {
      notes: [`read the object into a local 'HPy h' first and write '${s.name ?? 'T'}_AsStruct(ctx, h)'; a new instance is made by 'HPy h = HPy_New(ctx, type, &p);', which also sets the struct pointer 'p'`],
      suggestion: NEW_INSTANCE.test(api.text(operand))
        ? `'${s.name ?? 'T'} *p; HPy h = HPy_New(ctx, type, &p);' in place of the allocation (HPy_IsNull(h) on failure)`
        : `'HPy h = <the object as a handle>;' then '${s.name ?? 'T'}_AsStruct(ctx, h)' in place of '${api.text(cast)}'`,
    });
    return;
  }
  scan.uses.push({ target: castTarget(cast), handle: api.text(operand), variable: kind === 'variable', struct: s });
}

/** `((T *)h)->f`: the parentheses go with the cast, since a call needs none. */
function castTarget(cast: SyntaxNode): SyntaxNode {
  const p = cast.parent;
  return p?.type === 'parenthesized_expression' && p.namedChildCount === 1 ? p : cast;
}

/** A handle cast to a pointer type that is no known object struct (a struct defined elsewhere?). */
function reportUnknownStruct(cx: Context, cast: SyntaxNode, typeName: string, operand: SyntaxNode, decls: Map<string, Declared>): void {
  const { api } = cx;
  const d = operand.type === 'identifier' ? decls.get(api.text(operand)) : undefined;
  if (!d || d.type !== 'HPy' || d.pointers !== 0 || /^(_?Py|HPy|struct )/.test(typeName) || typeName === 'void') return;
  api.report(cast, `'${api.text(cast)}' casts a handle to '${typeName} *', which is not a known object struct: left alone`, {
    notes: [`if '${typeName}' is an object struct defined in another file, write '${typeName}_AsStruct(ctx, ${api.text(operand)})' (it needs 'HPyType_HELPERS(${typeName})' after the struct)`],
    suggestion: `'${typeName}_AsStruct(ctx, ${api.text(operand)})', with 'HPyType_HELPERS(${typeName})' after the definition of '${typeName}'`,
  });
}

/** `h->f` on a handle `h` (half-ported code): a struct use when the struct is certain. */
function scanArrows(cx: Context, scan: FunctionScan, decls: Map<string, Declared>, body: SyntaxNode): void {
  const { api } = cx;
  const byBase = new Map<string, { bases: SyntaxNode[]; fields: Set<string> }>();
  for (const m of api.matches(ARROWS, body)) {
    if (!m.access.children.some((c) => c.type === '->')) continue;
    const base = api.text(m.base);
    const d = decls.get(base);
    if (!d || d.type !== 'HPy' || d.pointers !== 0) continue;
    const entry = byBase.get(base) ?? { bases: [], fields: new Set<string>() };
    entry.bases.push(m.base);
    entry.fields.add(api.text(m.field));
    byBase.set(base, entry);
  }
  for (const [base, { bases, fields }] of byBase) {
    const s = arrowStruct(cx, scan.fn, base, fields);
    if (s) {
      for (const b of bases) scan.uses.push({ target: b, handle: base, variable: true, struct: s });
      continue;
    }
    const field = [...fields][0];
    api.report(bases[0].parent ?? bases[0], `'${base}' is a handle, but '${base}->${field}' uses it as a struct: left alone`, {
      notes: [`the object struct is not certain here; write 'T *${base}_data = T_AsStruct(ctx, ${base});' with its struct 'T' and use '${base}_data->${field}'`],
      suggestion: `'T *${base}_data = T_AsStruct(ctx, ${base});' (T the object struct of '${base}'), then '${base}_data->${field}'`,
    });
  }
}

/** The struct of handle `base`: its original parameter type (index), or the one struct with all the fields. */
function arrowStruct(cx: Context, fn: SyntaxNode, base: string, fields: Set<string>): ObjectStruct | undefined {
  const name = functionName(fn);
  const fact = cx.api.index.functions.find((f) => f.name === name && f.file === cx.file.path);
  const original = fact?.params.find((p) => p.name === base);
  const typed = original ? /^(struct \w+|\w+) \*$/.exec(original.type.replace(/\s+/g, ' ')) : null;
  const fromIndex = typed ? structNamed(cx.structs, typed[1]) : undefined;
  if (fromIndex) return fromIndex;
  const candidates = cx.structs.filter((s) => s.name && s.fields && [...fields].every((f) => s.fields!.includes(f)));
  return candidates.length === 1 ? candidates[0] : undefined;
}

function legacyCallbackReason(name: string): string {
  return `'${name}' still uses it as a legacy callback without 'ctx'`;
}

/** Rewrites the struct uses of one function (or reports the casts of a legacy callback). */
function convertUses(cx: Context, scan: FunctionScan, layouts: Map<ObjectStruct, Layout>, guard: ContextGuard): void {
  const { api } = cx;
  if (scan.role === 'legacy') {
    reportLegacyCasts(cx, scan, layouts);
    return;
  }
  const groups = new Map<string, StructUse[]>();
  for (const u of scan.uses) {
    if (layouts.get(u.struct)?.kind === 'leave' || !u.struct.name) continue;
    const key = `${u.handle}\u0000${u.struct.name}`;
    groups.set(key, [...(groups.get(key) ?? []), u]);
  }
  const taken = new Set<string>();
  for (const uses of groups.values()) {
    uses.sort((a, b) => a.target.startIndex - b.target.startIndex);
    const t = uses[0].struct.name!;
    if (scan.role === 'helper' && !guard.allows(uses[0].target, `${t}_AsStruct`)) continue;
    const at = uses.length > 1 && uses[0].variable ? hoistPoint(cx, scan.fn, uses) : null;
    const call = `${t}_AsStruct(ctx, ${uses[0].handle})`;
    if (at === null) {
      for (const u of uses) api.replace(u.target, call);
      continue;
    }
    const local = unusedName(cx.file.text, `${uses[0].handle.replace(/\W/g, '_')}_data`, taken);
    taken.add(local);
    api.insertBefore({ start: at, end: at }, `${indentationAt(cx.file.text, at)}${t} *${local} = ${call};${api.eol}`);
    for (const u of uses) api.replace(u.target, local);
  }
}

/** One warning per legacy callback that casts a handle to a struct being ported. */
function reportLegacyCasts(cx: Context, scan: FunctionScan, layouts: Map<ObjectStruct, Layout>): void {
  const first = scan.legacyCasts.find((c) => layouts.get(c.struct)?.kind !== 'leave');
  if (!first) return;
  const { api } = cx;
  const t = first.struct.name ?? 'T';
  const note = first.struct.local
    ? `'${t}' keeps the legacy layout for it (PyObject_HEAD, HPyType_LEGACY_HELPERS); once the function has an HPy signature, run hpy-migrate again`
    : `'${t}' is defined in another file, where it loses PyObject_HEAD: this cast reads the wrong layout until the function has an HPy signature with 'ctx' ('${t}_AsStruct(ctx, h)')`;
  // In hybrid a legacy function of a struct that keeps its head is as it should be: a note.
  const severity = api.target === 'hybrid' && first.struct.local ? 'note' : 'warning';
  const fn = functionName(scan.fn) ?? '?';
  const suggestion = first.struct.local
    ? `nothing while '${t}' keeps PyObject_HEAD (the cast stays valid); once '${fn}' has an HPy signature with 'ctx': '${t}_AsStruct(ctx, h)'`
    : `an HPy signature for '${fn}' ('HPyContext *ctx' first) and '${t}_AsStruct(ctx, h)' for the cast; or, where '${t}' is defined, PyObject_HEAD kept and 'HPyType_LEGACY_HELPERS(${t})'`;
  api.report(first.cast, `'${fn}' has no 'ctx' (a legacy callback): '${api.text(first.cast)}' is left alone`, { severity, notes: [note], ...(severity === 'warning' ? { suggestion } : {}) });
}

/**
 * Where the struct pointer of a handle can be read once: the start of the line of the body's
 * statement holding the first use, when that use runs whenever the statement does, the handle is
 * not written from there on and no `goto` from above jumps past the new declaration.
 */
function hoistPoint(cx: Context, fn: SyntaxNode, uses: StructUse[]): number | null {
  const { api, file } = cx;
  const body = fn.childForFieldName('body');
  const first = uses[0].target;
  const s0 = body?.namedChildren.find((c) => c.startIndex <= first.startIndex && first.endIndex <= c.endIndex);
  if (!body || !s0) return null;
  const writes = writesOf(api, body, uses[0].handle);
  const atFirstUse = s0.type !== 'labeled_statement' && !s0.type.startsWith('preproc') && runsWithStatement(first, s0) && !jumpsPast(api, body, s0.startIndex);
  const top = body.namedChildren.find((c) => c.type !== 'comment');
  const at = atFirstUse && writes.every((w) => w.endIndex <= s0.startIndex) ? s0 : writes.length === 0 && isInstance(cx, fn, uses[0].handle) ? top : null;
  if (!at || at.type.startsWith('preproc')) return null;
  const lineStart = file.text.lastIndexOf('\n', at.startIndex - 1) + 1;
  return /^[ \t]*$/.test(file.text.slice(lineStart, at.startIndex)) ? lineStart : null;
}

// The binary number slots (not the in-place ones): CPython calls them with the operands in
// order, so `self` may be the other operand, of any type.
const NUMBER_SLOT = /\bHPyDef_SLOT(?:_IMPL\s*\(\s*\w+\s*,\s*(\w+)|\s*\(\s*(\w+))\s*,\s*HPy_nb_(?:add|subtract|multiply|remainder|divmod|power|lshift|rshift|and|xor|or|floor_divide|true_divide|matrix_multiply)\s*\)/g;

/**
 * Is the handle always an instance of the type (so its struct may be read at the top of the
 * body)? Yes when the function's original parameter was a struct pointer (index), or when it is
 * the object parameter of an HPy impl other than a number slot (whose operands may be of any type).
 */
function isInstance(cx: Context, fn: SyntaxNode, handle: string): boolean {
  const name = functionName(fn) ?? '';
  const fact = cx.api.index.functions.find((f) => f.name === name && f.file === cx.file.path);
  const original = fact?.params.find((p) => p.name === handle);
  if (original && /^(struct \w+|\w+) \*$/.test(original.type.replace(/\s+/g, ' ')) && structNamed(cx.structs, original.type.replace(/\s*\*$/, ''))) return true;
  const params = functionParams(fn);
  if (params[0]?.name !== 'ctx' || params[1]?.name !== handle || !cx.scope.isCallback(name)) return false;
  const numberSlots = [...cx.file.text.matchAll(NUMBER_SLOT)].map((m) => m[1] ?? `${m[2]}_impl`);
  return !numberSlots.includes(name);
}

/** Is `node` evaluated whenever `stmt` (an ancestor) runs? */
function runsWithStatement(node: SyntaxNode, stmt: SyntaxNode): boolean {
  for (let n = node; n.id !== stmt.id; n = n.parent!) {
    const p = n.parent;
    if (!p) return false;
    if (['if_statement', 'while_statement', 'switch_statement', 'conditional_expression'].includes(p.type)) {
      if (p.childForFieldName('condition')?.id !== n.id) return false;
    } else if (p.type === 'binary_expression' && ['&&', '||'].includes(p.childForFieldName('operator')?.type ?? '')) {
      if (p.childForFieldName('left')?.id !== n.id) return false;
    } else if (/statement$/.test(p.type) && !['expression_statement', 'return_statement'].includes(p.type)) {
      return false;
    }
  }
  return true;
}

/** Does a `goto` before `at` jump to a label at or after `at`? */
function jumpsPast(api: RewriteApi, body: SyntaxNode, at: number): boolean {
  const labels = new Map(api.matches(LABELS, body).map((m) => [api.text(m.label), m.stmt.startIndex]));
  return api.matches(GOTOS, body).some((m) => m.goto.startIndex < at && (labels.get(api.text(m.label)) ?? -1) >= at);
}
