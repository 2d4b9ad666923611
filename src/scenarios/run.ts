/**
 * Runs scenarios: each under its own deadline, every recv recorded, every resource closed at
 * the end whatever happened (returned, threw, or was cut off).
 *
 * The deadline is a timer, so it can only cut off a scenario that is waiting on the event loop.
 * A synchronous blocking recv holds the only thread: scenarios bound those with SO_RCVTIMEO.
 * @module
 */
import {
  classify,
  constants,
  errnoName,
  sys,
  type Platform,
  type RecvFromResult,
  type RecvResult,
  type Socket,
} from '../index.js';
import type { Closable, Scenario, ScenarioContext, ScenarioResult, Step, StepKind, SysRecvTarget } from './types.js';
import { messageOf } from './message.js';

/** A scenario's deadline when it does not name its own. */
export const DEFAULT_DEADLINE_MS = 3000;

/** Thrown into a scenario that is still running after its deadline. */
export class CutOffError extends Error {
  constructor() {
    super('the scenario was cut off by its deadline');
    this.name = 'CutOffError';
  }
}

const PLATFORM = constants.platform as Platform;

/** MSG_* names in the order a C programmer writes them. */
const FLAG_NAMES = ['PEEK', 'WAITALL', 'DONTWAIT', 'TRUNC', 'OOB', 'ERRQUEUE'] as const;

/** `MSG_PEEK|MSG_DONTWAIT` for a flags number (unnamed bits in hex). */
export function flagsLabel(flags: number): string {
  const names: string[] = [];
  let rest = flags;
  for (const name of FLAG_NAMES) {
    const bit = constants.MSG[name];
    if (bit !== undefined && bit !== 0 && (rest & bit) === bit) {
      names.push(`MSG_${name}`);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/** POLL* names of an events mask: `POLLIN|POLLPRI`. */
export function pollLabel(events: number): string {
  const names: string[] = [];
  let rest = events;
  for (const [name, bit] of Object.entries(constants.POLL)) {
    if (bit !== undefined && bit !== 0 && (rest & bit) === bit) {
      names.push(`POLL${name}`);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join('|') || '0';
}

/** `recv(16)`, `recv(16, MSG_PEEK)`. */
export function callLabel(syscall: string, length: number, flags: number): string {
  return flags === 0 ? `${syscall}(${length})` : `${syscall}(${length}, ${flagsLabel(flags)})`;
}

/** 'tcp4', 'tcp6', 'udp4', 'unix-stream', 'unix-dgram', 'unix-seqpacket'. */
export function socketLabel(socket: Socket): string {
  if (socket.family === 'unix') return `unix-${socket.type}`;
  const version = socket.family === 'IPv6' ? '6' : '4';
  if (socket.type === 'stream') return `tcp${version}`;
  if (socket.type === 'dgram') return `udp${version}`;
  return `${socket.type}${version}`;
}

function codeOf(errno: number, code: string | undefined): string | null {
  if (errno === 0) return null;
  return code ?? errnoName(errno, PLATFORM) ?? `errno ${errno}`;
}

/** A recorded step from a typed result. */
export function stepOf(
  socket: string,
  call: string,
  layer: Step['layer'],
  result: RecvResult | RecvFromResult | { kind: StepKind; ret: number; errno: number; code?: string },
): Step {
  const code = 'code' in result ? result.code : undefined;
  const step: Step = {
    socket,
    call,
    layer,
    ret: result.ret,
    errno: result.errno,
    code: codeOf(result.errno, code),
    kind: result.kind,
  };
  if (result.kind === 'data' && 'bytesRead' in result) {
    step.bytes = result.bytesRead;
    const truncated = 'truncated' in result ? result.truncated : result.ret > result.bytesRead;
    if (truncated) step.truncated = true;
  }
  return step;
}

/** The mutable side of one run: steps, notes, resources and the cut-off switch. */
class Run {
  readonly steps: Step[] = [];
  /** The role of each socket (or raw descriptor label) met so far, and how many connections were numbered. */
  readonly roles = new Map<unknown, string>();
  connections = 0;
  readonly notes: string[] = [];
  readonly #resources: Closable[] = [];
  readonly #controller = new AbortController();
  readonly #deadline: number;
  #over = false;

  constructor(deadlineMs: number) {
    this.#deadline = performance.now() + deadlineMs;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remaining(): number {
    return Math.max(0, Math.floor(this.#deadline - performance.now()));
  }

  /** Throws once the run is over: nothing may be called after the runner closed everything. */
  check(): void {
    if (this.#over) throw new CutOffError();
  }

  track<T extends Closable>(resource: T): T {
    this.check();
    this.#resources.push(resource);
    return resource;
  }

  record(step: Step): void {
    this.check();
    this.steps.push(step);
  }

  /** The role of `key` (a Socket, or a raw descriptor's label): its own number at its first call. */
  roleOf(key: unknown, base = 'socket'): string {
    let role = this.roles.get(key);
    if (role === undefined) {
      // A label such as 'unconn+err' becomes 'unconn-err': a role is [a-z][a-z0-9-]*#n.
      const name = base.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
      role = `${/^[a-z]/.test(name) ? name : `socket-${name}`}#${++this.connections}`;
      this.roles.set(key, role);
    }
    return role;
  }

  /** Ends the run: later context calls throw, waits reject, resources close (last opened first). */
  finish(): string[] {
    this.#over = true;
    this.#controller.abort(new CutOffError());
    const failures: string[] = [];
    for (const resource of this.#resources.reverse()) {
      try {
        resource.close();
      } catch (error) {
        failures.push(messageOf(error));
      }
    }
    this.#resources.length = 0;
    return failures;
  }
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CutOffError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CutOffError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The order of a step's fields in a report: `role` right after `socket`. */
function withRole(step: Step, role: string): Step {
  const { socket, ...rest } = step;
  return { socket, role, ...rest };
}

function contextOf(run: Run): ScenarioContext {
  const label = (socket: Socket, role?: string): string =>
    role ? `${socketLabel(socket)} ${role}` : socketLabel(socket);
  const record = (step: Step, owner: unknown, base?: string): void =>
    run.record(withRole(step, run.roleOf(owner, base)));
  const sysRecvFd = (fd: number, length: number, flags: number, target: SysRecvTarget): number => {
    run.check();
    const ret = sys.recv(fd, Buffer.alloc(Math.max(length, 1)), 0, length, flags);
    const result = classify(ret < 0 ? { ret: -1, errno: -ret } : { ret, errno: 0 }, {
      platform: PLATFORM,
      socketType: target.socketType,
      requested: length,
      blocking: target.blocking,
      receiveTimeout: target.receiveTimeout,
      flags,
    });
    record(stepOf(target.label, callLabel('recv', length, flags), 'sys', result), target.owner ?? target.label, 'fd');
    return ret;
  };
  return {
    signal: run.signal,
    remaining: () => run.remaining(),
    track: (resource) => run.track(resource),
    connection(ends) {
      run.check();
      const number = ++run.connections;
      for (const [role, socket] of Object.entries(ends)) run.roles.set(socket, `${role}#${number}`);
    },
    poll(socket, events, role) {
      run.check();
      const revents = sys.poll(socket.fd, events);
      const ready = revents > 0;
      const step: Step =
        revents < 0
          ? stepOf(label(socket, role), '', 'typed', { kind: 'error', ret: -1, errno: -revents })
          : {
              socket: label(socket, role),
              call: '',
              layer: 'typed',
              ret: ready ? 1 : 0,
              errno: 0,
              code: null,
              kind: ready ? 'ready' : 'none',
            };
      step.call = `poll(${pollLabel(events)})`;
      record(step, socket, role);
      return revents;
    },
    record(step, owner) {
      record(step, owner ?? step.socket);
    },
    recv(socket, length, flags = 0, role) {
      run.check();
      const result = socket.recv(length, flags);
      record(stepOf(label(socket, role), callLabel('recv', length, flags), 'typed', result), socket, role);
      return result;
    },
    recvFrom(socket, length, flags = 0, role) {
      run.check();
      const result = socket.recvFrom(length, flags);
      // Socket#recvFrom is one recvmsg(2).
      record(stepOf(label(socket, role), callLabel('recvmsg', length, flags), 'typed', result), socket, role);
      return result;
    },
    send(socket, data, role) {
      run.check();
      const result = socket.send(data);
      const length = Buffer.byteLength(data);
      record(stepOf(label(socket, role), `send(${length})`, 'typed', result), socket, role);
      return result;
    },
    takeError(socket, role) {
      run.check();
      const taken = socket.takeError();
      const step: Step = taken
        ? { socket: label(socket, role), call: 'getsockopt(SO_ERROR)', layer: 'typed', ret: 0, ...taken, kind: 'error' }
        : {
            socket: label(socket, role),
            call: 'getsockopt(SO_ERROR)',
            layer: 'typed',
            ret: 0,
            errno: 0,
            code: null,
            kind: 'none',
          };
      record(step, socket, role);
      return taken;
    },
    sysRecv(socket, length, flags = 0) {
      run.check();
      return sysRecvFd(socket.fd, length, flags, {
        owner: socket,
        label: socketLabel(socket),
        socketType: socket.type,
        blocking: socket.blocking,
        receiveTimeout: socket.receiveTimeout,
      });
    },
    sysRecvFd,
    note(text) {
      run.check();
      run.notes.push(text);
    },
    async waitFor(check, what, ms = 2000) {
      const limit = Math.min(ms, run.remaining());
      const until = performance.now() + limit;
      while (!check()) {
        if (performance.now() > until) throw new Error(`timed out after ${Math.round(limit)} ms waiting for ${what}`);
        await abortable(5, run.signal);
        run.check();
      }
    },
    recvMsg(socket, length, options = {}, role) {
      run.check();
      const result = socket.recvMsg(length, options);
      const flags = options.flags ?? 0;
      const control = options.control === undefined ? '' : `controllen ${options.control}`;
      const flagText = flags === 0 ? '' : flagsLabel(flags);
      const call = `recvmsg(${[String(length), flagText, control].filter((part) => part !== '').join(', ')})`;
      record(stepOf(label(socket, role), call, 'typed', result), socket, role);
      return result;
    },
  };
}

/** Runs one scenario under its deadline. Never throws: failures are the result's status. */
export async function runScenario(scenario: Scenario, options: { deadlineMs?: number } = {}): Promise<ScenarioResult> {
  const { id, title } = scenario;
  const started = performance.now();
  let support: true | string;
  try {
    support = scenario.supported();
  } catch (error) {
    // A bug of the probe, not a limit of the OS: never reported as 'unsupported'.
    return { id, title, status: 'error', reason: `supported() failed: ${messageOf(error)}`, durationMs: 0, steps: [] };
  }
  if (support !== true) return { id, title, status: 'unsupported', reason: support, durationMs: 0, steps: [] };

  const deadlineMs = options.deadlineMs ?? scenario.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const run = new Run(deadlineMs);
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<{ status: 'timeout' }>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'timeout' }), deadlineMs);
  });
  const ran = Promise.resolve()
    .then(() => scenario.run(contextOf(run)))
    .then(
      () => ({ status: 'ok' as const }),
      (error: unknown) => ({ status: 'error' as const, error }),
    );
  let outcome: { status: 'ok' } | { status: 'timeout' } | { status: 'error'; error: unknown };
  let closeFailures: string[];
  try {
    outcome = await Promise.race([ran, cutOff]);
  } finally {
    clearTimeout(timer);
    closeFailures = run.finish();
  }
  const result: ScenarioResult = {
    id,
    title,
    status: outcome.status,
    durationMs: Math.round(performance.now() - started),
    steps: [...run.steps],
  };
  if (outcome.status === 'timeout') result.reason = `cut off by its ${deadlineMs} ms deadline`;
  if (outcome.status === 'error') result.reason = messageOf(outcome.error);
  const notes = [...run.notes, ...closeFailures.map((failure) => `closing failed: ${failure}`)];
  if (notes.length > 0) result.note = notes.join('; ');
  return result;
}

/** Runs the scenarios one after the other, yielding each result as it finishes. */
export async function* runScenarios(
  scenarios: readonly Scenario[],
  options: { deadlineMs?: number } = {},
): AsyncGenerator<ScenarioResult, void, undefined> {
  for (const scenario of scenarios) yield await runScenario(scenario, options);
}
