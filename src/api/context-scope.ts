import { enclosingFunction, functionDeclarator, functionName, hasContextParam } from './c-syntax.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** The message reported for a function that needs `ctx` but lacks the parameter. */
export function missingContextMessage(name: string): string {
  return `'${name}' has no 'HPyContext *ctx' parameter`;
}

/** The note that goes with {@link missingContextMessage}. */
export const MISSING_CONTEXT_NOTE = 'the missing-context transform adds it and passes it from the callers; until then, add it by hand';

/** Tracks, for one pass of one transform, which functions were already reported as lacking `ctx`. */
export interface ContextScope {
  /**
   * Is `ctx` in scope at `node`? If the enclosing function has no `HPyContext *ctx` parameter,
   * reports it (a warning on the function's name, once per function) and returns false.
   * Code outside any function (a `#define` body, an initializer) returns false unreported.
   */
  require(node: SyntaxNode): boolean;
}

/** Creates a tracker that reports a missing `ctx` once per function. */
export function contextScope(api: RewriteApi): ContextScope {
  const reported = new Set<number>();
  return {
    require(node) {
      const fn = enclosingFunction(node);
      if (!fn) return false;
      if (hasContextParam(fn)) return true;
      if (!reported.has(fn.startIndex)) {
        reported.add(fn.startIndex);
        const decl = functionDeclarator(fn);
        const target = decl?.childForFieldName('declarator') ?? decl ?? fn;
        const name = functionName(fn) ?? target.text;
        api.report(target, missingContextMessage(name), { severity: 'warning', notes: [MISSING_CONTEXT_NOTE] });
      }
      return false;
    },
  };
}
