// npm run example -- NAME [ARGS...]: runs examples/NAME.ts with tsx (a dev dependency), passing
// ARGS on, and exits with the example's exit code. NAME may carry its .ts or not. Without a
// NAME, or with an unknown one, it lists the examples and exits 2.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const require = createRequire(import.meta.url);
const examples = fileURLToPath(new URL('../examples', import.meta.url));
const [name = '', ...args] = process.argv.slice(2);
const file = join(examples, name.endsWith('.ts') ? name : `${name}.ts`);
if (name === '' || !existsSync(file)) {
  const names = readdirSync(examples)
    .filter((entry) => entry.endsWith('.ts'))
    .map((entry) => entry.slice(0, -3));
  process.stderr.write(
    `${name === '' ? 'which example?' : `no example ${name}`}: npm run example -- <${names.join(' | ')}> [args]\n`,
  );
  process.exit(2);
}
const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), file, ...args], { stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
