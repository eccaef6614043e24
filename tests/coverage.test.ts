/**
 * Issue 4's measuring stick: the 130 CPython C-API names real extensions use most
 * (`fixtures/_coverage/names.tsv`, in the issue's order). Each row's snippet is put in a small
 * complete module and migrated with `--all`; the name is
 *  - handled  if it no longer occurs in the written result (comments and string literals aside),
 *  - reported if a diagnostic of the dry run (JSON report) mentions it in its message or notes,
 *  - a gap    otherwise.
 *
 * Snippet syntax (one line, `\n` stands for a line break); the first line of the file is a header:
 *  - plain text goes in the body of `probe` (a METH_O function: `obj`, `res`, `n`, `v` in scope);
 *  - `@file:TEXT` goes at file scope before `probe`, `@body:TEXT` in `probe`'s body, and
 *    `@init:TEXT` in `PyInit_probe` after `m = PyModule_Create(...)` (for the names real
 *    extensions use at module init: `PyType_Ready`, `PyModule_AddObject`, ...); they combine as
 *    `@file:A @init:C`;
 *  - `-` means the wrapper's own use of the name is the case (e.g. `PyModule_Create`).
 * Every wrapped snippet compiles against Python.h (`cc -fsyntax-only`).
 *
 * Names that are gaps today are listed in KNOWN_GAPS and expected to fail; when a transform
 * starts handling or reporting one, its test fails and the name must leave the list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeWithoutCommentsAndStrings } from '../src/api/index.js';
import { cli, tempTree } from './support/cli-harness.js';
import { repoRoot } from './support/python.js';

// Measured by running this test (neither handled nor reported today), not guessed.
const KNOWN_GAPS = new Set<string>([
]);

const TSV = join(repoRoot, 'fixtures', '_coverage', 'names.tsv');

interface Row {
  name: string;
  snippet: string;
}

function rows(): Row[] {
  const lines = readFileSync(TSV, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const [name, snippet] = line.split('\t');
    return { name, snippet };
  });
}

function wrap(snippet: string): string {
  const s = snippet.replace(/\\n/g, '\n');
  const part: Record<string, string> = { body: '', file: '', init: '' };
  if (s !== '-') {
    const pieces = s.split(/(?:^| )@(file|body|init):/);
    part.body = pieces[0];
    for (let i = 1; i < pieces.length; i += 2) part[pieces[i]] = pieces[i + 1];
  }
  const init = part.init
    ? `PyMODINIT_FUNC PyInit_probe(void)
{
    PyObject *m = PyModule_Create(&probe_module);
    if (m == NULL) return NULL;
    ${part.init}
    return m;
}
`
    : 'PyMODINIT_FUNC PyInit_probe(void) { return PyModule_Create(&probe_module); }\n';
  return `#include <Python.h>
${part.file ? `${part.file}\n` : ''}static PyObject *probe(PyObject *self, PyObject *arg)
{
    PyObject *obj = arg; PyObject *res = NULL; Py_ssize_t n = 0; long v = 0; (void)n; (void)v;
    ${part.body}
    Py_RETURN_NONE;
}
static PyMethodDef probe_methods[] = { {"probe", probe, METH_O, NULL}, {NULL, NULL, 0, NULL} };
static struct PyModuleDef probe_module = { PyModuleDef_HEAD_INIT, "probe", NULL, -1, probe_methods };
${init}`;
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(text);
}

const codeOnly = codeWithoutCommentsAndStrings;

type Outcome = 'handled' | 'reported' | 'gap';

interface Diagnostic {
  message: string;
  notes?: string[];
}

async function classify(row: Row): Promise<{ outcome: Outcome; detail: string }> {
  const dir = tempTree({ 'probe.c': wrap(row.snippet) });
  const dry = await cli(['--all', '--format', 'json', dir], dir);
  const report = JSON.parse(dry.stdout) as { files: { diagnostics: Diagnostic[] }[] };
  const diagnostics = report.files.flatMap((f) => f.diagnostics);
  const write = await cli(['--all', '--write', '--allow-dirty', dir], dir);
  const migrated = readFileSync(join(dir, 'probe.c'), 'utf8');
  const detail = `dry run exit ${dry.code}, write exit ${write.code}\n${write.stderr}\n--- migrated:\n${migrated}`;
  if (!mentions(codeOnly(migrated), row.name)) return { outcome: 'handled', detail };
  const reported = diagnostics.some(
    (d) => mentions(d.message, row.name) || (d.notes ?? []).some((n) => mentions(n, row.name)),
  );
  return { outcome: reported ? 'reported' : 'gap', detail };
}

const outcomes = new Map<string, Outcome>();

describe('issue 4 coverage: each of the 130 most used C-API names is handled or reported', () => {
  const all = rows();

  it('lists the 130 names once each', () => {
    expect(all.length).toBe(130);
    expect(new Set(all.map((r) => r.name)).size).toBe(130);
  });

  for (const row of all) {
    const check = async () => {
      const { outcome, detail } = await classify(row);
      outcomes.set(row.name, outcome);
      expect(outcome, `${row.name} is neither handled nor reported\n${detail}`).not.toBe('gap');
    };
    if (KNOWN_GAPS.has(row.name)) it.fails(`${row.name} (known gap: issue 4)`, check);
    else it(row.name, check);
  }

  it('summary', () => {
    const count = (o: Outcome) => [...outcomes.values()].filter((x) => x === o).length;
    const gaps = [...outcomes].filter(([, o]) => o === 'gap').map(([n]) => n);
    console.log(
      `coverage: ${count('handled')} handled, ${count('reported')} reported, ${count('gap')} gaps of ${outcomes.size}` +
        (gaps.length ? `\ngaps: ${gaps.join(', ')}` : ''),
    );
    expect(outcomes.size).toBe(all.length);
  });
});
