/**
 * examples/select-server.ts, run against real clients on 127.0.0.1: several at once, their
 * messages interleaved, one of them resetting. Scenarios: tcp.data, tcp.fin, tcp.rst.
 */
import { describe, expect, it } from 'vitest';

import { selectServer, type SelectServerHandle } from '../examples/select-server.js';
import { Socket, type RecvResult } from '../src/index.js';
import { closeAll, codeOf, EOF, errnoOf, guardFds, waitFor, WINE_RST_IS_EOF } from './helpers.js';

guardFds();

const HOST = '127.0.0.1';
const LIMIT = { timeout: 5_000 };

/**
 * How the server sees client 2's reset. Wine deviation (tcp.rst): Wine's recv returns 0 after
 * the RST instead of WSAECONNRESET, so under Wine the server logs a plain eof; Windows and
 * Linux report the reset (WSAECONNRESET / ECONNRESET).
 */
const RESET_END = WINE_RST_IS_EOF ? ({ end: 'eof' } as const) : ({ end: 'reset', code: codeOf('ECONNRESET') } as const);

const TITLE = WINE_RST_IS_EOF
  ? 'serves three clients at once, echoes each message to its sender, and logs eof, also for the reset (Wine deviation)'
  : 'serves three clients at once, echoes each message to its sender, and logs eof and reset';

/**
 * Starts the server with `options` and runs `check` on it with its log and a way to connect client
 * `id` (without blocking, resolved once the server has logged it); the clients are closed and the
 * server stopped and waited for whatever happens, so nothing stays open.
 */
async function serving(
  options: { maxClients: number; idleTimeoutMs: number },
  check: (handle: SelectServerHandle, lines: string[], connect: (id: number) => Promise<Socket>) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const clients: Socket[] = [];
  let handle: SelectServerHandle | undefined;
  try {
    const server = (handle = await selectServer({ host: HOST, ...options, log: (line) => lines.push(line) }));
    await check(server, lines, async (id) => {
      clients.push(await Socket.connect({ host: HOST, port: server.port, ...LIMIT }));
      await waitFor(() => lines.includes(`client ${id} connected`), 5_000, `client ${id} connected`);
      return clients.at(-1) as Socket;
    });
  } finally {
    closeAll(...clients);
    handle?.close();
    await handle?.done.catch(() => undefined);
  }
}

async function send(socket: Socket, text: string): Promise<void> {
  const sent = await socket.sendAsync(text, LIMIT);
  expect(sent).toEqual({ kind: 'sent', ret: Buffer.byteLength(text), errno: 0, bytesSent: Buffer.byteLength(text) });
}

/** The text of the next recvAsync, or the whole result when it is not data. */
async function receive(socket: Socket): Promise<string | RecvResult> {
  const result = await socket.recvAsync(256, LIMIT);
  return result.kind === 'data' ? result.data.toString() : result;
}

describe('examples/select-server.ts', () => {
  it(TITLE, () =>
    serving({ maxClients: 3, idleTimeoutMs: 10_000 }, async (handle, lines, connect) => {
      const clients: Socket[] = [];
      for (const id of [1, 2, 3]) clients.push(await connect(id));
      const [one, two, three] = clients as [Socket, Socket, Socket];

      // All three at once.
      expect(
        await Promise.all(
          clients.map(async (client, i) => (await send(client, `hello from ${i + 1}`), receive(client))),
        ),
      ).toEqual(['echo: hello from 1', 'echo: hello from 2', 'echo: hello from 3']);

      // Interleaved: three requests in flight, answers read in another order.
      await send(three, 'second from 3');
      await send(one, 'second from 1');
      await send(two, 'second from 2');
      expect(await receive(two)).toBe('echo: second from 2');
      expect(await receive(three)).toBe('echo: second from 3');
      expect(await receive(one)).toBe('echo: second from 1');

      // Client 2 aborts its connection (SO_LINGER 0 + close: a RST, scenario tcp.rst).
      two.reset();
      const twoClosed = `client 2 closed (${RESET_END.end})`;
      await waitFor(() => lines.includes(twoClosed), 5_000, twoClosed);

      // The others are still served.
      const third = Promise.all([(async () => (await send(one, 'third from 1'), receive(one)))(), receive(three)]);
      await send(three, 'third from 3');
      expect(await third).toEqual(['echo: third from 1', 'echo: third from 3']);

      // Each shuts down its side (a FIN, scenario tcp.fin): the server logs eof and closes, so
      // the client reads EOF too.
      one.shutdown('write');
      expect(await receive(one)).toEqual(EOF);
      three.shutdown('write');
      expect(await receive(three)).toEqual(EOF);

      const outcome = await handle.done;
      expect(outcome).toEqual({
        stopped: 'max-clients',
        clients: [
          { id: 1, messages: ['hello from 1', 'second from 1', 'third from 1'], end: 'eof' },
          { id: 2, messages: ['hello from 2', 'second from 2'], ...RESET_END },
          { id: 3, messages: ['hello from 3', 'second from 3', 'third from 3'], end: 'eof' },
        ],
        lines,
      });
      // Accepting stops once the third client is in; each client's lines in its own order.
      expect(lines.slice(0, 5)).toEqual([
        `listening on ${HOST}:${handle.port}`,
        'client 1 connected',
        'client 2 connected',
        'client 3 connected',
        'stopped accepting (max-clients)',
      ]);
      const of = (id: number): string[] =>
        lines.filter((line) => line.startsWith(`client ${id}:`) || line.startsWith(`client ${id} closed`));
      expect(of(1)).toEqual([
        'client 1: hello from 1',
        'client 1: second from 1',
        'client 1: third from 1',
        'client 1 closed (eof)',
      ]);
      expect(of(2)).toEqual(['client 2: hello from 2', 'client 2: second from 2', twoClosed]);
      expect(of(3)).toEqual([
        'client 3: hello from 3',
        'client 3: second from 3',
        'client 3: third from 3',
        'client 3 closed (eof)',
      ]);
      expect(lines).toHaveLength(5 + 4 + 3 + 4 + 1);
      expect(lines.at(-1)).toBe('served 3 clients');

      // The listening socket is closed: a new connection is refused.
      await expect(Socket.connect({ host: HOST, port: handle.port, ...LIMIT })).rejects.toMatchObject({
        name: 'SocketError',
        code: codeOf('ECONNREFUSED'),
        errno: errnoOf('ECONNREFUSED'),
      });
    }),
  );

  it('closes a silent client after idleTimeoutMs and stops accepting after as long without a new one', () =>
    serving({ maxClients: 5, idleTimeoutMs: 300 }, async (handle, lines, connect) => {
      const client = await connect(1);
      // The server closes the connection: the silent client reads EOF.
      expect(await receive(client)).toEqual(EOF);
      const outcome = await handle.done;
      expect(outcome).toEqual({ stopped: 'idle', clients: [{ id: 1, messages: [], end: 'idle' }], lines });
      expect(lines[0]).toBe(`listening on ${HOST}:${handle.port}`);
      expect(lines[1]).toBe('client 1 connected');
      // Both timeouts run from about the same moment, so these two come in either order.
      expect(lines.slice(2, 4).sort()).toEqual(['client 1 closed (idle)', 'stopped accepting (idle)']);
      expect(lines.slice(4)).toEqual(['served 1 client']);
    }));

  it('close() stops accepting and closes a waiting client, whose next recv is eof', () =>
    serving({ maxClients: 5, idleTimeoutMs: 10_000 }, async (handle, lines, connect) => {
      const client = await connect(1);
      await send(client, 'before close');
      expect(await receive(client)).toBe('echo: before close');
      handle.close();
      expect(await receive(client)).toEqual(EOF);
      const outcome = await handle.done;
      expect(outcome).toEqual({
        stopped: 'closed',
        clients: [{ id: 1, messages: ['before close'], end: 'server-closed' }],
        lines,
      });
      expect(lines.slice(2).sort()).toEqual(
        [
          'client 1: before close',
          'client 1 closed (server-closed)',
          'stopped accepting (closed)',
          'served 1 client',
        ].sort(),
      );
      expect(lines.at(-1)).toBe('served 1 client');
    }));
});
