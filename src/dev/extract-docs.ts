/**
 * Build step (`npm run build`): writes `dist/transform-docs.json`, the doc comment of every
 * transform keyed by id, which `hpy-migrate --explain <id>` reads.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractTransformDocs, missingSections, type TransformDoc } from './transform-docs.js';

/** One entry of `dist/transform-docs.json` (the file maps each transform id to one of these). */
export type TransformDocEntry = Omit<TransformDoc, 'id'>;

/** Builds the JSON object written to `dist/transform-docs.json`: id to doc, sorted by id. */
export function docsJson(docs: readonly TransformDoc[]): Record<string, TransformDocEntry> {
  const out: Record<string, TransformDocEntry> = {};
  for (const { id, summaryLine, markdown, sections, examples } of docs) {
    out[id] = { summaryLine, markdown, sections, examples };
  }
  return out;
}

/** The repository root, seen from `dist/src/dev/extract-docs.js`. */
function repoRoot(): string {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  if (!existsSync(join(root, 'transforms', 'index.ts'))) {
    throw new Error(`no transforms/index.ts under ${root}; run the compiled dist/src/dev/extract-docs.js`);
  }
  return root;
}

/** Writes the docs file and warns (on stderr) about doc comments that lack required headings. */
async function main(): Promise<void> {
  const root = repoRoot();
  const docs = extractTransformDocs(join(root, 'transforms'));
  for (const doc of docs) {
    const missing = missingSections(doc);
    if (missing.length > 0) {
      process.stderr.write(`transforms/${doc.id}.ts: warning: doc comment lacks or misorders ${missing.map((m) => `'## ${m}'`).join(', ')}\n`);
    }
  }
  await mkdir(join(root, 'dist'), { recursive: true });
  await writeFile(join(root, 'dist', 'transform-docs.json'), `${JSON.stringify(docsJson(docs), null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`extract-docs: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
