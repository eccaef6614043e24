import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { HpyMigrateError } from '../api/index.js';
import { describeError } from './source-file.js';

/** Output of one git command. */
interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A path as it was given, and the same file relative to its repository top, with '/'. */
interface Member {
  given: string;
  rel: string;
}

/** Pathspecs per `git status` call, to stay well below the command-line length limit. */
const STATUS_BATCH = 200;

/**
 * Files among `paths` that have uncommitted changes (modified, staged or untracked-but-not-ignored)
 * in their git checkout. Files outside any git checkout are never dirty, and neither is any file
 * when git is not installed. Returns the dirty paths as they were given, in the given order.
 * Throws `HpyMigrateError('io')` if git fails for another reason, since the answer would be unsafe.
 */
export async function dirtyFiles(paths: string[]): Promise<string[]> {
  let groups: Map<string, Member[]>;
  try {
    groups = await groupByRepository(paths);
  } catch (error) {
    if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const dirty = new Set<string>();
  for (const [top, members] of groups) {
    const changed = await changedPaths(top, members.map((member) => member.rel));
    for (const member of members) {
      if (isChanged(changed, member.rel)) dirty.add(member.given);
    }
  }
  return paths.filter((path) => dirty.has(path));
}

/** Groups the paths by repository top; paths outside a repository (or missing) are left out. */
async function groupByRepository(paths: string[]): Promise<Map<string, Member[]>> {
  const tops = new Map<string, string | undefined>();
  const groups = new Map<string, Member[]>();
  for (const given of paths) {
    const absolute = resolve(given);
    const dir = await realpath(dirname(absolute)).catch(() => undefined);
    if (dir === undefined) continue;
    if (!tops.has(dir)) tops.set(dir, await repositoryTop(dir, given));
    const top = tops.get(dir);
    if (top === undefined) continue;
    const rel = relative(top, join(dir, basename(absolute))).split(sep).join('/');
    groups.set(top, [...(groups.get(top) ?? []), { given, rel }]);
  }
  return groups;
}

/** The top of the work tree that holds `dir`, or `undefined` if it is not in one. */
async function repositoryTop(dir: string, given: string): Promise<string | undefined> {
  const result = await runGit(['-C', dir, 'rev-parse', '--show-toplevel']);
  if (result.code === 0) return result.stdout.replace(/\n$/, '');
  if (/not a git repository/i.test(result.stderr)) return undefined;
  throw gitError(given, result);
}

/** Repository-relative paths that `git status` lists among `rels`. */
async function changedPaths(top: string, rels: string[]): Promise<Set<string>> {
  const changed = new Set<string>();
  for (let start = 0; start < rels.length; start += STATUS_BATCH) {
    const batch = rels.slice(start, start + STATUS_BATCH);
    const result = await runGit([
      '--literal-pathspecs', '-C', top,
      'status', '--porcelain', '-z', '--untracked-files=all', '--', ...batch,
    ]);
    if (result.code !== 0) throw gitError(top, result);
    for (const path of parsePorcelain(result.stdout)) changed.add(path);
  }
  return changed;
}

/** Paths of `git status --porcelain -z` output; a rename's source path follows its entry. */
function parsePorcelain(output: string): string[] {
  const fields = output.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (field.length < 4) continue;
    paths.push(field.slice(3));
    if (field[0] === 'R' || field[0] === 'C') paths.push(fields[++i] ?? '');
  }
  return paths;
}

function isChanged(changed: Set<string>, rel: string): boolean {
  if (changed.has(rel)) return true;
  // An untracked nested repository is listed as its folder.
  return [...changed].some((path) => path.endsWith('/') && rel.startsWith(path));
}

function gitError(where: string, result: GitResult): HpyMigrateError {
  const reason = result.stderr.trim().split('\n')[0] || `git exited with code ${result.code}`;
  return new HpyMigrateError('io', `cannot check git status of '${where}': ${reason}`);
}

/** Runs git without a shell. Rejects only if git could not be started (ENOENT: not installed). */
function runGit(args: string[]): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const options = { env: gitEnvironment(), maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' as const };
    execFile('git', args, options, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(spawnError(error));
      else resolvePromise({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** ENOENT (git not installed) is passed on as it is, for {@link dirtyFiles} to recognise. */
function spawnError(error: Error & { code?: unknown }): Error {
  if (error.code === 'ENOENT') return error;
  return new HpyMigrateError('io', `cannot run git: ${describeError(error)}`);
}

/**
 * The environment for git: variables that point git at another repository (set inside git hooks)
 * are dropped so that `-C` decides; messages in English so they can be recognised; no optional
 * index locks, since this is a read-only query.
 */
function gitEnvironment(): NodeJS.ProcessEnv {
  const redirecting = new Set(['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_PREFIX', 'GIT_COMMON_DIR']);
  const kept = Object.entries(process.env).filter(([name]) => !redirecting.has(name));
  return { ...Object.fromEntries(kept), LC_ALL: 'C', LANGUAGE: '', GIT_OPTIONAL_LOCKS: '0' };
}
