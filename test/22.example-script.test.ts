/**
 * `npm run example -- <name>` runs an example as examples/README.md documents it, with no
 * terminal (stdin closed), and examples/README.md lists every example. POSIX only: it starts
 * npm and a process group (the Windows leg runs 20 and 21, which call the examples directly).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const examples = readdirSync(new URL('../examples', import.meta.url))
  .filter((name) => name.endsWith('.ts'))
  .sort();

/** Runs `npm run example -- ...args` with stdin closed; kills its whole process group after `ms`. */
async function runExample(
  args: string[],
  ms = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npm', ['run', '--silent', 'example', '--', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, ms);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

describe('npm run example', () => {
  it('runs nonblocking-loop against a peer that sends hello and shuts down: exit 0, the lines of the README', async () => {
    // The peer: a message after 300 ms, its FIN after 700 ms (the example polls every second).
    const server = createServer((connection) => {
      const hello = setTimeout(() => connection.write('hello'), 300);
      const fin = setTimeout(() => connection.end(), 700);
      connection.on('close', () => {
        clearTimeout(hello);
        clearTimeout(fin);
      });
      connection.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runExample(['nonblocking-loop', '127.0.0.1', String(port)]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const lines = result.stdout.trim().split('\n');
      expect(lines).toContain('got a message: hello');
      expect(lines.at(-1)).toBe('orderly shutdown on server end');
    } finally {
      server.close();
    }
  }, 70_000);

  it('with an unknown name exits 2 and lists every example', async () => {
    const result = await runExample(['no-such-example']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `no example no-such-example: npm run example -- <${examples.map((name) => name.slice(0, -3)).join(' | ')}> [args]`,
    );
  }, 70_000);
});

describe('examples/README.md', () => {
  it('describes every example and says how to run it with npm run example', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const readme = readFileSync(new URL('../examples/README.md', import.meta.url), 'utf8');
    for (const name of examples) {
      expect(readme).toContain(`**\`${name}\`**`);
      expect(readme).toContain(`\`npm run example -- ${name.slice(0, -3)} `);
    }
  });
});
