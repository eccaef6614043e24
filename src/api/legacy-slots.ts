/**
 * What a legacy HPy type may keep on the C API, for a `--target hybrid` run (porting-concepts §g;
 * checked against HPy 0.9.0's `hpy/devel/src/runtime/ctx_type.c`): an `HPyType_Spec` with
 * `.builtin_shape = HPyType_BuiltinShape_Legacy` lists a `PyType_Slot` table in `.legacy_slots`,
 * whose entries CPython gets after the slots made from the HPy defines (`Py_tp_methods`,
 * `Py_tp_members` and `Py_tp_getset` tables are merged with the HPy ones).
 */

/**
 * The slot ids of CPython 3.11's `typeslots.h` that a legacy type may keep in `.legacy_slots`
 * (without the `Py_` prefix). Left out: `tp_doc` (the spec's `.doc`), `tp_alloc`/`tp_free` (HPy
 * allocates with `HPy_New`, which never calls a custom `tp_alloc`), and `tp_base`/`tp_bases`
 * (bases are `HPyType_SpecParam`s of the type's creation, not part of the spec).
 */
export const LEGACY_SLOT_FIELDS: ReadonlySet<string> = new Set([
  'bf_getbuffer', 'bf_releasebuffer', 'mp_ass_subscript', 'mp_length', 'mp_subscript',
  'nb_absolute', 'nb_add', 'nb_and', 'nb_bool', 'nb_divmod', 'nb_float', 'nb_floor_divide', 'nb_index',
  'nb_inplace_add', 'nb_inplace_and', 'nb_inplace_floor_divide', 'nb_inplace_lshift',
  'nb_inplace_multiply', 'nb_inplace_or', 'nb_inplace_power', 'nb_inplace_remainder',
  'nb_inplace_rshift', 'nb_inplace_subtract', 'nb_inplace_true_divide', 'nb_inplace_xor', 'nb_int',
  'nb_invert', 'nb_lshift', 'nb_multiply', 'nb_negative', 'nb_or', 'nb_positive', 'nb_power',
  'nb_remainder', 'nb_rshift', 'nb_subtract', 'nb_true_divide', 'nb_xor', 'sq_ass_item', 'sq_concat',
  'sq_contains', 'sq_inplace_concat', 'sq_inplace_repeat', 'sq_item', 'sq_length', 'sq_repeat',
  'tp_call', 'tp_clear', 'tp_dealloc', 'tp_del', 'tp_descr_get', 'tp_descr_set', 'tp_getattr',
  'tp_getattro', 'tp_hash', 'tp_init', 'tp_is_gc', 'tp_iter', 'tp_iternext', 'tp_methods', 'tp_new',
  'tp_repr', 'tp_richcompare', 'tp_setattr', 'tp_setattro', 'tp_str', 'tp_traverse', 'tp_members',
  'tp_getset', 'nb_matrix_multiply', 'nb_inplace_matrix_multiply', 'am_await', 'am_aiter', 'am_anext',
  'tp_finalize', 'am_send',
]);

/**
 * The slots of an object's life on CPython. They stay on the C API together or not at all:
 * `HPyType_FromSpec` rejects a legacy `Py_tp_dealloc` beside an `HPy_tp_traverse` or
 * `HPy_tp_destroy` (TypeError), an HPy traverse makes HPy install its own `tp_clear` and
 * `tp_dealloc`, and an HPy traverse visits only HPyFields, not the `PyObject *` members that a
 * legacy dealloc releases.
 */
export const LIFECYCLE_SLOT_FIELDS: readonly string[] = ['tp_dealloc', 'tp_traverse', 'tp_clear'];

/** One entry of a `.legacy_slots` table: the slot (`tp_iter`) and the value as C text. */
export interface LegacySlotEntry {
  field: string;
  value: string;
}

/** `static PyType_Slot name[] = { {Py_tp_iter, f}, ..., {0, NULL} };` with the file's line ending. */
export function legacySlotTableText(name: string, entries: readonly LegacySlotEntry[], indent: string, eol: string): string {
  const lines = entries.map((e) => `${indent}{Py_${e.field}, ${e.value}},`);
  return [`static PyType_Slot ${name}[] = {`, ...lines, `${indent}{0, NULL}`, '};'].join(eol);
}
