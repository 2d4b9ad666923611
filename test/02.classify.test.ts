/**
 * classify(): the one place a recv outcome becomes a typed result. It is pure and knows all
 * four platforms, so every rule is checked here for linux, darwin, freebsd and win32 on any OS.
 * The numbers are written out from docs/recv-semantics.md#errno-table,
 * never taken from the library's own tables.
 */
import { describe, expect, it } from 'vitest';

import { classify, constants, type ClassifyContext, type Platform, type RawOutcome } from '../src/index.js';
import { connectInProgress, connectionFate, messageFlags } from '../src/classify.js';
import { expectThrow, wrong } from './helpers.js';

/** A platform's numbers, as docs/recv-semantics.md#errno-table gives them. */
interface Numbers {
  /** EAGAIN / EWOULDBLOCK, WSAEWOULDBLOCK on Windows, and the code classify names it by. */
  wouldBlock: number;
  wouldBlockCode: string;
  interrupted: number;
  interruptedCode: string;
  timedOut: number;
  timedOutCode: string;
  connectionReset: number;
  connectionResetCode: string;
  connectionRefused: number;
  connectionRefusedCode: string;
  notConnected: number;
  notConnectedCode: string;
  messageSize: number;
  messageSizeCode: string;
  /** MSG_TRUNC as recvmsg's msg_flags report it. */
  truncatedFlag: number;
  /** MSG_DONTWAIT; Windows has none. */
  dontWait: number | undefined;
}

/** macOS and FreeBSD: every number here is the same on both (the BSD numbering). */
const BSD: Numbers = {
  wouldBlock: 35,
  wouldBlockCode: 'EAGAIN',
  interrupted: 4,
  interruptedCode: 'EINTR',
  timedOut: 60,
  timedOutCode: 'ETIMEDOUT',
  connectionReset: 54,
  connectionResetCode: 'ECONNRESET',
  connectionRefused: 61,
  connectionRefusedCode: 'ECONNREFUSED',
  notConnected: 57,
  notConnectedCode: 'ENOTCONN',
  messageSize: 40,
  messageSizeCode: 'EMSGSIZE',
  truncatedFlag: 0x10,
  dontWait: 0x80,
};

const NUMBERS: Readonly<Record<Platform, Numbers>> = {
  linux: {
    wouldBlock: 11,
    wouldBlockCode: 'EAGAIN',
    interrupted: 4,
    interruptedCode: 'EINTR',
    timedOut: 110,
    timedOutCode: 'ETIMEDOUT',
    connectionReset: 104,
    connectionResetCode: 'ECONNRESET',
    connectionRefused: 111,
    connectionRefusedCode: 'ECONNREFUSED',
    notConnected: 107,
    notConnectedCode: 'ENOTCONN',
    messageSize: 90,
    messageSizeCode: 'EMSGSIZE',
    truncatedFlag: 0x20,
    dontWait: 0x40,
  },
  darwin: BSD,
  freebsd: BSD,
  win32: {
    wouldBlock: 10035,
    wouldBlockCode: 'WSAEWOULDBLOCK',
    interrupted: 10004,
    interruptedCode: 'WSAEINTR',
    timedOut: 10060,
    timedOutCode: 'WSAETIMEDOUT',
    connectionReset: 10054,
    connectionResetCode: 'WSAECONNRESET',
    connectionRefused: 10061,
    connectionRefusedCode: 'WSAECONNREFUSED',
    notConnected: 10057,
    notConnectedCode: 'WSAENOTCONN',
    messageSize: 10040,
    messageSizeCode: 'WSAEMSGSIZE',
    truncatedFlag: 0x100,
    dontWait: undefined,
  },
};

const ALL: readonly Platform[] = ['linux', 'darwin', 'freebsd', 'win32'];
const POSIX: readonly Platform[] = ['linux', 'darwin', 'freebsd'];

/** A context with defaults: a blocking stream socket, 16 bytes asked for, no timeout, no flags. */
function context(platform: Platform, overrides: Partial<ClassifyContext> = {}): ClassifyContext {
  return { platform, socketType: 'stream', requested: 16, blocking: true, receiveTimeout: 0, flags: 0, ...overrides };
}

/** A failed call's raw outcome. */
function failed(errno: number): RawOutcome {
  return { ret: -1, errno };
}

/** Asserts an error classification: kind, ret, errno, code and a non-empty message. */
function expectError(result: ReturnType<typeof classify>, errno: number, code: string): void {
  expect(result).toMatchObject({ kind: 'error', ret: -1, errno, code });
  const message = (result as { message?: unknown }).message;
  expect(typeof message).toBe('string');
  expect((message as string).length).toBeGreaterThan(0);
}

describe.each(ALL)('classify on %s', (platform) => {
  const n = NUMBERS[platform];

  describe('successful calls', () => {
    it.each(['stream', 'dgram', 'seqpacket'] as const)(
      'ret > 0 on a %s socket is data, not truncated',
      (socketType) => {
        expect(classify({ ret: 5, errno: 0 }, context(platform, { socketType }))).toEqual({
          kind: 'data',
          ret: 5,
          errno: 0,
          bytesRead: 5,
          truncated: false,
        });
      },
    );

    it('ret equal to the length asked for is data, not truncated', () => {
      expect(classify({ ret: 16, errno: 0 }, context(platform, { socketType: 'dgram' }))).toEqual({
        kind: 'data',
        ret: 16,
        errno: 0,
        bytesRead: 16,
        truncated: false,
      });
    });

    it('ret 0 on a stream socket asked for 1 or more bytes is eof (tcp.fin)', () => {
      expect(classify({ ret: 0, errno: 0 }, context(platform, { requested: 1 }))).toEqual({
        kind: 'eof',
        ret: 0,
        errno: 0,
      });
      expect(classify({ ret: 0, errno: 0 }, context(platform, { requested: 65536 }))).toEqual({
        kind: 'eof',
        ret: 0,
        errno: 0,
      });
    });

    it.each(['dgram', 'seqpacket'] as const)(
      'ret 0 on a %s socket is a zero-length message, not eof (udp.zero-length)',
      (socketType) => {
        expect(classify({ ret: 0, errno: 0 }, context(platform, { socketType }))).toEqual({
          kind: 'data',
          ret: 0,
          errno: 0,
          bytesRead: 0,
          truncated: false,
        });
      },
    );

    it.each(['stream', 'dgram', 'seqpacket'] as const)(
      'ret 0 for a zero-length request on a %s socket is data with bytesRead 0 (tcp.len0.data)',
      (socketType) => {
        expect(classify({ ret: 0, errno: 0 }, context(platform, { socketType, requested: 0 }))).toEqual({
          kind: 'data',
          ret: 0,
          errno: 0,
          bytesRead: 0,
          truncated: false,
        });
      },
    );

    it('ret greater than the length asked for is truncated data of the length asked for (udp.truncated)', () => {
      // Linux's MSG_TRUNC input flag (0x20) makes recv return the datagram's real length.
      const flags = platform === 'linux' ? 0x20 : 0;
      expect(classify({ ret: 10, errno: 0 }, context(platform, { socketType: 'dgram', requested: 4, flags }))).toEqual({
        kind: 'data',
        ret: 10,
        errno: 0,
        bytesRead: 4,
        truncated: true,
      });
    });

    it(`msgFlags with this platform's MSG_TRUNC bit (0x${n.truncatedFlag.toString(16)}) is truncated data`, () => {
      const raw = { ret: 4, errno: 0, msgFlags: n.truncatedFlag };
      expect(classify(raw, context(platform, { socketType: 'dgram', requested: 4 }))).toEqual({
        kind: 'data',
        ret: 4,
        errno: 0,
        bytesRead: 4,
        truncated: true,
      });
    });

    it("msgFlags with another platform's MSG_TRUNC bit only is not truncated", () => {
      const others = [0x10, 0x20, 0x100].filter((bit) => bit !== n.truncatedFlag);
      for (const bit of others) {
        const result = classify(
          { ret: 4, errno: 0, msgFlags: bit },
          context(platform, { socketType: 'dgram', requested: 4 }),
        );
        expect(result, `msgFlags 0x${bit.toString(16)}`).toEqual({
          kind: 'data',
          ret: 4,
          errno: 0,
          bytesRead: 4,
          truncated: false,
        });
      }
    });

    it('msgFlags 0 is not truncated', () => {
      expect(classify({ ret: 3, errno: 0, msgFlags: 0 }, context(platform, { socketType: 'dgram' }))).toMatchObject({
        kind: 'data',
        truncated: false,
      });
    });
  });

  describe(`would-block (${n.wouldBlock})`, () => {
    it('on a non-blocking socket is would-block (tcp.idle.nonblocking)', () => {
      expect(classify(failed(n.wouldBlock), context(platform, { blocking: false }))).toEqual({
        kind: 'would-block',
        ret: -1,
        errno: n.wouldBlock,
        code: n.wouldBlockCode,
        portableCode: 'EAGAIN',
      });
    });

    it('on a non-blocking socket with a receive timeout is still would-block', () => {
      expect(classify(failed(n.wouldBlock), context(platform, { blocking: false, receiveTimeout: 100 }))).toMatchObject(
        { kind: 'would-block', errno: n.wouldBlock, code: n.wouldBlockCode },
      );
    });

    it('on a blocking socket with a receive timeout is timeout (tcp.idle.rcvtimeo)', () => {
      expect(classify(failed(n.wouldBlock), context(platform, { blocking: true, receiveTimeout: 100 }))).toEqual({
        kind: 'timeout',
        ret: -1,
        errno: n.wouldBlock,
        code: n.wouldBlockCode,
        portableCode: 'EAGAIN',
      });
      expect(classify(failed(n.wouldBlock), context(platform, { blocking: true, receiveTimeout: 1 }))).toMatchObject({
        kind: 'timeout',
      });
    });

    it('on a blocking socket without a receive timeout is would-block', () => {
      expect(classify(failed(n.wouldBlock), context(platform, { blocking: true, receiveTimeout: 0 }))).toEqual({
        kind: 'would-block',
        ret: -1,
        errno: n.wouldBlock,
        code: n.wouldBlockCode,
        portableCode: 'EAGAIN',
      });
    });

    it('on a dgram socket follows the same rules', () => {
      const dgram = { socketType: 'dgram' as const };
      expect(classify(failed(n.wouldBlock), context(platform, { ...dgram, blocking: false }))).toMatchObject({
        kind: 'would-block',
      });
      expect(
        classify(failed(n.wouldBlock), context(platform, { ...dgram, blocking: true, receiveTimeout: 50 })),
      ).toMatchObject({ kind: 'timeout' });
    });

    if (n.dontWait !== undefined) {
      const dontWait = n.dontWait;
      it(`with MSG_DONTWAIT (0x${dontWait.toString(16)}) is would-block even with a receive timeout (tcp.idle.dontwait)`, () => {
        expect(
          classify(failed(n.wouldBlock), context(platform, { blocking: true, receiveTimeout: 100, flags: dontWait })),
        ).toEqual({
          kind: 'would-block',
          ret: -1,
          errno: n.wouldBlock,
          code: n.wouldBlockCode,
          portableCode: 'EAGAIN',
        });
        // Among other flags too (MSG_PEEK is 2 on all three POSIX platforms).
        expect(
          classify(
            failed(n.wouldBlock),
            context(platform, { blocking: true, receiveTimeout: 100, flags: dontWait | 0x2 }),
          ),
        ).toMatchObject({ kind: 'would-block' });
      });

      it("another platform's MSG_DONTWAIT bit alone does not turn a timeout into would-block", () => {
        const otherBit = dontWait === 0x40 ? 0x80 : 0x40;
        expect(
          classify(failed(n.wouldBlock), context(platform, { blocking: true, receiveTimeout: 100, flags: otherBit })),
        ).toMatchObject({ kind: 'timeout' });
      });
    }
  });

  describe(`timed out (${n.timedOut})`, () => {
    if (platform === 'win32') {
      it('WSAETIMEDOUT on a blocking socket with a receive timeout is timeout (tcp.idle.rcvtimeo)', () => {
        expect(classify(failed(10060), context(platform, { blocking: true, receiveTimeout: 100 }))).toEqual({
          kind: 'timeout',
          ret: -1,
          errno: 10060,
          code: 'WSAETIMEDOUT',
          portableCode: 'ETIMEDOUT',
        });
      });

      it('WSAETIMEDOUT without a receive timeout is error (tcp.keepalive-dead)', () => {
        expectError(
          classify(failed(10060), context(platform, { blocking: true, receiveTimeout: 0 })),
          10060,
          'WSAETIMEDOUT',
        );
      });

      it('WSAETIMEDOUT on a non-blocking socket is error even with a receive timeout', () => {
        expectError(
          classify(failed(10060), context(platform, { blocking: false, receiveTimeout: 100 })),
          10060,
          'WSAETIMEDOUT',
        );
      });
    } else {
      it('ETIMEDOUT is error even on a blocking socket with a receive timeout (trap 3)', () => {
        expectError(
          classify(failed(n.timedOut), context(platform, { blocking: true, receiveTimeout: 100 })),
          n.timedOut,
          'ETIMEDOUT',
        );
        expectError(classify(failed(n.timedOut), context(platform)), n.timedOut, 'ETIMEDOUT');
        expectError(classify(failed(n.timedOut), context(platform, { blocking: false })), n.timedOut, 'ETIMEDOUT');
      });

      it('the Winsock number 10060 is no timeout here: error with code UNKNOWN', () => {
        expectError(
          classify(failed(10060), context(platform, { blocking: true, receiveTimeout: 100 })),
          10060,
          'UNKNOWN',
        );
      });
    }
  });

  describe(`interrupted (${n.interrupted})`, () => {
    it.each([true, false])('on a socket with blocking %s is interrupted (tcp.eintr)', (blocking) => {
      expect(classify(failed(n.interrupted), context(platform, { blocking, receiveTimeout: 100 }))).toEqual({
        kind: 'interrupted',
        ret: -1,
        errno: n.interrupted,
        code: n.interruptedCode,
        portableCode: 'EINTR',
      });
    });
  });

  describe(`message too long (${n.messageSize})`, () => {
    if (platform === 'win32') {
      it('WSAEMSGSIZE on a dgram socket is truncated data of the length asked for (udp.truncated)', () => {
        expect(classify(failed(10040), context(platform, { socketType: 'dgram', requested: 4 }))).toEqual({
          kind: 'data',
          ret: -1,
          errno: 10040,
          bytesRead: 4,
          truncated: true,
        });
      });

      it('WSAEMSGSIZE on a stream socket is error', () => {
        expectError(classify(failed(10040), context(platform, { socketType: 'stream' })), 10040, 'WSAEMSGSIZE');
      });
    } else {
      it('EMSGSIZE on a dgram socket is error, not data', () => {
        expectError(
          classify(failed(n.messageSize), context(platform, { socketType: 'dgram', requested: 4 })),
          n.messageSize,
          'EMSGSIZE',
        );
      });

      it('the Winsock number 10040 on a dgram socket is error, not data', () => {
        expectError(
          classify(failed(10040), context(platform, { socketType: 'dgram', requested: 4 })),
          10040,
          'UNKNOWN',
        );
      });
    }
  });

  describe('other errors', () => {
    it.each([
      ['tcp.rst', 'connectionReset', 'connectionResetCode'],
      ['udp.icmp', 'connectionRefused', 'connectionRefusedCode'],
      ['tcp.unconnected', 'notConnected', 'notConnectedCode'],
    ] as const)('%s is error with its code and a message', (_id, numberKey, codeKey) => {
      for (const blocking of [true, false]) {
        expectError(
          classify(failed(n[numberKey]), context(platform, { blocking, receiveTimeout: blocking ? 100 : 0 })),
          n[numberKey],
          n[codeKey],
        );
      }
      expectError(classify(failed(n[numberKey]), context(platform, { socketType: 'dgram' })), n[numberKey], n[codeKey]);
    });

    it('a number the platform does not have is error with code UNKNOWN and a message', () => {
      expectError(classify(failed(99999), context(platform)), 99999, 'UNKNOWN');
    });
  });
});

describe('classify names numbers on their own platform', () => {
  it('35 is EAGAIN (would-block) on darwin and freebsd but EDEADLK (error) on linux', () => {
    for (const platform of ['darwin', 'freebsd'] as const) {
      expect(classify(failed(35), context(platform, { blocking: false }))).toEqual({
        kind: 'would-block',
        ret: -1,
        errno: 35,
        code: 'EAGAIN',
        portableCode: 'EAGAIN',
      });
    }
    expectError(classify(failed(35), context('linux', { blocking: false })), 35, 'EDEADLK');
  });

  it('11 is EAGAIN (would-block) on linux but EDEADLK (error) on darwin and freebsd, UNKNOWN on win32', () => {
    expect(classify(failed(11), context('linux', { blocking: false }))).toEqual({
      kind: 'would-block',
      ret: -1,
      errno: 11,
      code: 'EAGAIN',
      portableCode: 'EAGAIN',
    });
    expectError(classify(failed(11), context('darwin', { blocking: false })), 11, 'EDEADLK');
    expectError(classify(failed(11), context('freebsd', { blocking: false })), 11, 'EDEADLK');
    expectError(classify(failed(11), context('win32', { blocking: false })), 11, 'UNKNOWN');
  });

  it('10035 is would-block only on win32', () => {
    expect(classify(failed(10035), context('win32', { blocking: false }))).toMatchObject({
      kind: 'would-block',
      code: 'WSAEWOULDBLOCK',
    });
    for (const platform of POSIX) {
      expectError(classify(failed(10035), context(platform, { blocking: false })), 10035, 'UNKNOWN');
    }
  });

  it('4 is EINTR on the POSIX platforms but not interrupted on win32', () => {
    for (const platform of POSIX) {
      expect(classify(failed(4), context(platform))).toMatchObject({ kind: 'interrupted', code: 'EINTR' });
    }
    expectError(classify(failed(4), context('win32')), 4, 'UNKNOWN');
  });

  it('54 is ECONNRESET on darwin and freebsd, EXFULL on linux', () => {
    expectError(classify(failed(54), context('darwin')), 54, 'ECONNRESET');
    expectError(classify(failed(54), context('freebsd')), 54, 'ECONNRESET');
    expectError(classify(failed(54), context('linux')), 54, 'EXFULL');
  });
});

describe('classify is pure', () => {
  it('accepts frozen arguments, leaves them unchanged and answers the same twice', () => {
    const raw = Object.freeze({ ret: -1, errno: 11 });
    const ctx = Object.freeze(context('linux', { blocking: true, receiveTimeout: 100 }));
    const copy = { ...ctx };
    const first = classify(raw, ctx);
    const second = classify(raw, ctx);
    expect(first).toEqual({ kind: 'timeout', ret: -1, errno: 11, code: 'EAGAIN', portableCode: 'EAGAIN' });
    expect(second).toEqual(first);
    expect(ctx).toEqual(copy);
    expect(raw).toEqual({ ret: -1, errno: 11 });
  });

  it('answers for another platform than this process runs on', () => {
    const other: Platform = process.platform === 'darwin' ? 'linux' : 'darwin';
    const wouldBlock = other === 'linux' ? 11 : 35;
    expect(classify(failed(wouldBlock), context(other, { blocking: false }))).toMatchObject({
      kind: 'would-block',
      errno: wouldBlock,
      code: 'EAGAIN',
    });
  });
});

describe("classify's argument validation", () => {
  const goodRaw: RawOutcome = { ret: 1, errno: 0 };
  const goodContext = context('linux');

  it('a raw outcome that is not an object throws ERR_INVALID_ARG_TYPE', () => {
    for (const raw of [null, undefined, 1, 'x', true]) {
      expectThrow(() => classify(wrong(raw), goodContext), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('a context that is not an object throws ERR_INVALID_ARG_TYPE', () => {
    for (const ctx of [null, undefined, 1, 'linux', false]) {
      expectThrow(() => classify(goodRaw, wrong(ctx)), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('an unknown platform throws ERR_INVALID_ARG_VALUE', () => {
    for (const platform of ['aix', 'Linux', 'win64', 'darwin ', '']) {
      expectThrow(
        () => classify(goodRaw, { ...goodContext, platform: wrong(platform) }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
      );
    }
  });

  it('an unknown socketType throws ERR_INVALID_ARG_VALUE', () => {
    for (const socketType of ['raw', 'STREAM', 'udp', '']) {
      expectThrow(
        () => classify(goodRaw, { ...goodContext, socketType: wrong(socketType) }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
      );
    }
  });

  it('ret -1 with errno 0 throws ERR_INVALID_ARG_VALUE', () => {
    expectThrow(() => classify({ ret: -1, errno: 0 }, goodContext), TypeError, 'ERR_INVALID_ARG_VALUE');
  });

  it('non-integer or out-of-range numbers throw RangeError ERR_OUT_OF_RANGE', () => {
    const badRaw: RawOutcome[] = [
      { ret: 1.5, errno: 0 },
      { ret: -2, errno: 11 },
      { ret: NaN, errno: 0 },
      { ret: Infinity, errno: 0 },
      { ret: 2 ** 31, errno: 0 },
      { ret: -1, errno: -11 },
      { ret: -1, errno: 11.5 },
      { ret: -1, errno: NaN },
      { ret: -1, errno: 2 ** 31 },
      { ret: 1, errno: 0, msgFlags: -1 },
      { ret: 1, errno: 0, msgFlags: 0.5 },
      { ret: 1, errno: 0, msgFlags: 2 ** 31 },
    ];
    for (const raw of badRaw) {
      expectThrow(() => classify(raw, goodContext), RangeError, 'ERR_OUT_OF_RANGE');
    }
    const badContext: Partial<ClassifyContext>[] = [
      { requested: -1 },
      { requested: 1.5 },
      { requested: NaN },
      { requested: 2 ** 31 },
      { receiveTimeout: -1 },
      { receiveTimeout: 1.5 },
      { receiveTimeout: Infinity },
      { receiveTimeout: 2 ** 32 },
      { flags: -1 },
      { flags: 0.5 },
      { flags: 2 ** 31 },
    ];
    for (const overrides of badContext) {
      expectThrow(() => classify(goodRaw, { ...goodContext, ...overrides }), RangeError, 'ERR_OUT_OF_RANGE');
    }
  });

  it('the largest accepted numbers are accepted', () => {
    expect(
      classify(
        { ret: 2 ** 31 - 1, errno: 0, msgFlags: 2 ** 31 - 1 },
        { ...goodContext, requested: 2 ** 31 - 1, receiveTimeout: 2 ** 32 - 1, flags: 2 ** 31 - 1 },
      ),
    ).toMatchObject({ kind: 'data', bytesRead: 2 ** 31 - 1, truncated: true });
  });

  it('numbers of the wrong type throw ERR_INVALID_ARG_TYPE', () => {
    const badRaw = [
      { ret: '1', errno: 0 },
      { ret: 1n, errno: 0 },
      { errno: 0 },
      { ret: -1, errno: '11' },
      { ret: -1, errno: null },
      { ret: 1, errno: 0, msgFlags: '0' },
      { ret: 1, errno: 0, msgFlags: null },
    ];
    for (const raw of badRaw) {
      expectThrow(() => classify(wrong(raw), goodContext), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    const badContext = [
      { requested: '16' },
      { requested: undefined },
      { blocking: 1 },
      { blocking: 'true' },
      { blocking: undefined },
      { receiveTimeout: '0' },
      { receiveTimeout: null },
      { flags: undefined },
      { flags: '0' },
    ];
    for (const overrides of badContext) {
      expectThrow(() => classify(goodRaw, wrong({ ...goodContext, ...overrides })), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });
});

describe("this machine's compiled headers", () => {
  const platform = constants.platform as Platform;
  const n = NUMBERS[platform];

  // Windows has no MSG_DONTWAIT (absent from constants.MSG, 0 in messageFlags) and MSG_TRUNC 0x100.
  it(`messageFlags('${platform}') equals the addon's MSG_DONTWAIT and MSG_TRUNC`, () => {
    expect(constants.MSG.DONTWAIT).toBe(n.dontWait);
    expect(constants.MSG.TRUNC).toBe(n.truncatedFlag);
    expect(messageFlags(platform)).toEqual({
      dontWait: constants.MSG.DONTWAIT ?? 0,
      truncated: constants.MSG.TRUNC,
    });
  });

  it("messageFlags of this platform equals the addon's MSG_DONTWAIT and MSG_TRUNC", () => {
    expect(messageFlags(platform)).toEqual({ dontWait: constants.MSG.DONTWAIT ?? 0, truncated: constants.MSG.TRUNC });
  });

  // On Windows the addon's errno group is Winsock's (WSAEWOULDBLOCK, ...), never the CRT's E* numbers.
  it("the addon's errno numbers are the ones the tables above give for this platform", () => {
    expect(constants.errno[n.wouldBlockCode]).toBe(n.wouldBlock);
    expect(constants.errno[n.interruptedCode]).toBe(n.interrupted);
    expect(constants.errno[n.timedOutCode]).toBe(n.timedOut);
    expect(constants.errno[n.connectionResetCode]).toBe(n.connectionReset);
    expect(constants.errno[n.notConnectedCode]).toBe(n.notConnected);
    if (platform === 'win32') expect(constants.errno.EAGAIN).toBeUndefined();
  });
});

/**
 * The rest of what an errno means, per platform by number (docs/recv-semantics.md#errno-table):
 * what a stream socket's readState makes of an error, and a non-blocking connect in progress.
 */
const MORE: Readonly<
  Record<
    Platform,
    {
      reset: number;
      refused: number;
      timedOut: number;
      aborted: number;
      notConnected: number;
      inProgress: number;
      wouldBlock: number;
    }
  >
> = {
  linux: { reset: 104, refused: 111, timedOut: 110, aborted: 103, notConnected: 107, inProgress: 115, wouldBlock: 11 },
  darwin: { reset: 54, refused: 61, timedOut: 60, aborted: 53, notConnected: 57, inProgress: 36, wouldBlock: 35 },
  freebsd: { reset: 54, refused: 61, timedOut: 60, aborted: 53, notConnected: 57, inProgress: 36, wouldBlock: 35 },
  win32: {
    reset: 10054,
    refused: 10061,
    timedOut: 10060,
    aborted: 10053,
    notConnected: 10057,
    inProgress: 10035, // Winsock's connect says WSAEWOULDBLOCK
    wouldBlock: 10035,
  },
};

describe('connectionFate and connectInProgress, by number on every platform', () => {
  for (const [platform, n] of Object.entries(MORE) as [Platform, (typeof MORE)[Platform]][]) {
    it(`${platform}: ECONNRESET is reset; ECONNREFUSED, ETIMEDOUT, ECONNABORTED are dead; ENOTCONN and would-block say nothing`, () => {
      expect(connectionFate(n.reset, platform)).toBe('reset');
      for (const dead of [n.refused, n.timedOut, n.aborted]) expect(connectionFate(dead, platform)).toBe('dead');
      expect(connectionFate(n.notConnected, platform)).toBeUndefined();
      expect(connectionFate(n.wouldBlock, platform)).toBeUndefined();
    });

    it(`${platform}: a non-blocking connect is in progress on ${n.inProgress} only`, () => {
      expect(connectInProgress(n.inProgress, platform)).toBe(true);
      for (const other of [n.refused, n.timedOut, n.reset]) expect(connectInProgress(other, platform)).toBe(false);
      // EAGAIN from a POSIX TCP connect is a real failure (connect(2)), not "in progress".
      if (platform !== 'win32') expect(connectInProgress(n.wouldBlock, platform)).toBe(false);
    });
  }
});
