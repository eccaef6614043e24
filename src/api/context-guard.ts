/**
 * Where may a rewrite write `ctx`? For transforms that convert even inside a function that still
 * lacks its `HPyContext *ctx` parameter (the missing-context transform adds it later), and that
 * must not convert at file scope, where no context ever exists.
 */
import { enclosingFunction, functionDeclarator, functionName, functionParams, hasContextParam } from './c-syntax.js';
import { contextScope, type ContextScope } from './context-scope.js';
import { legacyHelpers } from './legacy-helpers.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** Checks, for one pass of one transform, the places where it is about to write `ctx`. */
export interface ContextGuard {
  /**
   * True when `ctx` may be written at `node`. Inside a helper without a `ctx` parameter: true,
   * reported once per function unless missing-context runs (it adds the parameter). False, with
   * a report, at file scope and inside functions that never receive a ctx: callbacks that keep a
   * C-API signature (nothing converted them) and functions HPy calls without one (`PyInit_*`,
   * traverse): converting their bodies would half-convert them. A function that stays on the C
   * API on purpose gets instead the one finding of {@link legacyFunctionCheck}: a legacy helper one
   * warning saying what it calls (a note in a `--target hybrid` run, which builds it as it is),
   * a function of a C-API table a transform of the run kept none (that transform says why).
   */
  allows(node: SyntaxNode, what: string): boolean;
}

/** Where the guard's findings about a function go: its name in its declarator. */
function functionTarget(fn: SyntaxNode): SyntaxNode {
  const decl = functionDeclarator(fn);
  return decl?.childForFieldName('declarator') ?? decl ?? fn;
}

/** Creates a guard that reports through `api`. */
export function contextGuard(api: RewriteApi): ContextGuard {
  const reported = new Set<number>();
  let scope: ContextScope | undefined;
  const legacyNote = legacyFunctionCheck(api);
  const once = (fn: SyntaxNode, message: (name: string) => string, note: string): void => {
    if (reported.has(fn.startIndex)) return;
    reported.add(fn.startIndex);
    const target = functionTarget(fn);
    api.report(target, message(functionName(fn) ?? api.text(target)), { notes: [note] });
  };
  return {
    allows(node, what) {
      const fn = enclosingFunction(node);
      if (!fn) {
        api.report(node, fileScopeMessage(what), { notes: [FILE_SCOPE_NOTE] });
        return false;
      }
      if (hasContextParam(fn)) return true;
      scope ??= contextScope(api.index, api.text({ start: 0, end: node.tree.rootNode.endIndex }), api.target);
      const name = functionName(fn) ?? '';
      if (scope.isCallback(name) || scope.isWithoutContext(name, functionParams(fn))) {
        if (!legacyNote(fn)) once(fn, noContextEverMessage, NO_CONTEXT_EVER_NOTE);
        return false;
      }
      // The missing-context transform, when it runs, adds the parameter: nothing to report then.
      if (!api.isSelected('missing-context')) once(fn, missingContextMessage, MISSING_CONTEXT_NOTE);
      return true;
    },
  };
}

/** The message for a function whose body is left because it never receives a context. */
export function noContextEverMessage(name: string): string {
  return `'${name}' does not receive an 'HPyContext *ctx': the C-API calls in it are left as they are`;
}

/** The note that goes with {@link noContextEverMessage}. */
export const NO_CONTEXT_EVER_NOTE =
  'it is a callback that kept its C-API signature (see the other diagnostics for why) or a function HPy calls without a context (module init, traverse); port its signature first, or move the API calls out of it';

/** The message (a note) for a function a hybrid port keeps on the C API on purpose. */
export function legacyFunctionMessage(name: string): string {
  return `'${name}' stays on the C API in this hybrid port: its C-API calls are left as they are`;
}

/** The note that goes with {@link legacyFunctionMessage}, after why the function stays. */
export const LEGACY_FUNCTION_NOTE =
  "a hybrid build runs it as it is; a universal build needs it ported by hand first (an HPy signature with 'HPyContext *ctx', then hpy-migrate again)";

/** C-API tables whose functions a hybrid module registers on HPy's legacy path, with the transform that would have converted them. */
const LEGACY_TABLE_TYPES: Readonly<Record<string, string>> = {
  PyMethodDef: 'pymethoddef',
  PyType_Slot: 'pytype-spec',
  PyGetSetDef: 'pytype-spec',
  PyTypeObject: 'pytype-spec',
  PyNumberMethods: 'pytype-spec',
  PySequenceMethods: 'pytype-spec',
  PyMappingMethods: 'pytype-spec',
  PyAsyncMethods: 'pytype-spec',
  PyBufferProcs: 'pytype-spec',
};

/** The message (a warning) for a legacy helper in a universal port: it stays on the C API, and why. */
export function universalLegacyMessage(name: string, why: string): string {
  return `'${name}' stays on the C API: ${why}`;
}

/** The notes that go with {@link universalLegacyMessage}. */
export const UNIVERSAL_LEGACY_NOTES: readonly string[] = [
  "its signature and body are left as they are, and so are the methods and slots that call it, with their tables: converted around that call, it would compile in neither ABI",
  'a universal build cannot run C-API code: port it by hand, or build the module for the hybrid ABI, which runs it as it is',
];

/** The one-line suggestion for a legacy helper in a universal port. */
export function universalLegacySuggestion(call: string, via: boolean): string {
  const first = via ? `'${call}' ported first` : `'${call}' replaced as its own finding says`;
  return `${first}, then run hpy-migrate again; or keep it on the C API with --target hybrid`;
}

/**
 * For one pass of one transform: a check that tells whether a function stays on the C API on
 * purpose. For a legacy helper (`legacyHelpers`: it calls something HPy 0.9.0 lacks, or such a
 * helper), either target, it reports once why: a note ({@link legacyFunctionMessage}) in a
 * `--target hybrid` run, which builds it as it is, a warning ({@link universalLegacyMessage}) in
 * a universal one, which cannot. The engine merges the same finding told by several transforms,
 * so the helper gets one finding, not one per transform. A function listed in a C-API table that
 * a transform of the run kept counts too ({@link legacyFunctionsOfFile}), in either target, without a
 * report here: the transform that kept it there (pymethoddef, pytype-spec) says why in its own
 * finding. False, without a
 * report, for any other function. Transforms that leave such a function alone use it in place of
 * a finding of their own.
 */
export function legacyFunctionCheck(api: RewriteApi): (fn: SyntaxNode) => boolean {
  const reported = new Set<number>();
  let legacy: ReadonlyMap<string, LegacyFunction> | undefined;
  return (fn) => {
    if (hasContextParam(fn)) return false;
    legacy ??= legacyFunctionsOfFile(api, fn.tree.rootNode);
    const name = functionName(fn);
    const found = name === null ? undefined : legacy.get(name);
    if (found === undefined) return false;
    if (found.owner === null && !reported.has(fn.startIndex)) reportLegacyHelper(api, fn, name ?? api.text(functionTarget(fn)), found);
    reported.add(fn.startIndex);
    return true;
  };
}

function reportLegacyHelper(api: RewriteApi, fn: SyntaxNode, name: string, found: LegacyFunction): void {
  if (api.target === 'hybrid') {
    api.report(functionTarget(fn), legacyFunctionMessage(name), { severity: 'note', notes: [found.why, LEGACY_FUNCTION_NOTE] });
    return;
  }
  api.report(functionTarget(fn), universalLegacyMessage(name, found.why), { notes: [...UNIVERSAL_LEGACY_NOTES], suggestion: found.suggestion });
}

/** Why a function stays on the C API on purpose (a hybrid table's function, or a legacy helper). */
export interface LegacyFunction {
  why: string;
  /** For a legacy helper: what to write by hand (one line). */
  suggestion?: string;
  /** The transform that kept it in a C-API table (and reports why), or null for a legacy helper. */
  owner: string | null;
}

/**
 * The functions of the file that stay on the C API on purpose: the functions still listed in a
 * C-API table after the signature transforms ran (in a hybrid port the table, or its `_legacy`
 * part, is what the HPy module registers through `.legacy_methods` / `.legacy_slots`; in a
 * universal one the table was kept whole; either way the transform that kept it says why), and
 * the project's legacy helpers (`legacyHelpers`:
 * they call something HPy 0.9.0 lacks, or such a helper). A table counts only when its transform
 * is part of the run: otherwise nothing decided to keep it.
 */
export function legacyFunctionsOfFile(api: RewriteApi, root: SyntaxNode): Map<string, LegacyFunction> {
  const out = new Map<string, LegacyFunction>();
  for (const decl of root.descendantsOfType('declaration')) {
    const type = decl.childForFieldName('type');
    const owner = type ? LEGACY_TABLE_TYPES[api.text(type).replace(/^struct\s+/, '')] : undefined;
    if (!owner || !api.isSelected(owner) || enclosingFunction(decl)) continue;
    for (const init of decl.childrenForFieldName('declarator')) {
      const list = init.type === 'init_declarator' ? init.childForFieldName('value') : null;
      const table = init.type === 'init_declarator' ? init.childForFieldName('declarator')?.descendantsOfType('identifier')[0] : undefined;
      if (list?.type !== 'initializer_list' || !table) continue;
      const why = `it is listed in '${api.text(table)}', a C-API table that stays on HPy's legacy path`;
      for (const id of list.descendantsOfType('identifier')) if (!out.has(api.text(id))) out.set(api.text(id), { why, owner });
    }
  }
  for (const [name, helper] of legacyHelperFunctions(api)) if (!out.has(name)) out.set(name, helper);
  return out;
}

/** The project's legacy helpers (`legacyHelpers`), each with why it stays on the C API. */
export function legacyHelperFunctions(api: RewriteApi): Map<string, LegacyFunction> {
  const out = new Map<string, LegacyFunction>();
  for (const [name, { call, via }] of legacyHelpers(api.index)) {
    const why = via ? `it calls '${call}', a helper that stays on the C API` : `it calls '${call}', which has no HPy 0.9.0 counterpart`;
    out.set(name, { why, owner: null, suggestion: universalLegacySuggestion(call, via) });
  }
  return out;
}

/** The message for a use of `what` outside any function. */
export function fileScopeMessage(what: string): string {
  return `'${what}' needs 'ctx', which does not exist at file scope`;
}

/** The note that goes with {@link fileScopeMessage}. */
export const FILE_SCOPE_NOTE =
  "move it into a function that receives 'HPyContext *ctx'; a value kept for the whole module belongs in an HPyGlobal set in the HPy_mod_exec slot";

/** The message reported for a function that needs `ctx` but lacks the parameter. */
export function missingContextMessage(name: string): string {
  return `'${name}' has no 'HPyContext *ctx' parameter`;
}

/** The note that goes with {@link missingContextMessage}. */
export const MISSING_CONTEXT_NOTE = 'the missing-context transform adds it and passes it from the callers; until then, add it by hand';
