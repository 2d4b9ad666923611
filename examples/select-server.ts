/**
 * "How does one server talk to several clients at once, without threads?"
 *
 * The third program of the well-known Stack Overflow answer, ported from Python 2: a server that
 * puts its listening socket and every client into select(), accepts when the listener is
 * readable, and makes one recv on each readable client: data is echoed back, 0 bytes means the
 * client is gone.
 *
 * Why select() becomes "readiness, then one non-blocking recv" here:
 * - select() does no I/O. It only says which descriptors are ready: a readable socket has data,
 *   an EOF or an error waiting, so one recv on it returns at once. rawrecv keeps that split.
 *   Each Socket has one libuv poll handle on Node's event loop (epoll / kqueue underneath, what
 *   select() grew into, without its FD_SETSIZE limit of 1024 descriptors); `recvAsync` awaits
 *   readability and then makes exactly one recv(2) with MSG_DONTWAIT.
 * - That recv is non-blocking because readiness can be spurious (select(2), BUGS: "a socket
 *   ready for reading ... a subsequent read blocks"; libuv says the same of uv_poll). A recv
 *   that would block must not stall every other client, so it gives EAGAIN, and recvAsync
 *   simply waits for readiness again: the only loop in the library, named and documented.
 * - The original has one loop over the sets select() returns. Here each client has its own
 *   async loop and the event loop multiplexes them: the event loop *is* the select() loop.
 *   The listening socket is readable when a connection is queued: that is `acceptAsync`.
 * - select()'s timeout argument becomes `idleTimeoutMs`: a client silent that long is closed,
 *   and the server stops accepting after that long without a new client. With `maxClients`
 *   as well, the server always ends.
 *
 * A stream has no message boundaries: a "message" here is whatever one recv returned (up to
 * 4096 bytes), as in the original. A client that waits for each echo before sending again gets
 * one echo per message.
 *
 * Run: `npm run example -- select-server 127.0.0.1 9999 3`, then connect with
 * `nc 127.0.0.1 9999` from several terminals (see examples/README.md).
 */
import { pathToFileURL } from 'node:url';

import { Server, type Socket } from 'rawrecv';

export interface SelectServerOptions {
  /** Where to listen. Default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port, read it from the handle. */
  port?: number;
  /** Stop accepting after this many clients (then serve them to the end). Default 10. */
  maxClients?: number;
  /** Close a client that sends nothing for this long; stop accepting after this long with no new client. Default 10000 ms. */
  idleTimeoutMs?: number;
  /** Where the lines go. Default console.log. */
  log?: (line: string) => void;
}

/** How a client's session ended: its EOF, a reset, an error, silence, or the server's close(). */
export type ClientEnd = 'eof' | 'reset' | 'error' | 'idle' | 'server-closed';

export interface ClientOutcome {
  /** 1, 2, ... in the order the clients were accepted. */
  id: number;
  /** Every message received from it, in order. */
  messages: string[];
  end: ClientEnd;
  /** The error code for 'reset' and 'error' (ECONNRESET, EPIPE, ...). */
  code?: string;
}

export interface SelectServerOutcome {
  /** Why accepting stopped. */
  stopped: 'max-clients' | 'idle' | 'closed' | 'accept-error';
  clients: ClientOutcome[];
  /** Every line logged, in order. */
  lines: string[];
}

export interface SelectServerHandle {
  /** The port it listens on. */
  port: number;
  /** Settles once accepting has stopped and every client is closed. */
  done: Promise<SelectServerOutcome>;
  /** Stops accepting and closes every client now; `done` then settles. */
  close(): void;
}

const isAbort = (error: unknown): boolean => error instanceof Error && error.name === 'AbortError';

/**
 * Listens (synchronously, so a bad host or a busy port rejects here) and returns at once; the
 * serving goes on in the background until `done` settles.
 */
export async function selectServer(options: SelectServerOptions = {}): Promise<SelectServerHandle> {
  const { host = '127.0.0.1', port = 0, maxClients = 10, idleTimeoutMs = 10_000, log = console.log } = options;
  const lines: string[] = [];
  const print = (line: string): void => {
    lines.push(line);
    log(line);
  };
  const stop = new AbortController();
  const server = Server.listen({ host, port });
  const listeningPort = server.port;
  print(`listening on ${host}:${listeningPort}`);

  const done = (async (): Promise<SelectServerOutcome> => {
    const sessions: Promise<ClientOutcome>[] = [];
    let stopped: SelectServerOutcome['stopped'] = 'max-clients';
    try {
      while (sessions.length < maxClients) {
        // select() saying "the listener is readable", then one non-blocking accept(2).
        let accepted;
        try {
          accepted = await server.acceptAsync({ timeout: idleTimeoutMs, signal: stop.signal });
        } catch (error) {
          if (!isAbort(error)) throw error;
          stopped = 'closed';
          break;
        }
        if (accepted.kind === 'interrupted') continue; // EINTR: nothing happened, ask again
        if (accepted.kind === 'timeout') {
          stopped = 'idle';
          break;
        }
        if (accepted.kind !== 'socket') {
          // EMFILE, ENFILE, ...: out of descriptors or worse; stop rather than spin on it.
          print(`accept failed: ${accepted.code} (errno ${accepted.errno})`);
          stopped = 'accept-error';
          break;
        }
        const id = sessions.length + 1;
        print(`client ${id} connected`);
        sessions.push(serveClient(id, accepted.socket, idleTimeoutMs, stop.signal, print));
      }
    } finally {
      // Listening ends here; clients already accepted are served to their end.
      server.close();
    }
    print(`stopped accepting (${stopped})`);
    const clients = await Promise.all(sessions);
    print(`served ${clients.length} client${clients.length === 1 ? '' : 's'}`);
    return { stopped, clients, lines };
  })();

  return { port: listeningPort, done, close: () => stop.abort() };
}

/** One client: readiness, one recv, echo, again, until its EOF, an error, silence or close(). */
async function serveClient(
  id: number,
  socket: Socket,
  idleTimeoutMs: number,
  signal: AbortSignal,
  print: (line: string) => void,
): Promise<ClientOutcome> {
  const messages: string[] = [];
  const finish = (end: ClientEnd, code?: string): ClientOutcome => {
    const why = end === 'error' ? `error ${code}` : end;
    print(`client ${id} closed (${why})`);
    return code === undefined ? { id, messages, end } : { id, messages, end, code };
  };
  // ECONNRESET, or WSAECONNRESET on Windows: the client aborted (SO_LINGER 0, or it closed
  // with our echo unread). The kernel says so once (docs/recv-semantics.md#trap-2), so it is
  // acted on right here.
  const failed = (code: string): ClientOutcome =>
    code === 'ECONNRESET' || code === 'WSAECONNRESET' ? finish('reset', code) : finish('error', code);
  const wait = { timeout: idleTimeoutMs, signal };
  try {
    for (;;) {
      const result = await socket.recvAsync(4096, wait);
      switch (result.kind) {
        case 'data': {
          const text = result.data.toString('utf8');
          messages.push(text);
          print(`client ${id}: ${text}`);
          // The echo may not fit in the send buffer at once: sendAsync waits for writability
          // between non-blocking sends, as a select() server would with its write set.
          const sent = await socket.sendAsync(`echo: ${text}`, wait);
          if (sent.kind === 'timeout') return finish('idle'); // the client stopped reading
          if (sent.kind !== 'sent') return failed(sent.code); // EPIPE, ECONNRESET, ...
          continue;
        }
        case 'eof':
          // recv returned 0: the client shut down its side (the original's `if not data`).
          return finish('eof');
        case 'timeout':
          // Nothing for idleTimeoutMs: the last recv still said EAGAIN.
          return finish('idle');
        case 'would-block': // recvAsync waits again itself; listed so the switch is complete
        case 'interrupted': // EINTR: try again
          continue;
        case 'error':
          return failed(result.code);
      }
    }
  } catch (error) {
    if (isAbort(error)) return finish('server-closed');
    throw error;
  } finally {
    socket.close();
  }
}

// Run as a program: `... examples/select-server.ts [HOST] [PORT] [MAX_CLIENTS]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = '127.0.0.1', port = '9999', maxClients = '3'] = process.argv.slice(2);
  const handle = await selectServer({ host, port: Number(port), maxClients: Number(maxClients) });
  process.once('SIGINT', () => handle.close());
  const outcome = await handle.done;
  process.exitCode = outcome.clients.every((client) => client.end === 'eof') ? 0 : 1;
}
