/**
 * Where may a rewrite write `ctx`? For transforms that convert even inside a function that still
 * lacks its `HPyContext *ctx` parameter (the missing-context transform adds it later), and that
 * must not convert at file scope, where no context ever exists.
 */
import { enclosingFunction, functionDeclarator, functionName, hasContextParam } from './c-syntax.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** Checks, for one pass of one transform, the places where it is about to write `ctx`. */
export interface ContextGuard {
  /**
   * True when `ctx` may be written at `node`, i.e. inside a function. A function without a `ctx`
   * parameter is reported once (a warning on its name) and still gives true. At file scope the
   * use of `what` is reported and the answer is false.
   */
  allows(node: SyntaxNode, what: string): boolean;
}

/** Creates a guard that reports through `api`. */
export function contextGuard(api: RewriteApi): ContextGuard {
  const reported = new Set<number>();
  return {
    allows(node, what) {
      const fn = enclosingFunction(node);
      if (!fn) {
        api.report(node, fileScopeMessage(what), { notes: [FILE_SCOPE_NOTE] });
        return false;
      }
      // The missing-context transform, when it runs, adds the parameter: nothing to report then.
      if (!hasContextParam(fn) && !api.isSelected('missing-context') && !reported.has(fn.startIndex)) {
        reported.add(fn.startIndex);
        const decl = functionDeclarator(fn);
        const target = decl?.childForFieldName('declarator') ?? decl ?? fn;
        api.report(target, missingContextMessage(functionName(fn) ?? api.text(target)), { notes: [MISSING_CONTEXT_NOTE] });
      }
      return true;
    },
  };
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
