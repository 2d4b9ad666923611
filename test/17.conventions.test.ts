/**
 * Node conventions (issue 12, item 6): Symbol.dispose / Symbol.asyncDispose close a Socket or
 * Server as `using` / `await using` would, and util.inspect shows what a Socket tracks.
 */
import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { Server, Socket } from '../src/index.js';
import { guardFds } from './helpers.js';

guardFds();

describe('Symbol.dispose and Symbol.asyncDispose', () => {
  it('close a Socket, once; disposing it again does nothing', async () => {
    const [a, b] = Socket.pair();
    a[Symbol.dispose]();
    expect(a.closed).toBe(true);
    expect(() => a[Symbol.dispose]()).not.toThrow();
    await b[Symbol.asyncDispose]();
    expect(b.closed).toBe(true);
    await expect(b[Symbol.asyncDispose]()).resolves.toBeUndefined();
  });

  it('close a Server', async () => {
    const server = Server.listen({ host: '127.0.0.1' });
    server[Symbol.dispose]();
    expect(server.closed).toBe(true);
    const other = Server.listen({ host: '127.0.0.1' });
    await other[Symbol.asyncDispose]();
    expect(other.closed).toBe(true);
  });

  it('are what `using` calls (the protocol: the symbols are the global ones)', () => {
    expect(typeof Socket.prototype[Symbol.dispose]).toBe('function');
    expect(typeof Server.prototype[Symbol.asyncDispose]).toBe('function');
  });
});

describe('util.inspect', () => {
  it('shows a Socket’s descriptor, type, family, mode, read state and whether it is closed', () => {
    const [a, b] = Socket.pair();
    try {
      b.close();
      a.setBlocking(false);
      a.recv(1);
      const shown = inspect(a, { colors: false, breakLength: Infinity });
      expect(shown).toBe(
        `Socket { fd: ${a.fd}, type: 'stream', family: 'unix', blocking: false, readState: 'eof', closed: false }`,
      );
    } finally {
      a.close();
    }
    expect(inspect(a, { colors: false, breakLength: Infinity })).toContain('fd: -1');
    expect(inspect(a, { colors: false, breakLength: Infinity })).toContain('closed: true');
  });

  it('shows a Server’s descriptor and address, and never throws once it is closed', () => {
    const server = Server.listen({ host: '127.0.0.1' });
    const open = inspect(server, { colors: false, breakLength: Infinity });
    expect(open).toContain(`fd: ${server.fd}`);
    expect(open).toContain(`port: ${server.port}`);
    server.close();
    expect(inspect(server, { colors: false, breakLength: Infinity })).toBe(
      "Server { fd: -1, family: 'IPv4', address: undefined, closed: true }",
    );
  });
});
