/**
 * C-API names that real extensions use but the api map lacks (they are macros and types of
 * `Python.h` with no `Py*` counterpart row), with what hpy-migrate makes of each: a plain C
 * replacement, or the reason it stays and what to write by hand.
 */

/** What one unmapped name is, and what replaces it. */
export interface UnmappedName {
  /** `call`: a function-like macro; `type`: a type name; `storage`: a macro that expands to storage class and type (`Py_LOCAL_INLINE(T)`). */
  kind: 'call' | 'type' | 'storage';
  /** The plain C text that replaces it (`uint8_t`, `static inline`), or empty when nothing does. */
  replacement: string;
  /** Why it is replaced so, or why it stays (one sentence, for diagnostics and docs). */
  reason: string;
  /** What to write by hand, for a name that stays (one line). */
  suggestion: string;
}

const GIL_SUGGESTION =
  "code HPy calls already holds the GIL (it receives ctx): delete the PyGILState_Ensure/PyGILState_Release pair; a callback from a thread Python did not start must stay C-API code (hybrid ABI); to let other threads run, put plain C code between HPy_BEGIN_LEAVE_PYTHON(ctx) and HPy_END_LEAVE_PYTHON(ctx)";

/** The macros that reach into the internal representation of a str object (PEP 393). */
function unicodeData(name: string): UnmappedName {
  return {
    kind: 'call',
    replacement: '',
    reason: `'${name}' reads the internal representation of a str object, which HPy 0.9.0 does not expose`,
    suggestion: "read a character with HPyUnicode_ReadChar(ctx, s, i) (an HPy_UCS4), or the whole text as UTF-8 with HPyUnicode_AsUTF8AndSize(ctx, s, &size) (valid while 's' is open)",
  };
}

/** The unmapped names, by CPython name. */
export const UNMAPPED_NAMES: Readonly<Record<string, UnmappedName>> = {
  // Include/unicodeobject.h: `typedef uint8_t Py_UCS1; typedef uint16_t Py_UCS2;`. HPy 0.9.0 has
  // only HPy_UCS4; the standard types are the same C types, and hpy.h includes <stdint.h>.
  Py_UCS1: { kind: 'type', replacement: 'uint8_t', reason: "'Py_UCS1' is CPython's name for 'uint8_t', which HPy 0.9.0 does not define", suggestion: 'uint8_t' },
  Py_UCS2: { kind: 'type', replacement: 'uint16_t', reason: "'Py_UCS2' is CPython's name for 'uint16_t', which HPy 0.9.0 does not define", suggestion: 'uint16_t' },
  // Include/pyport.h: `#define Py_LOCAL(type) static type`, `#define Py_LOCAL_INLINE(type) static inline type`.
  Py_LOCAL: { kind: 'storage', replacement: 'static', reason: "'Py_LOCAL(T)' is 'static T' and comes from Python.h", suggestion: 'static T' },
  Py_LOCAL_INLINE: { kind: 'storage', replacement: 'static inline', reason: "'Py_LOCAL_INLINE(T)' is 'static inline T' and comes from Python.h", suggestion: 'static inline T' },
  Py_SIZE: {
    kind: 'call',
    replacement: '',
    reason: "'Py_SIZE' reads the item count of a variable-size object: HPy 0.9.0 has no variable-size objects ('itemsize' is not supported) and no view of 'ob_size'",
    suggestion: "for a tuple, list or bytes object: 'HPy_Length(ctx, o)' (-1 with an exception on error); for a type of yours: keep the count in a field of its struct",
  },
  Py_SET_SIZE: {
    kind: 'call',
    replacement: '',
    reason: "'Py_SET_SIZE' writes the item count of a variable-size object: HPy 0.9.0 has no variable-size objects",
    suggestion: 'keep the count in a field of the struct of your type and update that field',
  },
  PyUnicode_DATA: unicodeData('PyUnicode_DATA'),
  PyUnicode_KIND: unicodeData('PyUnicode_KIND'),
  PyUnicode_1BYTE_DATA: unicodeData('PyUnicode_1BYTE_DATA'),
  PyUnicode_2BYTE_DATA: unicodeData('PyUnicode_2BYTE_DATA'),
  PyUnicode_4BYTE_DATA: unicodeData('PyUnicode_4BYTE_DATA'),
  PyUnicode_READ: unicodeData('PyUnicode_READ'),
  PyUnicode_WRITE: unicodeData('PyUnicode_WRITE'),
  PyGILState_STATE: {
    kind: 'type',
    replacement: '',
    reason: 'HPy 0.9.0 has no API to take the GIL from a thread that does not hold it (no PyGILState_Ensure)',
    suggestion: GIL_SUGGESTION,
  },
  PyArena: {
    kind: 'type',
    replacement: '',
    reason: "'PyArena' is the memory arena of CPython's compiler (pycore_pyarena.h), which HPy 0.9.0 does not expose",
    suggestion: 'allocate this memory with malloc/free (or an arena of your own): HPy 0.9.0 has no allocator API',
  },
};

/** Suggestions for the thread-state calls (used with the api map's rows of PyGILState_*). */
export const GIL_STATE_SUGGESTION = GIL_SUGGESTION;

/** The unmapped name `name`, if it is one. */
export function unmappedName(name: string): UnmappedName | undefined {
  return Object.prototype.hasOwnProperty.call(UNMAPPED_NAMES, name) ? UNMAPPED_NAMES[name] : undefined;
}
