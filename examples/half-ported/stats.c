/* stats: a small module in the middle of its port to HPy.
 * The signatures are already HPy; the bodies still speak the CPython C API.
 * Run: npx hpy-migrate examples/half-ported
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static HPy
stats_mean(HPyContext *ctx, HPy self, HPy seq)
{
    HPy_ssize_t n = PyObject_Length(seq);
    double total = 0.0;
    if (n < 0)
        return HPy_NULL;
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "mean of an empty sequence");
        return HPy_NULL;
    }
    for (HPy_ssize_t i = 0; i < n; i++) {
        HPy item = PySequence_GetItem(seq, i);
        if (HPy_IsNull(item))
            return HPy_NULL;
        total += PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (total == -1.0 && PyErr_Occurred())
            return HPy_NULL;
    }
    return PyFloat_FromDouble(total / (double)n);
}

static HPy
stats_describe(HPyContext *ctx, HPy self, HPy value)
{
    if (value == Py_None) {
        Py_INCREF(value);
        return value;
    }
    if (PyLong_Check(value) || PyFloat_Check(value))
        Py_RETURN_TRUE;
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "cannot describe %S", value);
        return HPy_NULL;
    }
    Py_RETURN_FALSE;
}

static HPy
stats_pair(HPyContext *ctx, HPy self, HPy first)
{
    HPy key = PyUnicode_FromString("first");
    HPy d;
    if (HPy_IsNull(key))
        return HPy_NULL;
    d = PyDict_New();
    if (HPy_IsNull(d) || PyDict_SetItem(d, key, first) < 0) {
        Py_XDECREF(d);
        Py_DECREF(key);
        return HPy_NULL;
    }
    Py_DECREF(key);
    return d;
}
