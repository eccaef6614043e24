/**
 * Names (DESIGN.md §5, step 2): every HPy identifier in a fixture output must be one of the
 * 585 names of hpy-0.9.0-names.txt and must be declared by the installed HPy headers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpyIncludeDir, repoRoot, requireHpy } from './support/python.js';

const NAMES_FILE = join(repoRoot, '..', 'shared', 'hpy-reference', 'hpy-0.9.0-names.txt');

/** Names every port needs; checked even while no fixture output exists. */
const BASELINE_NAMES = [
  'HPy_Dup', 'HPy_Close', 'HPy_IsNull', 'HPy_NULL', 'HPyContext', 'h_None',
  'HPyLong_FromLong', 'HPyErr_SetString',
];

function walkFiles(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && keep(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function memoise<T>(compute: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => (cached ??= { value: compute() }).value;
}

const listedNames = memoise(() => {
  const lines = readFileSync(NAMES_FILE, 'utf8').split('\n');
  return new Set(lines.map((line) => line.trim()).filter((line) => line && !line.startsWith('#')));
});

/** Every word of every `.h` file under the HPy include folder. */
const headerWords = memoise(() => {
  requireHpy();
  const words = new Set<string>();
  for (const header of walkFiles(hpyIncludeDir(), (name) => name.endsWith('.h'))) {
    for (const word of readFileSync(header, 'utf8').match(/\b\w+\b/g) ?? []) words.add(word);
  }
  return words;
});

/** Blanks out comments and string/char literals: names there are prose, not code. */
function codeOnly(source: string): string {
  return source.replace(
    /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g,
    (match) => match.replace(/[^\n]/g, ' '),
  );
}

/** Names the file itself defines: macros, typedefs, functions, HPyDef_* / helper symbols. */
function namesDefinedIn(code: string): Set<string> {
  const patterns = [
    /#\s*define\s+(\w+)/g,
    /\btypedef\b[^;{]*(?:\{[^}]*\}\s*)?\**\s*(\w+)\s*;/g,
    /\b(?:struct|enum|union)\s+(\w+)\s*\{/g,
    /\bHPyDef_\w+\s*\(\s*(\w+)/g,
    /\bHPyType_(?:LEGACY_)?HELPERS\s*\(\s*(\w+)/g,
    /^[A-Za-z_][\w \t*]*?\b(\w+)\s*\([^;{()]*\)\s*\{/gm,
  ];
  const defined = new Set<string>();
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) defined.add(match[1]);
  }
  return defined;
}

/** HPy identifiers used by the file (`ctx->h_X` counts as `h_X`), minus its own definitions. */
function hpyNamesUsedIn(source: string): string[] {
  const code = codeOnly(source);
  const used = new Set<string>();
  for (const match of code.matchAll(/\b(?:HPy|HPY)\w*/g)) used.add(match[0]);
  for (const match of code.matchAll(/\bctx\s*->\s*(h_\w+)/g)) used.add(match[1]);
  const defined = [...namesDefinedIn(code)];
  const isOwn = (name: string): boolean =>
    defined.some((own) => name === own || name.startsWith(`${own}_`));
  return [...used].filter((name) => !isOwn(name)).sort();
}

/** Why a name is not a valid HPy 0.9.0 identifier, or undefined if it is. */
function nameProblem(name: string): string | undefined {
  if (!listedNames().has(name)) return `${name}: not in hpy-0.9.0-names.txt`;
  if (!headerWords().has(name)) return `${name}: not declared by the installed HPy headers`;
  return undefined;
}

function problemsOf(names: string[]): string[] {
  return names.flatMap((name) => nameProblem(name) ?? []);
}

const fixtureOutputs = walkFiles(join(repoRoot, 'fixtures'), (name) => name.endsWith('.output.c'));

describe('HPy names', () => {
  it('reads all 585 names of the reference list', () => {
    expect(listedNames().size).toBe(585);
  });

  it('accepts the names the transforms always emit', () => {
    expect(problemsOf(BASELINE_NAMES)).toEqual([]);
  });

  it('rejects names that only exist after HPy 0.9.0 or nowhere', () => {
    expect(problemsOf(['HPyList_Insert', 'HPy_GetIter', 'h_DictType', 'HPyNoSuchThing'])).toHaveLength(4);
  });

  it('finds HPy names in code and ignores comments, strings and own definitions', () => {
    const source = [
      '/* HPyNotReal in a comment */',
      '#define HPY_LOCAL_FLAG 1',
      'HPyDef_METH(HPyPoint_norm, "norm", HPyFunc_NOARGS)',
      'static HPy HPyPoint_norm_impl(HPyContext *ctx, HPy self) {',
      '    HPyErr_SetString(ctx, ctx->h_ValueError, "HPyAlsoNotReal");',
      '    return HPy_NULL;',
      '}',
    ].join('\n');
    expect(hpyNamesUsedIn(source)).toEqual([
      'HPy', 'HPyContext', 'HPyDef_METH', 'HPyErr_SetString', 'HPyFunc_NOARGS', 'HPy_NULL', 'h_ValueError',
    ]);
  });

  // One test per fixture output, so that a failure names the file and the identifiers.
  for (const file of fixtureOutputs) {
    it(`are all valid in ${relative(repoRoot, file)}`, () => {
      const problems = problemsOf(hpyNamesUsedIn(readFileSync(file, 'utf8')));
      expect(problems, `${relative(repoRoot, file)} uses unknown HPy names`).toEqual([]);
    });
  }
});
