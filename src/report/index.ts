/** Turns engine results into text diagnostics, JSON and unified patches. */
export { formatDiagnostic, formatDiagnostics } from './text.js';
export { renderFilePatch, type PatchInput } from './patch.js';
export { renderJson, renderSummary, summarize, type FunctionCounts, type ReportFile, type RunSummary } from './json.js';
