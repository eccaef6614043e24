/**
 * Masks: C-API macros that tree-sitter-c cannot parse are replaced, for parsing only, by text of
 * exactly the same length that means the same thing syntactically (tree-sitter-c-notes.md). The
 * tree's offsets then still point into the original text, which is what edits are made on.
 */
export interface MaskRule {
  /** What the rule is for (shown in tests and errors). */
  name: string;
  /** Matches the text to mask; must be global (`g`). */
  pattern: RegExp;
  /** Builds the replacement for one match; must return exactly `match.length` characters. */
  replace(match: string): string;
}

function blank(s: string): string {
  return s.replace(/[^\r\n]/g, ' ');
}

/** Keeps line breaks (so positions stay on their lines) and pads with spaces after `head`. */
function padTo(match: string, head: string, tail = ''): string {
  const body = blank(match.slice(head.length, match.length - tail.length));
  return head + body + tail;
}

/** The default mask table (CPython C-API macros that tree-sitter-c mis-parses). */
export const DEFAULT_MASKS: readonly MaskRule[] = [
  {
    // `PyObject_HEAD double x;` reads as a field named `double`: make the head a field of its own.
    name: 'PyObject_HEAD',
    // Some code writes `PyObject_HEAD;`: the semicolon joins the mask (the field has its own).
    pattern: /\bPyObject_HEAD\b(?!_INIT)(?:[ \t]*;)?/g,
    replace: (m) => 'int _pyhead_;'.padEnd(m.length).slice(0, m.length),
  },
  {
    name: 'PyObject_VAR_HEAD',
    pattern: /\bPyObject_VAR_HEAD\b/g,
    replace: (m) => 'int _pyvarhead_;'.padEnd(m.length).slice(0, m.length),
  },
  {
    // Its expansion ends in a comma the text lacks: mask it as one initializer element.
    name: 'PyVarObject_HEAD_INIT',
    pattern: /\bPyVarObject_HEAD_INIT\s*\([^()]*\)/g,
    replace: (m) => padTo(m, '0', ','),
  },
  {
    name: 'PyObject_HEAD_INIT',
    pattern: /\bPyObject_HEAD_INIT\s*\([^()]*\)/g,
    replace: (m) => padTo(m, '0', ','),
  },
  {
    // Written without semicolons; they open and close a block, which is what the mask says.
    name: 'Py_BEGIN_ALLOW_THREADS',
    pattern: /\bPy_BEGIN_ALLOW_THREADS\b/g,
    replace: (m) => padTo(m, '{'),
  },
  {
    name: 'Py_END_ALLOW_THREADS',
    pattern: /\bPy_END_ALLOW_THREADS\b/g,
    replace: (m) => padTo(m, '}'),
  },
  {
    // `Py_LOCAL_INLINE(T)` is `static inline T` (`Py_LOCAL(T)`: `static T`). It parses as a macro
    // type, which hides the storage class and puts the type in a type descriptor: the mask reads
    // as what it expands to, with `T` kept at its own offsets (the `)` becomes a space).
    name: 'Py_LOCAL_INLINE',
    pattern: /(?<!#\s*define\s+)\bPy_LOCAL(_INLINE)?\s*\([^()]*\)/g,
    replace: (m) => {
      const open = m.indexOf('(') + 1;
      const head = m.startsWith('Py_LOCAL_INLINE') ? 'static inline' : 'static';
      return head.padEnd(open) + m.slice(open, -1) + ' ';
    },
  },
  {
    // Their HPy counterparts open and close a block too (the text has no semicolons either).
    name: 'HPy_BEGIN_LEAVE_PYTHON',
    pattern: /\bHPy_BEGIN_LEAVE_PYTHON\s*\([^()]*\)/g,
    replace: (m) => padTo(m, '{'),
  },
  {
    name: 'HPy_END_LEAVE_PYTHON',
    pattern: /\bHPy_END_LEAVE_PYTHON\s*\([^()]*\)/g,
    replace: (m) => padTo(m, '}'),
  },
  {
    // HPy's own definition macros stand at file scope without a semicolon (already-ported code):
    // mask each as one declaration so the next line does not become an ERROR.
    name: 'HPy definition macros',
    // At the start of a line, or after another declaration on the same line (`; HPyDef_...`).
    pattern: /(?:^|(?<=[;}]))[ \t]*(?:HPyDef_[A-Z_]+|HPyType_(?:LEGACY_)?HELPERS|HPy_MODINIT|HPyCapsule_DESTRUCTOR)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)/gm,
    replace: (m) => {
      const lead = /^[ \t]*/.exec(m)![0];
      const rest = m.slice(lead.length);
      return lead + padTo(rest, rest.length >= 13 ? 'int _hpydef_;' : 'int _;');
    },
  },
];

/** Spans of `text` covered by a mask, and the masked copy (same length as `text`). */
export interface Masked {
  text: string;
  spans: { start: number; end: number; rule: string }[];
}

/** Applies `rules` to `text`. Throws if a rule would change the length. */
export function maskText(text: string, rules: readonly MaskRule[] = DEFAULT_MASKS): Masked {
  let out = text;
  const spans: Masked['spans'] = [];
  for (const rule of rules) {
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      const offset = rest.find((r) => typeof r === 'number') as number;
      const replacement = rule.replace(match);
      if (replacement.length !== match.length) {
        throw new Error(`mask '${rule.name}' changed the length of '${match}'`);
      }
      spans.push({ start: offset, end: offset + match.length, rule: rule.name });
      return replacement;
    });
  }
  spans.sort((a, b) => a.start - b.start);
  return { text: out, spans };
}
