import { constants } from 'node:os';
import { describe, it, expect } from 'vitest';

import {
  currentPlatform,
  errnoName,
  errnoNumber,
  errnoTables,
  PLATFORMS,
  portableCode,
  type Platform,
} from '../src/errno.js';
import { Socket, SocketError } from '../src/index.js';

/** A name's number on each platform; win32 under its WSA spelling, where Winsock has one. */
interface Reference {
  readonly name: string;
  readonly linux: number;
  readonly darwin: number;
  readonly freebsd: number;
  readonly win32?: number;
}

const REFERENCE: readonly Reference[] = [
  { name: 'EAGAIN', linux: 11, darwin: 35, freebsd: 35 },
  { name: 'EWOULDBLOCK', linux: 11, darwin: 35, freebsd: 35, win32: 10035 },
  { name: 'ECONNRESET', linux: 104, darwin: 54, freebsd: 54, win32: 10054 },
  { name: 'ECONNREFUSED', linux: 111, darwin: 61, freebsd: 61, win32: 10061 },
  { name: 'ETIMEDOUT', linux: 110, darwin: 60, freebsd: 60, win32: 10060 },
  { name: 'ENOTCONN', linux: 107, darwin: 57, freebsd: 57, win32: 10057 },
  { name: 'ENOTSOCK', linux: 88, darwin: 38, freebsd: 38, win32: 10038 },
  { name: 'EMSGSIZE', linux: 90, darwin: 40, freebsd: 40, win32: 10040 },
  { name: 'ECONNABORTED', linux: 103, darwin: 53, freebsd: 53, win32: 10053 },
  { name: 'ENETRESET', linux: 102, darwin: 52, freebsd: 52, win32: 10052 },
  { name: 'ESHUTDOWN', linux: 108, darwin: 58, freebsd: 58, win32: 10058 },
  { name: 'EINPROGRESS', linux: 115, darwin: 36, freebsd: 36, win32: 10036 },
  { name: 'EINTR', linux: 4, darwin: 4, freebsd: 4, win32: 10004 },
  { name: 'EBADF', linux: 9, darwin: 9, freebsd: 9, win32: 10009 },
  { name: 'EINVAL', linux: 22, darwin: 22, freebsd: 22, win32: 10022 },
];

/** The names errnoName must never return, and the name it returns for their number instead. */
const CANONICAL: ReadonlyArray<readonly [Platform, alias: string, canonical: string]> = [
  ['linux', 'EWOULDBLOCK', 'EAGAIN'],
  ['linux', 'EDEADLOCK', 'EDEADLK'],
  ['linux', 'ENOTSUP', 'EOPNOTSUPP'],
  ['darwin', 'EWOULDBLOCK', 'EAGAIN'],
  ['freebsd', 'EWOULDBLOCK', 'EAGAIN'],
  ['freebsd', 'ENOTSUP', 'EOPNOTSUPP'],
];

describe('errno tables', () => {
  it('lists the four platforms in order', () => {
    expect(PLATFORMS).toEqual(['linux', 'darwin', 'freebsd', 'win32']);
    expect(Object.keys(errnoTables)).toEqual([...PLATFORMS]);
  });

  it('is frozen all the way down', () => {
    expect(Object.isFrozen(PLATFORMS)).toBe(true);
    expect(Object.isFrozen(errnoTables)).toBe(true);
    for (const platform of PLATFORMS) expect(Object.isFrozen(errnoTables[platform])).toBe(true);
  });

  it('holds only positive integers', () => {
    for (const platform of PLATFORMS) {
      for (const [name, errno] of Object.entries(errnoTables[platform])) {
        expect(Number.isInteger(errno) && errno > 0, `${platform} ${name} = ${errno}`).toBe(true);
      }
    }
  });

  it('covers every number from 1 to the last one on the Unixes, except unassigned ones', () => {
    const unassigned: Readonly<Record<Exclude<Platform, 'win32'>, readonly number[]>> = {
      linux: [41, 58],
      darwin: [],
      freebsd: [],
    };
    const last = { linux: 133, darwin: 106, freebsd: 97 } as const;
    for (const platform of ['linux', 'darwin', 'freebsd'] as const) {
      for (let errno = 1; errno <= last[platform]; errno++) {
        const expected = unassigned[platform].includes(errno) ? undefined : (expect.any(String) as string);
        expect(errnoName(errno, platform), `${platform} ${errno}`).toEqual(expected);
      }
      expect(errnoName(last[platform] + 1, platform)).toBeUndefined();
    }
  });

  it.runIf(currentPlatform() !== undefined)('agrees with every number Node knows for this OS', () => {
    const platform = currentPlatform() as Platform;
    // On Windows Node lists the C runtime's E* numbers (ECONNRESET 108) beside the Winsock
    // WSAE* ones; only the latter are what WSAGetLastError reports, and what the table holds.
    const known = Object.entries(constants.errno).filter(([name]) => platform !== 'win32' || name.startsWith('WSA'));
    expect(known.length).toBeGreaterThan(0);
    for (const [name, errno] of known) {
      expect(errnoNumber(name, platform), `${platform} ${name}`).toBe(errno);
    }
  });

  it.each(REFERENCE)('$name has the reference number on each platform', ({ name, linux, darwin, freebsd, win32 }) => {
    expect(errnoNumber(name, 'linux')).toBe(linux);
    expect(errnoNumber(name, 'darwin')).toBe(darwin);
    expect(errnoNumber(name, 'freebsd')).toBe(freebsd);
    if (win32 !== undefined) expect(errnoNumber(`WSA${name}`, 'win32')).toBe(win32);
  });

  it('names the reference numbers back', () => {
    expect(errnoName(10035, 'win32')).toBe('WSAEWOULDBLOCK');
    expect(errnoName(10054, 'win32')).toBe('WSAECONNRESET');
    expect(errnoName(104, 'linux')).toBe('ECONNRESET');
    expect(errnoName(54, 'darwin')).toBe('ECONNRESET');
    expect(errnoName(54, 'freebsd')).toBe('ECONNRESET');
  });

  it('has the Winsock resolver codes and the exact winerror.h spellings', () => {
    expect(errnoNumber('WSAHOST_NOT_FOUND', 'win32')).toBe(11001);
    expect(errnoNumber('WSATRY_AGAIN', 'win32')).toBe(11002);
    expect(errnoNumber('WSANO_RECOVERY', 'win32')).toBe(11003);
    expect(errnoNumber('WSANO_DATA', 'win32')).toBe(11004);
    expect(errnoNumber('WSANOTINITIALISED', 'win32')).toBe(10093);
    expect(errnoNumber('WSAECANCELLED', 'win32')).toBe(10103);
    expect(errnoNumber('WSA_E_CANCELLED', 'win32')).toBe(10111);
    expect(errnoNumber('WSAEREFUSED', 'win32')).toBe(10112);
  });

  it('keeps ENOTSUP and EOPNOTSUPP apart on macOS only', () => {
    expect(errnoNumber('ENOTSUP', 'darwin')).toBe(45);
    expect(errnoNumber('EOPNOTSUPP', 'darwin')).toBe(102);
    expect(errnoNumber('ENOTSUP', 'freebsd')).toBe(errnoNumber('EOPNOTSUPP', 'freebsd'));
    expect(errnoNumber('ENOTSUP', 'linux')).toBe(errnoNumber('EOPNOTSUPP', 'linux'));
  });
});

describe('errnoName', () => {
  it('returns the canonical name for a number with aliases', () => {
    expect(errnoName(11, 'linux')).toBe('EAGAIN');
    expect(errnoName(95, 'linux')).toBe('EOPNOTSUPP');
    expect(errnoName(35, 'linux')).toBe('EDEADLK');
    expect(errnoName(35, 'darwin')).toBe('EAGAIN');
    expect(errnoName(35, 'freebsd')).toBe('EAGAIN');
    expect(errnoName(45, 'darwin')).toBe('ENOTSUP');
    expect(errnoName(102, 'darwin')).toBe('EOPNOTSUPP');
    expect(errnoName(45, 'freebsd')).toBe('EOPNOTSUPP');
    for (const [platform, alias, canonical] of CANONICAL) {
      expect(errnoName(errnoNumber(alias, platform) as number, platform), `${platform} ${alias}`).toBe(canonical);
    }
  });

  it('returns undefined for anything that is not a known positive error number', () => {
    for (const platform of PLATFORMS) {
      for (const errno of [0, -1, -11, 1.5, Number.NaN, Infinity, 99999]) {
        expect(errnoName(errno, platform), `${platform} ${errno}`).toBeUndefined();
      }
      expect(errnoName('11' as unknown as number, platform)).toBeUndefined();
    }
  });

  it('throws ERR_INVALID_ARG_VALUE for a platform outside the four', () => {
    for (const platform of ['aix', 'Linux', '', 'win64']) {
      expect(() => errnoName(11, platform as Platform)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
      );
      expect(() => errnoNumber('EAGAIN', platform as Platform)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
      );
    }
    // Even when the number itself is invalid: the platform is the caller's bug.
    expect(() => errnoName(Number.NaN, 'aix' as Platform)).toThrow(TypeError);
  });

  it("defaults to this process's platform", () => {
    const platform = currentPlatform();
    expect(errnoName(4)).toBe(platform === undefined ? undefined : errnoName(4, platform));
    expect(errnoNumber('EINVAL')).toBe(platform === undefined ? undefined : errnoNumber('EINVAL', platform));
  });
});

describe('errnoNumber', () => {
  it('round-trips every entry of every table through errnoName', () => {
    for (const platform of PLATFORMS) {
      const aliases = new Set(CANONICAL.filter(([p]) => p === platform).map(([, alias]) => alias));
      for (const [name, errno] of Object.entries(errnoTables[platform])) {
        expect(errnoNumber(name, platform)).toBe(errno);
        const back = errnoName(errno, platform);
        if (aliases.has(name)) {
          expect(back, `${platform} ${name}`).not.toBe(name);
          expect(errnoNumber(back as string, platform)).toBe(errno);
        } else {
          expect(back, `${platform} ${name}`).toBe(name);
        }
      }
    }
  });

  it('returns undefined for unknown names, and never reaches Object.prototype', () => {
    for (const platform of PLATFORMS) {
      for (const name of ['EFOO', '', 'eagain', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        expect(errnoNumber(name, platform), `${platform} ${name}`).toBeUndefined();
      }
    }
    expect(errnoNumber('WSAECONNRESET', 'linux')).toBeUndefined();
    expect(errnoNumber('WSAEFOO', 'win32')).toBeUndefined();
  });

  it('on win32 takes the portable name too: ECONNRESET is 10054, EAGAIN is WSAEWOULDBLOCK', () => {
    expect(errnoNumber('ECONNRESET', 'win32')).toBe(10054);
    expect(errnoNumber('WSAECONNRESET', 'win32')).toBe(10054);
    expect(errnoNumber('EAGAIN', 'win32')).toBe(10035);
    expect(errnoNumber('EWOULDBLOCK', 'win32')).toBe(10035);
    expect(errnoNumber('ECONNREFUSED', 'win32')).toBe(10061);
    expect(errnoNumber('ETIMEDOUT', 'win32')).toBe(10060);
  });
});

describe('portableCode', () => {
  it('is one name per condition on every OS: the WSA prefix dropped, EAGAIN for every would-block', () => {
    const cases: [Platform, number, string][] = [
      ['linux', 104, 'ECONNRESET'],
      ['darwin', 54, 'ECONNRESET'],
      ['freebsd', 54, 'ECONNRESET'],
      ['win32', 10054, 'ECONNRESET'],
      ['linux', 11, 'EAGAIN'],
      ['darwin', 35, 'EAGAIN'],
      ['win32', 10035, 'EAGAIN'],
      ['win32', 10060, 'ETIMEDOUT'],
      ['linux', 110, 'ETIMEDOUT'],
    ];
    for (const [platform, errno, portable] of cases) {
      const code = errnoName(errno, platform) as string;
      expect(portableCode(code), `${platform} ${errno} ${code}`).toBe(portable);
      // And back: the portable name finds the same number on that platform.
      expect(errnoNumber(portable, platform)).toBe(errno);
    }
    expect(portableCode('EWOULDBLOCK')).toBe('EAGAIN');
    expect(portableCode('EPIPE')).toBe('EPIPE');
  });

  it('is on every failure result and SocketError', async () => {
    const [ours, peer] = Socket.pair();
    try {
      ours.setBlocking(false);
      expect(ours.recv(1)).toMatchObject({ kind: 'would-block', portableCode: 'EAGAIN' });
      expect(new SocketError('connect', errnoNumber('ECONNREFUSED') as number).portableCode).toBe('ECONNREFUSED');
    } finally {
      ours.close();
      peer.close();
    }
  });
});

describe('currentPlatform', () => {
  it('is process.platform when it is one of the four', () => {
    const expected = (PLATFORMS as readonly string[]).includes(process.platform) ? process.platform : undefined;
    expect(currentPlatform()).toBe(expected);
  });

  it('is undefined elsewhere, and errnoName then names nothing', () => {
    const original = Object.getOwnPropertyDescriptor(process, 'platform');
    Object.defineProperty(process, 'platform', { value: 'aix', configurable: true });
    try {
      expect(currentPlatform()).toBeUndefined();
      expect(errnoName(11)).toBeUndefined();
      expect(errnoNumber('EAGAIN')).toBeUndefined();
      // An explicit platform still works.
      expect(errnoName(11, 'linux')).toBe('EAGAIN');
    } finally {
      if (original) Object.defineProperty(process, 'platform', original);
    }
    expect(currentPlatform()).toBe(
      (PLATFORMS as readonly string[]).includes(process.platform) ? process.platform : undefined,
    );
  });
});
