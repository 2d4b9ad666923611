/**
 * `rawrecv serve --script ...`: a scripted TCP peer. Listens, prints `listening on HOST:PORT`
 * first (so a parent process can read the port), accepts a connection and plays the steps on
 * it: send, wait, shutdown, close, reset (RST). With `watch` it reproduces a scenario by hand.
 * @module
 */
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Server, type Socket } from '../index.js';
import { messageOf } from '../scenarios/message.js';
import { InputError, integerOption, parse, stringValue } from './args.js';
import { colorEnabled, err, out, painter, type Paint } from './style.js';
import { hostPort, preview } from './watch.js';

export const SERVE_HELP = `Usage: rawrecv serve --script STEPS [--host H] [--port N] [--keep] [--no-color]

A scripted TCP peer. It listens, prints "listening on HOST:PORT" as its first line (so that a
parent process can read the port), accepts one connection, plays the script on it and exits;
with --keep it goes on accepting connections until Ctrl-C, each playing the script on its own.
It prints every step it plays, each line with the connection's number and the time since accepting.

Script: steps separated by ';', for example "send:hello;wait:500;shutdown:write;wait:200;reset"
  send:TEXT                 send TEXT as UTF-8 (escapes: \\n \\r \\t \\\\ \\; \\xHH; spaces at
                            either end are trimmed: write \\x20)
  wait:MS                   wait MS milliseconds (0 to 3600000)
  shutdown:read|write|both  shutdown(2); write sends a FIN
  close                     close(2): a FIN (a RST if data it never read is queued)
  reset                     SO_LINGER {1, 0} then close(2): a RST
A script that does not end in close or reset closes at its end. Nothing may follow close or reset.

Options:
  --script STEPS  the steps (required)
  --host H        the address to listen on: an IP address or localhost (default 127.0.0.1)
  --port N        the port (default 0: any free port, printed on the first line)
  --keep          go on accepting connections until Ctrl-C
  --no-color      no colour (also: NO_COLOR=1)
  -h, --help      this help

Exit codes: 0 done (or Ctrl-C), 1 listening failed, 2 bad arguments or a bad script.`;

const OPTIONS = {
  script: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  keep: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ScriptStep =
  | { op: 'send'; data: Buffer }
  | { op: 'wait'; ms: number }
  | { op: 'shutdown'; how: 'read' | 'write' | 'both' }
  | { op: 'close' }
  | { op: 'reset' };

/** Splits at every ';' that is not escaped, keeping escapes for the step to decode. */
function splitSteps(script: string): string[] {
  const tokens: string[] = [];
  let current = '';
  for (let i = 0; i < script.length; i++) {
    const char = script.charAt(i);
    if (char === '\\' && i + 1 < script.length) {
      current += char + script.charAt(i + 1);
      i += 1;
    } else if (char === ';') {
      tokens.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  tokens.push(current);
  return tokens;
}

/** Decodes send's escapes (also watch --send's); returns an error text for a bad one. */
export function unescape(text: string): Buffer | string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'));
      continue;
    }
    const next = text.charAt(i + 1);
    i += 1;
    if (next === 'n') bytes.push(0x0a);
    else if (next === 'r') bytes.push(0x0d);
    else if (next === 't') bytes.push(0x09);
    else if (next === '\\' || next === ';') bytes.push(next.charCodeAt(0));
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else return `bad escape '\\${next}' (use \\n \\r \\t \\\\ \\; or \\xHH)`;
  }
  return Buffer.from(bytes);
}

/** Parses a script; a bad step is an InputError naming the step. */
export function parseScript(script: string): ScriptStep[] {
  if (script.trim() === '') throw new InputError('--script is empty (e.g. --script "send:hello;close")');
  const steps: ScriptStep[] = [];
  splitSteps(script).forEach((raw, index) => {
    const token = raw.trim();
    const bad = (why: string): InputError => new InputError(`bad script step ${index + 1} '${token}': ${why}`);
    const last = steps.at(-1);
    if (last && (last.op === 'close' || last.op === 'reset')) throw bad(`nothing can follow '${last.op}'`);
    if (token === '') throw bad('empty step (two ";" in a row, or one at the end?)');
    const colon = token.indexOf(':');
    const name = colon < 0 ? token : token.slice(0, colon);
    const arg = colon < 0 ? undefined : token.slice(colon + 1);
    switch (name) {
      case 'send': {
        if (!arg) throw bad('send needs text: send:TEXT');
        const data = unescape(arg);
        if (typeof data === 'string') throw bad(data);
        steps.push({ op: 'send', data });
        break;
      }
      case 'wait': {
        if (arg === undefined || !/^\d+$/.test(arg)) throw bad('wait needs milliseconds: wait:MS');
        const ms = Number(arg);
        if (ms > 3_600_000) throw bad('wait is at most 3600000 ms');
        steps.push({ op: 'wait', ms });
        break;
      }
      case 'shutdown':
        if (arg !== 'read' && arg !== 'write' && arg !== 'both') throw bad('shutdown takes read, write or both');
        steps.push({ op: 'shutdown', how: arg });
        break;
      case 'close':
      case 'reset':
        if (arg !== undefined) throw bad(`${name} takes no argument`);
        steps.push({ op: name });
        break;
      default:
        throw bad('steps are send:TEXT, wait:MS, shutdown:read|write|both, close and reset');
    }
  });
  return steps;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string }).name === 'AbortError';
}

/** Plays the script on one connection; the socket is closed by the caller. */
async function play(
  socket: Socket,
  steps: readonly ScriptStep[],
  signal: AbortSignal,
  log: (text: string) => void,
  paint: Paint,
): Promise<void> {
  for (const step of steps) {
    switch (step.op) {
      case 'send': {
        const result = await socket.sendAsync(step.data, { signal });
        const what = `send ${step.data.length} byte${step.data.length === 1 ? '' : 's'} ${preview(step.data)}`;
        if (result.kind === 'sent') {
          log(`${what}: sent ${result.bytesSent}`);
          break;
        }
        log(`${what}: ${paint('red', `${result.kind} ${result.code} (errno ${result.errno})`)}, ending the script`);
        return;
      }
      case 'wait':
        log(`wait ${step.ms} ms`);
        await sleep(step.ms, undefined, { signal });
        break;
      case 'shutdown':
        try {
          socket.shutdown(step.how);
          log(`shutdown ${step.how}${step.how === 'read' ? '' : ' (FIN)'}`);
        } catch (error) {
          log(`shutdown ${step.how}: ${paint('red', messageOf(error))}`);
        }
        break;
      case 'close':
        socket.close();
        log('close');
        return;
      case 'reset':
        socket.reset();
        log('reset (RST)');
        return;
    }
  }
  socket.close();
  log('close (end of script)');
}

export async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, OPTIONS);
  if (values.help) {
    out(SERVE_HELP);
    return 0;
  }
  const script = stringValue(values, 'script');
  if (script === undefined) throw new InputError('needs --script (e.g. --script "send:hello;close")');
  const steps = parseScript(script);
  const host = stringValue(values, 'host') ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0)
    throw new InputError(`--host must be an IP address or localhost, not '${host}'`);
  const port = integerOption(stringValue(values, 'port') ?? '0', '--port', 0, 65535);
  const keep = values.keep === true;
  const paint = painter(colorEnabled(values['no-color'] === true));

  let server: Server;
  try {
    server = Server.listen({ host, port });
  } catch (error) {
    err(`rawrecv serve: cannot listen on ${host}:${port}: ${messageOf(error)}`);
    return 1;
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    out(`listening on ${hostPort(server.address())}`);
    // Each connection plays the script on its own; --keep accepts the next one meanwhile.
    const playing = new Set<Promise<void>>();
    for (let connection = 1; !controller.signal.aborted; connection++) {
      let accepted;
      try {
        accepted = await server.acceptAsync({ signal: controller.signal });
      } catch (error) {
        if (isAbort(error)) break;
        throw error;
      }
      if (accepted.kind !== 'socket') {
        out(paint('red', `accept: ${accepted.kind} ${accepted.code} (errno ${accepted.errno})`));
        continue;
      }
      const socket = accepted.socket;
      const started = performance.now();
      const log = (text: string): void =>
        out(`#${connection} ${paint('gray', `+${Math.round(performance.now() - started)}ms`)} ${text}`);
      log(`connection from ${hostPort(socket.remoteAddress())}`);
      const done: Promise<void> = play(socket, steps, controller.signal, log, paint)
        .catch((error: unknown) => {
          if (!isAbort(error)) log(paint('red', `failed: ${messageOf(error)}`));
        })
        .finally(() => {
          socket.close();
          log('done');
          playing.delete(done);
        });
      playing.add(done);
      if (!keep) break;
    }
    await Promise.all(playing);
    if (controller.signal.aborted) out('interrupted (Ctrl-C)');
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    server.close();
  }
}
