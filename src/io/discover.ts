import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import { HpyMigrateError } from '../api/index.js';
import { describeError } from './source-file.js';

/** Result of discovery. */
export interface Discovery {
  /**
   * The files to process: sorted, unique, and written as the user would see them (relative to
   * the current directory if the root was given as a relative path, absolute otherwise).
   */
  files: string[];
  /** One line each: symlinks and folders that were skipped, and why. */
  notes: string[];
}

/** Options of {@link discoverFiles}. */
export interface DiscoverOptions {
  /** The directory that relative roots are resolved against and shown relative to. */
  cwd: string;
}

/** The rules of one ignore file, which apply to paths below `base`. */
interface Layer {
  base: string;
  rules: ReturnType<typeof ignore>;
}

/** A root as given, resolved. */
interface Root {
  given: string;
  abs: string;
  relative: boolean;
  isDir: boolean;
}

/** A directory waiting to be walked, with the ignore rules that apply inside it. */
interface WalkItem {
  dir: string;
  layers: readonly Layer[];
  relative: boolean;
}

/** The state of one discovery run; created per call. */
interface Walk {
  cwd: string;
  rootReals: string[];
  visited: Set<string>;
  /** Real path to shown path: the first path that reached a file wins, unless it was a symlink. */
  files: Map<string, { shown: string; viaLink: boolean }>;
  notes: string[];
  /** Directories reached without a symlink; all are walked before any in `linked`. */
  pending: WalkItem[];
  linked: WalkItem[];
}

const SOURCE_NAME = /\.[ch]$/;

/**
 * Finds the C files to process. Each root is a file (taken whatever its extension) or a directory,
 * walked recursively for `*.c` and `*.h`. `.gitignore` files apply as git applies them: those of
 * the walked folders, and those of the parent folders up to the top of the git checkout. `.git`
 * folders are skipped. A symlink is followed only if it points inside one of the roots; loops,
 * links pointing outside and broken links give a note. Files reached twice are listed once.
 * Throws `HpyMigrateError('input')` if a root does not exist.
 */
export async function discoverFiles(roots: string[], options: DiscoverOptions): Promise<Discovery> {
  const resolved: Root[] = [];
  for (const given of roots) resolved.push(await resolveRoot(given, options.cwd));
  const walk: Walk = {
    cwd: options.cwd,
    rootReals: await Promise.all(resolved.map((root) => realpath(root.abs))),
    visited: new Set(),
    files: new Map(),
    notes: [],
    pending: [],
    linked: [],
  };
  for (const root of resolved) await startRoot(walk, root);
  for (let item = nextItem(walk); item; item = nextItem(walk)) await walkDir(walk, item);
  const files = new Set([...walk.files.values()].map((file) => file.shown));
  return { files: [...files].sort(), notes: [...new Set(walk.notes)] };
}

async function resolveRoot(given: string, cwd: string): Promise<Root> {
  const abs = path.resolve(cwd, given);
  let stats;
  try {
    stats = await stat(abs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new HpyMigrateError('input', `path '${given}' does not exist`);
    }
    throw new HpyMigrateError('input', `cannot access '${given}': ${describeError(error)}`);
  }
  if (!stats.isDirectory() && !stats.isFile()) {
    throw new HpyMigrateError('input', `path '${given}' is not a file or directory`);
  }
  return { given, abs, relative: !path.isAbsolute(given), isDir: stats.isDirectory() };
}

async function startRoot(walk: Walk, root: Root): Promise<void> {
  if (root.isDir) {
    const layers = await rootLayers(walk, root);
    walk.pending.push({ dir: root.abs, layers, relative: root.relative });
  } else {
    addFile(walk, root.abs, await realpath(root.abs), root.relative, false);
  }
}

function nextItem(walk: Walk): WalkItem | undefined {
  return walk.pending.pop() ?? walk.linked.shift();
}

async function walkDir(walk: Walk, item: WalkItem): Promise<void> {
  let real: string;
  let entries: Dirent[];
  try {
    real = await realpath(item.dir);
    if (walk.visited.has(real)) return;
    walk.visited.add(real);
    entries = await readdir(item.dir, { withFileTypes: true });
  } catch (error) {
    walk.notes.push(`skipped '${show(walk, item.dir, item.relative)}': ${describeError(error)}`);
    return;
  }
  const here = { ...item, layers: await withIgnoreFile(walk, item) };
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) await visitEntry(walk, here, entry, real);
}

async function visitEntry(walk: Walk, item: WalkItem, entry: Dirent, dirReal: string): Promise<void> {
  if (entry.name === '.git') return;
  const full = path.join(item.dir, entry.name);
  if (entry.isSymbolicLink()) {
    await visitLink(walk, item, full, dirReal);
  } else if (entry.isDirectory()) {
    if (!isIgnored(item.layers, full, true)) walk.pending.push({ ...item, dir: full });
  } else if (entry.isFile() && SOURCE_NAME.test(entry.name) && !isIgnored(item.layers, full, false)) {
    addFile(walk, full, path.join(dirReal, entry.name), item.relative, false);
  }
}

async function visitLink(walk: Walk, item: WalkItem, full: string, dirReal: string): Promise<void> {
  const skip = (why: string): void => {
    walk.notes.push(`skipped symlink '${show(walk, full, item.relative)}': ${why}`);
  };
  let real: string;
  let isDir: boolean;
  try {
    real = await realpath(full);
    isDir = (await stat(real)).isDirectory();
  } catch (error) {
    if (!isIgnored(item.layers, full, false)) skip(describeLinkError(error));
    return;
  }
  if (isDir ? isIgnored(item.layers, full, true) : !isCandidateFile(item, full)) return;
  if (!isInside(walk.rootReals, real)) return skip('it points outside the given paths');
  if (!isDir) return addFile(walk, full, real, item.relative, true);
  // A link to the folder that holds it, or to one of that folder's parents, never ends.
  if (isInside([real], dirReal)) return skip('loop');
  walk.linked.push({ ...item, dir: full });
}

function isCandidateFile(item: WalkItem, full: string): boolean {
  return SOURCE_NAME.test(full) && !isIgnored(item.layers, full, false);
}

function describeLinkError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'its target does not exist';
  if (code === 'ELOOP') return 'loop';
  return describeError(error);
}

/** Files reached through folder symlinks come after all others, since `linked` is walked last. */
function addFile(walk: Walk, abs: string, real: string, relative: boolean, viaLink: boolean): void {
  const known = walk.files.get(real);
  if (known && (viaLink || !known.viaLink)) return;
  walk.files.set(real, { shown: show(walk, abs, relative), viaLink });
}

function show(walk: Walk, abs: string, relative: boolean): string {
  return relative ? path.relative(walk.cwd, abs) || '.' : abs;
}

function isInside(bases: readonly string[], target: string): boolean {
  return bases.some((base) => {
    const prefix = base.endsWith(path.sep) ? base : base + path.sep;
    return target === base || target.startsWith(prefix);
  });
}

/**
 * Whether git would ignore `abs`. The deepest ignore file with a rule for the path decides, and
 * within one file the last matching rule wins (the `ignore` package does that part).
 */
function isIgnored(layers: readonly Layer[], abs: string, isDir: boolean): boolean {
  for (let i = layers.length - 1; i >= 0; i--) {
    const rel = path.relative(layers[i].base, abs).split(path.sep).join('/');
    if (rel === '' || rel === '..' || rel.startsWith('../')) continue;
    const result = layers[i].rules.test(isDir ? `${rel}/` : rel);
    if (result.ignored) return true;
    if (result.unignored) return false;
  }
  return false;
}

async function withIgnoreFile(walk: Walk, item: WalkItem): Promise<readonly Layer[]> {
  const rules = await readIgnoreFile(walk, path.join(item.dir, '.gitignore'), item.relative);
  return rules ? [...item.layers, { base: item.dir, rules }] : item.layers;
}

/**
 * The ignore rules that apply to a root from above: `.git/info/exclude` and the `.gitignore` files
 * from the checkout's top down to the root's parent. A root that these rules ignore was still named
 * on purpose, so it is walked without them.
 */
async function rootLayers(walk: Walk, root: Root): Promise<readonly Layer[]> {
  const top = await findCheckoutTop(root.abs);
  if (top === undefined) return [];
  const layers: Layer[] = [];
  const exclude = await readIgnoreFile(walk, path.join(top, '.git', 'info', 'exclude'), root.relative);
  if (exclude) layers.push({ base: top, rules: exclude });
  const parts = path.relative(top, root.abs).split(path.sep).filter(Boolean);
  for (let depth = 0; depth < parts.length; depth++) {
    const dir = path.join(top, ...parts.slice(0, depth));
    const rules = await readIgnoreFile(walk, path.join(dir, '.gitignore'), root.relative);
    if (rules) layers.push({ base: dir, rules });
  }
  return isIgnored(layers, root.abs, true) ? [] : layers;
}

/** The closest folder at or above `dir` that holds a `.git` entry (folder, or file for worktrees). */
async function findCheckoutTop(dir: string): Promise<string | undefined> {
  for (let current = dir; ; current = path.dirname(current)) {
    const found = await lstat(path.join(current, '.git')).then(() => true, () => false);
    if (found) return current;
    if (path.dirname(current) === current) return undefined;
  }
}

async function readIgnoreFile(walk: Walk, file: string, relative: boolean): Promise<Layer['rules'] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      walk.notes.push(`cannot read '${show(walk, file, relative)}': ${describeError(error)}`);
    }
    return undefined;
  }
  // git matches case-sensitively unless core.ignoreCase is set; the package's default is the reverse.
  return ignore({ ignorecase: false }).add(text);
}
