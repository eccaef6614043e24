/** Codes of {@link HpyMigrateError}; each maps to an exit code in the CLI. */
export type ErrorCode = 'usage' | 'input' | 'io' | 'engine' | 'transform';

/** The one error class of hpy-migrate: a short message and a code. */
export class HpyMigrateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HpyMigrateError';
  }
}
