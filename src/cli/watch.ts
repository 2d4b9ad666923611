/**
 * `rawrecv watch HOST:PORT`: the original question's loop as a tool. Connects, then logs every
 * recv (time, raw result, kind, a preview of the data) until EOF, an error or Ctrl-C, and
 * prints a summary.
 * @module
 */
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';

import { Socket, type Origin, type RecvResult } from '../index.js';
import { messageOf } from '../scenarios/message.js';
import { InputError, integerOption, parse, parseHostPort, stringValue } from './args.js';
import { unescape } from './serve.js';
import { colorEnabled, err, out, paintKind, painter, type Paint } from './style.js';

const SUMMARY_ORDER = ['data', 'eof', 'would-block', 'timeout', 'interrupted', 'error'];

export const WATCH_HELP = `Usage: rawrecv watch HOST:PORT [--mode MODE] [--length N] [--interval MS]
                     [--send TEXT] [--through-eof] [--no-color]

Connects to HOST:PORT (127.0.0.1:8080, localhost:8080, [::1]:8080) and logs every recv: the time
(UTC) and the time since connecting, the call, its ret, errno and code, the typed kind, and for
data the byte count with a text and hex preview. Stops at EOF, at an error result or on Ctrl-C,
then prints a summary: bytes received and calls per kind (data, eof, would-block, timeout, interrupted, error).

Modes (--mode):
  nonblocking   O_NONBLOCK; after each would-block it sleeps --interval ms without blocking
                the event loop (the default)
  blocking      a plain blocking recv; it holds the only thread, so Ctrl-C ends the process
                at once, without a summary (libuv's SA_RESTART would restart the recv)
  timeout=MS    blocking with SO_RCVTIMEO = MS: every expiry is a 'timeout' line
  async         recvAsync: waits for readiness on the event loop, then one recv

Options:
  --length N      bytes asked for per recv (default 4096)
  --interval MS   the sleep between polls in nonblocking mode, and after each eof with
                  --through-eof (default 100)
  --send TEXT     send TEXT (UTF-8; escapes \\n \\r \\t \\\\ \\xHH) once connected, before the
                  first recv, and log the send's result
  --through-eof   keep reading after EOF (every --interval ms), so that a later RST or
                  error shows: each 0 is followed by getsockopt(SO_ERROR), because Linux's
                  recv says 0 for ever after a FIN, a RST that follows included (SO_ERROR
                  then says EPIPE); ends at an error (a recv's or SO_ERROR's) or Ctrl-C
  --no-color      no colour (also: NO_COLOR=1)
  -h, --help      this help

Exit codes: 0 ended by EOF, 1 ended by an error result (ECONNRESET, ...), the connect or the
send failed, 2 bad arguments, 130 Ctrl-C (after the summary; in blocking mode SIGINT's default
action ends the process at once, no summary).`;

const OPTIONS = {
  mode: { type: 'string' },
  length: { type: 'string' },
  interval: { type: 'string' },
  send: { type: 'string' },
  'through-eof': { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Mode = { name: 'nonblocking' } | { name: 'blocking' } | { name: 'timeout'; ms: number } | { name: 'async' };

export function parseMode(text: string): Mode {
  if (text === 'nonblocking' || text === 'blocking' || text === 'async') return { name: text };
  const timeout = /^timeout=(.*)$/.exec(text);
  if (timeout)
    return { name: 'timeout', ms: integerOption(timeout[1] ?? '', 'the timeout of --mode timeout=MS', 1, 2 ** 31 - 1) };
  throw new InputError(`--mode must be nonblocking, blocking, timeout=MS or async, not '${text}'`);
}

/** `127.0.0.1:8080`, `[::1]:8080`. */
export function hostPort(origin: Origin): string {
  return origin.family === 'IPv6' ? `[${origin.address}]:${origin.port}` : `${origin.address}:${origin.port}`;
}

const PREVIEW_TEXT = 32;
const PREVIEW_HEX = 16;

/** The first bytes as quoted text (printable ASCII, \n-style and \xHH escapes) and as hex. */
export function preview(data: Buffer): string {
  let text = '';
  for (const byte of data.subarray(0, PREVIEW_TEXT)) {
    if (byte === 0x0a) text += '\\n';
    else if (byte === 0x0d) text += '\\r';
    else if (byte === 0x09) text += '\\t';
    else if (byte === 0x22 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  const hex = [...data.subarray(0, PREVIEW_HEX)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const more = (limit: number): string => (data.length > limit ? '…' : '');
  return `text="${text}"${more(PREVIEW_TEXT)} hex=${hex}${more(PREVIEW_HEX)}`;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string }).name === 'AbortError';
}

export async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, true);
  if (values.help) {
    out(WATCH_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new InputError(
      positionals.length === 0
        ? 'needs HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)'
        : `takes one HOST:PORT, got ${positionals.length} arguments`,
    );
  }
  const target = positionals[0] ?? '';
  const { host, port } = parseHostPort(target);
  const mode = parseMode(stringValue(values, 'mode') ?? 'nonblocking');
  const length = integerOption(stringValue(values, 'length') ?? '4096', '--length', 1, 16 * 1024 * 1024);
  const interval = integerOption(stringValue(values, 'interval') ?? '100', '--interval', 0, 3_600_000);
  const sendText = stringValue(values, 'send');
  const send = sendText === undefined ? undefined : unescape(sendText);
  if (typeof send === 'string') throw new InputError(`--send: ${send}`);
  const throughEof = values['through-eof'] === true;
  const paint = painter(colorEnabled(values['no-color'] === true));

  const controller = new AbortController();
  const { signal } = controller;
  const onSigint = (): void => controller.abort();
  // Blocking mode keeps the default SIGINT action: a handler would never get to run.
  if (mode.name !== 'blocking') process.on('SIGINT', onSigint);
  try {
    let socket: Socket;
    try {
      socket = await Socket.connect({ host, port, timeout: 10_000, signal });
    } catch (error) {
      if (isAbort(error)) return INTERRUPTED;
      err(`rawrecv watch: cannot connect to ${target}: ${messageOf(error)}`);
      return 1;
    }
    try {
      return await loop(socket, { mode, length, interval, signal, paint, send, throughEof });
    } finally {
      socket.close();
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

interface LoopOptions {
  mode: Mode;
  length: number;
  interval: number;
  signal: AbortSignal;
  paint: Paint;
  /** --send: bytes to send once connected. */
  send: Buffer | undefined;
  /** --through-eof: an eof does not end the loop. */
  throughEof: boolean;
}

/** The exit code after Ctrl-C: 128 + SIGINT (2), as a shell reports a process SIGINT ended. */
export const INTERRUPTED = 130;

async function loop(
  socket: Socket,
  { mode, length, interval, signal, paint, send, throughEof }: LoopOptions,
): Promise<number> {
  const started = performance.now();
  const modeText = mode.name === 'timeout' ? `timeout=${mode.ms}` : mode.name;
  out(
    `connected to ${hostPort(socket.remoteAddress())} from ${hostPort(socket.localAddress())} ` +
      `(fd ${socket.fd}, mode ${modeText}, length ${length})`,
  );
  if (send !== undefined) {
    // Blocking still (every new socket is): one send(2) of a short text, its result logged.
    const sent = socket.send(send);
    const elapsed = Math.round(performance.now() - started);
    const time = new Date().toISOString().slice(11, 23);
    const raw = `ret=${sent.ret} errno=${sent.errno}${'code' in sent ? ` code=${sent.code}` : ''}`;
    out(`${time} +${elapsed}ms send(${send.length}) ${raw} ${paintKind(paint, sent.kind, `kind=${sent.kind}`)}`);
    if (sent.kind !== 'sent' || sent.bytesSent !== send.length) {
      err(`rawrecv watch: the send of --send failed or was short (${sent.kind})`);
      return 1;
    }
  }
  if (mode.name === 'nonblocking') socket.setBlocking(false);
  if (mode.name === 'timeout') socket.setReceiveTimeout(mode.ms);
  const call = mode.name === 'async' ? `recvAsync(${length})` : `recv(${length})`;

  const counts = new Map<string, number>();
  let calls = 0;
  let bytes = 0;
  const log = (result: RecvResult): void => {
    calls += 1;
    counts.set(result.kind, (counts.get(result.kind) ?? 0) + 1);
    const time = new Date().toISOString().slice(11, 23);
    const elapsed = Math.round(performance.now() - started);
    let line = `${time} +${elapsed}ms ${call} ret=${result.ret} errno=${result.errno}`;
    if ('code' in result) line += ` code=${result.code}`;
    line += ` ${paintKind(paint, result.kind, `kind=${result.kind}`)}`;
    if (result.kind === 'data') {
      bytes += result.bytesRead;
      line += ` bytes=${result.bytesRead} ${paint('gray', preview(result.data))}`;
    }
    out(line);
  };

  /** A getsockopt(SO_ERROR) line (not counted in the summary's recv calls). */
  const logSoError = (pending: { errno: number; code: string } | null): void => {
    const time = new Date().toISOString().slice(11, 23);
    const elapsed = Math.round(performance.now() - started);
    const result = pending === null ? 'errno=0 kind=none' : `errno=${pending.errno} code=${pending.code} kind=error`;
    out(`${time} +${elapsed}ms getsockopt(SO_ERROR) ret=0 ${result}`);
  };

  let ending = '';
  while (ending === '') {
    if (signal.aborted) {
      ending = 'Ctrl-C';
      break;
    }
    let result: RecvResult;
    if (mode.name === 'async') {
      try {
        result = await socket.recvAsync(length, { signal });
      } catch (error) {
        if (!isAbort(error)) throw error;
        ending = 'Ctrl-C';
        break;
      }
    } else {
      result = socket.recv(length);
    }
    log(result);
    if (result.kind === 'eof' && !throughEof) ending = 'eof';
    else if (result.kind === 'eof') {
      // Linux's recv returns 0 for ever once the FIN is in, even after a RST has come
      // (tcp_recvmsg checks SOCK_DONE before sk_err): the RST shows only in SO_ERROR, as EPIPE.
      // So each 0 is followed by one getsockopt(SO_ERROR), logged like a recv.
      const pending = socket.takeError();
      logSoError(pending);
      if (pending !== null) {
        ending = `error ${pending.code} (SO_ERROR)`;
        break;
      }
      // recv returns 0 at once from now on: wait between calls, or this would spin.
      await sleep(interval, undefined, { signal }).catch(() => undefined);
    } else if (result.kind === 'error') ending = `error ${result.code}`;
    else if (result.kind === 'would-block' && mode.name === 'nonblocking') {
      await sleep(interval, undefined, { signal }).catch(() => undefined);
    } else if (mode.name !== 'async') {
      // One turn of the event loop, so that a Ctrl-C (an EINTR'd recv) is seen.
      await turn();
    }
  }
  // A fixed order, whatever came first: data, eof, would-block, timeout, interrupted, error.
  const perKind =
    SUMMARY_ORDER.filter((kind) => counts.has(kind))
      .map((kind) => `${paintKind(paint, kind)} ${counts.get(kind)}`)
      .join(', ') || 'none';
  const ms = Math.round(performance.now() - started);
  out(
    `summary: ${bytes} byte${bytes === 1 ? '' : 's'} in ${calls} call${calls === 1 ? '' : 's'} (${perKind}); ` +
      `ended by ${ending} after ${ms} ms`,
  );
  return ending.startsWith('error') ? 1 : ending === 'Ctrl-C' ? INTERRUPTED : 0;
}
