/**
 * Callers of functions that keep their C-API signature. A method or slot that calls a function
 * of the project left on the C API (a method pymethoddef keeps, a helper `legacyHelpers` names)
 * cannot get an HPy signature: it would call that function with handles, which does not compile
 * (not even in the hybrid ABI). pymethoddef and pytype-spec both ask these questions, so that a
 * method and a slot calling the same function take the same decision, in every target.
 */
import type { ProjectIndex } from './project-index.js';

/**
 * The functions of `file` that call, directly or through other functions of `file`, one of
 * `stays` (names of functions left on the C API): each mapped to the function it calls on the
 * way (one of `stays`, or the function of the file through which it reaches one). Read off the
 * index's `calls` (facts of the original sources).
 */
export function cApiCallers(index: ProjectIndex, file: string, stays: ReadonlySet<string>): Map<string, string> {
  const facts = index.functions.filter((f) => f.file === file);
  const via = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of facts) {
      if (stays.has(f.name) || via.has(f.name)) continue;
      const callee = f.calls.find((c) => stays.has(c) || via.has(c));
      if (callee === undefined) continue;
      via.set(f.name, callee);
      changed = true;
    }
  }
  return via;
}

/** The note of a finding on such a caller: why it cannot get an HPy signature. */
export const C_API_CALLEE_NOTE = "a function without 'HPyContext *ctx' that takes 'PyObject *' cannot be called with handles: port it first, then run hpy-migrate again";
