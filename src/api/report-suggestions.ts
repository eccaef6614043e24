/**
 * Suggestions (`ReportOptions.suggestion`: what to write by hand) for findings that shared helpers
 * report on behalf of a transform, such as the context guard's.
 */
import { fileScopeMessage, missingContextMessage, noContextEverMessage } from './context-guard.js';
import type { RewriteApi } from './types.js';

/** The part of a message template after the name it is built with. */
function tail(template: (name: string) => string): string {
  return template('\u0000').split('\u0000')[1];
}

const GUARD_SUGGESTIONS: readonly [string, string][] = [
  [tail(noContextEverMessage), "port the function's signature first (the other findings say why it kept its C-API one), or move these calls into a function that receives 'HPyContext *ctx'"],
  [tail(fileScopeMessage), "move it into a function that receives 'HPyContext *ctx'; a value kept for the whole module goes in an HPyGlobal stored in the HPy_mod_exec slot"],
  [tail(missingContextMessage), "add 'HPyContext *ctx' as the first parameter and pass 'ctx' from every caller (the missing-context transform does both)"],
];

/** The suggestion for a finding of the context guard (`contextGuard`), found by its message. */
export function contextGuardSuggestion(message: string): string | undefined {
  return GUARD_SUGGESTIONS.find(([end]) => message.endsWith(end))?.[1];
}

/** `api`, with `suggest(message)` as the suggestion of each finding reported without one. */
export function suggestingApi(api: RewriteApi, suggest: (message: string) => string | undefined): RewriteApi {
  const wrapped: RewriteApi = Object.create(api);
  wrapped.report = (target, message, options) => {
    const suggestion = options?.suggestion ?? suggest(message);
    api.report(target, message, suggestion ? { ...options, suggestion } : options);
  };
  return wrapped;
}

/**
 * A no-counterpart row's notes split into why (the parts that say what is missing) and what to
 * write (the rest, `workaround:` dropped); a generic form when the notes give none.
 */
export function splitRowNotes(cpython: string, notes: string): { why: string[]; write: string } {
  const why: string[] = [];
  const write: string[] = [];
  for (const part of notes.split('; ').filter((p) => p !== '')) {
    const colon = /^(?:no|not)\b[^:]*: /.exec(part);
    if (colon) {
      why.push(colon[0].slice(0, -2));
      write.push(part.slice(colon[0].length));
    } else if (/^(?:no|not possible)\b/.test(part) || /^keep via legacy code/.test(part)) why.push(part);
    else write.push(part.replace(/^workaround: /, ''));
  }
  const fallback = `keep this code on the C API (--target hybrid leaves it on HPy's legacy path), or rewrite it by hand without '${cpython}'`;
  return { why, write: write.length > 0 ? write.join('; ') : fallback };
}
