/**
 * The Linux column of docs/recv-semantics.md#scenarios as the steps `rawrecv probe` records:
 * every scenario id of the reference, in its order, each with its calls, ret, errno name and kind,
 * or the reason the catalogue cannot create it. Each entry is its Linux cell
 * (docs/recv-semantics.md#<id>) as steps; a comment says how where the steps need it. Run by
 * test/13.conformance.test.ts (the catalogue in this process) and test/40.probe.test.ts
 * (`rawrecv probe --json`).
 * @module
 */
import { builders, PEEK, sys, unsupported, type Table } from './steps.js';

const { step, wouldBlock, timeout, error, eof, data } = builders({ wouldBlock: 'EAGAIN', timeout: 'EAGAIN' });

export const OOB = 'recv(16, MSG_OOB)';
/** A poll(2) step: `ready` or not (`none`). */
export const poll = (socket: string, ready: boolean): ReturnType<typeof step> =>
  step(socket, 'poll(POLLIN)', ready ? 'ready' : 'none', ready ? 1 : 0, null);

/** tcp.keepalive-dead where the OS lacks TCP_USER_TIMEOUT (macOS, Windows). */
export const NO_USER_TIMEOUT = unsupported('killing a loopback connection in bounded time needs TCP_USER_TIMEOUT');

export const LINUX: Table = {
  'tcp.idle.nonblocking': [wouldBlock('tcp4'), wouldBlock('tcp6')],
  // MSG_DONTWAIT wins over SO_RCVTIMEO: would-block, not timeout
  'tcp.idle.dontwait': [wouldBlock('tcp4', 'recv(16, MSG_DONTWAIT)'), wouldBlock('tcp4', 'recv(16, MSG_DONTWAIT)')],
  'tcp.idle.rcvtimeo': [timeout('tcp4')],
  'tcp.data': ['tcp4', 'tcp6'].flatMap((s) => [data(s, 3, 'recv(3)'), data(s, 2), wouldBlock(s)]),
  'tcp.peek': [data('tcp4', 5, PEEK), data('tcp4', 5), wouldBlock('tcp4', PEEK)],
  'tcp.fin': [
    ...['tcp4', 'tcp6'].flatMap((s) => [data(s, 5), eof(s), eof(s, PEEK), eof(s)]),
    data('tcp4', 5),
    eof('tcp4'),
  ],
  'tcp.half-close': [eof('tcp4'), step('tcp4', 'send(4)', 'sent', 4, null), data('tcp4 peer', 4)],
  // the peer closes with data unread, then a peer with SO_LINGER {1, 0}
  'tcp.rst': [1, 2].flatMap(() => [error('tcp4', 'ECONNRESET'), eof('tcp4'), eof('tcp4')]),
  'tcp.rst.pending': [data('tcp4', 3), error('tcp4', 'ECONNRESET'), eof('tcp4')],
  // getsockopt(SO_ERROR) takes the error, then on a second connection a MSG_PEEK recv does
  'tcp.rst.consumed': [
    step('tcp4', 'getsockopt(SO_ERROR)', 'error', 0, 'ECONNRESET'),
    eof('tcp4'),
    error('tcp4', 'ECONNRESET', PEEK),
    eof('tcp4'),
  ],
  // non-blocking, then blocking with SO_RCVTIMEO 100 ms: Linux waits it out, then 0
  'tcp.len0.idle': [sys(wouldBlock('tcp4', 'recv(0)')), sys(data('tcp4', 0, 'recv(0)'))],
  'tcp.len0.data': [sys(data('tcp4', 0, 'recv(0)')), data('tcp4', 3)],
  'tcp.unconnected': [error('tcp4', 'ENOTCONN')],
  'tcp.listening': [error('tcp4', 'ENOTCONN')],
  'tcp.connecting': [wouldBlock('tcp4')],
  'tcp.refused': [error('tcp4', 'ECONNREFUSED'), eof('tcp4')],
  'tcp.keepalive-dead': [error('tcp4', 'ETIMEDOUT'), eof('tcp4')],
  'tcp.shut-rd': [data('tcp4', 3), eof('tcp4'), eof('tcp4'), data('tcp4', 4), eof('tcp4')],
  'tcp.waitall': [data('tcp4', 3, 'recv(16, MSG_WAITALL)'), eof('tcp4')],
  // SO_RCVTIMEO is set, so libuv's SA_RESTART does not restart it
  'tcp.eintr': [step('tcp4', 'recv(16)', 'interrupted', -1, 'EINTR')],
  // on a worker thread, raw recv: close() does not wake it (the peer's 4 bytes do, 300 ms later);
  // shutdown(SHUT_RD) on a second connection does, with 0
  'tcp.wake': [sys(data('tcp4 worker', 4)), sys(eof('tcp4 worker'))],
  // no urgent byte: EINVAL; the urgent byte, the rest of the stream, EINVAL once read; then with
  // SO_OOBINLINE: EINVAL, the bytes up to the mark, the urgent byte
  'tcp.oob': [
    error('tcp4', 'EINVAL', OOB),
    data('tcp4', 1, OOB),
    data('tcp4', 2),
    error('tcp4', 'EINVAL', OOB),
    error('tcp4', 'EINVAL', OOB),
    data('tcp4', 2),
    data('tcp4', 1),
  ],
  // SO_RCVLOWAT 4, 2 bytes queued: not readable; blocking recv (SO_RCVTIMEO 100 ms) gives the 2
  // bytes after the timeout; non-blocking at once; 4 queued: readable
  'tcp.rcvlowat': [poll('tcp4', false), data('tcp4', 2), data('tcp4', 2), poll('tcp4', true), data('tcp4', 4)],
  'udp.idle': [wouldBlock('udp4'), wouldBlock('udp4', 'recvmsg(16)')],
  'udp.zero-length': [data('udp4', 0, 'recvmsg(16)'), wouldBlock('udp4')],
  // recvmsg, then recv with the MSG_TRUNC input flag: ret is the full length
  'udp.truncated': [
    data('udp4', 4, 'recvmsg(4)', { truncated: true }),
    data('udp4', 4, 'recv(4, MSG_TRUNC)', { ret: 10, truncated: true }),
    wouldBlock('udp4', 'recvmsg(16)'),
  ],
  // the recv after the zero-length one returns the second datagram: the first is gone
  'udp.len0': [data('udp4', 5, PEEK), sys(data('udp4', 0, 'recv(0)')), data('udp4', 6)],
  'udp.icmp': [error('udp4', 'ECONNREFUSED'), wouldBlock('udp4')],
  // a connected probe to the same port first: once its ECONNREFUSED is in, so is the ICMP
  'udp.icmp.unconnected': [error('udp4 probe', 'ECONNREFUSED'), wouldBlock('udp4')],
  'unix.stream': [
    wouldBlock('unix-stream'),
    data('unix-stream', 5),
    eof('unix-stream'),
    eof('unix-stream'),
    error('unix-stream', 'ECONNRESET'),
    eof('unix-stream'),
  ],
  // the 0 after the peer closed is eof: poll(2) reports the hang-up (README, SOCK_SEQPACKET)
  'unix.seqpacket': [
    data('unix-seqpacket', 0),
    wouldBlock('unix-seqpacket'),
    data('unix-seqpacket', 4, 'recvmsg(4)', { truncated: true }),
    data('unix-seqpacket', 4, 'recvmsg(16)'),
    eof('unix-seqpacket'),
  ],
  // a zero-length record with the peer there; 'ab', '', 'c' then the close (the '' is data: 'c'
  // is queued behind it); the close; sys.recv's 0 alone; a lone '' at the close reads as eof
  'unix.seqpacket.eof': [
    data('unix-seqpacket', 0),
    data('unix-seqpacket', 2),
    data('unix-seqpacket', 0),
    data('unix-seqpacket', 1),
    eof('unix-seqpacket'),
    sys(data('unix-seqpacket', 0)),
    eof('unix-seqpacket'),
    eof('unix-seqpacket'),
  ],
  // then blocking: SO_RCVTIMEO ends the wait
  'unix.dgram.peer-closed': [wouldBlock('unix-dgram'), wouldBlock('unix-dgram'), timeout('unix-dgram')],
  'fd.closed': [sys(error('fd -1', 'EBADF')), sys(error('closed fd', 'EBADF'))],
  'fd.not-socket': [sys(error('/dev/null', 'ENOTSOCK')), sys(error('pipe', 'ENOTSOCK'))],
  // the control messages are in the note (test/13 checks it): IP_PKTINFO to 127.0.0.1 on lo
  'udp.pktinfo': [data('udp4', 1, 'recvmsg(16)')],
  // IP_TOS 0xb9 by sendmsg, then 0x03 by setsockopt: each arrives as sent (the note)
  'udp.tos-ecn': [data('udp4', 1, 'recvmsg(16)'), data('udp4', 1, 'recvmsg(16)')],
  'udp.timestamp': [data('udp4', 1, 'recvmsg(16)')],
  // connected and unconnected, without IP_RECVERR, then with it (docs/recv-semantics.md#error-queue)
  'udp.errqueue': [
    wouldBlock('udp4 conn', 'recvmsg(16, MSG_ERRQUEUE)'),
    error('udp4 conn', 'ECONNREFUSED'),
    error('udp4 probe', 'ECONNREFUSED'),
    wouldBlock('udp4 unconn', 'recvmsg(16, MSG_ERRQUEUE)'),
    wouldBlock('udp4 unconn'),
    data('udp4 conn+err', 4, 'recvmsg(16, MSG_ERRQUEUE)'),
    wouldBlock('udp4 conn+err'),
    error('udp4 unconn+err', 'ECONNREFUSED'),
    data('udp4 unconn+err', 4, 'recvmsg(16, MSG_ERRQUEUE)'),
    wouldBlock('udp4 unconn+err', 'recvmsg(16, MSG_ERRQUEUE)'),
  ],
  // the descriptor reads through ('rx'); then two sent with room for one: MSG_CTRUNC (the note)
  'unix.scm-rights': [
    data('unix-stream', 2, 'recvmsg(16)'),
    data('unix-stream rx', 7),
    data('unix-stream', 2, 'recvmsg(16, controllen 20)'),
  ],
  'unix.credentials': [data('unix-dgram', 3, 'recvmsg(16)')],
};
