/**
 * Files on disk: discovery of C sources (.gitignore-aware), byte-exact reading and decoding,
 * atomic writing and the git guard against overwriting uncommitted changes. Paths, not syntax.
 */
export { discoverFiles, type Discovery, type DiscoverOptions } from './discover.js';
export {
  readSource,
  decodeSource,
  encodeSource,
  type Encoding,
  type SourceText,
  type ReadResult,
} from './source-file.js';
export { writeAtomic } from './write.js';
export { dirtyFiles } from './git-guard.js';
