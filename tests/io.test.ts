import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HpyMigrateError } from '../src/api/index.js';
import {
  decodeSource,
  dirtyFiles,
  discoverFiles,
  encodeSource,
  readSource,
  writeAtomic,
  type ReadResult,
} from '../src/io/index.js';

const isRoot = process.getuid?.() === 0;
let tmp = '';

beforeEach(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'hpy-migrate-io-')));
});

afterEach(async () => {
  await chmodTree(tmp);
  await rm(tmp, { recursive: true, force: true });
});

/** Makes everything writable again so that the temp folder can be removed as a normal user. */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755).catch(() => undefined);
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(full);
    else if (entry.isFile()) await chmod(full, 0o644);
  }
}

/** Creates files (content defaults to a comment) under `base`, making parent folders. */
async function makeFiles(base: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(base, name);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content);
  }
}

/** Runs git in `cwd` with an identity and without any outer repository leaking in. */
function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env };
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[name];
  return execFileSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main',
      '-c', 'commit.gpgsign=false', ...args],
    { cwd, env, encoding: 'utf8' },
  );
}

function textOf(result: ReadResult): { text: string; encoding: string } {
  if (result.kind !== 'text') throw new Error(`expected text, got ${result.kind}`);
  return { text: result.source.text, encoding: result.source.encoding };
}

function roundTrip(bytes: Buffer): Buffer {
  const { text, encoding } = textOf(decodeSource('x.c', bytes));
  return encodeSource(text, encoding as 'utf8' | 'utf8-bom' | 'latin1');
}

/** A small deterministic generator (mulberry32), so that failures can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('discoverFiles', () => {
  it('finds nested .c and .h files and nothing else', async () => {
    await makeFiles(tmp, {
      'a.c': '', 'b.h': '', 'notes.txt': '', 'c.cpp': '', 'Makefile': '',
      'sub/d.c': '', 'sub/deeper/e.h': '', 'sub/deeper/f.py': '',
    });
    const { files, notes } = await discoverFiles(['.'], { cwd: tmp });
    expect(files).toEqual(['a.c', 'b.h', 'sub/d.c', 'sub/deeper/e.h']);
    expect(notes).toEqual([]);
  });

  it('shows paths relative to cwd for relative roots and absolute for absolute roots', async () => {
    await makeFiles(tmp, { 'src/x.c': '' });
    expect((await discoverFiles(['src'], { cwd: tmp })).files).toEqual(['src/x.c']);
    expect((await discoverFiles(['./src/'], { cwd: tmp })).files).toEqual(['src/x.c']);
    const absolute = path.join(tmp, 'src');
    expect((await discoverFiles([absolute], { cwd: '/' })).files).toEqual([path.join(absolute, 'x.c')]);
  });

  it('honours .gitignore in the root and in nested folders, relative to their folder', async () => {
    await makeFiles(tmp, {
      '.gitignore': 'build/\n/top.c\n*.h\n',
      'top.c': '', 'keep.c': '', 'x.h': '', 'build/gen.c': '',
      'sub/top.c': '', 'sub/.gitignore': 'local.c\n!keep.h\n', 'sub/local.c': '', 'sub/keep.h': '',
      'sub/other.h': '', 'other/local.c': '',
    });
    const { files } = await discoverFiles(['.'], { cwd: tmp });
    expect(files).toEqual(['keep.c', 'other/local.c', 'sub/keep.h', 'sub/top.c']);
  });

  it('applies .gitignore files of parent folders up to the git checkout top', async () => {
    await makeFiles(tmp, {
      'repo/.gitignore': 'gen_*.c\nproject/skipped/\n',
      'repo/project/.gitignore': 'vendor/\n',
      'repo/project/pkg/a.c': '', 'repo/project/pkg/gen_b.c': '', 'repo/project/pkg/vendor/v.c': '',
      'repo/project/skipped/s.c': '',
    });
    await writeFile(path.join(tmp, '.gitignore'), '*.c\n'); // above the checkout: must not apply
    git(path.join(tmp, 'repo'), 'init', '-q');
    const { files } = await discoverFiles(['project/pkg', 'project'], { cwd: path.join(tmp, 'repo') });
    expect(files).toEqual(['project/pkg/a.c']);
  });

  it('walks a root that a parent .gitignore ignores, since it was named explicitly', async () => {
    await makeFiles(tmp, { '.gitignore': 'build/\n', 'build/x.c': '' });
    git(tmp, 'init', '-q');
    expect((await discoverFiles(['build'], { cwd: tmp })).files).toEqual(['build/x.c']);
    expect((await discoverFiles(['.'], { cwd: tmp })).files).toEqual([]);
  });

  it('skips .git folders', async () => {
    await makeFiles(tmp, { 'a.c': '', '.git/hooks/x.c': '', 'sub/.git/y.h': '' });
    expect((await discoverFiles(['.'], { cwd: tmp })).files).toEqual(['a.c']);
  });

  it('skips a symlink to a folder outside the roots, with a note', async () => {
    await makeFiles(tmp, { 'root/a.c': '', 'outside/x.c': '' });
    await symlink(path.join(tmp, 'outside'), path.join(tmp, 'root/ext'));
    await symlink(path.join(tmp, 'outside/x.c'), path.join(tmp, 'root/ext-file.c'));
    const { files, notes } = await discoverFiles(['root'], { cwd: tmp });
    expect(files).toEqual(['root/a.c']);
    expect(notes).toEqual([
      "skipped symlink 'root/ext': it points outside the given paths",
      "skipped symlink 'root/ext-file.c': it points outside the given paths",
    ]);
  });

  it('detects a symlink loop', async () => {
    await makeFiles(tmp, { 'root/sub/a.c': '' });
    await symlink('..', path.join(tmp, 'root/sub/up'));
    await symlink('.', path.join(tmp, 'root/self'));
    const { files, notes } = await discoverFiles(['root'], { cwd: tmp });
    expect(files).toEqual(['root/sub/a.c']);
    expect(notes).toEqual(["skipped symlink 'root/self': loop", "skipped symlink 'root/sub/up': loop"]);
  });

  it('follows a symlink inside the roots once, preferring the real path', async () => {
    await makeFiles(tmp, { 'root/z/x.c': '', 'root/z/deep/y.h': '' });
    await symlink('z', path.join(tmp, 'root/a-link'));
    await symlink('z/x.c', path.join(tmp, 'root/b-file.c'));
    const { files, notes } = await discoverFiles(['root'], { cwd: tmp });
    expect(files).toEqual(['root/z/deep/y.h', 'root/z/x.c']);
    expect(notes).toEqual([]);
  });

  it('follows a symlink to a folder of another root', async () => {
    await makeFiles(tmp, { 'one/a.c': '', 'two/b.c': '' });
    await symlink('../two', path.join(tmp, 'one/two-link'));
    const { files, notes } = await discoverFiles(['one', 'two'], { cwd: tmp });
    expect(files).toEqual(['one/a.c', 'two/b.c']);
    expect(notes).toEqual([]);
  });

  it('notes a broken symlink', async () => {
    await makeFiles(tmp, { 'a.c': '' });
    await symlink('missing.c', path.join(tmp, 'broken.c'));
    const { files, notes } = await discoverFiles(['.'], { cwd: tmp });
    expect(files).toEqual(['a.c']);
    expect(notes).toEqual(["skipped symlink 'broken.c': its target does not exist"]);
  });

  it('lists a file once when it is reached from several roots', async () => {
    await makeFiles(tmp, { 'src/a.c': '' });
    const { files } = await discoverFiles(['src', 'src/a.c', '.', path.join(tmp, 'src')], { cwd: tmp });
    expect(files).toEqual(['src/a.c']);
  });

  it('throws an input error for a missing root', async () => {
    const error = await discoverFiles(['nope'], { cwd: tmp }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HpyMigrateError);
    expect(error).toMatchObject({ code: 'input', message: "path 'nope' does not exist" });
  });

  it('gives no files for an empty folder', async () => {
    expect(await discoverFiles(['.'], { cwd: tmp })).toEqual({ files: [], notes: [] });
  });

  it('takes a file root whatever its extension', async () => {
    await makeFiles(tmp, { 'module.inc': '', 'other.txt': '' });
    expect((await discoverFiles(['module.inc'], { cwd: tmp })).files).toEqual(['module.inc']);
  });
});

describe('decodeSource and encodeSource', () => {
  it('decodes UTF-8 and round-trips it', () => {
    const bytes = Buffer.from('/* café → ok */\nint x;\n', 'utf8');
    expect(textOf(decodeSource('x.c', bytes))).toEqual({ text: '/* café → ok */\nint x;\n', encoding: 'utf8' });
    expect(roundTrip(bytes).equals(bytes)).toBe(true);
  });

  it('keeps a BOM out of the text and puts it back', () => {
    const bytes = Buffer.from('\ufeffint x;\r\n', 'utf8');
    expect(textOf(decodeSource('x.c', bytes))).toEqual({ text: 'int x;\r\n', encoding: 'utf8-bom' });
    expect(roundTrip(bytes).equals(bytes)).toBe(true);
    const twice = Buffer.from('\ufeff\ufeffint y;', 'utf8');
    expect(textOf(decodeSource('x.c', twice)).text).toBe('\ufeffint y;');
    expect(roundTrip(twice).equals(twice)).toBe(true);
  });

  it('falls back to latin-1 for invalid UTF-8 and keeps every byte', () => {
    const bytes = Buffer.from([0x2f, 0x2a, 0x20, 0xe9, 0x20, 0x2a, 0x2f, 0x0a]);
    expect(textOf(decodeSource('x.c', bytes))).toEqual({ text: '/* é */\n', encoding: 'latin1' });
    expect(roundTrip(bytes).equals(bytes)).toBe(true);
    const bomThenInvalid = Buffer.from([0xef, 0xbb, 0xbf, 0xe9, 0x0a]);
    expect(textOf(decodeSource('x.c', bomThenInvalid)).encoding).toBe('latin1');
    expect(roundTrip(bomThenInvalid).equals(bomThenInvalid)).toBe(true);
  });

  it('keeps CRLF and lone CR line endings', () => {
    const bytes = Buffer.from('a;\r\nb;\rc;\n\r\n', 'utf8');
    expect(textOf(decodeSource('x.c', bytes)).text).toBe('a;\r\nb;\rc;\n\r\n');
    expect(roundTrip(bytes).equals(bytes)).toBe(true);
  });

  it('round-trips random byte buffers without NUL', () => {
    const next = random(20240611);
    const encodings = new Set<string>();
    for (let n = 0; n < 500; n++) {
      const length = Math.floor(next() * 200);
      // Mostly ASCII with some high bytes, so that both valid and invalid UTF-8 come up.
      const bytes = Buffer.from(Array.from({ length }, () => (next() < 0.8 ? 1 + Math.floor(next() * 127) : 1 + Math.floor(next() * 255))));
      if (n % 7 === 0) bytes.set([0xef, 0xbb, 0xbf].slice(0, bytes.length));
      encodings.add(textOf(decodeSource('x.c', bytes)).encoding);
      expect(roundTrip(bytes).equals(bytes)).toBe(true);
    }
    expect(encodings).toEqual(new Set(['utf8', 'utf8-bom', 'latin1']));
  });

  it('round-trips random valid UTF-8 text', () => {
    const next = random(7);
    for (let n = 0; n < 200; n++) {
      const codePoints = Array.from({ length: 50 }, () => {
        const cp = 1 + Math.floor(next() * 0x10fffe);
        return cp >= 0xd800 && cp <= 0xdfff ? 0x41 : cp;
      });
      const bytes = Buffer.from(String.fromCodePoint(...codePoints), 'utf8');
      expect(textOf(decodeSource('x.c', bytes)).encoding).toBe('utf8');
      expect(roundTrip(bytes).equals(bytes)).toBe(true);
    }
  });

  it('calls a file with a NUL byte binary', () => {
    expect(decodeSource('x.o', Buffer.from([0x7f, 0x45, 0x00, 0x4c]))).toEqual({ kind: 'binary', path: 'x.o' });
  });

  it('refuses text that the encoding cannot hold', () => {
    expect(() => encodeSource('€', 'latin1')).toThrow(/U\+20AC cannot be written in latin-1/);
    expect(() => encodeSource('a\ud800b', 'utf8')).toThrow(HpyMigrateError);
  });
});

describe('readSource', () => {
  it('reads and decodes a file', async () => {
    await writeFile(path.join(tmp, 'a.c'), Buffer.from([0xef, 0xbb, 0xbf, 0x78]));
    const result = await readSource(path.join(tmp, 'a.c'));
    expect(result).toEqual({ kind: 'text', source: { path: path.join(tmp, 'a.c'), text: 'x', encoding: 'utf8-bom' } });
  });

  it('reports binary files', async () => {
    await writeFile(path.join(tmp, 'a.c'), Buffer.from([0x61, 0x00]));
    expect((await readSource(path.join(tmp, 'a.c'))).kind).toBe('binary');
  });

  it.skipIf(isRoot)('reports an unreadable file as an error, without throwing', async () => {
    const file = path.join(tmp, 'secret.c');
    await writeFile(file, 'int x;');
    await chmod(file, 0o000);
    expect(await readSource(file)).toEqual({ kind: 'error', path: file, message: `cannot read '${file}': permission denied` });
  });

  it('reports a path that cannot be read as a file as an error, without throwing', async () => {
    const result = await readSource(tmp);
    expect(result.kind).toBe('error');
    expect(result).toMatchObject({ path: tmp, message: `cannot read '${tmp}': illegal operation on a directory` });
    expect(await readSource(path.join(tmp, 'missing.c'))).toMatchObject({ kind: 'error' });
  });
});

describe('writeAtomic', () => {
  it('replaces the content, keeps the mode and leaves no temp file', async () => {
    const file = path.join(tmp, 'a.c');
    await writeFile(file, 'old');
    await chmod(file, 0o640);
    await writeAtomic(file, 'new text\r\n', 'utf8');
    expect(await readFile(file, 'utf8')).toBe('new text\r\n');
    expect((await stat(file)).mode & 0o7777).toBe(0o640);
    expect(await readdir(tmp)).toEqual(['a.c']);
  });

  it('encodes as asked', async () => {
    const file = path.join(tmp, 'a.c');
    await writeFile(file, 'old');
    await writeAtomic(file, 'é', 'latin1');
    expect(await readFile(file)).toEqual(Buffer.from([0xe9]));
    await writeAtomic(file, 'é', 'utf8-bom');
    expect(await readFile(file)).toEqual(Buffer.from([0xef, 0xbb, 0xbf, 0xc3, 0xa9]));
  });

  it('refuses a read-only target, leaving it and the folder unchanged', async () => {
    const file = path.join(tmp, 'a.c');
    await writeFile(file, 'old');
    await chmod(file, 0o444);
    const error = await writeAtomic(file, 'new', 'utf8').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HpyMigrateError);
    expect(error).toMatchObject({ code: 'io' });
    expect((error as Error).message).toMatch(/^cannot write '.*a\.c': /);
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(tmp)).toEqual(['a.c']);
  });

  it('reports text the encoding cannot hold as an io error and writes nothing', async () => {
    const file = path.join(tmp, 'a.c');
    await writeFile(file, 'old');
    await expect(writeAtomic(file, '€', 'latin1')).rejects.toMatchObject({ code: 'io' });
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(tmp)).toEqual(['a.c']);
  });

  it('writes through a symlink and keeps the link', async () => {
    await writeFile(path.join(tmp, 'real.c'), 'old');
    await symlink('real.c', path.join(tmp, 'link.c'));
    await writeAtomic(path.join(tmp, 'link.c'), 'new', 'utf8');
    expect((await lstat(path.join(tmp, 'link.c'))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(tmp, 'real.c'), 'utf8')).toBe('new');
  });

  it('throws an io error when the folder does not exist', async () => {
    await expect(writeAtomic(path.join(tmp, 'no/such/a.c'), 'x', 'utf8')).rejects.toMatchObject({ code: 'io' });
  });
});

describe('dirtyFiles', () => {
  it('tells modified, staged and untracked files from clean and ignored ones', async () => {
    const repo = path.join(tmp, 'repo');
    await makeFiles(repo, { 'clean.c': '1', 'modified.c': '1', 'sub/staged.h': '1', '.gitignore': 'ignored.c\n' });
    git(repo, 'init', '-q');
    git(repo, 'add', 'clean.c', 'modified.c', '.gitignore');
    git(repo, 'commit', '-qm', 'init');
    await makeFiles(repo, { 'modified.c': '2', 'untracked.c': '1', 'ignored.c': '1', 'sub/new dir/u.c': '1' });
    git(repo, 'add', 'sub/staged.h');
    await makeFiles(tmp, { 'outside/o.c': '1' });
    const paths = ['clean.c', 'modified.c', 'sub/staged.h', 'untracked.c', 'ignored.c', 'sub/new dir/u.c']
      .map((name) => path.join(repo, name));
    const outside = path.join(tmp, 'outside/o.c');
    const dirty = await dirtyFiles([...paths, outside]);
    expect(dirty.map((p) => path.relative(repo, p))).toEqual(['modified.c', 'sub/staged.h', 'untracked.c', 'sub/new dir/u.c']);
  });

  it('returns the paths as given, relative ones included', async () => {
    await makeFiles(tmp, { 'a.c': '1' });
    git(tmp, 'init', '-q');
    const relative = path.relative(process.cwd(), path.join(tmp, 'a.c'));
    expect(await dirtyFiles([relative])).toEqual([relative]);
  });

  it('never calls a file outside a checkout dirty', async () => {
    await makeFiles(tmp, { 'a.c': '1' });
    expect(await dirtyFiles([path.join(tmp, 'a.c')])).toEqual([]);
  });

  it('returns nothing when git is not installed', async () => {
    await makeFiles(tmp, { 'a.c': '1' });
    git(tmp, 'init', '-q');
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-bin');
    try {
      expect(await dirtyFiles([path.join(tmp, 'a.c')])).toEqual([]);
    } finally {
      process.env.PATH = saved;
    }
  });
});
