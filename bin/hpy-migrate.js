#!/usr/bin/env node
// Loads the compiled CLI (npm run build) and hands it the command line.
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  color: process.stderr.isTTY === true && !('NO_COLOR' in process.env),
});
