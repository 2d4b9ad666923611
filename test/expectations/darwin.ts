/**
 * The macOS / BSD column of docs/recv-semantics.md#scenarios as `rawrecv probe` steps, in its
 * numbers (EAGAIN 35): only what the column documents. An id not listed has the Linux steps (its
 * cell is "same"); `REST` ends what the column says, `undocumented` is a scenario it has no value
 * for. Nothing runs them here: test/13 runs the catalogue against them on macOS or FreeBSD (the
 * GitHub workflow's macOS job), and checks test/fixtures/probe-darwin-reference.json against them.
 * @module
 */
import { LINUX, NO_USER_TIMEOUT, OOB, poll } from './linux.js';
import { builders, column, PEEK, REST, sys, undocumented, unsupported } from './steps.js';

const { step, error, eof, data } = builders({ wouldBlock: 'EAGAIN', timeout: 'EAGAIN' });

const UNVERIFIED = 'the column has no verified value ([U])';

export const DARWIN = column(LINUX, {
  // a MSG_PEEK recv leaves the error in place [S] (SO_ERROR clears it, as everywhere)
  'tcp.rst.consumed': [
    step('tcp4', 'getsockopt(SO_ERROR)', 'error', 0, 'ECONNRESET'),
    eof('tcp4'),
    error('tcp4', 'ECONNRESET', PEEK),
    error('tcp4', 'ECONNRESET'),
  ],
  'tcp.len0.idle': [sys(data('tcp4', 0, 'recv(0)')), sys(data('tcp4', 0, 'recv(0)'))],
  'tcp.refused': [error('tcp4', 'ECONNREFUSED'), REST],
  'tcp.keepalive-dead': NO_USER_TIMEOUT,
  // the queue is flushed, then 0 [S]: bytes queued before and bytes arriving later are discarded
  'tcp.shut-rd': [eof('tcp4'), eof('tcp4'), eof('tcp4'), eof('tcp4'), eof('tcp4')],
  'tcp.eintr': undocumented(UNVERIFIED),
  // close() wakes the other thread's recv with EBADF [S]; what follows is not documented
  'tcp.wake': [sys(error('tcp4 worker', 'EBADF')), REST],
  // EINVAL without an urgent byte [S]
  'tcp.oob': [error('tcp4', 'EINVAL', OOB), REST],
  // below the mark poll says not readable [S]
  'tcp.rcvlowat': [poll('tcp4', false), REST],
  'udp.zero-length': [data('udp4', 0, 'recvmsg(16)'), REST],
  'udp.truncated': [data('udp4', 4, 'recvmsg(4)', { truncated: true }), REST],
  'udp.len0': undocumented(UNVERIFIED),
  'udp.icmp': [error('udp4', 'ECONNREFUSED'), REST],
  'unix.stream': undocumented(UNVERIFIED),
  'unix.seqpacket': unsupported('macOS has no SOCK_SEQPACKET'),
  'unix.seqpacket.eof': unsupported('macOS has no SOCK_SEQPACKET'),
  'unix.dgram.peer-closed': undocumented(UNVERIFIED),
  // the control messages of issue 11: the column has [D] / [U] for the options, nothing measured
  'udp.pktinfo': undocumented(UNVERIFIED),
  'udp.tos-ecn': undocumented(UNVERIFIED),
  'udp.timestamp': undocumented(UNVERIFIED),
  'udp.errqueue': undocumented('there is no error queue (no IP_RECVERR): the catalogue reports it unsupported'),
  'unix.scm-rights': undocumented(UNVERIFIED),
  'unix.credentials': undocumented(UNVERIFIED),
});

/** The same column on FreeBSD, which has SOCK_SEQPACKET (the column has no value for it). */
export const FREEBSD = column(DARWIN, {
  'unix.seqpacket': undocumented(`FreeBSD has SOCK_SEQPACKET: ${UNVERIFIED}`),
  'unix.seqpacket.eof': undocumented(`FreeBSD has SOCK_SEQPACKET: ${UNVERIFIED}`),
});
