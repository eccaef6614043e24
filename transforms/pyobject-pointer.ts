/**
 * Placeholder being written.
 */
import { defineTransform } from '../src/api/index.js';

export default defineTransform({
  id: 'pyobject-pointer',
  summary: 'placeholder being written',
  concern: 'handles',
  safety: 'safe',
  default: false,
  rewrite() {},
});
