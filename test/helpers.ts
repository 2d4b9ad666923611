/**
 * Shared test helpers: real sockets on loopback, exact errno checks, and the fd-leak guard
 * every test file installs.
 */
import { readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

import { afterAll, beforeAll, expect } from 'vitest';

import { Server, Socket } from '../src/index.js';

/** Open descriptors of this process, from /proc/self/fd. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Installs the file-level guard: the number of open descriptors after the file's tests equals
 * the number before them. Call once at the top level of every test file.
 */
export function guardFds(): void {
  let before = -1;
  beforeAll(() => {
    before = openFdCount();
  });
  afterAll(() => {
    expect(openFdCount(), 'descriptors left open by this file').toBe(before);
  });
}

/** The errno number Node knows for `name` on this OS (os.constants.errno), asserting it exists. */
export function errnoOf(name: string): number {
  const value = (osConstants.errno as Record<string, number | undefined>)[name];
  if (value === undefined) throw new Error(`os.constants.errno has no ${name}`);
  return value;
}

/** Asserts a failure result's exact errno (from os.constants.errno) and code. */
export function expectErrno(result: { ret: number; errno: number; code?: string }, name: string): void {
  expect(result.ret).toBe(-1);
  expect(result.errno).toBe(errnoOf(name));
  // EWOULDBLOCK is EAGAIN's alias on Linux; the code is the canonical name.
  expect(result.code).toBe(name === 'EWOULDBLOCK' ? 'EAGAIN' : name);
}

/** Closes everything given, ignoring what is already closed. */
export function closeAll(...items: (Socket | Server | undefined)[]): void {
  for (const item of items) item?.close();
}

/** A connected TCP pair on 127.0.0.1 (or ::1): `client` from connectSync, `peer` accepted. */
export interface TcpPair {
  server: Server;
  client: Socket;
  peer: Socket;
  close(): void;
}

export function tcpPair(host = '127.0.0.1'): TcpPair {
  const server = Server.listen({ host });
  const client = Socket.connectSync({ host, port: server.port });
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept failed: ${JSON.stringify(accepted)}`);
  const peer = accepted.socket;
  return { server, client, peer, close: () => closeAll(client, peer, server) };
}

/** A loopback TCP port with nothing listening on it (bound, then released). */
export function closedPort(host = '127.0.0.1'): number {
  const server = Server.listen({ host });
  const port = server.port;
  server.close();
  return port;
}

/** Waits until `check` is true, polling every 5 ms, failing after `ms`. Bounded, never spins. */
export async function waitFor(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
