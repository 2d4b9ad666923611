// Runs clang-format (the binary shipped in the clang-format npm package) over native/.
// --check: fail if any file would change; --fix: rewrite them in place.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const binary = require('clang-format').getNativeBinary();
const files = readdirSync('native')
  .filter((name) => /\.(cc|h)$/.test(name))
  .map((name) => join('native', name));
const mode = process.argv[2];
if (mode === '--fix') {
  execFileSync(binary, ['-i', '--style=file', ...files], { stdio: 'inherit' });
} else if (mode === '--check') {
  execFileSync(binary, ['--dry-run', '--Werror', '--style=file', ...files], { stdio: 'inherit' });
} else {
  console.error('usage: node scripts/clang-format.js --check | --fix');
  process.exit(2);
}
