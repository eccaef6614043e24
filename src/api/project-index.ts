/**
 * Project-wide facts, collected by `src/index` before any rewrite. Plain, serialisable data.
 * Later issues add facts (method tables, type specs, call graph); keep every field JSON-safe.
 */
export interface ProjectIndex {
  /** Every file indexed, as given to the engine. */
  files: string[];
  /** Function definitions, by file order. */
  functions: FunctionFact[];
  /** File-scope `PyObject *` variables. */
  globals: GlobalFact[];
  /** Structs whose first member is `PyObject_HEAD` or `PyObject_VAR_HEAD`. */
  objectStructs: ObjectStructFact[];
  /**
   * Functions of the project used as values (in initializers, tables, assignments, as arguments)
   * rather than only called: callbacks whose signature the API dictates. Sorted, unique.
   */
  callbacks: string[];
}

/** Where a fact was seen. */
export interface Location {
  file: string;
  /** 1-based. */
  line: number;
}

/** A function definition. */
export interface FunctionFact extends Location {
  name: string;
  /** The return type as written (e.g. `HPy`, `PyObject *`, `static int`). */
  returnType: string;
  params: ParamFact[];
  /** It has a parameter `HPyContext *ctx` (an HPy context is in scope). */
  hasContext: boolean;
  /** Names of the functions it calls directly. */
  calls: string[];
  /** Its body uses a C-API or HPy name (`Py*`, `_Py*`, `PY_*`, `HPy*`) or `ctx`. */
  usesApi: boolean;
}

/** One parameter of a function. */
export interface ParamFact {
  type: string;
  name: string;
}

/** A file-scope object pointer variable. */
export interface GlobalFact extends Location {
  name: string;
  isStatic: boolean;
}

/** A C struct laid out as a Python object. */
export interface ObjectStructFact extends Location {
  /** Struct tag, if any. */
  tag: string | null;
  /** Typedef names that alias the struct. */
  typedefs: string[];
  head: 'PyObject_HEAD' | 'PyObject_VAR_HEAD';
  /** Members declared `PyObject *`. */
  objectFields: string[];
}

/** An index with no facts (for single-file runs and tests). */
export function emptyIndex(): ProjectIndex {
  return { files: [], functions: [], globals: [], objectStructs: [], callbacks: [] };
}

/** The fact for the function named `name` defined in `file` (or anywhere, if not there). */
export function findFunction(index: ProjectIndex, name: string, file?: string): FunctionFact | undefined {
  return (
    index.functions.find((f) => f.name === name && f.file === file) ??
    index.functions.find((f) => f.name === name)
  );
}
