import { readFile } from 'node:fs/promises';
import { HpyMigrateError } from '../api/index.js';

/** How a file's bytes were decoded, so that they can be encoded back the same way. */
export type Encoding = 'utf8' | 'utf8-bom' | 'latin1';

/** A decoded source file. */
export interface SourceText {
  /** The path as it was given. */
  path: string;
  /** The decoded text; a UTF-8 byte order mark is not part of it. */
  text: string;
  /** How to turn `text` back into the original bytes. */
  encoding: Encoding;
}

/** What reading a file gave: its text, the fact that it is binary, or a one-line error. */
export type ReadResult =
  | { kind: 'text'; source: SourceText }
  | { kind: 'binary'; path: string }
  | { kind: 'error'; path: string; message: string };

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads and decodes a file (see {@link decodeSource}). Never throws: a file that cannot be read
 * gives `{ kind: 'error' }` with the message "cannot read 'P': reason".
 */
export async function readSource(path: string): Promise<ReadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return { kind: 'error', path, message: `cannot read '${path}': ${describeError(error)}` };
  }
  return decodeSource(path, bytes);
}

/**
 * Decodes a file's bytes: a NUL byte makes it binary; valid UTF-8 is 'utf8' (or 'utf8-bom' after a
 * byte order mark, which is left out of the text); anything else is latin-1, so that
 * `encodeSource(text, encoding)` gives back the same bytes.
 */
export function decodeSource(path: string, bytes: Buffer): ReadResult {
  if (bytes.includes(0)) return { kind: 'binary', path };
  const hasBom = bytes.subarray(0, UTF8_BOM.length).equals(UTF8_BOM);
  const text = decodeUtf8(hasBom ? bytes.subarray(UTF8_BOM.length) : bytes);
  if (text !== undefined) {
    return { kind: 'text', source: { path, text, encoding: hasBom ? 'utf8-bom' : 'utf8' } };
  }
  return { kind: 'text', source: { path, text: bytes.toString('latin1'), encoding: 'latin1' } };
}

/** Strict UTF-8 decoding; `undefined` if the bytes are not valid UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  // ignoreBOM keeps a second BOM in the text, where the default would silently drop it.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return decoder.decode(bytes);
  } catch {
    // A fatal decoder signals invalid UTF-8 with a TypeError: that is the answer, not a failure.
    return undefined;
  }
}

/**
 * Encodes text the way it was decoded (the inverse of {@link decodeSource}). Throws
 * `HpyMigrateError('io')` if the text cannot be represented: a character above U+00FF in a
 * latin-1 file, or a lone surrogate.
 */
export function encodeSource(text: string, encoding: Encoding): Buffer {
  const lone = /\p{Cs}/u.exec(text);
  if (lone) throw new HpyMigrateError('io', `text contains a lone surrogate (${codePoint(lone[0])})`);
  if (encoding === 'latin1') {
    const wide = /[^\u0000-\u00ff]/u.exec(text);
    if (wide) {
      throw new HpyMigrateError('io', `character ${codePoint(wide[0])} cannot be written in latin-1`);
    }
    return Buffer.from(text, 'latin1');
  }
  const body = Buffer.from(text, 'utf8');
  return encoding === 'utf8-bom' ? Buffer.concat([UTF8_BOM, body]) : body;
}

function codePoint(character: string): string {
  const value = character.codePointAt(0) ?? 0;
  return `U+${value.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The reason part of an error, on one line: "permission denied" for Node's
 * "EACCES: permission denied, open '/x'", the message itself otherwise.
 */
export function describeError(error: unknown): string {
  if (error instanceof HpyMigrateError) return error.message;
  if (error instanceof Error) {
    const system = /^[A-Z0-9_]+: ([^,\n]+)/.exec(error.message);
    return system ? system[1] : (error.message.split('\n')[0] ?? '');
  }
  return String(error);
}
