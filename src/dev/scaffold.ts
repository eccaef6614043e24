/**
 * `npm run scaffold -- <id>`: creates a transform, its fixture folder and its registry line in
 * one step (STYLE.md §1, §6).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IndentationText, Project, SyntaxKind, type ObjectLiteralExpression } from 'ts-morph';
import { HpyMigrateError } from '../api/errors.js';

/** Where to scaffold: `root` holds `transforms/index.ts` and `fixtures/`. */
export interface ScaffoldOptions {
  root: string;
}

/**
 * `created`: the files were written and the id registered. `exists`: the id was already
 * registered or one of its files existed, and nothing was changed.
 */
export interface ScaffoldResult {
  status: 'created' | 'exists';
  /** Root-relative paths (with `/`) of the files created; empty when `status` is `exists`. */
  files: string[];
}

/** Ids that name something other than a transform. */
export const RESERVED_IDS: readonly string[] = ['index', '_pipeline', 'extensions'];

const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const REGISTRY = 'transforms/index.ts';

/** Throws a `usage` {@link HpyMigrateError} unless `id` is a kebab-case, unreserved transform id. */
export function checkTransformId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new HpyMigrateError('usage', `transform id '${id}' is not kebab-case (e.g. 'py-type-comparison')`);
  }
  if (RESERVED_IDS.includes(id)) throw new HpyMigrateError('usage', `transform id '${id}' is reserved`);
}

/**
 * Creates `transforms/<id>.ts`, `fixtures/<id>/` (one changing and one untouched case) and the
 * registry line in `transforms/index.ts`. Idempotent: if anything of `id` exists already, nothing
 * is written and the status is `exists`. Throws `usage` for a bad id.
 */
export async function scaffoldTransform(id: string, options: ScaffoldOptions): Promise<ScaffoldResult> {
  checkTransformId(id);
  const registryPath = join(options.root, REGISTRY);
  const registryText = await readFile(registryPath, 'utf8');
  const newRegistry = registerTransform(registryText, id);
  const files = plannedFiles(id);
  const taken = Object.keys(files).some((rel) => existsSync(join(options.root, rel)));
  if (newRegistry === null || taken) return { status: 'exists', files: [] };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(options.root, rel)), { recursive: true });
    await writeFile(join(options.root, rel), text, { flag: 'wx' });
  }
  await writeFile(registryPath, newRegistry);
  return { status: 'created', files: Object.keys(files) };
}

/**
 * Adds `'<id>': () => import('./<id>.js'),` to the `registry` object literal, keeping the
 * properties sorted by id and the rest of the text as it was. Returns null if `id` is registered.
 */
export function registerTransform(registryText: string, id: string): string | null {
  const project = new Project({
    useInMemoryFileSystem: true,
    skipAddingFilesFromTsConfig: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces },
  });
  const file = project.createSourceFile('index.ts', registryText);
  const registry = file.getVariableDeclaration('registry')?.getInitializerIfKind(SyntaxKind.ObjectLiteralExpression);
  if (!registry) throw new HpyMigrateError('input', `${REGISTRY} has no 'registry' object literal`);
  const ids = registeredIds(registry);
  if (ids.includes(id)) return null;
  const at = ids.findIndex((other) => other > id);
  registry.insertPropertyAssignment(at < 0 ? ids.length : at, {
    name: `'${id}'`,
    initializer: `() => import('./${id}.js')`,
  });
  // ts-morph leaves the last property without a comma; every registry line ends in one.
  if (!registry.compilerNode.properties.hasTrailingComma) {
    const last = registry.getProperties().at(-1);
    if (last) file.insertText(last.getEnd(), ',');
  }
  return file.getFullText();
}

/** The ids of the registry's properties (names may be quoted or bare). */
function registeredIds(registry: ObjectLiteralExpression): string[] {
  return registry.getProperties().map((p) => {
    const name = p.isKind(SyntaxKind.PropertyAssignment) || p.isKind(SyntaxKind.ShorthandPropertyAssignment) ? p.getNameNode() : null;
    if (!name) throw new HpyMigrateError('input', `${REGISTRY}: registry entries must be 'id': loader pairs`);
    return name.isKind(SyntaxKind.StringLiteral) ? name.getLiteralValue() : name.getText();
  });
}

/** Root-relative path to content of every file the scaffold creates, in creation order. */
function plannedFiles(id: string): Record<string, string> {
  return {
    [`transforms/${id}.ts`]: transformTemplate(id),
    [`fixtures/${id}/renames-identifier.input.c`]: changingCase('OLD_NAME'),
    [`fixtures/${id}/renames-identifier.output.c`]: changingCase('NEW_NAME'),
    [`fixtures/${id}/unrelated-code.input.c`]: UNTOUCHED_CASE,
  };
}

/** The new transform's doc comment: placeholders, with examples that match its rewrite. */
const DOC_TEMPLATE = `/**
 * Renames the identifier \`OLD_NAME\` to \`NEW_NAME\` (placeholder: describe the rewrite in one line).
 *
 * ## Why
 * Placeholder: what goes wrong under HPy if the code is left as it is, with a link to the right
 * section of the HPy porting guide (https://docs.hpyproject.org/en/latest/porting-guide.html).
 *
 * ## Before
 * \`\`\`c
 * long placeholder(void) { return OLD_NAME; }
 * \`\`\`
 *
 * ## After
 * \`\`\`c
 * long placeholder(void) { return NEW_NAME; }
 * \`\`\`
 *
 * ## Safety
 * safe: placeholder: why the rewrite keeps the meaning (or, for \`review\`, what to check).
 *
 * ## Limits
 * Placeholder: what is left alone on purpose and what is reported instead. As written, only
 * identifiers in code are renamed: type names, macro bodies, comments and strings are not.
 */
`;

/**
 * The new transform: a placeholder that renames the identifier `OLD_NAME` to `NEW_NAME`, so
 * that its doc examples and its fixtures pass the harness before any real work is done.
 */
function transformTemplate(id: string): string {
  return `${DOC_TEMPLATE}import { defineTransform } from '../src/api/index.js';

const PLACEHOLDER_IDENTIFIER = \`((identifier) @name (#eq? @name "OLD_NAME"))\`;

export default defineTransform({
  id: '${id}',
  summary: 'OLD_NAME becomes NEW_NAME (placeholder summary)',
  concern: 'handles',
  safety: 'safe',
  default: true,
  rewrite(file, api) {
    for (const { name } of api.matches(PLACEHOLDER_IDENTIFIER)) {
      api.replace(name, 'NEW_NAME');
    }
  },
});
`;
}

function changingCase(name: string): string {
  return `#include <Python.h>

static PyObject *
placeholder_value(PyObject *self, PyObject *args)
{
    return PyLong_FromLong(${name});
}
`;
}

const UNTOUCHED_CASE = `#include <Python.h>

/* OLD_NAME in a comment is not code. */
static PyObject *
placeholder_name(PyObject *self, PyObject *args)
{
    return PyUnicode_FromString("OLD_NAME");
}
`;

/** The repository root, seen from `dist/src/dev/scaffold.js`. */
function repoRoot(): string {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  if (!existsSync(join(root, REGISTRY))) {
    throw new HpyMigrateError('io', `no ${REGISTRY} under ${root}; run the compiled dist/src/dev/scaffold.js`);
  }
  return root;
}

/** Runs the scaffold for `argv` (the arguments after the script) and returns the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const id = argv[0];
  if (argv.length !== 1 || id === undefined) {
    process.stderr.write('usage: npm run scaffold -- <transform-id>\n');
    return 2;
  }
  try {
    const result = await scaffoldTransform(id, { root: repoRoot() });
    if (result.status === 'exists') {
      process.stdout.write(`transform '${id}' exists; nothing changed\n`);
      return 0;
    }
    for (const f of result.files) process.stdout.write(`created ${f}\n`);
    process.stdout.write(`registered '${id}' in ${REGISTRY}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`scaffold: ${(e as Error).message}\n`);
    return e instanceof HpyMigrateError && e.code === 'usage' ? 2 : 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
