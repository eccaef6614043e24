/**
 * Argument-parsing calls (`PyArg_ParseTuple`, `PyArg_ParseTupleAndKeywords`, `PyArg_UnpackTuple`)
 * checked against what HPy 0.9.0's `HPyArg_Parse` / `HPyArg_ParseKeywords[Dict]` accept
 * (hpy/devel/src/runtime/argparse.c). Shared by the transform that converts a method's signature
 * (it must know beforehand whether the parse call in the body will be converted) and the one that
 * converts the call.
 */
import { stringLiteralValue } from './call-forms.js';

/** Where the parsed arguments come from once the function has its HPy signature. */
export type ArgParseShape =
  /** `const HPy *args, size_t nargs` (HPyFunc_VARARGS): positional only. */
  | 'positional'
  /** `const HPy *args, size_t nargs, HPy kwnames` (HPyFunc_KEYWORDS). */
  | 'keywords'
  /** `const HPy *args, HPy_ssize_t nargs, HPy kw` (HPy_tp_init, HPy_tp_new): a keyword dict. */
  | 'dict';

/** One format unit that HPy supports (`i`, `O`, `s`, ...). */
export interface FormatUnit {
  code: string;
  /** Index of the unit in the format's text (between the quotes of a single literal). */
  offset: number;
  optional: boolean;
  keywordOnly: boolean;
}

/** One format unit that HPy 0.9.0 lacks, and what to write instead. */
export interface FormatProblem {
  unit: string;
  replacement: string;
}

/** A parsed format string. */
export interface ArgFormat {
  units: FormatUnit[];
  problems: FormatProblem[];
  /** The function name after `:` (used in error messages), or null. */
  name: string | null;
}

/** The calls that become `HPyArg_*` calls; the other `PyArg_*` names are only reported. */
export const CONVERTIBLE_ARG_PARSE_CALLS: readonly string[] = ['PyArg_ParseTuple', 'PyArg_ParseTupleAndKeywords', 'PyArg_UnpackTuple'];

const SUPPORTED_UNITS = new Set('bBhHiIlkLKnfdpsO');

const AS_OBJECT = "parse it as 'O'";
const TEXT = "then read str data with 'HPyUnicode_AsUTF8AndSize' or bytes data with 'HPyBytes_AsString' and 'HPyBytes_Size'";

/** What to write by hand for each unit HPy lacks (keyed by the unit, modifiers included). */
const REPLACEMENTS: Readonly<Record<string, string>> = {
  'O!': `${AS_OBJECT}, then test its type with 'HPy_TypeCheck' and raise 'TypeError' yourself`,
  'O&': `${AS_OBJECT} and call the converter on the handle yourself`,
  's#': `${AS_OBJECT}, ${TEXT}`,
  's*': `${AS_OBJECT}, ${TEXT}`,
  z: `${AS_OBJECT}; None is allowed: test 'HPy_Is(ctx, x, ctx->h_None)' first, ${TEXT}`,
  'z#': `${AS_OBJECT}; None is allowed: test 'HPy_Is(ctx, x, ctx->h_None)' first, ${TEXT}`,
  'z*': `${AS_OBJECT}; None is allowed: test 'HPy_Is(ctx, x, ctx->h_None)' first, ${TEXT}`,
  y: `${AS_OBJECT}, check 'HPyBytes_Check', then read 'HPyBytes_AsString' and 'HPyBytes_Size'`,
  'y#': `${AS_OBJECT}, check 'HPyBytes_Check', then read 'HPyBytes_AsString' and 'HPyBytes_Size'`,
  'y*': `${AS_OBJECT}, check 'HPyBytes_Check', then read 'HPyBytes_AsString' and 'HPyBytes_Size'`,
  S: `${AS_OBJECT} and check it with 'HPyBytes_Check'`,
  U: `${AS_OBJECT} and check it with 'HPyUnicode_Check'`,
  Y: `${AS_OBJECT}; HPy 0.9.0 has no bytearray API, so read it through the generic object API`,
  c: `${AS_OBJECT}, check 'HPyBytes_Check' and a size of 1, then read 'HPyBytes_AsString(ctx, x)[0]'`,
  C: `${AS_OBJECT}, check 'HPyUnicode_Check' and a length of 1, then read 'HPyUnicode_ReadChar(ctx, x, 0)'`,
  D: `${AS_OBJECT} and read its 'real' and 'imag' attributes with 'HPy_GetAttr_s' and 'HPyFloat_AsDouble'`,
  es: `${AS_OBJECT} and encode it yourself (e.g. 'HPyUnicode_AsUTF8String')`,
  et: `${AS_OBJECT} and encode it yourself (e.g. 'HPyUnicode_AsUTF8String')`,
  'es#': `${AS_OBJECT} and encode it yourself (e.g. 'HPyUnicode_AsUTF8String')`,
  'et#': `${AS_OBJECT} and encode it yourself (e.g. 'HPyUnicode_AsUTF8String')`,
  'w*': "HPy 0.9.0 cannot read another object's buffer: keep this function on the legacy API",
  '(...)': `${AS_OBJECT}, then unpack it with 'HPy_Length' and 'HPy_GetItem_i' and convert each item`,
  $: "'$' (keyword-only) needs keyword parsing: make the method take keywords, or drop the '$'",
};

/** Reads one unit's text at `i` (code plus modifiers such as `#`, `*`, `!`, `&`). */
function unitAt(value: string, i: number): string {
  const c = value[i];
  if (c === 'e' && (value[i + 1] === 's' || value[i + 1] === 't')) return value.slice(i, value[i + 2] === '#' ? i + 3 : i + 2);
  const modifier = value[i + 1];
  return modifier !== undefined && '#*!&'.includes(modifier) ? c + modifier : c;
}

/** The end of the parenthesised group opening at `i` (index after its `)`). */
function groupEnd(value: string, i: number): number {
  let depth = 0;
  for (let j = i; j < value.length; j++) {
    if (value[j] === '(') depth++;
    else if (value[j] === ')' && --depth === 0) return j + 1;
  }
  return value.length;
}

/** Parses a format string's units (up to `:` or `;`). */
export function parseArgFormat(value: string, shape: ArgParseShape): ArgFormat {
  const units: FormatUnit[] = [];
  const problems: FormatProblem[] = [];
  let optional = false;
  let keywordOnly = false;
  let name: string | null = null;
  for (let i = 0; i < value.length; ) {
    const c = value[i];
    if (c === ':') name = value.slice(i + 1);
    if (c === ':' || c === ';') break;
    if (c === '|' || c === '$') {
      if (c === '$' && shape === 'positional') problems.push({ unit: '$', replacement: REPLACEMENTS.$ });
      optional = true;
      keywordOnly ||= c === '$';
      i++;
      continue;
    }
    if (c === '(') {
      problems.push({ unit: value.slice(i, groupEnd(value, i)), replacement: REPLACEMENTS['(...)'] });
      i = groupEnd(value, i);
      continue;
    }
    const unit = unitAt(value, i);
    if (SUPPORTED_UNITS.has(unit)) units.push({ code: unit, offset: i, optional, keywordOnly });
    else problems.push({ unit, replacement: REPLACEMENTS[unit] ?? `${AS_OBJECT} and convert it yourself` });
    i += unit.length;
  }
  return { units, problems, name };
}

/** Does the format create handles that only a tracker can release (an `O` unit with keyword parsing)? */
export function needsTracker(format: ArgFormat, shape: ArgParseShape): boolean {
  return shape !== 'positional' && format.units.some((u) => u.code === 'O');
}

/**
 * Why a call cannot become an `HPyArg_*` call in a function of the given shape, or null when it
 * can. `args` are the argument texts as written; the first (the tuple, which becomes the array)
 * and, for keywords, the second (the dict, which becomes kwnames or kw) are checked by the caller.
 */
export function argParseProblem(callee: string, args: readonly string[], shape: ArgParseShape): string | null {
  if (callee === 'PyArg_UnpackTuple') return unpackTupleProblem(args);
  if (callee === 'PyArg_ParseTupleAndKeywords' && shape === 'positional') {
    return "the function receives no keywords, so its keywords cannot be parsed";
  }
  if (callee !== 'PyArg_ParseTuple' && callee !== 'PyArg_ParseTupleAndKeywords') {
    return `'${callee}' has no HPy counterpart: parse with 'HPyArg_Parse' or 'HPyArg_ParseKeywords' by hand`;
  }
  const format = stringLiteralValue(args[callee === 'PyArg_ParseTuple' ? 1 : 2]);
  if (format === null) return 'the format is not a string literal, so its units cannot be checked';
  const problems = parseArgFormat(format, shape).problems;
  if (problems.length === 0) return null;
  return `HPy 0.9.0 does not support the format unit${problems.length > 1 ? 's' : ''} ${problems.map((p) => `'${p.unit}'`).join(', ')}`;
}

/** `PyArg_UnpackTuple(args, "name", min, max, &a, ...)`: literal bounds, one output per bound. */
function unpackTupleProblem(args: readonly string[]): string | null {
  const name = stringLiteralValue(args[1]);
  const min = Number(args[2]);
  const max = Number(args[3]);
  if (name === null || /[:;]/.test(name)) return 'the function name is not a plain string literal';
  if (!/^\d+$/.test(args[2] ?? '') || !/^\d+$/.test(args[3] ?? '') || min > max) return 'the argument counts are not integer literals';
  if (args.length - 4 !== max) return 'the number of outputs differs from the maximum count';
  return null;
}

/** The `HPyArg_Parse` format equivalent to `PyArg_UnpackTuple(args, "name", min, max, ...)`. */
export function unpackTupleFormat(name: string, min: number, max: number): string {
  const optional = max > min ? `|${'O'.repeat(max - min)}` : '';
  return `"${'O'.repeat(min)}${optional}:${name}"`;
}
