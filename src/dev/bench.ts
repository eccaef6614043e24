/**
 * `npm run bench`: generates a corpus of CPython C-API code and times a parse-only baseline
 * against the tool's dry run over it. It prints figures and never asserts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createCParser } from '../api/index.js';
import { runCli } from '../cli/main.js';

/** Size and shape of the generated corpus. */
export interface CorpusOptions {
  files: number;
  /** Lower bound on the total size, in characters (bytes: the corpus is ASCII). */
  minBytes: number;
  /** Every `crlfEvery`-th file uses CRLF line endings. */
  crlfEvery: number;
  seed: number;
}

/** What was written. */
export interface Corpus {
  paths: string[];
  bytes: number;
  crlfFiles: number;
}

/** A small deterministic pseudo-random source (mulberry32), so every run sees the same corpus. */
export interface Rng {
  /** In [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
}

/** Creates an {@link Rng} from a seed. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (items) => items[int(0, items.length - 1)] };
}

const WORDS: readonly string[] = ['point', 'vector', 'buffer', 'node', 'matrix', 'queue', 'record', 'span', 'token', 'cache'];
const ERRORS: readonly string[] = ['PyExc_ValueError', 'PyExc_TypeError', 'PyExc_IndexError', 'PyExc_OverflowError'];

/** One generated C function: its name (for the method table) and its text. */
interface CFunction {
  name: string;
  text: string;
}

type Emitter = (name: string, rng: Rng) => string;

const emitRefcounts: Emitter = (name, rng) => `/* Swaps the cached item; the old one is released after the new one is held. */
static PyObject *
${name}(PyObject *self, PyObject *arg)
{
    ${rng.pick(WORDS)}Object *obj = (${rng.pick(WORDS)}Object *)self;
    PyObject *old = obj->item;
    Py_INCREF(arg);
    obj->item = arg;
    Py_XDECREF(old);
    if (obj->count++ > ${rng.int(2, 900)}) {
        Py_DECREF(arg);
        Py_RETURN_NONE;
    }
    Py_INCREF(self);
    return self;
}
`;

const emitListBuilder: Emitter = (name, rng) => `static PyObject *
${name}(PyObject *self, PyObject *args)
{
    long n = ${rng.int(1, 64)};
    PyObject *result = PyList_New(0);
    if (result == NULL) {
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        PyObject *item = PyLong_FromLong(i * ${rng.int(2, 17)});  // new reference
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(item);
    }
    return result;
}
`;

const emitValidator: Emitter = (name, rng) => `/*
 * Checks the ${rng.pick(WORDS)} size before it is stored.
 */
static PyObject *
${name}(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "n", &size)) {
        return NULL;
    }
    if (size < 0 || size > ${rng.int(16, 65536)}) {
        PyErr_SetString(${rng.pick(ERRORS)}, "${name}: size out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}
`;

const emitSum: Emitter = (name) => `static PyObject *
${name}(PyObject *self, PyObject *seq)
{
    long total = 0;
    if (!PyList_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "expected a list");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); i++) {
        long v = PyLong_AsLong(PyList_GetItem(seq, i));
        if (v == -1 && PyErr_Occurred()) {
            return NULL;
        }
        total += v;
    }
    return PyLong_FromLong(total);
}
`;

const EMITTERS: readonly Emitter[] = [emitRefcounts, emitListBuilder, emitValidator, emitSum];

/** The file's header: a comment, the include and an object struct. */
function moduleHeader(module: string, rng: Rng): string {
  const type = `${rng.pick(WORDS)}Object`;
  return `/*
 * ${module}.c: generated for the hpy-migrate benchmark (${rng.int(1, 9999)}).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    PyObject *item;
    long count;
} ${type};

`;
}

/** The method table, the module definition and the init function. */
function moduleFooter(module: string, functions: readonly CFunction[]): string {
  const rows = functions.map((f) => `    {"${f.name}", (PyCFunction)${f.name}, METH_VARARGS, NULL},\n`).join('');
  return `static PyMethodDef ${module}_methods[] = {
${rows}    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef ${module}_module = {
    PyModuleDef_HEAD_INIT, "${module}", NULL, -1, ${module}_methods
};

PyMODINIT_FUNC
PyInit_${module}(void)
{
    return PyModule_Create(&${module}_module);
}
`;
}

/** One C file of at least `minBytes` characters. */
export function generateModule(module: string, minBytes: number, rng: Rng): string {
  const functions: CFunction[] = [];
  let body = moduleHeader(module, rng);
  while (body.length < minBytes) {
    const name = `${module}_${rng.pick(WORDS)}_${functions.length}`;
    const text = rng.pick(EMITTERS)(name, rng);
    functions.push({ name, text });
    body += `${text}\n`;
  }
  return body + moduleFooter(module, functions);
}

/** Writes the corpus under `dir/ext/`. */
export async function writeCorpus(dir: string, options: CorpusOptions): Promise<Corpus> {
  const rng = createRng(options.seed);
  const perFile = Math.ceil(options.minBytes / options.files);
  await mkdir(join(dir, 'ext'), { recursive: true });
  const corpus: Corpus = { paths: [], bytes: 0, crlfFiles: 0 };
  for (let i = 0; i < options.files; i++) {
    const crlf = i % options.crlfEvery === options.crlfEvery - 1;
    const lf = generateModule(`mod${i}`, rng.int(perFile, Math.ceil(perFile * 1.4)), rng);
    const text = crlf ? lf.replace(/\n/g, '\r\n') : lf;
    const path = join(dir, 'ext', `mod${i}.c`);
    await writeFile(path, text);
    corpus.paths.push(path);
    corpus.bytes += Buffer.byteLength(text);
    if (crlf) corpus.crlfFiles++;
  }
  return corpus;
}

/** Reads and parses every file: the floor any tool built on tree-sitter-c pays. */
async function parseOnly(paths: readonly string[]): Promise<void> {
  const parser = createCParser();
  for (const p of paths) parser.parse(await readFile(p, 'utf8'));
}

/** The tool's default dry run (`hpy-migrate DIR --format json`), output discarded. */
async function dryRun(dir: string): Promise<number> {
  return runCli([dir, '--format', 'json'], { stdout: () => {}, stderr: () => {}, cwd: dir });
}

/** Timings of one phase, and the resident set size sampled right after it. */
interface PhaseResult {
  seconds: number[];
  rssBytes: number;
}

async function timePhase(runs: number, work: () => Promise<unknown>): Promise<PhaseResult> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await work();
    seconds.push((performance.now() - t0) / 1000);
  }
  return { seconds, rssBytes: process.memoryUsage().rss };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const MB = 1e6;

/** Column widths of the table; positive pads at the start (numbers), negative at the end. */
const COLUMNS: readonly number[] = [-11, 5, 6, 9, 7, -20, 10];

function tableRow(cells: readonly string[]): string {
  return cells.map((c, i) => (COLUMNS[i] < 0 ? c.padEnd(-COLUMNS[i]) : c.padStart(COLUMNS[i]))).join('  ');
}

function phaseRow(name: string, corpus: Corpus, r: PhaseResult): string {
  const med = median(r.seconds);
  return tableRow([
    name,
    String(corpus.paths.length),
    (corpus.bytes / MB).toFixed(2),
    med.toFixed(3),
    (corpus.bytes / MB / med).toFixed(2),
    r.seconds.map((s) => s.toFixed(3)).join(' '),
    `${(r.rssBytes / MB).toFixed(0)} MB`,
  ]);
}

/** Prints the figures table. */
function printReport(corpus: Corpus, parse: PhaseResult, dry: PhaseResult, exitCode: number): void {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const ratio = median(dry.seconds) / median(parse.seconds);
  out(`hpy-migrate bench: Node ${process.version} (${process.platform}-${process.arch})`);
  out(`corpus: ${corpus.paths.length} files, ${(corpus.bytes / MB).toFixed(2)} MB (MB = 10^6 bytes), ${corpus.crlfFiles} with CRLF`);
  out(tableRow(['phase', 'files', 'MB', 'median s', 'MB/s', 'runs (s)', 'rss after']));
  out(phaseRow('parse-only', corpus, parse));
  out(phaseRow('dry-run', corpus, dry));
  out(`ratio dry-run / parse-only: ${ratio.toFixed(2)} (dry-run exit code ${exitCode})`);
  out(`peak rss: ${(Math.max(parse.rssBytes, dry.rssBytes) / MB).toFixed(0)} MB sampled after each phase; ${((process.resourceUsage().maxRSS * 1024) / MB).toFixed(0)} MB process maximum`);
  out('note: the ratio is the cost of the whole dry run (finding files, indexing, every pass of every default transform, the report) in units of one plain parse of the corpus; the closer to 1, the more the tool is bound by parsing itself.');
}

/** Generates the corpus in a temp dir, times both phases (median of `runs`), prints, cleans up. */
export async function runBench(runs = 3): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hpy-migrate-bench-'));
  try {
    const corpus = await writeCorpus(dir, { files: 200, minBytes: MB, crlfEvery: 7, seed: 20240611 });
    const parse = await timePhase(runs, () => parseOnly(corpus.paths));
    let exitCode = -1;
    const dry = await timePhase(runs, async () => {
      exitCode = await dryRun(dir);
    });
    printReport(corpus, parse, dry, exitCode);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runBench();
}
