import { Command, CommanderError, Option } from 'commander';
import { HpyMigrateError, type Target } from '../api/index.js';

/** Parsed command-line options. */
export interface CliOptions {
  paths: string[];
  write: boolean;
  patch?: string;
  check: boolean;
  transforms?: string[];
  skip: string[];
  all: boolean;
  listTransforms: boolean;
  explain?: string;
  format: 'diff' | 'json';
  /** `--target`; unset: the configuration's, else `universal`. */
  target?: Target;
  allowDirty: boolean;
  color?: boolean;
}

/** The values of `--target` (and of `target` in `[tool.hpy-migrate]`). */
export const TARGETS: readonly Target[] = ['universal', 'hybrid'];

/** `--help` and `--version` were shown: nothing else to do. */
export class HelpShown extends Error {}

const list = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value.split(',').map((s) => s.trim()).filter(Boolean),
];

const EPILOG = `
Examples:
  hpy-migrate src/                      show the patch for every .c/.h under src/ (nothing written)
  hpy-migrate --write src/              apply it in place (refuses files with uncommitted changes)
  hpy-migrate --all --write src/        a complete port: also the review transforms (read their notes)
  hpy-migrate --all --target hybrid --write src/
                                        a port that keeps Python.h: what HPy 0.9.0 lacks stays on the
                                        legacy C API (build with --hpy-abi=hybrid)
  hpy-migrate --patch port.diff src/    write the patch to port.diff, then: git apply port.diff
  hpy-migrate --check src/              exit 1 if anything would change (CI, pre-commit)
  hpy-migrate --list-transforms         what each transform does; --explain ID for the details

Exit codes: 0 done; 1 changes pending (--check); 2 usage or input error; 3 some files failed.
Settings may also come from [tool.hpy-migrate] in pyproject.toml (transforms, skip, target, include, exclude);
a comment 'hpy-migrate: ignore[id]' (or 'hpy-migrate: ignore') leaves that line alone.
`;

function buildCommand(version: string): Command {
  return new Command()
    .name('hpy-migrate')
    .description('Port a Python C extension from the CPython C API to HPy 0.9.0.\nBy default prints a unified diff (a dry run); nothing is written.')
    .argument('[paths...]', 'C files or directories (searched recursively for *.c and *.h, honouring .gitignore)')
    .option('--write', 'apply the changes in place (atomic per file)')
    .option('--patch <file>', 'write the patch to FILE instead of stdout')
    .option('--check', 'exit 1 if any file would change; print nothing but the summary')
    .option('--transforms <ids>', 'run only these transforms (comma-separated)', list)
    .option('--skip <ids>', 'run the default set without these (comma-separated)', list)
    .option('--all', 'run every transform, including the review ones')
    .option('--list-transforms', 'list the transforms: id, safety, default, summary')
    .option('--explain <id>', "print a transform's documentation")
    .addOption(new Option('--format <format>', 'output format').choices(['diff', 'json']).default('diff'))
    .addOption(
      new Option('--target <target>', 'universal: a pure HPy module (default); hybrid: keep Python.h and leave what HPy 0.9.0 lacks on the legacy C API').choices(TARGETS),
    )
    .option('--allow-dirty', '--write even files with uncommitted git changes')
    .option('--no-color', 'no colours in diagnostics')
    .version(version, '--version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', EPILOG)
    .showHelpAfterError('(run hpy-migrate --help to see the options)')
    .exitOverride();
}

/** Parses argv (without node and script). Throws HelpShown or a usage HpyMigrateError. */
export function parseOptions(argv: string[], version: string, out: { stdout(s: string): void; stderr(s: string): void }): CliOptions {
  const cmd = buildCommand(version).configureOutput({
    writeOut: out.stdout,
    writeErr: out.stderr,
    outputError: (s, write) => write(`hpy-migrate: ${s}`),
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') throw new HelpShown();
      throw new HpyMigrateError('usage', '');
    }
    throw e;
  }
  const o = cmd.opts();
  if (o.write && o.patch) throw new HpyMigrateError('usage', '--write and --patch cannot be used together');
  if (o.check && o.write) throw new HpyMigrateError('usage', '--check and --write cannot be used together');
  return {
    paths: cmd.args,
    write: !!o.write,
    patch: o.patch,
    check: !!o.check,
    transforms: o.transforms,
    skip: o.skip ?? [],
    all: !!o.all,
    listTransforms: !!o.listTransforms,
    explain: o.explain,
    format: o.format,
    target: o.target,
    allowDirty: !!o.allowDirty,
    color: o.color,
  };
}
