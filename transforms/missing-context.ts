/**
 * Placeholder being written.
 */
import { defineTransform } from '../src/api/index.js';

export default defineTransform({
  id: 'missing-context',
  summary: 'placeholder being written',
  concern: 'handles',
  safety: 'safe',
  default: false,
  rewrite() {},
});
