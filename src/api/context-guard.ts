/**
 * Where may a rewrite write `ctx`? For transforms that convert even inside a function that still
 * lacks its `HPyContext *ctx` parameter (the missing-context transform adds it later), and that
 * must not convert at file scope, where no context ever exists.
 */
import { enclosingFunction, functionDeclarator, functionName, functionParams, hasContextParam } from './c-syntax.js';
import { contextScope, type ContextScope } from './context-scope.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** Checks, for one pass of one transform, the places where it is about to write `ctx`. */
export interface ContextGuard {
  /**
   * True when `ctx` may be written at `node`. Inside a helper without a `ctx` parameter: true,
   * reported once per function unless missing-context runs (it adds the parameter). False, with
   * a report, at file scope and inside functions that never receive a ctx: callbacks that keep a
   * C-API signature (nothing converted them) and functions HPy calls without one (`PyInit_*`,
   * traverse): converting their bodies would half-convert them.
   */
  allows(node: SyntaxNode, what: string): boolean;
}

/** Creates a guard that reports through `api`. */
export function contextGuard(api: RewriteApi): ContextGuard {
  const reported = new Set<number>();
  let scope: ContextScope | undefined;
  const once = (fn: SyntaxNode, message: (name: string) => string, note: string): void => {
    if (reported.has(fn.startIndex)) return;
    reported.add(fn.startIndex);
    const decl = functionDeclarator(fn);
    const target = decl?.childForFieldName('declarator') ?? decl ?? fn;
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
      scope ??= contextScope(api.index, api.text({ start: 0, end: node.tree.rootNode.endIndex }));
      const name = functionName(fn) ?? '';
      if (scope.isCallback(name) || scope.isWithoutContext(name, functionParams(fn))) {
        once(fn, noContextEverMessage, NO_CONTEXT_EVER_NOTE);
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
