import { describe, expect, it } from 'vitest';
import { createCParser } from '../src/api/index.js';
import { collectIndex } from '../src/index/index.js';

const POINT_H = `typedef struct {
    PyObject_HEAD
    double x;
    PyObject *label, *extra;
} PointObject;

struct Vec { PyObject_VAR_HEAD int n; };
static PyObject *cache = NULL, *other;
PyObject *shared;
int plain;
`;

const POINT_C = `#include "point.h"
static HPy point_norm(HPyContext *ctx, HPy self) { return helper(ctx, self); }
static PyObject *legacy(PyObject *self, PyObject *args) { Py_INCREF(self); helper2(); return self; }
static int helper2(void) { /* Py_INCREF in a comment */ return 0; }
static int threads(int n) { Py_BEGIN_ALLOW_THREADS n++; Py_END_ALLOW_THREADS return n; }
static PyMethodDef methods[] = { {"legacy", (PyCFunction)legacy, METH_VARARGS, NULL}, {NULL} };
static void install(void) { set_callback(&threads); helper2(); }
`;

describe('collectIndex', () => {
  const index = collectIndex([{ path: 'point.h', text: POINT_H }, { path: 'point.c', text: POINT_C }], createCParser());

  it('lists the files', () => {
    expect(index.files).toEqual(['point.h', 'point.c']);
  });

  it('collects functions with signatures, ctx and calls', () => {
    expect(index.functions.map((f) => f.name)).toEqual(['point_norm', 'legacy', 'helper2', 'threads', 'install']);
    const [norm, legacy] = index.functions;
    expect(norm).toMatchObject({ file: 'point.c', line: 2, returnType: 'HPy', hasContext: true, calls: ['helper'] });
    expect(norm.params).toEqual([{ type: 'HPyContext *', name: 'ctx' }, { type: 'HPy', name: 'self' }]);
    expect(legacy).toMatchObject({ returnType: 'PyObject *', hasContext: false, calls: ['Py_INCREF', 'helper2'] });
  });

  it('knows which functions use the C API or HPy', () => {
    expect(index.functions.filter((f) => f.usesApi).map((f) => f.name)).toEqual(['point_norm', 'legacy', 'threads']);
  });

  it('lists the functions used as values (callbacks), not the ones only called', () => {
    expect(index.callbacks).toEqual(['legacy', 'threads']);
  });

  it('collects file-scope PyObject * globals', () => {
    expect(index.globals.map((g) => [g.name, g.isStatic, g.line])).toEqual([['cache', true, 8], ['other', true, 8], ['shared', false, 9]]);
  });

  it('collects object structs (the masked PyObject_HEAD parses) with their object fields', () => {
    expect(index.objectStructs).toEqual([
      { file: 'point.h', line: 1, tag: null, typedefs: ['PointObject'], head: 'PyObject_HEAD', objectFields: ['label', 'extra'] },
      { file: 'point.h', line: 7, tag: 'Vec', typedefs: [], head: 'PyObject_VAR_HEAD', objectFields: [] },
    ]);
  });

  it('is plain data (serialisable)', () => {
    expect(JSON.parse(JSON.stringify(index))).toEqual(index);
  });
});
