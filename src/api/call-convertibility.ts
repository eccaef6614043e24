/**
 * Can a C-API call be converted by hpy-migrate at all? Signature transforms (methods, slots) ask
 * before they give a function HPy types: a body left half on the C API for good would not
 * compile, so a function with a call no transform can convert keeps its C-API signature, whole.
 * (A call that a registered transform converts counts as convertible even when that transform is
 * not selected: running transforms one at a time is a porter's way to work. The exception is the
 * review ownership transforms, borrowed-reference and stolen-reference: they are never in a
 * default run, so their judges answer "not part of this run" and the function is kept whole.)
 */
import { callFormOf, DIRECT_WHEN, TYPE_CHECKS } from './call-forms.js';
import { borrowedCallProblem } from './borrowed-references.js';
import { isStolenReferenceCall, stolenCallProblem } from './stolen-references.js';
import type { RewriteApi, SyntaxNode } from './types.js';
import { unmappedName } from './unmapped-names.js';
import { allocationProblem, INSTANCE_NEW_MACROS } from './instance-allocations.js';

/**
 * Transforms that judge a call in its place (its scope, its uses) with the same pure analysis
 * they convert it with, so that the question asked here and their rewrite never disagree. A judge
 * answers only while its transform is registered; null means "converted".
 */
interface CallJudge {
  owner: string;
  judges(name: string, call: SyntaxNode): boolean;
  problem(api: RewriteApi, call: SyntaxNode): string | null;
}

const JUDGES: readonly CallJudge[] = [
  // Its own names, and a Py_BuildValue with 'N' (a direct name once 'N' is gone).
  { owner: 'stolen-reference', judges: isStolenReferenceCall, problem: stolenCallProblem },
  { owner: 'borrowed-reference', judges: (name) => callFormOf(name)?.owner === 'borrowed-reference', problem: borrowedCallProblem },
  // Allocations of an instance: converted from a type kept in an HPyGlobal only.
  { owner: 'pytype-spec', judges: (name) => INSTANCE_NEW_MACROS.has(name), problem: allocationProblem },
];

/**
 * Why no transform converts a call to `name` with these argument texts, or null. `call` (the
 * call_expression) lets an ownership transform judge the call in its place ({@link JUDGES}).
 */
export function unconvertedCallReason(api: RewriteApi, name: string, args: readonly string[], call?: SyntaxNode): string | null {
  const unmapped = unmappedName(name);
  if (unmapped?.kind === 'call') return unmapped.reason;
  const cls = callFormOf(name);
  if (!cls) return null;
  const judge = call ? JUDGES.find((j) => j.judges(name, call) && api.isRegistered(j.owner)) : undefined;
  if (judge && call) {
    const why = judge.problem(api, call);
    if (why || cls.form !== 'owned') return why;
  }
  switch (cls.form) {
    case 'direct':
      return DIRECT_WHEN[name]?.(args) ?? (api.isRegistered('capi-call') ? null : 'no transform converts it');
    case 'type-check':
      return TYPE_CHECKS[name] && api.isRegistered('capi-call') ? null : 'no transform converts it';
    case 'owned':
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
