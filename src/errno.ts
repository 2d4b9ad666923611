/**
 * Error numbers by name for the four platforms rawrecv runs on. Static data rather than
 * `os.constants.errno`, so that a result recorded on one OS can be named, and classification
 * tested, on any other.
 * @module
 */
import { inspect } from 'node:util';

/** The operating systems rawrecv knows the error numbers of (`process.platform` spelling). */
export type Platform = 'linux' | 'darwin' | 'freebsd' | 'win32';

export const PLATFORMS: readonly Platform[] = Object.freeze(['linux', 'darwin', 'freebsd', 'win32'] as const);

type ErrnoTable = Readonly<Record<string, number>>;

// Linux (x86-64 and every other port using asm-generic): include/uapi/asm-generic/errno-base.h + errno.h.
// 41 and 58 are unassigned.
const linux: ErrnoTable = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  EDEADLOCK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ECHRNG: 44,
  EL2NSYNC: 45,
  EL3HLT: 46,
  EL3RST: 47,
  ELNRNG: 48,
  EUNATCH: 49,
  ENOCSI: 50,
  EL2HLT: 51,
  EBADE: 52,
  EBADR: 53,
  EXFULL: 54,
  ENOANO: 55,
  EBADRQC: 56,
  EBADSLT: 57,
  EBFONT: 59,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  ENONET: 64,
  ENOPKG: 65,
  EREMOTE: 66,
  ENOLINK: 67,
  EADV: 68,
  ESRMNT: 69,
  ECOMM: 70,
  EPROTO: 71,
  EMULTIHOP: 72,
  EDOTDOT: 73,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTUNIQ: 76,
  EBADFD: 77,
  EREMCHG: 78,
  ELIBACC: 79,
  ELIBBAD: 80,
  ELIBSCN: 81,
  ELIBMAX: 82,
  ELIBEXEC: 83,
  EILSEQ: 84,
  ERESTART: 85,
  ESTRPIPE: 86,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EUCLEAN: 117,
  ENOTNAM: 118,
  ENAVAIL: 119,
  EISNAM: 120,
  EREMOTEIO: 121,
  EDQUOT: 122,
  ENOMEDIUM: 123,
  EMEDIUMTYPE: 124,
  ECANCELED: 125,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
  EKEYREJECTED: 129,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  ERFKILL: 132,
  EHWPOISON: 133,
});

// macOS: xnu bsd/sys/errno.h with __DARWIN_UNIX03 (what every current program is built with),
// where EOPNOTSUPP is 102 and apart from ENOTSUP (45). Kernel-private negative codes left out.
const darwin: ErrnoTable = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EDEADLK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EAGAIN: 35,
  EWOULDBLOCK: 35,
  EINPROGRESS: 36,
  EALREADY: 37,
  ENOTSOCK: 38,
  EDESTADDRREQ: 39,
  EMSGSIZE: 40,
  EPROTOTYPE: 41,
  ENOPROTOOPT: 42,
  EPROTONOSUPPORT: 43,
  ESOCKTNOSUPPORT: 44,
  ENOTSUP: 45,
  EPFNOSUPPORT: 46,
  EAFNOSUPPORT: 47,
  EADDRINUSE: 48,
  EADDRNOTAVAIL: 49,
  ENETDOWN: 50,
  ENETUNREACH: 51,
  ENETRESET: 52,
  ECONNABORTED: 53,
  ECONNRESET: 54,
  ENOBUFS: 55,
  EISCONN: 56,
  ENOTCONN: 57,
  ESHUTDOWN: 58,
  ETOOMANYREFS: 59,
  ETIMEDOUT: 60,
  ECONNREFUSED: 61,
  ELOOP: 62,
  ENAMETOOLONG: 63,
  EHOSTDOWN: 64,
  EHOSTUNREACH: 65,
  ENOTEMPTY: 66,
  EPROCLIM: 67,
  EUSERS: 68,
  EDQUOT: 69,
  ESTALE: 70,
  EREMOTE: 71,
  EBADRPC: 72,
  ERPCMISMATCH: 73,
  EPROGUNAVAIL: 74,
  EPROGMISMATCH: 75,
  EPROCUNAVAIL: 76,
  ENOLCK: 77,
  ENOSYS: 78,
  EFTYPE: 79,
  EAUTH: 80,
  ENEEDAUTH: 81,
  EPWROFF: 82,
  EDEVERR: 83,
  EOVERFLOW: 84,
  EBADEXEC: 85,
  EBADARCH: 86,
  ESHLIBVERS: 87,
  EBADMACHO: 88,
  ECANCELED: 89,
  EIDRM: 90,
  ENOMSG: 91,
  EILSEQ: 92,
  ENOATTR: 93,
  EBADMSG: 94,
  EMULTIHOP: 95,
  ENODATA: 96,
  ENOLINK: 97,
  ENOSR: 98,
  ENOSTR: 99,
  EPROTO: 100,
  ETIME: 101,
  EOPNOTSUPP: 102,
  ENOPOLICY: 103,
  ENOTRECOVERABLE: 104,
  EOWNERDEAD: 105,
  EQFULL: 106,
});

// FreeBSD: sys/sys/errno.h. The sockets range (35..61) matches macOS, but here EOPNOTSUPP owns
// 45 and ENOTSUP is its alias. Kernel-only negative codes left out.
const freebsd: ErrnoTable = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EDEADLK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EAGAIN: 35,
  EWOULDBLOCK: 35,
  EINPROGRESS: 36,
  EALREADY: 37,
  ENOTSOCK: 38,
  EDESTADDRREQ: 39,
  EMSGSIZE: 40,
  EPROTOTYPE: 41,
  ENOPROTOOPT: 42,
  EPROTONOSUPPORT: 43,
  ESOCKTNOSUPPORT: 44,
  EOPNOTSUPP: 45,
  ENOTSUP: 45,
  EPFNOSUPPORT: 46,
  EAFNOSUPPORT: 47,
  EADDRINUSE: 48,
  EADDRNOTAVAIL: 49,
  ENETDOWN: 50,
  ENETUNREACH: 51,
  ENETRESET: 52,
  ECONNABORTED: 53,
  ECONNRESET: 54,
  ENOBUFS: 55,
  EISCONN: 56,
  ENOTCONN: 57,
  ESHUTDOWN: 58,
  ETOOMANYREFS: 59,
  ETIMEDOUT: 60,
  ECONNREFUSED: 61,
  ELOOP: 62,
  ENAMETOOLONG: 63,
  EHOSTDOWN: 64,
  EHOSTUNREACH: 65,
  ENOTEMPTY: 66,
  EPROCLIM: 67,
  EUSERS: 68,
  EDQUOT: 69,
  ESTALE: 70,
  EREMOTE: 71,
  EBADRPC: 72,
  ERPCMISMATCH: 73,
  EPROGUNAVAIL: 74,
  EPROGMISMATCH: 75,
  EPROCUNAVAIL: 76,
  ENOLCK: 77,
  ENOSYS: 78,
  EFTYPE: 79,
  EAUTH: 80,
  ENEEDAUTH: 81,
  EIDRM: 82,
  ENOMSG: 83,
  EOVERFLOW: 84,
  ECANCELED: 85,
  EILSEQ: 86,
  ENOATTR: 87,
  EDOOFUS: 88,
  EBADMSG: 89,
  EMULTIHOP: 90,
  ENOLINK: 91,
  EPROTO: 92,
  ENOTCAPABLE: 93,
  ECAPMODE: 94,
  ENOTRECOVERABLE: 95,
  EOWNERDEAD: 96,
  EINTEGRITY: 97,
});

// Windows: the Winsock codes of winerror.h that WSAGetLastError reports (WSABASEERR 10000 + n),
// through WSAEREFUSED, and the four resolver codes. The QoS codes from 11005 up are left out.
const win32: ErrnoTable = Object.freeze({
  WSAEINTR: 10004,
  WSAEBADF: 10009,
  WSAEACCES: 10013,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEMFILE: 10024,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAEALREADY: 10037,
  WSAENOTSOCK: 10038,
  WSAEDESTADDRREQ: 10039,
  WSAEMSGSIZE: 10040,
  WSAEPROTOTYPE: 10041,
  WSAENOPROTOOPT: 10042,
  WSAEPROTONOSUPPORT: 10043,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAEPFNOSUPPORT: 10046,
  WSAEAFNOSUPPORT: 10047,
  WSAEADDRINUSE: 10048,
  WSAEADDRNOTAVAIL: 10049,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAENETRESET: 10052,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAEISCONN: 10056,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETOOMANYREFS: 10059,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
  WSAELOOP: 10062,
  WSAENAMETOOLONG: 10063,
  WSAEHOSTDOWN: 10064,
  WSAEHOSTUNREACH: 10065,
  WSAENOTEMPTY: 10066,
  WSAEPROCLIM: 10067,
  WSAEUSERS: 10068,
  WSAEDQUOT: 10069,
  WSAESTALE: 10070,
  WSAEREMOTE: 10071,
  WSASYSNOTREADY: 10091,
  WSAVERNOTSUPPORTED: 10092,
  WSANOTINITIALISED: 10093,
  WSAEDISCON: 10101,
  WSAENOMORE: 10102,
  WSAECANCELLED: 10103,
  WSAEINVALIDPROCTABLE: 10104,
  WSAEINVALIDPROVIDER: 10105,
  WSAEPROVIDERFAILEDINIT: 10106,
  WSASYSCALLFAILURE: 10107,
  WSASERVICE_NOT_FOUND: 10108,
  WSATYPE_NOT_FOUND: 10109,
  WSA_E_NO_MORE: 10110,
  WSA_E_CANCELLED: 10111,
  WSAEREFUSED: 10112,
  WSAHOST_NOT_FOUND: 11001,
  WSATRY_AGAIN: 11002,
  WSANO_RECOVERY: 11003,
  WSANO_DATA: 11004,
});

/** name -> number, per platform. Frozen objects. */
export const errnoTables: Readonly<Record<Platform, ErrnoTable>> = Object.freeze({ linux, darwin, freebsd, win32 });

/**
 * Second names for a number that errnoName never returns. Per platform, because the same
 * spelling is the alias on one OS and the number's own name on another: ENOTSUP is 95's
 * alias on Linux and 45's alias on FreeBSD, but on macOS it is 45's only name.
 */
const ALIASES: Readonly<Record<Platform, readonly string[]>> = Object.freeze({
  linux: Object.freeze(['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']),
  darwin: Object.freeze(['EWOULDBLOCK']),
  freebsd: Object.freeze(['EWOULDBLOCK', 'ENOTSUP']),
  win32: Object.freeze([]),
});

function reverse(platform: Platform): ReadonlyMap<number, string> {
  const names = new Map<number, string>();
  for (const [name, errno] of Object.entries(errnoTables[platform])) {
    if (ALIASES[platform].includes(name)) continue;
    const other = names.get(errno);
    if (other !== undefined) throw new Error(`errno table for ${platform}: ${other} and ${name} are both ${errno}`);
    names.set(errno, name);
  }
  return names;
}

/** number -> canonical name, per platform, built once. */
const NAMES: Readonly<Record<Platform, ReadonlyMap<number, string>>> = Object.freeze({
  linux: reverse('linux'),
  darwin: reverse('darwin'),
  freebsd: reverse('freebsd'),
  win32: reverse('win32'),
});

/**
 * @internal errnoName without argument checks, for the recv path: `platform` is already one of
 * the four (every classification names its error).
 */
export function nameOf(errno: number, platform: Platform): string | undefined {
  return NAMES[platform].get(errno);
}

function isPlatform(value: unknown): value is Platform {
  return (PLATFORMS as readonly unknown[]).includes(value);
}

/** The platform asked for, or this process's; a value outside the four is a caller's bug. */
function resolve(platform: unknown): Platform | undefined {
  if (platform === undefined) return currentPlatform();
  if (isPlatform(platform)) return platform;
  // Built here rather than with errors.ts, which imports this module.
  const error = new TypeError(
    `The argument 'platform' must be one of ${PLATFORMS.map((p) => `'${p}'`).join(', ')}. Received ${inspect(platform)}`,
  );
  Object.defineProperty(error, 'code', {
    value: 'ERR_INVALID_ARG_VALUE',
    enumerable: true,
    writable: true,
    configurable: true,
  });
  throw error;
}

/**
 * The symbolic name of an error number as the given OS spells it: what makes an errno from
 * recv(2) or WSAGetLastError readable in a message or a `code`. Where a number has two names
 * the primary one is returned (EAGAIN, not EWOULDBLOCK). Anything that is not such a number
 * gives undefined, so a caller can fall back to 'UNKNOWN' without guarding first.
 * @param platform Defaults to this process's; undefined on an OS outside the four.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` when `platform` is not one of {@link PLATFORMS}.
 * @see errno(3), intro(2), WSAGetLastError
 */
export function errnoName(errno: number, platform?: Platform): string | undefined {
  const resolved = resolve(platform);
  if (resolved === undefined || !Number.isInteger(errno) || errno <= 0) return undefined;
  return NAMES[resolved].get(errno);
}

/**
 * The number behind a symbolic name on the given OS, for comparing an errno against a name
 * without hard-coding one OS's numbers. Aliases resolve too (EWOULDBLOCK, ENOTSUP). On Windows
 * both spellings work: the Winsock name ('WSAECONNRESET') and the portable one ('ECONNRESET',
 * see {@link portableCode}): `errnoNumber('ECONNRESET', 'win32')` is 10054, and 'EAGAIN' is
 * WSAEWOULDBLOCK (10035), Winsock's one would-block number.
 * @param platform Defaults to this process's; undefined on an OS outside the four.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` when `platform` is not one of {@link PLATFORMS}.
 * @see errno(3), winerror.h
 */
export function errnoNumber(name: string, platform?: Platform): number | undefined {
  const resolved = resolve(platform);
  if (resolved === undefined || typeof name !== 'string') return undefined;
  const table = errnoTables[resolved];
  // Own keys only: 'constructor' or 'toString' must not find Object.prototype.
  if (Object.hasOwn(table, name)) return table[name];
  if (resolved !== 'win32') return undefined;
  const winsock = name === 'EAGAIN' ? 'WSAEWOULDBLOCK' : `WSA${name}`;
  return Object.hasOwn(table, winsock) ? table[winsock] : undefined;
}

/**
 * The name Node and libuv use for an error on every OS: the Winsock name without its WSA
 * prefix, and EAGAIN for every would-block (EWOULDBLOCK, WSAEWOULDBLOCK). So a cross-OS test can
 * assert one value: 'ECONNRESET' for Linux 104, macOS 54 and Windows WSAECONNRESET 10054.
 * @param code a platform's own name, as results and SocketError carry in `code`.
 */
export function portableCode(code: string): string {
  const plain = code.startsWith('WSA') ? code.slice(3) : code;
  return plain === 'EWOULDBLOCK' ? 'EAGAIN' : plain;
}

/**
 * This process's OS as one of the four tables, or undefined elsewhere (aix, sunos, ...), where
 * no table applies and numbers cannot be named. Read on every call, not cached.
 * @see process.platform
 */
export function currentPlatform(): Platform | undefined {
  const platform = process.platform;
  return isPlatform(platform) ? platform : undefined;
}
