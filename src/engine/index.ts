/** The engine: source text + transforms in, edits, diagnostics and new text out. */
export { runFile, sortDiagnostics, type FileResult, type FileStatus, type RunFileInput } from './run-file.js';
export { orderTransforms } from './order.js';
export { mapBack, mapToOriginal, applyEdits, checkEdits } from './edits.js';
