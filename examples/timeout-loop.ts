/**
 * "What does recv() return when a receive timeout expires with no data?"
 *
 * The second program of the well-known Stack Overflow answer, ported from Python 2: a
 * blocking socket with a receive timeout, and a loop over recv(4096) that tells `timeout`
 * (nothing arrived in time: try again) from `eof` (recv returned 0: the peer is done) from
 * `error` (ECONNRESET, ...). Python's `s.settimeout(2)` sets no socket option: it makes the
 * socket O_NONBLOCK, waits for each call with its own poll() and raises TimeoutError. The
 * kernel's own receive timeout, used here, is SO_RCVTIMEO: recv blocks and fails with EAGAIN
 * (WSAETIMEDOUT on Windows) once it expires, which rawrecv reports as `timeout`.
 *
 * Each recv here blocks the whole thread, event loop included, for up to `timeoutMs`: that is
 * what the original does. For waiting without blocking, use a non-blocking socket
 * (examples/nonblocking-loop.ts) or the event-loop API.
 *
 * Run: `npm run example -- timeout-loop 127.0.0.1 9999` in a clone (see examples/README.md).
 */
import { pathToFileURL } from 'node:url';
import { setTimeout } from 'node:timers/promises';

import { Socket } from 'rawrecv';

export interface TimeoutLoopOptions {
  host: string;
  port: number;
  /** The receive timeout, >= 1 (0 would mean "wait forever"). Default 2000 ms, as in the original. */
  timeoutMs?: number;
  /** Pause after a timeout before the next try (the original's `sleep(1)`). Default 1000 ms. */
  pauseMs?: number;
  /** Give up after this many recv calls, so the loop always ends. Default 30. */
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

export async function timeoutLoop(options: TimeoutLoopOptions): Promise<LoopOutcome> {
  const { host, port, timeoutMs = 2000, pauseMs = 1000, maxPolls = 30, log = console.log } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new RangeError(`timeoutMs must be an integer >= 1 (0 means no timeout at all), got ${timeoutMs}`);
  }
  const lines: string[] = [];
  const messages: Buffer[] = [];
  const print = (line: string): void => {
    lines.push(line);
    log(line);
  };

  const socket = Socket.connectSync({ host, port });
  try {
    // New sockets are blocking; SO_RCVTIMEO bounds how long one blocking recv may wait.
    socket.setReceiveTimeout(timeoutMs);
    for (let poll = 1; poll <= maxPolls; poll++) {
      const result = socket.recv(4096);
      switch (result.kind) {
        case 'timeout':
          // On Linux, macOS and the BSDs an expired SO_RCVTIMEO fails with EAGAIN, the very
          // errno a non-blocking socket gives when nothing is there: the number alone cannot
          // tell "timed out" from "would block". rawrecv knows this socket is blocking with a
          // timeout set, so it says `timeout`. (Windows reports WSAETIMEDOUT instead.)
          print('recv timed out, retry later');
          // Sleeping with a timer lets the event loop run between the blocking calls.
          await setTimeout(pauseMs);
          continue;
        case 'interrupted':
          // EINTR: a signal arrived during the wait. Not an error; try again (as Python 3 does,
          // PEP 475). With SO_RCVTIMEO set, Linux returns EINTR even for SA_RESTART handlers.
          continue;
        case 'eof':
          // recv returned 0: on a stream socket asked for at least one byte that is the peer's
          // FIN, an orderly shutdown. It is not a timeout: a timeout is never 0 bytes, it is -1.
          print('orderly shutdown on server end');
          return { exitCode: 0, lines, messages };
        case 'data':
          messages.push(result.data);
          // A byte stream has no message boundaries: this is whatever has arrived so far.
          print(`got a message: ${result.data.toString('utf8')}`);
          continue;
        case 'would-block': // only a non-blocking socket would-blocks; this one is blocking
        case 'error': {
          // A real error, e.g. ECONNRESET: the peer aborted the connection. (On Linux an
          // ETIMEDOUT here means the connection died of keepalive, not a receive timeout.)
          const text = result.kind === 'error' ? result.message : 'would block';
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

// Run as a program: `... examples/timeout-loop.ts [HOST] [PORT]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = '127.0.0.1', port = '9999'] = process.argv.slice(2);
  process.exitCode = (await timeoutLoop({ host, port: Number(port) })).exitCode;
}
