/**
 * The control-message scenarios of docs/recv-semantics.md#scenarios: recvmsg's ancillary data
 * (destination address and interface, TOS / ECN, kernel timestamp, descriptors and credentials
 * over AF_UNIX) and the error queue. Each records its recvmsg calls as steps; what the control
 * messages said goes in the result's note, compared with what the scenario set (the TOS it sent,
 * this process's pid): a steps table cannot hold them.
 * @module
 */
import { constants, Socket, sys, type ControlMessage, type Platform, type RecvMsgResult } from '../index.js';
import { closedUdpPort, IPV4 } from './helpers.js';
import type { Scenario, ScenarioContext } from './types.js';

const PLATFORM = constants.platform as Platform;
const BOUND_MS = 2000;
const { CMSG, IP, MSG, POLL, SO } = constants;

/** true when every named constant exists here, else which one is missing. */
function needs(...names: [string, number | undefined][]): true | string {
  const missing = names.filter(([, value]) => value === undefined).map(([name]) => name);
  return missing.length === 0 || `${PLATFORM} has no ${missing.join(', ')}`;
}

/** Linux only: the decoder knows Linux's structs and Windows' IN_PKTINFO (src/control.ts). */
const linuxOnly = (what: string): true | string => PLATFORM === 'linux' || `${what}: decoded on Linux only`;

function boundUdp(ctx: ScenarioContext): Socket {
  const socket = ctx.track(Socket.udp({ bind: { host: IPV4, port: 0 } }));
  socket.setReceiveTimeout(BOUND_MS);
  return socket;
}

function to(socket: Socket): { host: string; port: number } {
  return { host: IPV4, port: socket.localAddress().port };
}

function controlOf(result: RecvMsgResult): ControlMessage[] {
  return result.kind === 'data' ? result.control : [];
}

/** One line for a decoded control message, the value a test can compare (timestamps left out). */
function describe(message: ControlMessage): string {
  switch (message.name) {
    case 'IP_PKTINFO':
    case 'IPV6_PKTINFO':
      return `${message.name} to ${message.destination} on ${message.interfaceName ?? '?'} (ifindex ${message.ifindex})`;
    case 'IP_TOS':
    case 'IPV6_TCLASS':
      return `${message.name} 0x${message.tos.toString(16)} (DSCP ${message.dscp}, ECN ${message.ecn})`;
    case 'IP_ECN':
    case 'IPV6_ECN':
      return `${message.name} ${message.ecn}`;
    case 'IP_TTL':
    case 'IPV6_HOPLIMIT':
      return `${message.name} ${message.ttl}`;
    case 'SO_TIMESTAMPNS':
      return message.name;
    case 'SCM_RIGHTS':
      return `SCM_RIGHTS ${message.descriptors.length} descriptor${message.descriptors.length === 1 ? '' : 's'}`;
    case 'SCM_CREDENTIALS':
      return `SCM_CREDENTIALS pid ${message.pid === process.pid ? 'this process' : message.pid}`;
    case 'UDP_GRO':
      return `UDP_GRO ${message.segmentSize}`;
    case 'IP_RECVERR':
    case 'IPV6_RECVERR': {
      const { error } = message;
      const offender = error.offender === null ? 'no offender' : `offender ${error.offender.address}`;
      return `${message.name} ${error.errnoName} from ${error.origin} type ${error.type} code ${error.code}, ${offender}`;
    }
    case null:
      return `level ${message.level} type ${message.type} (${message.data.length} bytes)`;
  }
}

/** Notes the control messages of a result, and MSG_CTRUNC: `what: IP_TOS 0xb9 (...); ...`. */
function noteControl(ctx: ScenarioContext, what: string, result: RecvMsgResult): void {
  if (result.kind !== 'data') return;
  const parts = result.control.map(describe);
  if (result.msgFlags.controlTruncated) parts.push('MSG_CTRUNC');
  ctx.note(`${what}: ${parts.length > 0 ? parts.join(', ') : 'no control messages'}`);
}

/** Tracks the descriptors of a result (closed with the scenario unless taken). */
function trackDescriptors(ctx: ScenarioContext, result: RecvMsgResult): void {
  for (const message of controlOf(result)) {
    if (message.name === 'SCM_RIGHTS') for (const descriptor of message.descriptors) ctx.track(descriptor);
  }
}

/** Waits for POLLERR: the ICMP error is pending (SO_ERROR or the error queue). */
function pendingError(ctx: ScenarioContext, socket: Socket): Promise<void> {
  return ctx.waitFor(() => (sys.poll(socket.fd, 0) & POLL.ERR) !== 0, 'POLLERR (the ICMP error)');
}

export const controlScenarios: readonly Scenario[] = [
  {
    id: 'udp.pktinfo',
    title: 'IP_PKTINFO: the destination address and interface of a datagram',
    supported: () => needs(['IP_PKTINFO', IP.IP_PKTINFO]),
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      receiver.setRecvOptions({ pktinfo: true });
      sender.sendTo('x', to(receiver));
      noteControl(ctx, 'udp4', ctx.recvMsg(receiver, 16));
    },
  },
  {
    id: 'udp.tos-ecn',
    title: 'IP_RECVTOS: the TOS byte of a datagram, ECN bits included',
    supported: () => linuxOnly('IP_TOS in sendmsg and IP_RECVTOS'),
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      receiver.setRecvOptions({ tos: true });
      // DSCP 46 (EF) with ECT(1), set for one datagram by sendmsg's IP_TOS...
      sender.sendMsg('a', { to: to(receiver), control: { tos: 0xb9 } });
      noteControl(ctx, 'IP_TOS 0xb9 sent by sendmsg', ctx.recvMsg(receiver, 16));
      // ...then CE set on the socket with setsockopt(IP_TOS).
      const set = sys.setsockopt(sender.fd, constants.IPPROTO.IP, IP.IP_TOS as number, 0x03);
      if (set < 0) throw new Error(`setsockopt(IP_TOS) failed: ${-set}`);
      sender.sendTo('b', to(receiver));
      noteControl(ctx, 'IP_TOS 0x3 set by setsockopt', ctx.recvMsg(receiver, 16));
    },
  },
  {
    id: 'udp.timestamp',
    title: 'SO_TIMESTAMPNS: when the kernel received a datagram',
    supported: () =>
      PLATFORM === 'win32' ? 'Windows has no SO_TIMESTAMPNS' : needs(['SO_TIMESTAMPNS', SO.TIMESTAMPNS]),
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      receiver.setRecvOptions({ timestamp: true });
      const before = BigInt(Date.now() - 1) * 1_000_000n;
      sender.sendTo('x', to(receiver));
      const result = ctx.recvMsg(receiver, 16);
      const after = BigInt(Date.now() + 1) * 1_000_000n;
      for (const message of controlOf(result)) {
        if (message.name !== 'SO_TIMESTAMPNS') continue;
        const within = message.timestampNs >= before && message.timestampNs <= after;
        ctx.note(
          `SO_TIMESTAMPNS ${within ? 'between' : 'outside'} the clock readings before the send and after the recv`,
        );
      }
      noteControl(ctx, 'udp4', result);
    },
  },
  {
    id: 'udp.errqueue',
    title: 'IP_RECVERR and MSG_ERRQUEUE after ICMP port unreachable, connected and unconnected',
    supported: () => needs(['IP_RECVERR', IP.IP_RECVERR], ['MSG_ERRQUEUE', MSG.ERRQUEUE]),
    async run(ctx) {
      const errqueue = MSG.ERRQUEUE as number;
      const connected = (recvErr: boolean): Socket => {
        const socket = ctx.track(Socket.udp({ connect: { host: IPV4, port: closedUdpPort() } }));
        socket.setBlocking(false);
        if (recvErr) socket.setRecvOptions({ recvErr: true });
        socket.send('ping');
        return socket;
      };
      const unconnected = (recvErr: boolean): { socket: Socket; port: number } => {
        const socket = ctx.track(Socket.udp({ bind: { host: IPV4, port: 0 } }));
        socket.setBlocking(false);
        if (recvErr) socket.setRecvOptions({ recvErr: true });
        const port = closedUdpPort();
        socket.sendTo('ping', { host: IPV4, port });
        return { socket, port };
      };
      // Connected, without IP_RECVERR: the queue is empty, recv takes the error.
      let socket = connected(false);
      await pendingError(ctx, socket);
      ctx.recvMsg(socket, 16, { flags: errqueue }, 'conn');
      ctx.recv(socket, 16, 0, 'conn');
      // Unconnected, without IP_RECVERR: nothing anywhere. A connected probe to the same port first:
      // once its error is in, the ICMP for the unconnected socket's datagram has been handled too.
      const quiet = unconnected(false);
      const probe = ctx.track(Socket.udp({ connect: { host: IPV4, port: quiet.port } }));
      probe.setBlocking(false);
      probe.send('ping');
      await pendingError(ctx, probe);
      ctx.recv(probe, 16, 0, 'probe');
      ctx.recvMsg(quiet.socket, 16, { flags: errqueue }, 'unconn');
      ctx.recv(quiet.socket, 16, 0, 'unconn');
      // Connected, with IP_RECVERR: the entry; reading it clears the pending error, recv has nothing.
      socket = connected(true);
      await pendingError(ctx, socket);
      const entry = ctx.recvMsg(socket, 16, { flags: errqueue }, 'conn+err');
      noteControl(ctx, 'connected', entry);
      ctx.recv(socket, 16, 0, 'conn+err');
      // Unconnected, with IP_RECVERR: recv reports it too, and the queue still has the entry.
      const loud = unconnected(true);
      await pendingError(ctx, loud.socket);
      ctx.recv(loud.socket, 16, 0, 'unconn+err');
      noteControl(ctx, 'unconnected', ctx.recvMsg(loud.socket, 16, { flags: errqueue }, 'unconn+err'));
      ctx.recvMsg(loud.socket, 16, { flags: errqueue }, 'unconn+err');
    },
  },
  {
    id: 'unix.scm-rights',
    title: 'SCM_RIGHTS: a descriptor passed over AF_UNIX, and MSG_CTRUNC',
    supported: () =>
      PLATFORM === 'win32'
        ? 'Windows has no SCM_RIGHTS (and no AF_UNIX socketpair)'
        : needs(['SCM_RIGHTS', CMSG.SCM_RIGHTS]),
    async run(ctx) {
      const [ours, peer] = Socket.pair().map((socket) => ctx.track(socket)) as [Socket, Socket];
      const [passed, other] = Socket.pair().map((socket) => ctx.track(socket)) as [Socket, Socket];
      ours.setBlocking(false);
      peer.sendMsg('fd', { control: { rights: [passed] } });
      const result = ctx.recvMsg(ours, 16);
      trackDescriptors(ctx, result);
      noteControl(ctx, 'one descriptor sent', result);
      // The descriptor that arrived reads what is sent to the other end of the passed socket.
      for (const message of controlOf(result)) {
        if (message.name !== 'SCM_RIGHTS' || message.descriptors[0] === undefined) continue;
        const received = ctx.track(message.descriptors[0].takeSocket());
        received.setReceiveTimeout(BOUND_MS);
        other.send('through');
        ctx.recv(received, 16, 0, 'rx');
      }
      // Two descriptors, room for the header and one: MSG_CTRUNC, one arrives, the kernel closes the other.
      peer.sendMsg('fd', { control: { rights: [passed, other] } });
      const cut = ctx.recvMsg(ours, 16, { control: CMSG.CMSG_LEN_0 + 4 });
      trackDescriptors(ctx, cut);
      noteControl(ctx, 'two descriptors sent', cut);
    },
  },
  {
    id: 'unix.credentials',
    title: 'SO_PASSCRED: the sender pid, uid and gid (SCM_CREDENTIALS)',
    supported: () =>
      PLATFORM === 'win32'
        ? 'Windows has no SCM_CREDENTIALS (and no AF_UNIX socketpair)'
        : needs(['SO_PASSCRED', SO.PASSCRED], ['SCM_CREDENTIALS', CMSG.SCM_CREDENTIALS]),
    async run(ctx) {
      const [ours, peer] = Socket.pair({ type: 'dgram' }).map((socket) => ctx.track(socket)) as [Socket, Socket];
      ours.setBlocking(false);
      ours.setRecvOptions({ credentials: true });
      peer.send('who');
      const result = ctx.recvMsg(ours, 16);
      for (const message of controlOf(result)) {
        if (message.name !== 'SCM_CREDENTIALS') continue;
        const same = message.uid === process.getuid?.() && message.gid === process.getgid?.();
        ctx.note(`uid and gid ${same ? 'are' : 'are not'} this process's`);
      }
      noteControl(ctx, 'unix-dgram', result);
    },
  },
];
