/**
 * The hand-written classification of the api map (src/api/call-forms.ts, context-handles.ts):
 * every name it emits exists in HPy 0.9.0, every name it lists is a real row, and a sample of
 * known rows lands where the porting guide says.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  apiEntry,
  buildValueProblem,
  builtinObjectEntry,
  CALL_OWNERS,
  callClasses,
  callFamilyProblem,
  callFormOf,
  contextHandleCall,
  contextHandleOf,
  DIRECT_WHEN,
  familyCall,
  FLAG_RESULTS,
  formatProblem,
  IDENTITY_TESTS,
  NOT_ONE_TO_ONE,
  NULL_HANDLE_PARAMS,
  RETURN_MACROS,
  stringLiteralValue,
  TYPE_CHECKS,
  type CallForm,
} from '../src/api/index.js';

const NAMES_FILE = join(import.meta.dirname, '..', '..', 'shared', 'hpy-reference', 'hpy-0.9.0-names.txt');
const HPY_NAMES = new Set(
  readFileSync(NAMES_FILE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')),
);

/** `ctx->h_None` is listed as `h_None`. */
function listed(hpy: string): boolean {
  return HPY_NAMES.has(hpy.replace(/^ctx->/, ''));
}

function formOf(name: string): CallForm | undefined {
  return callFormOf(name)?.form;
}

describe('call forms', () => {
  it('emits only HPy 0.9.0 names for direct rows, with ctx and unchanged ownership', () => {
    const direct = callClasses().filter((c) => c.form === 'direct');
    expect(direct.length).toBeGreaterThan(150);
    for (const { entry } of direct) {
      expect(listed(entry.hpy), `${entry.cpython} -> ${entry.hpy}`).toBe(true);
      expect(entry.ctx, entry.cpython).toBe(true);
      expect(['same', 'none', 'n/a'], entry.cpython).toContain(entry.refs);
    }
  });

  it('names only real, callable api-map rows in its tables', () => {
    const tables = { CALL_OWNERS, NOT_ONE_TO_ONE, DIRECT_WHEN, FLAG_RESULTS, NULL_HANDLE_PARAMS };
    for (const [table, names] of Object.entries(tables)) {
      for (const name of Object.keys(names)) expect(callFormOf(name), `${table}: ${name}`).toBeDefined();
    }
  });

  it('keeps the exceptions of a direct rename on direct rows only', () => {
    for (const name of [...Object.keys(DIRECT_WHEN), ...Object.keys(FLAG_RESULTS), ...Object.keys(NULL_HANDLE_PARAMS)]) {
      expect(formOf(name), name).toBe('direct');
    }
    for (const name of Object.keys(NOT_ONE_TO_ONE)) expect(formOf(name), name).toBe('pattern');
  });

  it('leaves the names other transforms own to them', () => {
    expect(callFormOf('Py_INCREF')).toMatchObject({ form: 'owned', owner: 'refcount-macro' });
    expect(callFormOf('Py_XSETREF')).toMatchObject({ form: 'owned', owner: 'refcount-macro' });
    expect(callFormOf('Py_RETURN_NONE')).toMatchObject({ form: 'owned', owner: 'builtin-constant' });
    expect(callFormOf('PyArg_ParseTuple')).toMatchObject({ form: 'owned', owner: 'pyarg-parse' });
  });

  it('classifies known direct renames as direct', () => {
    const known: Record<string, string> = {
      PyLong_FromLong: 'HPyLong_FromLong',
      PyNumber_Add: 'HPy_Add',
      PyObject_GetAttrString: 'HPy_GetAttr_s',
      PyErr_SetString: 'HPyErr_SetString',
      PyErr_Occurred: 'HPyErr_Occurred',
      PyObject_Call: 'HPy_CallTupleDict',
      PyTuple_Pack: 'HPyTuple_Pack',
      PySequence_GetItem: 'HPy_GetItem_i',
      Py_RETURN_RICHCOMPARE: 'HPy_RETURN_RICHCOMPARE',
    };
    for (const [name, hpy] of Object.entries(known)) {
      expect(callFormOf(name), name).toMatchObject({ form: 'direct', entry: { hpy } });
    }
  });

  it('does not classify multi-step, borrowing, stealing or missing names as direct', () => {
    const known: Record<string, CallForm> = {
      PyObject_Vectorcall: 'pattern',
      PyLong_Check: 'type-check',
      PyUnicode_CheckExact: 'pattern',
      PyTuple_New: 'owned',
      PyUnicode_AsUTF8: 'pattern',
      PyList_GetItem: 'owned',
      PyTuple_GET_ITEM: 'owned',
      PyDict_GetItemString: 'owned',
      PySequence_Fast_GET_ITEM: 'borrowed',
      PyWeakref_GetObject: 'no-counterpart',
      Py_TYPE: 'owned',
      PyTuple_SET_ITEM: 'owned',
      PyList_SetItem: 'owned',
      PyBytes_Concat: 'no-counterpart',
      PyModule_AddObject: 'owned',
      PyObject_GetIter: 'no-counterpart',
      PyErr_Fetch: 'no-counterpart',
      PyMem_Malloc: 'no-counterpart',
    };
    for (const [name, form] of Object.entries(known)) expect(formOf(name), name).toBe(form);
  });

  it('has the documented totals (update them with the api map)', () => {
    const totals: Record<string, number> = {};
    for (const c of callClasses()) totals[c.form] = (totals[c.form] ?? 0) + 1;
    expect(totals).toEqual({ direct: 189, 'type-check': 7, pattern: 36, borrowed: 3, steals: 1, 'no-counterpart': 128, owned: 76 });
  });

  it('converts the PyObject_Call family only where no argument makes a new object', () => {
    expect(familyCall('PyObject_CallFunctionObjArgs', ['f', 'a', 'ctx->h_None', 'NULL'])).toEqual({ kind: 'array', callable: 'f', method: null, items: ['a', 'ctx->h_None'] });
    expect(familyCall('PyObject_CallMethodOneArg', ['o', 'name', 'x'])).toEqual({ kind: 'array', callable: 'o', method: 'name', items: ['x'] });
    expect(familyCall('PyObject_CallObject', ['f', 'NULL'])).toEqual({ kind: 'tuple', callable: 'f', tuple: 'NULL' });
    expect(familyCall('PyObject_CallFunction', ['f', '"nl"', 'n', 'strlen(s)'])).toMatchObject({ kind: 'format', format: '"(nl)"', values: ['n', 'strlen(s)'] });
    expect(familyCall('PyObject_CallFunction', ['f', '"(O)"', 'x'])).toMatchObject({ format: '"(O)"' });
    expect(familyCall('PyObject_CallMethod', ['o', '"close"', 'NULL'])).toMatchObject({ kind: 'format', method: '"close"', format: null });
    const problems: string[][] = [
      ['PyObject_CallFunctionObjArgs', 'f', 'PyLong_FromLong(1)', 'NULL'],
      ['PyObject_CallFunctionObjArgs', 'f', 'a'],
      ['PyObject_CallFunctionObjArgs', 'f', 'a ? a : NULL', 'NULL'],
      ['PyObject_CallFunction', 'f', '"O"', 'x'],
      ['PyObject_CallFunction', 'f', '"OO"', 'x', 'PyObject_Str(x)'],
      ['PyObject_CallFunction', 'f', 'fmt', 'x'],
      ['PyObject_CallFunction', 'f', '"s#"', 's', 'n'],
      ['PyObject_CallFunction', 'f', '"N"', 'x'],
      ['PyObject_CallFunction', 'f', '"ii"', '1'],
      ['PyObject_CallOneArg', 'f'],
    ];
    for (const [name, ...args] of problems) expect(callFamilyProblem(name, args), `${name}(${args.join(', ')})`).not.toBeNull();
    expect(familyCall('PyList_New', ['0'])).toBeNull();
  });

  it('maps every type check to a type handle HPy 0.9.0 declares', () => {
    for (const [name, handle] of Object.entries(TYPE_CHECKS)) {
      expect(formOf(name), name).toBe('type-check');
      expect(HPY_NAMES.has(handle), handle).toBe(true);
      expect(callFormOf(name)!.entry.notes, name).toContain(`ctx->${handle}`);
    }
  });

  it('makes argument-dependent renames direct only for the arguments that allow it', () => {
    expect(callFormOf('PyList_New')?.owner).toBe('stolen-reference');
    expect(DIRECT_WHEN.PyBytes_FromStringAndSize(['NULL', 'n'])).toMatch(/NULL/);
    expect(DIRECT_WHEN.PyBytes_FromStringAndSize(['buf', 'n'])).toBeNull();
    expect(DIRECT_WHEN.PyErr_Format(['ctx->h_TypeError', '"bad %s"', 'name'])).toBeNull();
  });
});

describe('format checks', () => {
  it('reads plain and concatenated string literals only', () => {
    expect(stringLiteralValue('"a%d" "b"')).toBe('a%db');
    expect(stringLiteralValue('"a\\"b"')).toBe('a\\"b');
    expect(stringLiteralValue('"%" PY_FORMAT_SIZE_T "d"')).toBeNull();
    expect(stringLiteralValue('fmt')).toBeNull();
  });

  it('accepts the HPy_BuildValue units and rejects the others', () => {
    expect(buildValueProblem('"(iO)"')).toBeNull();
    expect(buildValueProblem('"{s:O, s:n}"')).toBeNull();
    expect(buildValueProblem('"[d,d]"')).toBeNull();
    expect(buildValueProblem('""')).toBeNull();
    expect(buildValueProblem('"(OO)" ')).toBeNull();
    expect(buildValueProblem('"(iN)"')).toMatch(/'N'/);
    expect(buildValueProblem('"s#"')).toMatch(/'#'/);
    expect(buildValueProblem('"i i"')).toMatch(/' '/);
    expect(buildValueProblem('fmt')).toMatch(/not a string literal/);
  });

  it("accepts the units of HPy's formatting and rejects the others", () => {
    for (const ok of ['"%s %d %zd %lld %lu %5.2d"', '"%.200s"', '"%U %R %S %A %V"', '"100%%"', '"%c %p %x %i %u"', '"%05d"']) {
      expect(formatProblem(ok), ok).toBeNull();
    }
    expect(formatProblem('"%lx"')).toMatch(/'%lx'/);
    expect(formatProblem('"%T"')).toMatch(/'%T'/);
    expect(formatProblem('"%05s"')).toMatch(/'%05s'/);
    expect(formatProblem('"%5c"')).toMatch(/'%5c'/);
    expect(formatProblem('"%-5d"')).not.toBeNull();
    expect(formatProblem('"%.*s"')).not.toBeNull();
  });
});

describe('context handles', () => {
  it('map built-in objects to listed context handles', () => {
    expect(contextHandleOf('Py_None')).toBe('ctx->h_None');
    expect(contextHandleOf('PyExc_ValueError')).toBe('ctx->h_ValueError');
    expect(contextHandleOf('PyLong_Type')).toBe('ctx->h_LongType');
    expect(contextHandleCall('PyEval_GetBuiltins')).toBe('ctx->h_Builtins');
    const emitted = [...Object.values(RETURN_MACROS), ...Object.values(IDENTITY_TESTS), 'ctx->h_Builtins'];
    for (const name of ['Py_None', 'Py_True', 'Py_Ellipsis', 'PyExc_OSError', 'PyBaseObject_Type', 'PySlice_Type']) {
      emitted.push(contextHandleOf(name)!);
    }
    for (const h of emitted) expect(listed(h), h).toBe(true);
  });

  it('lists every handle of the api map', () => {
    const rows = ['Py_None', 'PyExc_StopIteration', 'PyType_Type', 'PyCapsule_Type'].map((n) => apiEntry(n)!);
    for (const row of rows) expect(contextHandleOf(row.cpython)).toBe(row.hpy);
  });

  it('knows the objects without a handle, and is not fooled by C types', () => {
    expect(builtinObjectEntry('PyDict_Type')?.hpy).toBe('');
    expect(builtinObjectEntry('PyExc_EncodingWarning')?.hpy).toBe('');
    expect(contextHandleOf('PyDict_Type')).toBeUndefined();
    expect(builtinObjectEntry('PyCFunction')).toBeUndefined();
    expect(builtinObjectEntry('Py_ssize_t')).toBeUndefined();
    expect(builtinObjectEntry('Py_LT')).toBeUndefined();
  });
});

describe('generated api map', () => {
  it('is up to date with hpy-reference/api-map.tsv (npm run gen:api regenerates it)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = join(import.meta.dirname, '..', 'scripts', 'gen-api-map.mjs');
    const r = spawnSync('node', [script, '--check'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('up to date');
    expect(r.status).toBe(0);
  });
});
