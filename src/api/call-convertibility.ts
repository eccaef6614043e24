/**
 * Can a C-API call be converted by hpy-migrate at all? Signature transforms (methods, slots) ask
 * before they give a function HPy types: a body left half on the C API for good would not
 * compile, so a function with a call no transform can convert keeps its C-API signature, whole.
 * (A call that a registered transform converts counts as convertible even when that transform is
 * not selected: running transforms one at a time is a porter's way to work.)
 */
import { callFormOf, DIRECT_WHEN, TYPE_CHECKS } from './call-forms.js';
import { borrowedCallProblem } from './borrowed-references.js';
import { isStolenReferenceCall, stolenCallProblem } from './stolen-references.js';
import type { RewriteApi, SyntaxNode } from './types.js';
import { unmappedName } from './unmapped-names.js';
import { allocationProblem, INSTANCE_NEW_MACROS } from './instance-allocations.js';

/**
 * Why no transform converts a call to `name` with these argument texts, or null. `call` (the
 * call_expression) lets an ownership transform judge the call in its place (its scope, its uses).
 */
export function unconvertedCallReason(api: RewriteApi, name: string, args: readonly string[], call?: SyntaxNode): string | null {
  const unmapped = unmappedName(name);
  if (unmapped?.kind === 'call') return unmapped.reason;
  const cls = callFormOf(name);
  if (!cls) return null;
  // stolen-reference judges its names (owned) and a Py_BuildValue with 'N' (direct once 'N' is gone) in their place.
  if (call && api.isRegistered('stolen-reference') && isStolenReferenceCall(name, call)) return stolenCallProblem(api, call);
  switch (cls.form) {
    case 'direct':
      return DIRECT_WHEN[name]?.(args) ?? (api.isRegistered('capi-call') ? null : 'no transform converts it');
    case 'type-check':
      return TYPE_CHECKS[name] && api.isRegistered('capi-call') ? null : 'no transform converts it';
    case 'owned':
      if (call && INSTANCE_NEW_MACROS.has(name)) {
        const why = allocationProblem(api, call);
        if (why) return why;
      }
      if (cls.owner === 'borrowed-reference' && call && api.isRegistered(cls.owner)) return borrowedCallProblem(api, call);
      return api.isRegistered(cls.owner!) ? null : `the ${cls.owner} transform that would convert it is not available`;
    case 'no-counterpart':
      return 'it has no HPy 0.9.0 counterpart';
    case 'borrowed':
      return 'it returns a borrowed reference, and no transform rewrites that ownership yet';
    case 'steals':
      return 'it steals a reference, and no transform rewrites that ownership yet';
    default:
      return cls.reason || 'its HPy form takes other arguments or several steps';
  }
}
