/**
 * Where `HPyContext *ctx` can exist (porting-concepts §b): which functions are callbacks whose
 * signature the API dictates, which ones HPy calls without a context (traverse, destroy, capsule
 * destructors, the module's entry point), and which of the project's own functions need `ctx`
 * as a new first parameter. Decisions about the project come from the index (facts of the
 * original sources of every file), so that every file of a project takes the same decision about
 * a helper defined in another one.
 */
import { legacyHelpers } from './legacy-helpers.js';
import type { FunctionFact, ParamFact, ProjectIndex } from './project-index.js';
import type { Target } from './types.js';

/** Functions named by the HPy definition macros of a file (`HPyDef_METH`, `HPyDef_SLOT`, ...). */
export interface DefinitionImpls {
  /** Every impl a macro names: its signature is dictated by HPy. */
  all: ReadonlySet<string>;
  /** The impls HPy calls without a context: `HPy_tp_traverse`/`HPy_tp_destroy` slots, capsule destructors. */
  withoutContext: ReadonlySet<string>;
}

const DEFINITION_MACRO = /\b(HPyDef_[A-Z_]+|HPyCapsule_DESTRUCTOR)\s*\(/g;
const NO_CONTEXT_SLOTS = new Set(['HPy_tp_traverse', 'HPy_tp_destroy']);
const IDENTIFIER = /^[A-Za-z_]\w*$/;

/**
 * The impls named by HPy definition macros in `text`. The macros are masked for parsing, so they
 * are read from the text. Each identifier argument `S` counts with the names the macros derive
 * from it (`S_impl`, `S_get`, `S_set`).
 */
export function definitionMacroImpls(text: string): DefinitionImpls {
  const all = new Set<string>();
  const withoutContext = new Set<string>();
  for (const m of text.matchAll(DEFINITION_MACRO)) {
    const args = macroArguments(text, (m.index ?? 0) + m[0].length).filter((a) => IDENTIFIER.test(a));
    const names = args.flatMap((a) => [a, `${a}_impl`, `${a}_get`, `${a}_set`]);
    const noContext = m[1] === 'HPyCapsule_DESTRUCTOR' || args.some((a) => NO_CONTEXT_SLOTS.has(a));
    for (const n of names) {
      all.add(n);
      if (noContext) withoutContext.add(n);
    }
  }
  return { all, withoutContext };
}

/** The trimmed top-level arguments of a macro call whose `(` ends just before `at`. */
function macroArguments(text: string, at: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = at;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && depth-- === 0) {
      args.push(text.slice(start, i).trim());
      return args;
    } else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return args;
}

const VISITPROC = /\b(?:HPyFunc_visitproc|visitproc)\b/;

/** Does a parameter list take a visit procedure (a traverse function, which HPy calls without ctx)? */
export function isTraverseSignature(params: readonly ParamFact[]): boolean {
  return params.some((p) => VISITPROC.test(p.type));
}

/** The module's legacy entry point (`PyInit_name`): it never receives a context. */
export function isModuleInit(name: string): boolean {
  return /^PyInit_\w+$/.test(name);
}

const OBJECT_TYPE = /\b(?:PyObject|PyTypeObject|HPy)\b/;

/** Does a type, as written, hold an object (`PyObject *`, `HPy`, `const HPy *`)? */
export function isObjectType(type: string): boolean {
  return OBJECT_TYPE.test(type);
}

/** What a file's rewrite may know about `ctx`, from the index and the file's own text. */
export interface ContextScope {
  /** Used as a value somewhere in the project, or named by an HPy definition macro of this file. */
  isCallback(name: string): boolean;
  /** HPy calls it without a context: traverse and destroy impls, capsule destructors, `PyInit_*`. */
  isWithoutContext(name: string, params: readonly ParamFact[]): boolean;
  /** One of the project's functions that gets `HPyContext *ctx` as its first parameter. */
  needsContext(name: string): boolean;
  /** For a helper that stays on the C API (`legacyHelpers`): the call that keeps it there. */
  legacyHelperCall(name: string): string | undefined;
}

/**
 * The context facts for one file of the project. The project's legacy helpers (`legacyHelpers`)
 * count as callbacks for either target; `_target` is kept so that callers need not change.
 */
export function contextScope(index: ProjectIndex, text: string, _target: Target = 'universal'): ContextScope {
  const impls = definitionMacroImpls(text);
  // The helpers that stay on the C API (they call something HPy lacks) keep their signature, like
  // callbacks, for either target: converting around the call would compile in neither ABI.
  const legacy = legacyHelpers(index);
  const callbacks = new Set(index.callbacks);
  const needing = functionsNeedingContext(index);
  return {
    isCallback: (name) => callbacks.has(name) || impls.all.has(name) || legacy.has(name),
    isWithoutContext: (name, params) => impls.withoutContext.has(name) || isModuleInit(name) || isTraverseSignature(params),
    needsContext: (name) => needing.has(name) && !impls.all.has(name) && !legacy.has(name),
    legacyHelperCall: (name) => legacy.get(name)?.call,
  };
}

/**
 * The project's functions that need `ctx` as a new first parameter: not callbacks (their
 * signature is dictated), not already given one, not called by HPy without one, and either using
 * the API themselves (in their body or through an object in their signature) or calling, directly
 * or not, a function that needs it. Names are project-wide (two static functions of one name in
 * two files count as one).
 */
export function functionsNeedingContext(index: ProjectIndex): Set<string> {
  const callbacks = new Set(index.callbacks);
  const byName = new Map<string, FunctionFact[]>();
  for (const f of index.functions) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const eligible = [...byName.entries()].filter(([name, facts]) => !callbacks.has(name) && facts.every((f) => mayReceiveContext(f)));
  const needing = new Set(eligible.filter(([, facts]) => facts.some(usesObjects)).map(([name]) => name));
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, facts] of eligible) {
      if (needing.has(name) || !facts.some((f) => f.calls.some((c) => needing.has(c)))) continue;
      needing.add(name);
      changed = true;
    }
  }
  return needing;
}

function mayReceiveContext(f: FunctionFact): boolean {
  return !f.hasContext && !isModuleInit(f.name) && !isTraverseSignature(f.params);
}

function usesObjects(f: FunctionFact): boolean {
  return f.usesApi || isObjectType(f.returnType) || f.params.some((p) => isObjectType(p.type));
}
