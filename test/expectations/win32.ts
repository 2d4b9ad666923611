/**
 * The Windows column of docs/recv-semantics.md#scenarios as `rawrecv probe` steps, for Windows and
 * for Wine (docs/recv-semantics.md#wine). An id not listed has the Linux steps in Winsock's names
 * (its cell is "same"). A plain step is what both give; a `deviation` records the documented value
 * and Wine's, with why (asserted under Wine and named a deviation); `wineOnly` is Wine's value where
 * the column has none ([U]): asserted under Wine, not compared on Windows. test/13 also checks that
 * test/fixtures/probe-win32-wine.json is the Wine view and probe-win32-reference.json agrees.
 * @module
 */
import { LINUX, NO_USER_TIMEOUT, OOB } from './linux.js';
import {
  builders,
  column,
  deviation,
  PEEK,
  sys,
  undocumented,
  unsupported,
  winsock,
  wineOnly,
  wineUnsupported,
  type Expected,
} from './steps.js';

const { step, wouldBlock, timeout, error, eof, data } = builders({
  wouldBlock: 'WSAEWOULDBLOCK',
  timeout: 'WSAETIMEDOUT',
});

/** Winsock's datagram longer than the buffer: data, the buffer filled, ret -1 and WSAEMSGSIZE. */
const msgSize = (call: string, bytes: number, extra: Partial<Expected> = {}): Expected => ({
  ...data('udp4', bytes, call, extra),
  ret: -1,
  code: 'WSAEMSGSIZE',
});

const RST_IS_EOF = "Wine's recv returns 0 (an orderly end) after a RST where Windows reports WSAECONNRESET";
const LEN0 =
  'Wine passes a zero-length recv to Linux, which answers as on Linux; Winsock documents WSAEINVAL for a stream socket';
const LISTENING =
  "Wine's recv on a blocking listening socket waits (here until SO_RCVTIMEO) instead of failing with WSAENOTCONN";
const ICMP = "no ICMP error reaches Wine's recv (Linux keeps it for a later send); Windows reports WSAECONNRESET";
const ICMP_UNCONNECTED =
  "no ICMP error reaches Wine's recvfrom (Linux reports none to an unconnected socket); Windows reports WSAECONNRESET while SIO_UDP_CONNRESET is on";
const WORKER = 'tcp4 worker';
const WAKE =
  "Wine's closesocket() ends the recv another thread is blocked in with WSAEINVAL; Windows documents WSAEINTR";
/** docs/recv-semantics.md#wine: Wine 8.0's socket(AF_UNIX, ...) fails. */
export const NO_WINE_AF_UNIX =
  'Wine 8.0 has no AF_UNIX sockets: socket(AF_UNIX) fails with WSAEAFNOSUPPORT, where Windows 10 1803+ has stream ones';
const NO_AF_UNIX = "Windows' Socket.pair() is a loopback TCP pair: no AF_UNIX socketpair to run this on";

export const WIN32 = column(
  LINUX,
  {
    'tcp.idle.dontwait': unsupported('Winsock has no MSG_DONTWAIT flag'),
    // the calls after the reset are not documented
    'tcp.rst': [1, 2].flatMap(() => [
      deviation(error('tcp4', 'WSAECONNRESET'), eof('tcp4'), RST_IS_EOF),
      wineOnly(eof('tcp4')),
      wineOnly(eof('tcp4')),
    ]),
    // the queued bytes may be thrown away [U]; under Wine the bytes, then the RST read as 0
    'tcp.rst.pending': [wineOnly(data('tcp4', 3)), wineOnly(eof('tcp4')), wineOnly(eof('tcp4'))],
    // [U]; under Wine the RST reads as 0, so there is no error to take
    'tcp.rst.consumed': [
      wineOnly(step('tcp4', 'getsockopt(SO_ERROR)', 'none', 0, null)),
      wineOnly(eof('tcp4')),
      wineOnly(eof('tcp4', PEEK)),
      wineOnly(eof('tcp4')),
    ],
    'tcp.len0.idle': [
      deviation(sys(error('tcp4', 'WSAEINVAL', 'recv(0)')), sys(wouldBlock('tcp4', 'recv(0)')), LEN0),
      deviation(sys(error('tcp4', 'WSAEINVAL', 'recv(0)')), sys(timeout('tcp4', 'recv(0)')), LEN0),
    ],
    // [U] (by the rule of tcp.len0.idle, WSAEINVAL); the bytes stay queued either way
    'tcp.len0.data': [
      deviation(sys(error('tcp4', 'WSAEINVAL', 'recv(0)')), sys(data('tcp4', 0, 'recv(0)')), LEN0),
      data('tcp4', 3),
    ],
    'tcp.listening': [deviation(error('tcp4', 'WSAENOTCONN'), timeout('tcp4'), LISTENING)],
    'tcp.connecting': [wineOnly(wouldBlock('tcp4'))],
    // [U]; under Wine the refusal is taken by the connect's completion, and recv reads 0
    'tcp.refused': [wineOnly(eof('tcp4')), wineOnly(eof('tcp4'))],
    'tcp.keepalive-dead': NO_USER_TIMEOUT,
    // WSAESHUTDOWN (10058); TCP resets the connection when bytes are queued or arrive [D]: what recv
    // says after that reset is not documented
    'tcp.shut-rd': [
      error('tcp4', 'WSAESHUTDOWN'),
      wineOnly(error('tcp4', 'WSAESHUTDOWN')),
      error('tcp4', 'WSAESHUTDOWN'),
      wineOnly(error('tcp4', 'WSAESHUTDOWN')),
      wineOnly(error('tcp4', 'WSAESHUTDOWN')),
    ],
    'tcp.eintr': unsupported('Windows has no signals'),
    // closesocket() cancels the other thread's recv: WSAEINTR [D]; shutdown(SD_RECEIVE) under a
    // blocked recv is not documented: under Wine it does not wake it, SO_RCVTIMEO ends it
    'tcp.wake': [
      deviation(sys(step(WORKER, 'recv(16)', 'interrupted', -1, 'WSAEINTR')), sys(error(WORKER, 'WSAEINVAL')), WAKE),
      wineOnly(sys(timeout(WORKER))),
    ],
    // [U]; under Wine: no urgent byte is WSAEWOULDBLOCK (a non-blocking socket), also once it
    // was read; with SO_OOBINLINE WSAEINVAL; the stream as on Linux
    'tcp.oob': [
      wineOnly(wouldBlock('tcp4', OOB)),
      wineOnly(data('tcp4', 1, OOB)),
      wineOnly(data('tcp4', 2)),
      wineOnly(wouldBlock('tcp4', OOB)),
      wineOnly(error('tcp4', 'WSAEINVAL', OOB)),
      wineOnly(data('tcp4', 2)),
      wineOnly(data('tcp4', 1)),
    ],
    'tcp.rcvlowat': unsupported('Winsock does not support SO_RCVLOWAT (setsockopt documents it as not supported)'),
    // -1 WSAEMSGSIZE (10040) with the buffer filled; the rest is lost [D]. What Winsock does with
    // the MSG_TRUNC bit as an input flag is not documented, so nor is what is left queued after it.
    'udp.truncated': [
      msgSize('recvmsg(4)', 4, { truncated: true }),
      wineOnly(msgSize('recv(4, MSG_TRUNC)', 4)),
      wineOnly(wouldBlock('udp4', 'recvmsg(16)')),
    ],
    // [U]; under Wine the rule for a datagram longer than the buffer: WSAEMSGSIZE, and it is gone
    'udp.len0': [
      data('udp4', 5, PEEK),
      wineOnly(sys(msgSize('recv(0)', 0, { truncated: true }))),
      wineOnly(data('udp4', 6)),
    ],
    'udp.icmp': [deviation(error('udp4', 'WSAECONNRESET'), timeout('udp4'), ICMP), wineOnly(wouldBlock('udp4'))],
    'udp.icmp.unconnected': [
      deviation(error('udp4 probe', 'WSAECONNRESET'), timeout('udp4 probe'), ICMP),
      deviation(error('udp4', 'WSAECONNRESET'), wouldBlock('udp4'), ICMP_UNCONNECTED),
    ],
    // AF_UNIX stream sockets exist (Windows 10 1803+) [D]: the scenario connects over a path;
    // their values are not documented. Wine 8 has no AF_UNIX at all.
    'unix.stream': wineUnsupported(
      NO_WINE_AF_UNIX,
      undocumented('the Windows column documents no values for AF_UNIX stream sockets'),
    ),
    'unix.seqpacket': unsupported(NO_AF_UNIX),
    'unix.seqpacket.eof': unsupported(NO_AF_UNIX),
    'unix.dgram.peer-closed': unsupported(NO_AF_UNIX),
    'fd.closed': [sys(error('fd -1', 'WSAENOTSOCK')), sys(error('closed fd', 'WSAENOTSOCK'))],
    'fd.not-socket': unsupported('a C runtime descriptor is not a SOCKET: Windows cannot hand one to recv'),
    // WSARecvMsg with IP_PKTINFO [D]
    'udp.pktinfo': [data('udp4', 1, 'recvmsg(16)')],
    'udp.tos-ecn': unsupported(
      "Windows takes no IP_TOS in sendmsg to set a datagram's TOS, and receives only its ECN bits",
    ),
    'udp.timestamp': unsupported('Windows has no SO_TIMESTAMPNS'),
    'udp.errqueue': unsupported('Windows has no error queue (IP_RECVERR, MSG_ERRQUEUE)'),
    'unix.scm-rights': unsupported('Windows has no SCM_RIGHTS (and no AF_UNIX socketpair)'),
    'unix.credentials': unsupported('Windows has no SCM_CREDENTIALS (and no AF_UNIX socketpair)'),
  },
  winsock,
);
