import { describe, expect, it } from 'vitest';
import { countBroken, createCParser, DEFAULT_MASKS, maskText } from '../src/api/index.js';

const SAMPLE = [
  'typedef struct {\n    PyObject_HEAD\n    double x;\n    PyObject *obj;\n} Point;\n',
  'typedef struct { PyObject_VAR_HEAD int n; } Vec;\n',
  'static PyTypeObject T = {\n    PyVarObject_HEAD_INIT(NULL, 0)\n    "m.T",\n    sizeof(Point),\n};\n',
  'static PyTypeObject U = {\n    PyObject_HEAD_INIT(&PyType_Type)\n    0,\n    "m.U",\n};\n',
  'static int f(void) {\n    Py_BEGIN_ALLOW_THREADS\n    work();\n    Py_END_ALLOW_THREADS\n    return 0;\n}\n',
  'static int counter; HPyDef_METH_IMPL(b_def, "b", b_impl, HPyFunc_NOARGS)\nstatic int after;\n',
  'HPyDef_METH_IMPL(a_def, "a", a_impl, HPyFunc_O)\nHPyDef_MEMBER(x_member, "x", HPyMember_DOUBLE, offsetof(Point, x),\n              .readonly = 1)\nHPyType_HELPERS(Point)\nHPy_MODINIT(m, m_def)\nstatic int after;\n',
  'Py_LOCAL_INLINE(int) clamp(int x) { return x; }\nPy_LOCAL(PyObject *) make(void);\n',
];

describe('masks', () => {
  it.each(SAMPLE)('keep the length and every byte outside the masked spans: %#', (text) => {
    const m = maskText(text);
    expect(m.text.length).toBe(text.length);
    expect(m.spans.length).toBeGreaterThan(0);
    let last = 0;
    for (const s of m.spans) {
      expect(m.text.slice(last, s.start)).toBe(text.slice(last, s.start));
      last = s.end;
    }
    expect(m.text.slice(last)).toBe(text.slice(last));
  });

  it.each(SAMPLE)('make C-API constructs parse cleanly: %#', (text) => {
    expect(countBroken(createCParser().parse(text))).toBe(0);
    expect(countBroken(createCParser([]).parse(text))).toBeGreaterThanOrEqual(0);
  });

  it('without masks, the object struct, the static type and HPy definitions do not parse cleanly', () => {
    expect(countBroken(createCParser([]).parse(SAMPLE[0]))).toBeGreaterThan(0);
    expect(countBroken(createCParser([]).parse(SAMPLE[2]))).toBeGreaterThan(0);
    expect(countBroken(createCParser([]).parse(SAMPLE[5]))).toBeGreaterThan(0);
  });

  it('makes the calls between the thread macros visible as calls', () => {
    const tree = createCParser().parse(SAMPLE[4]);
    expect(tree.rootNode.toString()).toContain('(call_expression function: (identifier)');
  });

  it('reads Py_LOCAL_INLINE(T) as static inline T, with T at its own offsets', () => {
    const text = SAMPLE[7];
    const tree = createCParser().parse(text);
    const fn = tree.rootNode.firstNamedChild!;
    expect(fn.namedChildren.filter((c) => c.type === 'storage_class_specifier').length).toBe(2);
    const type = fn.childForFieldName('type')!;
    expect(text.slice(type.startIndex, type.endIndex)).toBe('int');
    const proto = tree.rootNode.namedChildren[1];
    expect(text.slice(proto.childForFieldName('type')!.startIndex, proto.childForFieldName('type')!.endIndex)).toBe('PyObject');
    expect(maskText('#define Py_LOCAL_INLINE(type) static inline type\n').spans).toEqual([]);
  });

  it('has a name for every rule', () => {
    expect(DEFAULT_MASKS.every((r) => r.name && r.pattern.global)).toBe(true);
  });
});

describe('parser pin', () => {
  it('pins tree-sitter and tree-sitter-c exactly, as a tested pair that parses C', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.dependencies['tree-sitter']).toBe('0.25.1');
    expect(pkg.dependencies['tree-sitter-c']).toBe('0.24.1');
    const tree = createCParser().parse('int main(void) { return 0; }\n');
    expect(tree.rootNode.toString()).toBe(
      '(translation_unit (function_definition type: (primitive_type) declarator: (function_declarator declarator: (identifier) parameters: (parameter_list (parameter_declaration type: (primitive_type)))) body: (compound_statement (return_statement (number_literal)))))',
    );
  });
});
