import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Project, type SourceFile } from 'ts-morph';

/** The headings every transform's doc comment must have, in this order (STYLE.md §2). */
export const REQUIRED_SECTIONS = ['Why', 'Before', 'After', 'Safety', 'Limits'] as const;

/** The C examples of a doc comment: the first ```c fence under `## Before` and under `## After`. */
export interface TransformExamples {
  /** The fence's lines, each ending in `\n` (so it reads like a C file); null if there is none. */
  before: string | null;
  after: string | null;
}

/** What the doc comment of `transforms/<id>.ts` says, as plain data. */
export interface TransformDoc {
  /** The file name without `.ts`. */
  id: string;
  /** The first non-blank line of the doc. */
  summaryLine: string;
  /** The whole doc text with the comment's `/**`, `*\/` and leading ` * ` removed. */
  markdown: string;
  /** Body of each `## Heading` (trimmed), by heading text, in the order they appear. */
  sections: Record<string, string>;
  examples: TransformExamples;
}

/**
 * Reads the doc comment at the top of every `transforms/*.ts` except `index.ts`, sorted by id.
 * A file without a doc comment gives an empty doc (and so fails {@link missingSections}).
 */
export function extractTransformDocs(transformsDir: string): TransformDoc[] {
  const project = new Project({ skipAddingFilesFromTsConfig: true });
  const names = readdirSync(transformsDir).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts') && n !== 'index.ts');
  return names
    .map((n) => project.addSourceFileAtPath(join(transformsDir, n)))
    .map((f) => docFromMarkdown(basename(f.getFilePath(), '.ts'), markdownOf(topDocComment(f) ?? '')))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Builds a {@link TransformDoc} from doc text that has already been stripped of comment syntax. */
export function docFromMarkdown(id: string, markdown: string): TransformDoc {
  const sections = sectionsOf(markdown);
  return {
    id,
    summaryLine: markdown.split('\n').find((l) => l.trim() !== '')?.trim() ?? '',
    markdown,
    sections,
    examples: { before: firstCFence(sections.Before), after: firstCFence(sections.After) },
  };
}

/**
 * The required headings that are absent, or present but out of order (a heading that comes
 * before one it must follow is reported), in {@link REQUIRED_SECTIONS} order.
 */
export function missingSections(doc: Pick<TransformDoc, 'markdown'>): string[] {
  const headings = headingLines(doc.markdown).map((h) => h.title);
  const missing: string[] = [];
  let cursor = -1;
  for (const name of REQUIRED_SECTIONS) {
    const at = headings.indexOf(name, cursor + 1);
    if (at < 0) missing.push(name);
    else cursor = at;
  }
  return missing;
}

/** The first `/** ... *\/` comment before the file's first statement (even an import). */
function topDocComment(file: SourceFile): string | undefined {
  const first = file.getStatements()[0];
  const ranges = first ? first.getLeadingCommentRanges() : [];
  return ranges.map((r) => r.getText()).find((t) => t.startsWith('/**'));
}

/** Strips `/**`, `*\/` and each line's ` * ` prefix; keeps the indentation inside code fences. */
function markdownOf(comment: string): string {
  if (comment === '') return '';
  const body = comment.replace(/^\/\*\*/, '').replace(/\*\/$/, '');
  const lines = body.split(/\r?\n/).map((l) => l.replace(/^\s*\* ?/, ''));
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n');
}

interface Heading {
  title: string;
  /** Index of the heading's line. */
  line: number;
}

/** `## Title` lines outside code fences (a C fence may hold `##` token pasting). */
function headingLines(markdown: string): Heading[] {
  const out: Heading[] = [];
  let inFence = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^##\s+(.+?)\s*$/.exec(line);
    if (m) out.push({ title: m[1], line: i });
  });
  return out;
}

function sectionsOf(markdown: string): Record<string, string> {
  const lines = markdown.split('\n');
  const headings = headingLines(markdown);
  const sections: Record<string, string> = {};
  headings.forEach((h, i) => {
    const end = i + 1 < headings.length ? headings[i + 1].line : lines.length;
    if (!(h.title in sections)) sections[h.title] = lines.slice(h.line + 1, end).join('\n').trim();
  });
  return sections;
}

/** The content of the first ```c fence in `text`, each line ending in `\n`. */
function firstCFence(text: string | undefined): string | null {
  if (text === undefined) return null;
  const lines = text.split('\n');
  const open = lines.findIndex((l) => /^\s*```c\s*$/.test(l));
  if (open < 0) return null;
  const close = lines.findIndex((l, i) => i > open && /^\s*```\s*$/.test(l));
  if (close < 0) return null;
  return lines.slice(open + 1, close).map((l) => `${l}\n`).join('');
}
