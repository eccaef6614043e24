/**
 * Type-definition facts of CPython 3.11 and HPy 0.9.0, as data: the field order of `PyTypeObject`
 * and its method suites (for positional initializers), the HPy slot ids with their impl
 * signatures (porting-concepts §d, checked against `autogen_hpyfunc_declare.h`), member types and
 * type flags.
 */
import { apiEntry } from './api-map.js';

/** `PyTypeObject` fields of CPython 3.11 in declaration order (after `PyVarObject_HEAD_INIT`). */
export const TYPE_OBJECT_FIELDS: readonly string[] = [
  'tp_name', 'tp_basicsize', 'tp_itemsize', 'tp_dealloc', 'tp_vectorcall_offset', 'tp_getattr',
  'tp_setattr', 'tp_as_async', 'tp_repr', 'tp_as_number', 'tp_as_sequence', 'tp_as_mapping',
  'tp_hash', 'tp_call', 'tp_str', 'tp_getattro', 'tp_setattro', 'tp_as_buffer', 'tp_flags',
  'tp_doc', 'tp_traverse', 'tp_clear', 'tp_richcompare', 'tp_weaklistoffset', 'tp_iter',
  'tp_iternext', 'tp_methods', 'tp_members', 'tp_getset', 'tp_base', 'tp_dict', 'tp_descr_get',
  'tp_descr_set', 'tp_dictoffset', 'tp_init', 'tp_alloc', 'tp_new', 'tp_free', 'tp_is_gc',
  'tp_bases', 'tp_mro', 'tp_cache', 'tp_subclasses', 'tp_weaklist', 'tp_del', 'tp_version_tag',
  'tp_finalize', 'tp_vectorcall',
];

/** A method suite (`tp_as_number = &X_as_number`): its struct type and field order (3.11). */
export interface MethodSuite {
  struct: string;
  fields: readonly string[];
}

/** The `tp_as_*` fields of `PyTypeObject` and the suites they point to. */
export const METHOD_SUITES: Readonly<Record<string, MethodSuite>> = {
  tp_as_number: {
    struct: 'PyNumberMethods',
    fields: [
      'nb_add', 'nb_subtract', 'nb_multiply', 'nb_remainder', 'nb_divmod', 'nb_power', 'nb_negative',
      'nb_positive', 'nb_absolute', 'nb_bool', 'nb_invert', 'nb_lshift', 'nb_rshift', 'nb_and',
      'nb_xor', 'nb_or', 'nb_int', 'nb_reserved', 'nb_float', 'nb_inplace_add', 'nb_inplace_subtract',
      'nb_inplace_multiply', 'nb_inplace_remainder', 'nb_inplace_power', 'nb_inplace_lshift',
      'nb_inplace_rshift', 'nb_inplace_and', 'nb_inplace_xor', 'nb_inplace_or', 'nb_floor_divide',
      'nb_true_divide', 'nb_inplace_floor_divide', 'nb_inplace_true_divide', 'nb_index',
      'nb_matrix_multiply', 'nb_inplace_matrix_multiply',
    ],
  },
  tp_as_sequence: {
    struct: 'PySequenceMethods',
    fields: [
      'sq_length', 'sq_concat', 'sq_repeat', 'sq_item', 'was_sq_slice', 'sq_ass_item',
      'was_sq_ass_slice', 'sq_contains', 'sq_inplace_concat', 'sq_inplace_repeat',
    ],
  },
  tp_as_mapping: { struct: 'PyMappingMethods', fields: ['mp_length', 'mp_subscript', 'mp_ass_subscript'] },
  tp_as_async: { struct: 'PyAsyncMethods', fields: ['am_await', 'am_aiter', 'am_anext', 'am_send'] },
  tp_as_buffer: { struct: 'PyBufferProcs', fields: ['bf_getbuffer', 'bf_releasebuffer'] },
};

/** `PyType_Spec` fields in declaration order. */
export const TYPE_SPEC_FIELDS: readonly string[] = ['name', 'basicsize', 'itemsize', 'flags', 'slots'];
/** `PyType_Slot` fields. */
export const TYPE_SLOT_FIELDS: readonly string[] = ['slot', 'pfunc'];
/** `PyMemberDef` fields. */
export const MEMBER_DEF_FIELDS: readonly string[] = ['name', 'type', 'offset', 'flags', 'doc'];
/** `PyGetSetDef` fields. */
export const GETSET_DEF_FIELDS: readonly string[] = ['name', 'get', 'set', 'doc', 'closure'];

/** One parameter of an HPy impl: `from` is the index of the CPython parameter whose name it keeps. */
export interface ImplParam {
  type: string;
  name: string;
  from?: number;
}

/** The C signature an HPy impl must have (the `HPyFunc_*` it is declared with). */
export interface ImplSignature {
  /** The `HPyFunc_Signature` the slot declares its impl with. */
  func: string;
  returns: string;
  params: readonly ImplParam[];
  /** Number of parameters of the CPython function it replaces. */
  arity: number;
}

const CTX: ImplParam = { type: 'HPyContext *', name: 'ctx' };
const h = (name: string, from: number): ImplParam => ({ type: 'HPy', name, from });

function sig(func: string, returns: string, arity: number, ...params: ImplParam[]): ImplSignature {
  return { func, returns, params, arity };
}

/** Impl signatures by `HPyFunc_*` kind (hpy/autogen_hpyfunc_declare.h of 0.9.0). */
export const IMPL_SIGNATURES: Readonly<Record<string, ImplSignature>> = {
  HPyFunc_UNARYFUNC: sig('HPyFunc_UNARYFUNC', 'HPy', 1, CTX, h('self', 0)),
  HPyFunc_REPRFUNC: sig('HPyFunc_REPRFUNC', 'HPy', 1, CTX, h('self', 0)),
  HPyFunc_BINARYFUNC: sig('HPyFunc_BINARYFUNC', 'HPy', 2, CTX, h('left', 0), h('right', 1)),
  HPyFunc_TERNARYFUNC: sig('HPyFunc_TERNARYFUNC', 'HPy', 3, CTX, h('a', 0), h('b', 1), h('c', 2)),
  HPyFunc_INQUIRY: sig('HPyFunc_INQUIRY', 'int', 1, CTX, h('self', 0)),
  HPyFunc_LENFUNC: sig('HPyFunc_LENFUNC', 'HPy_ssize_t', 1, CTX, h('self', 0)),
  HPyFunc_SSIZEARGFUNC: sig('HPyFunc_SSIZEARGFUNC', 'HPy', 2, CTX, h('self', 0), { type: 'HPy_ssize_t', name: 'i', from: 1 }),
  HPyFunc_SSIZEOBJARGPROC: sig('HPyFunc_SSIZEOBJARGPROC', 'int', 3, CTX, h('self', 0), { type: 'HPy_ssize_t', name: 'i', from: 1 }, h('value', 2)),
  HPyFunc_OBJOBJPROC: sig('HPyFunc_OBJOBJPROC', 'int', 2, CTX, h('self', 0), h('value', 1)),
  HPyFunc_OBJOBJARGPROC: sig('HPyFunc_OBJOBJARGPROC', 'int', 3, CTX, h('self', 0), h('key', 1), h('value', 2)),
  HPyFunc_HASHFUNC: sig('HPyFunc_HASHFUNC', 'HPy_hash_t', 1, CTX, h('self', 0)),
  HPyFunc_RICHCMPFUNC: sig('HPyFunc_RICHCMPFUNC', 'HPy', 3, CTX, h('self', 0), h('other', 1), { type: 'HPy_RichCmpOp', name: 'op', from: 2 }),
  HPyFunc_INITPROC: sig('HPyFunc_INITPROC', 'int', 3, CTX, h('self', 0), { type: 'const HPy *', name: 'args', from: 1 }, { type: 'HPy_ssize_t', name: 'nargs' }, h('kw', 2)),
  HPyFunc_NEWFUNC: sig('HPyFunc_NEWFUNC', 'HPy', 3, CTX, h('type', 0), { type: 'const HPy *', name: 'args', from: 1 }, { type: 'HPy_ssize_t', name: 'nargs' }, h('kw', 2)),
  HPyFunc_TRAVERSEPROC: sig('HPyFunc_TRAVERSEPROC', 'int', 3, { type: 'void *', name: 'object' }, { type: 'HPyFunc_visitproc', name: 'visit', from: 1 }, { type: 'void *', name: 'arg', from: 2 }),
  HPyFunc_DESTROYFUNC: sig('HPyFunc_DESTROYFUNC', 'void', 1, { type: 'void *', name: 'object' }),
  HPyFunc_DESTRUCTOR: sig('HPyFunc_DESTRUCTOR', 'void', 1, CTX, h('self', 0)),
  HPyFunc_GETTER: sig('HPyFunc_GETTER', 'HPy', 2, CTX, h('self', 0), { type: 'void *', name: 'closure', from: 1 }),
  HPyFunc_SETTER: sig('HPyFunc_SETTER', 'int', 3, CTX, h('self', 0), h('value', 1), { type: 'void *', name: 'closure', from: 2 }),
};

/** HPy 0.9.0 type slot ids and the `HPyFunc_*` kind of their impl (hpy/autogen_hpyslot.h). */
export const HPY_TYPE_SLOTS: Readonly<Record<string, string>> = {
  HPy_mp_ass_subscript: 'HPyFunc_OBJOBJARGPROC',
  HPy_mp_length: 'HPyFunc_LENFUNC',
  HPy_mp_subscript: 'HPyFunc_BINARYFUNC',
  HPy_nb_absolute: 'HPyFunc_UNARYFUNC',
  HPy_nb_add: 'HPyFunc_BINARYFUNC',
  HPy_nb_and: 'HPyFunc_BINARYFUNC',
  HPy_nb_bool: 'HPyFunc_INQUIRY',
  HPy_nb_divmod: 'HPyFunc_BINARYFUNC',
  HPy_nb_float: 'HPyFunc_UNARYFUNC',
  HPy_nb_floor_divide: 'HPyFunc_BINARYFUNC',
  HPy_nb_index: 'HPyFunc_UNARYFUNC',
  HPy_nb_inplace_add: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_and: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_floor_divide: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_lshift: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_matrix_multiply: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_multiply: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_or: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_power: 'HPyFunc_TERNARYFUNC',
  HPy_nb_inplace_remainder: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_rshift: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_subtract: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_true_divide: 'HPyFunc_BINARYFUNC',
  HPy_nb_inplace_xor: 'HPyFunc_BINARYFUNC',
  HPy_nb_int: 'HPyFunc_UNARYFUNC',
  HPy_nb_invert: 'HPyFunc_UNARYFUNC',
  HPy_nb_lshift: 'HPyFunc_BINARYFUNC',
  HPy_nb_matrix_multiply: 'HPyFunc_BINARYFUNC',
  HPy_nb_multiply: 'HPyFunc_BINARYFUNC',
  HPy_nb_negative: 'HPyFunc_UNARYFUNC',
  HPy_nb_or: 'HPyFunc_BINARYFUNC',
  HPy_nb_positive: 'HPyFunc_UNARYFUNC',
  HPy_nb_power: 'HPyFunc_TERNARYFUNC',
  HPy_nb_remainder: 'HPyFunc_BINARYFUNC',
  HPy_nb_rshift: 'HPyFunc_BINARYFUNC',
  HPy_nb_subtract: 'HPyFunc_BINARYFUNC',
  HPy_nb_true_divide: 'HPyFunc_BINARYFUNC',
  HPy_nb_xor: 'HPyFunc_BINARYFUNC',
  HPy_sq_ass_item: 'HPyFunc_SSIZEOBJARGPROC',
  HPy_sq_concat: 'HPyFunc_BINARYFUNC',
  HPy_sq_contains: 'HPyFunc_OBJOBJPROC',
  HPy_sq_inplace_concat: 'HPyFunc_BINARYFUNC',
  HPy_sq_inplace_repeat: 'HPyFunc_SSIZEARGFUNC',
  HPy_sq_item: 'HPyFunc_SSIZEARGFUNC',
  HPy_sq_length: 'HPyFunc_LENFUNC',
  HPy_sq_repeat: 'HPyFunc_SSIZEARGFUNC',
  HPy_tp_call: 'HPyFunc_KEYWORDS',
  HPy_tp_hash: 'HPyFunc_HASHFUNC',
  HPy_tp_init: 'HPyFunc_INITPROC',
  HPy_tp_new: 'HPyFunc_NEWFUNC',
  HPy_tp_repr: 'HPyFunc_REPRFUNC',
  HPy_tp_richcompare: 'HPyFunc_RICHCMPFUNC',
  HPy_tp_str: 'HPyFunc_REPRFUNC',
  HPy_tp_traverse: 'HPyFunc_TRAVERSEPROC',
  HPy_tp_finalize: 'HPyFunc_DESTRUCTOR',
  HPy_tp_destroy: 'HPyFunc_DESTROYFUNC',
  HPy_bf_getbuffer: 'HPyFunc_GETBUFFERPROC',
  HPy_bf_releasebuffer: 'HPyFunc_RELEASEBUFFERPROC',
};

/**
 * The HPy slot id of a CPython type field or slot name (`tp_init`, `sq_item`, `Py_nb_add`), from the
 * api map; undefined when HPy 0.9.0 has none.
 */
export function hpySlotOf(field: string): string | undefined {
  const id = field.startsWith('Py_') ? field : `Py_${field}`;
  const hpy = apiEntry(id)?.hpy;
  return hpy && hpy in HPY_TYPE_SLOTS ? hpy : undefined;
}

/** The impl signature of an HPy slot id, when this table describes it. */
export function implSignatureOf(hpySlot: string): ImplSignature | undefined {
  const kind = HPY_TYPE_SLOTS[hpySlot];
  return kind ? IMPL_SIGNATURES[kind] : undefined;
}

/** `HPyMember_*` for a `T_*` / `Py_T_*` member type, if HPy 0.9.0 has it. */
export function memberTypeOf(name: string): string | undefined {
  const base = name.replace(/^_?Py_T_/, 'T_');
  const hpy = apiEntry(base)?.hpy;
  return hpy && hpy.startsWith('HPyMember_') ? hpy : undefined;
}

/** Member flags that mean read-only (`.readonly = 1`). */
export const READONLY_MEMBER_FLAGS: readonly string[] = ['READONLY', 'Py_READONLY'];

/** Type flags that every HPy type has already (HPy_TPFLAGS_DEFAULT includes them). */
export const IMPLIED_TYPE_FLAGS: readonly string[] = ['Py_TPFLAGS_DEFAULT', 'Py_TPFLAGS_HEAPTYPE', 'Py_TPFLAGS_HAVE_VERSION_TAG'];

/** `HPy_TPFLAGS_*` for a `Py_TPFLAGS_*` name, if HPy 0.9.0 has it. */
export function typeFlagOf(name: string): string | undefined {
  const hpy = apiEntry(name)?.hpy;
  return hpy && hpy.startsWith('HPy_TPFLAGS_') ? hpy : undefined;
}

/** The CPython rich-comparison operators and their `HPy_RichCmpOp` names. */
export const RICHCMP_OPS: Readonly<Record<string, string>> = {
  Py_LT: 'HPy_LT',
  Py_LE: 'HPy_LE',
  Py_EQ: 'HPy_EQ',
  Py_NE: 'HPy_NE',
  Py_GT: 'HPy_GT',
  Py_GE: 'HPy_GE',
};

/** Renders one impl parameter: `HPy self`, `HPyContext *ctx`, `const HPy *args`. */
export function renderParam(p: { type: string; name: string }): string {
  return p.type.endsWith('*') ? `${p.type}${p.name}` : `${p.type} ${p.name}`;
}
