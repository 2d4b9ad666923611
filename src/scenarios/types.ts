/**
 * The shapes shared by the scenario catalogue, its runner, `rawrecv probe` and the probe report.
 * @module
 */
import type { RecvFromResult, RecvMsgOptions, RecvMsgResult, RecvResult, SendResult, Socket } from '../index.js';

/**
 * The typed kinds a step can have: recv's own, `sent` for a send, `none` for an empty SO_ERROR or
 * a poll(2) that found nothing, `ready` for a poll(2) that found the descriptor ready.
 */
export const STEP_KINDS = [
  'data',
  'eof',
  'would-block',
  'timeout',
  'interrupted',
  'error',
  'sent',
  'none',
  'ready',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/**
 * One system call a scenario made, with what it returned: the raw numbers (`ret`, `errno`,
 * `code`) and the typed `kind` the library gave them.
 */
export interface Step {
  /** Which socket: 'tcp4', 'tcp6', 'udp4', 'unix-stream', 'fd -1', ... (' peer' for the other end). */
  socket: string;
  /**
   * Which end of which connection of the scenario: `client#1`, `server#1`, `client#2`, ... (the
   * number counts the scenario's connections, or its sockets that are not part of one; `fd#n` for
   * a raw descriptor). `rawrecv diff` pairs calls by it, so that two connections of one scenario
   * cannot be confused when one of them makes a call more on one OS. Report format 2 and later.
   */
  role?: string;
  /** The call as C would spell it, with its length and flags: `recv(16, MSG_PEEK)`. */
  call: string;
  /** 'typed': through Socket; 'sys': the raw `sys` function, its number classified with `classify`. */
  layer: 'typed' | 'sys';
  /** The call's return value (-1 on failure; SO_ERROR: 0, with the error in errno). */
  ret: number;
  /** The platform's error number, positive; 0 on success. */
  errno: number;
  /** The errno's name on this platform (EAGAIN, WSAEWOULDBLOCK), or null when errno is 0. */
  code: string | null;
  kind: StepKind;
  /** Bytes that landed in the buffer (data results). */
  bytes?: number;
  /** The datagram or record was longer than the buffer and its rest is gone. */
  truncated?: boolean;
}

/** How a scenario ended. */
export type ScenarioStatus = 'ok' | 'unsupported' | 'timeout' | 'error';

export interface ScenarioResult {
  id: string;
  title: string;
  status: ScenarioStatus;
  /** Why: for unsupported (what the OS lacks), timeout (the deadline) and error (what was thrown). */
  reason?: string;
  /** Anything worth knowing about how it ran (IPv6 skipped, a platform-only step, ...). */
  note?: string;
  durationMs: number;
  steps: Step[];
}

/** Something a scenario opened; closing must be idempotent. */
export interface Closable {
  close(): void;
}

/** What a raw `sys.recv` needs to be classified like a typed call. */
export interface SysRecvTarget {
  /** The label of {@link Step.socket}. */
  label: string;
  socketType: 'stream' | 'dgram' | 'seqpacket';
  blocking: boolean;
  /** SO_RCVTIMEO in ms, 0 for none. */
  receiveTimeout: number;
  /** The Socket the descriptor belongs to, for the step's role (else the label names it). */
  owner?: Socket;
}

/**
 * What a scenario's `run` gets: recording calls, resource tracking and the deadline.
 * Every call made after the scenario was cut off throws, so a scenario that overran can not
 * touch a descriptor number that the runner has closed (and the OS may have reused).
 */
export interface ScenarioContext {
  /** Aborted when the scenario is cut off: pass it to every wait. */
  readonly signal: AbortSignal;
  /** Whole milliseconds left before the deadline (never below 0). */
  remaining(): number;
  /** Registers something to close when the scenario ends, however it ends. Returns it. */
  track<T extends Closable>(resource: T): T;
  /**
   * Names the ends of one connection (or socketpair) for the steps' roles: `{ client, server }`
   * become `client#n` and `server#n` with this connection's number n. A socket never named this
   * way gets `socket#n` (or `<role>#n`) of its own at its first recorded call.
   */
  connection(ends: Readonly<Record<string, Socket>>): void;
  /**
   * One `poll(2)` of the socket for `events` with a zero timeout (`sys.poll`), recorded as the
   * call `poll(POLLIN)`: ret 1 and kind `ready` when revents has a bit, else ret 0 and `none`.
   * Returns revents.
   */
  poll(socket: Socket, events: number, role?: string): number;
  /** Records a step made elsewhere (a worker thread), with the role of `owner` when given. */
  record(step: Step, owner?: Socket): void;
  /** A typed `socket.recv(length, flags)`, recorded. `role` is appended to the socket label. */
  recv(socket: Socket, length: number, flags?: number, role?: string): RecvResult;
  /** A typed `socket.recvFrom(length, flags)` (one recvmsg), recorded. */
  recvFrom(socket: Socket, length: number, flags?: number, role?: string): RecvFromResult;
  /** A typed `socket.send(data)`, recorded. */
  send(socket: Socket, data: string, role?: string): SendResult;
  /** `socket.takeError()` (getsockopt SO_ERROR), recorded. */
  takeError(socket: Socket, role?: string): { errno: number; code: string } | null;
  /** A raw `sys.recv(socket.fd, ...)`, its number classified as the Socket would (layer 'sys'). */
  sysRecv(socket: Socket, length: number, flags?: number): number;
  /** A raw `sys.recv` on any descriptor number, classified with `target`. */
  sysRecvFd(fd: number, length: number, flags: number, target: SysRecvTarget): number;
  /** Adds a note to the result. */
  note(text: string): void;
  /** Polls `check` every 5 ms until it is true; throws after `ms` (or at the deadline). */
  waitFor(check: () => boolean, what: string, ms?: number): Promise<void>;
  /**
   * A typed `socket.recvMsg(length, options)` (one recvmsg with a control buffer), recorded as
   * `recvmsg(16, MSG_ERRQUEUE)`, with `controllen N` when the control buffer is not the default.
   */
  recvMsg(socket: Socket, length: number, options?: RecvMsgOptions, role?: string): RecvMsgResult;
}

/** One entry of the catalogue: an id of docs/recv-semantics.md#scenarios, and how to make it happen here. */
export interface Scenario {
  /** The reference's scenario id (docs/recv-semantics.md#scenarios): 'tcp.fin', 'udp.icmp', ... */
  id: string;
  /** The reference's scenario column, short. */
  title: string;
  /** The scenario's own deadline in ms (the runner's default otherwise). */
  deadlineMs?: number;
  /** true when this OS can create the scenario, else the reason it cannot. */
  supported(): true | string;
  /** Makes the scenario happen, recording every recv through `ctx`; returns or throws. */
  run(ctx: ScenarioContext): Promise<void>;
}
