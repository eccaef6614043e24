/**
 * The project's own helpers that must stay on the C API, for either target: a helper (a function
 * called by name, not a callback) whose body calls something HPy 0.9.0 has no counterpart for
 * cannot become an HPy function, and neither can a helper that calls such a helper: a function
 * without `HPyContext *ctx` that takes `PyObject *` cannot be called with handles. A method or
 * slot that calls one of them stays on the C API too (pymethoddef, pytype-spec): in a
 * `--target hybrid` port on HPy's legacy path, in a universal port with its table, reported.
 * Read off the index (facts of the original sources), so every file of a project agrees.
 */
import { callFormOf } from './call-forms.js';
import type { ProjectIndex } from './project-index.js';

/**
 * The helpers that stay legacy, each mapped to why: the C-API name without counterpart it calls,
 * or the legacy helper it calls (`via`). Only `no-counterpart` calls count: the others have a
 * transform that converts them, or will have one.
 */
export function legacyHelpers(index: ProjectIndex): Map<string, { call: string; via: boolean }> {
  const callbacks = new Set(index.callbacks);
  // `PyInit_*` is the module's entry point, converted with its module def (pymoduledef).
  const helpers = index.functions.filter((f) => !callbacks.has(f.name) && !f.hasContext && !/^PyInit_\w+$/.test(f.name));
  const out = new Map<string, { call: string; via: boolean }>();
  for (const f of helpers) {
    const call = f.calls.find((c) => callFormOf(c)?.form === 'no-counterpart');
    if (call) out.set(f.name, { call, via: false });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of helpers) {
      if (out.has(f.name)) continue;
      const call = f.calls.find((c) => out.has(c));
      if (call === undefined) continue;
      out.set(f.name, { call, via: true });
      changed = true;
    }
  }
  return out;
}
