/**
 * Replaces `#include <Python.h>` with `#include "hpy.h"`.
 *
 * ## Why
 * A universal HPy build must not see the CPython headers: HPy's build puts a `Python.h` shim on
 * the include path that stops the compilation with an `#error`. Everything an HPy extension may
 * use comes from `hpy.h` (porting guide, "Incremental migration" and the universal ABI:
 * https://docs.hpyproject.org/en/latest/porting-guide.html).
 *
 * ## Before
 * ```c
 * #define PY_SSIZE_T_CLEAN
 * #include <Python.h>
 * #include <string.h>
 * ```
 * ## After
 * ```c
 * #include "hpy.h"
 * #include <string.h>
 * ```
 * ## Safety
 * safe: only the header name changes (`<Python.h>` or `"Python.h"`, also inside `#if` blocks),
 * so a trailing comment on the line stays. A file that already includes `hpy.h` loses the whole
 * `Python.h` line (with its comment and line break) instead of including `hpy.h` twice.
 * A `#define PY_SSIZE_T_CLEAN` line directly above the replaced (or removed) include goes too:
 * nothing reads it in a universal build, and in the CPython and hybrid ABIs `hpy.h` defines it
 * itself right before it includes `Python.h` (so the old line would only be a redefinition).
 *
 * With `--target hybrid`, `Python.h` stays (the legacy code left beside the HPy code needs it) and
 * `#include "hpy.h"` is inserted on the next line, with the file's line ending and the include's
 * indentation; `PY_SSIZE_T_CLEAN` stays, since `Python.h` still reads it. Nothing is inserted when
 * the file already includes `hpy.h`.
 *
 * `#include "structmember.h"` goes once nothing in the file uses what it declares (`PyMemberDef`,
 * `T_*`, `READONLY`: the type transforms turn member tables into `HPyDef_MEMBER`); if the file
 * still uses `offsetof`, the include becomes `#include <stddef.h>`, which declares it.
 *
 * ## Limits
 * Other CPython headers (`structmember.h` while still used, `pythread.h`, `frameobject.h`, `datetime.h`,
 * `cpython/...`, ...) are reported with what replaces them, never removed: the code that uses them
 * must be ported first (the finding's suggestion says what to write instead). In a hybrid port they
 * are allowed and not reported. A header with the same
 * name as a CPython one (a project's own `datetime.h`) is reported too. Includes produced by macros
 * (`#include MODULE_HEADER`) are not looked at.
 */
import { codeWithoutCommentsAndStrings, defineTransform, indentationAt, type RewriteApi, type SyntaxNode } from '../src/api/index.js';

const INCLUDE = `(preproc_include path: [(system_lib_string) (string_literal)] @path) @include`;

/** One `#include` line, with the header name as written between `<>` or `""`. */
interface Include {
  node: SyntaxNode;
  path: SyntaxNode;
  header: string;
}

const KEPT_NOTE = 'the include is kept: remove it once the code that uses it is ported';

/** What replaces a CPython header under HPy (`note`), and what to write instead (`write`). */
interface HeaderReplacement {
  note: string;
  write: string;
}

const HYBRID = 'or keep this code on the C API (--target hybrid keeps the include)';
const NOTHING_TO_WRITE = "no include: 'hpy.h' declares what an HPy extension may use";

/** CPython headers other than Python.h, with what replaces them under HPy. */
const CPYTHON_HEADERS: Readonly<Record<string, HeaderReplacement>> = {
  'structmember.h': {
    note: "member tables become 'HPyDef_MEMBER' with 'HPyMember_*' types (converted with the type transforms)",
    write: `HPyDef_MEMBER(name_member, "name", HPyMember_..., offsetof(T, field)) for each member, with <stddef.h> for offsetof, ${HYBRID}`,
  },
  'pythread.h': {
    note: 'HPy 0.9.0 has no thread or lock API: use the platform threads (C11 threads, pthreads)',
    write: `<threads.h> (C11 mtx_t, thrd_t) or <pthread.h> in place of the PyThread_* calls, ${HYBRID}`,
  },
  'frameobject.h': { note: 'HPy 0.9.0 has no frame API', write: `code without frame objects, ${HYBRID}` },
  'pymem.h': {
    note: "HPy 0.9.0 has no allocator API: 'PyMem_Malloc' and friends become 'malloc', 'calloc', 'realloc' and 'free'",
    write: '<stdlib.h> with malloc, calloc, realloc and free in place of the PyMem_* calls',
  },
  'longintrepr.h': {
    note: "HPy does not expose the digits of an int: use 'HPyLong_As*' and 'HPyLong_From*'",
    write: `HPyLong_AsLongLong / HPyLong_AsUnsignedLongLong and HPyLong_FromLongLong in place of the digit access, ${HYBRID}`,
  },
  'bytesobject.h': { note: "the bytes functions ('HPyBytes_*') come with 'hpy.h'", write: NOTHING_TO_WRITE },
  'datetime.h': {
    note: "HPy 0.9.0 has no datetime C API: import the 'datetime' module with 'HPyImport_ImportModule' and call it",
    write: `HPyImport_ImportModule(ctx, "datetime") and calls to its classes (HPy_GetAttr_s, HPy_Call) in place of the PyDateTime_* API, ${HYBRID}`,
  },
  'pycapsule.h': { note: "capsules ('HPyCapsule_*') come with 'hpy.h'", write: NOTHING_TO_WRITE },
  'marshal.h': {
    note: 'HPy 0.9.0 has no marshal API: call the marshal module',
    write: `HPyImport_ImportModule(ctx, "marshal") and calls to its dumps/loads (HPy_GetAttr_s, HPy_Call), ${HYBRID}`,
  },
  'pyconfig.h': { note: "'hpy.h' declares what an HPy extension may use", write: NOTHING_TO_WRITE },
  'pyport.h': { note: "'hpy.h' declares what an HPy extension may use", write: NOTHING_TO_WRITE },
};

const CPYTHON_DIRECTORY_REPLACEMENT: HeaderReplacement = {
  note: "'hpy.h' declares what an HPy extension may use",
  write: `no include: the public HPy API of 'hpy.h' in place of CPython's internals, ${HYBRID}`,
};

const CPYTHON_DIRECTORIES = /^(cpython|internal)\//;

// What structmember.h declares that code uses: member tables, their type codes and flags.
const STRUCTMEMBER_NAMES = /\b(?:PyMemberDef|T_[A-Z_]+|Py_T_[A-Z_]+|READONLY|Py_READONLY|PY_WRITE_RESTRICTED|Py_RELATIVE_OFFSET)\b/;

function includes(api: RewriteApi): Include[] {
  return api.matches(INCLUDE).map(({ include, path }) => ({ node: include, path, header: api.text(path).slice(1, -1).trim() }));
}

export default defineTransform({
  id: 'python-h-include',
  summary: '#include <Python.h> becomes #include "hpy.h" (or gains it, with --target hybrid)',
  concern: 'handles',
  safety: 'safe',
  default: true,
  // Runs after the type transforms, so it sees whether anything of structmember.h is still used.
  after: ['pytype-spec'],
  rewrite(file, api) {
    const all = includes(api);
    const hasHpy = all.some((i) => i.header === 'hpy.h');
    const keep = api.target === 'hybrid';
    for (const inc of all) {
      if (inc.header === 'structmember.h' && !keep && !STRUCTMEMBER_NAMES.test(codeWithoutCommentsAndStrings(file.text))) {
        // Nothing of it is used any more (member tables became HPyDef_MEMBER); offsetof stays.
        if (/\boffsetof\b/.test(file.text) && !all.some((i) => i.header === 'stddef.h')) api.replace(inc.path, '<stddef.h>');
        else api.remove(lineSpan(inc.node, inc.node, file.text));
      } else if (inc.header !== 'Python.h') {
        if (!keep) reportCPythonHeader(api, inc);
      } else if (keep) {
        if (!hasHpy) api.insertAfter(inc.node, hpyLineAfter(api, inc.node, file.text));
      } else {
        const define = ssizeTCleanAbove(api, inc.node);
        if (hasHpy) {
          api.remove(lineSpan(define ?? inc.node, inc.node, file.text));
        } else {
          if (define) api.remove(lineSpan(define, define, file.text));
          api.replace(inc.path, '"hpy.h"');
        }
      }
    }
  },
});

/** A `#define PY_SSIZE_T_CLEAN` directly above `include` (only blank space between), if any. */
function ssizeTCleanAbove(api: RewriteApi, include: SyntaxNode): SyntaxNode | null {
  const prev = include.previousSibling;
  if (!prev || prev.type !== 'preproc_def') return null;
  const name = prev.childForFieldName('name');
  if (!name || api.text(name) !== 'PY_SSIZE_T_CLEAN') return null;
  return api.text({ start: prev.endIndex, end: include.startIndex }).trim() === '' ? prev : null;
}

function reportCPythonHeader(api: RewriteApi, inc: Include): void {
  const replacement = CPYTHON_HEADERS[inc.header] ?? (CPYTHON_DIRECTORIES.test(inc.header) ? CPYTHON_DIRECTORY_REPLACEMENT : null);
  if (replacement === null) return;
  api.report(inc.path, `'${inc.header}' is a CPython header, which a universal HPy build cannot include`, {
    severity: 'warning',
    notes: [replacement.note, KEPT_NOTE],
    suggestion: replacement.write,
  });
}

/** The `#include "hpy.h"` line to insert after `include` (whose text ends with its line break, if any). */
function hpyLineAfter(api: RewriteApi, include: SyntaxNode, text: string): string {
  const line = `${indentationAt(text, include.startIndex)}#include "hpy.h"`;
  return endsWithLineBreak(include, text) ? `${line}${api.eol}` : `${api.eol}${line}`;
}

function endsWithLineBreak(node: SyntaxNode, text: string): boolean {
  return node.endIndex > node.startIndex && text[node.endIndex - 1] === '\n';
}

/** The whole lines from `first` to `last`: indentation, directives and the final line break. */
function lineSpan(first: SyntaxNode, last: SyntaxNode, text: string): { start: number; end: number } {
  const start = text.lastIndexOf('\n', first.startIndex - 1) + 1;
  if (endsWithLineBreak(last, text)) return { start, end: last.endIndex };
  // The last line of a file without a final line break: take the line break before it instead.
  const before = start >= 2 && text[start - 2] === '\r' ? 2 : 1;
  return { start: Math.max(0, start - before), end: last.endIndex };
}
