/**
 * "What does recv() return on a non-blocking socket when no data has arrived?"
 *
 * The first program of the well-known Stack Overflow answer, ported from Python 2:
 * connect, set O_NONBLOCK, and poll recv(4096). Nothing yet is not an exception here but a
 * result, `would-block` (EAGAIN / EWOULDBLOCK), and it is a different result from `eof`
 * (recv returned 0: the peer shut its side down) and from `error` (ECONNRESET, ...).
 *
 * Run: `npm run example -- nonblocking-loop 127.0.0.1 9999` in a clone (see examples/README.md).
 */
import { pathToFileURL } from 'node:url';
import { setTimeout } from 'node:timers/promises';

import { Socket } from 'rawrecv';

export interface NonblockingLoopOptions {
  host: string;
  port: number;
  /** Pause between polls that found nothing (the original's `sleep(1)`). Default 1000 ms. */
  pollMs?: number;
  /** Give up after this many recv calls, so the loop always ends. Default 60. */
  maxPolls?: number;
  /** Where the lines go. Default console.log. */
  log?: (line: string) => void;
}

export interface LoopOutcome {
  /** 0: orderly shutdown; 1: an error; 2: gave up after maxPolls. */
  exitCode: number;
  /** Every line logged, in order. */
  lines: string[];
  /** Every message received, in order. */
  messages: Buffer[];
  /** The error that ended the loop, if one did. */
  error?: { errno: number; code: string };
}

export async function nonblockingLoop(options: NonblockingLoopOptions): Promise<LoopOutcome> {
  const { host, port, pollMs = 1000, maxPolls = 60, log = console.log } = options;
  const lines: string[] = [];
  const messages: Buffer[] = [];
  const print = (line: string): void => {
    lines.push(line);
    log(line);
  };

  // Python: s.connect((host, port)) then fcntl(s, F_SETFL, O_NONBLOCK). The connect itself is
  // blocking (it throws a SocketError such as ECONNREFUSED); only the receives are not.
  const socket = Socket.connectSync({ host, port });
  try {
    socket.setBlocking(false);
    for (let poll = 1; poll <= maxPolls; poll++) {
      const result = socket.recv(4096);
      switch (result.kind) {
        case 'would-block':
          // EAGAIN, also spelled EWOULDBLOCK (the same number on Linux, macOS and the BSDs;
          // WSAEWOULDBLOCK on Windows): the connection is fine, nothing has arrived yet.
          // Sleep with a timer, not a busy loop or a blocking sleep, so the rest of the
          // program (timers, other sockets) keeps running meanwhile.
          await setTimeout(pollMs);
          print('No data available');
          continue;
        case 'interrupted':
          // EINTR: a signal arrived during the call. Not an error; try again (Python 3 does
          // the same, PEP 475).
          continue;
        case 'eof':
          // recv returned 0. On a stream socket asked for at least one byte that can only mean
          // the peer sent its FIN: an orderly shutdown, and every later recv returns 0 again.
          // (On UDP or SOCK_SEQPACKET a 0 would be a zero-length message instead.)
          print('orderly shutdown on server end');
          return { exitCode: 0, lines, messages };
        case 'data':
          // A byte stream has no message boundaries: this is whatever has arrived so far,
          // up to 4096 bytes, not necessarily one "message" as the peer sent it.
          messages.push(result.data);
          print(`got a message: ${result.data.toString('utf8')}`);
          continue;
        case 'timeout': // only a blocking socket with a receive timeout times out; not this one
        case 'error': {
          // A real error, e.g. ECONNRESET: the peer aborted the connection. The kernel reports
          // it once; a later recv would return a plain 0, so this is the moment to act on it.
          const text = result.kind === 'error' ? result.message : 'receive timed out';
          print(`recv failed: ${result.code} (errno ${result.errno}): ${text}`);
          return { exitCode: 1, lines, messages, error: { errno: result.errno, code: result.code } };
        }
      }
    }
    print(`gave up after ${maxPolls} polls`);
    return { exitCode: 2, lines, messages };
  } finally {
    socket.close();
  }
}

// Run as a program: `... examples/nonblocking-loop.ts [HOST] [PORT]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = '127.0.0.1', port = '9999'] = process.argv.slice(2);
  process.exitCode = (await nonblockingLoop({ host, port: Number(port) })).exitCode;
}
