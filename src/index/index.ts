/** Project-wide facts, built before any rewrite. */
export { collectIndex, type IndexInput } from './collect.js';
