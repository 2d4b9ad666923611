/**
 * AF_UNIX paths as the typed API takes them (`{ path }`), and the rule for the file a bind
 * creates: the Server or Socket that bound a path unlinks it when closed, and only if the file
 * there is still the socket it bound (never a path it did not bind, nor one replaced since).
 * @module
 */
import { lstatSync, unlinkSync } from 'node:fs';

import { addon } from './addon.js';
import type { SocketType } from './classify.js';
import { PLATFORM } from './constants.js';
import { invalidArgType, invalidArgValue, notSupported, unixPathTooLong } from './errors.js';

/**
 * A checked AF_UNIX path: a file system path (relative ones from the working directory), or on
 * Linux an abstract name, which starts with '\0' (unix(7)): it lives in no file system, every
 * byte of the string is part of it, and nothing is left behind to unlink.
 */
export interface UnixPath {
  path: string;
  abstract: boolean;
}

/**
 * `path` as an AF_UNIX address: a non-empty string of at most sizeof(sun_path) - 1 bytes in
 * UTF-8 (RangeError ERR_OUT_OF_RANGE naming the limit); a NUL only as the first character, and
 * that only on Linux (abstract names; ERR_NOT_SUPPORTED elsewhere).
 */
export function checkUnixPath(path: unknown, name: string): UnixPath {
  if (typeof path !== 'string') throw invalidArgType(name, 'of type string', path);
  if (path === '') throw invalidArgValue(name, path, 'must be a non-empty path');
  const size = addon.unixPathSize;
  if (size === 0) throw notSupported('AF_UNIX');
  const abstract = path.charCodeAt(0) === 0;
  if (abstract && PLATFORM !== 'linux') {
    throw notSupported(`An abstract AF_UNIX name ("${name}" starts with '\\0', a Linux feature)`);
  }
  if (path.indexOf('\0', 1) >= 0) {
    throw invalidArgValue(
      name,
      path,
      "has a NUL character after its start (only a Linux abstract name starts with '\\0')",
    );
  }
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > (abstract ? size : size - 1)) throw unixPathTooLong(name, bytes, size, abstract);
  return { path, abstract };
}

/** The path as messages show it: an abstract name with '@' for its leading NUL, as ss(8) does. */
export function shownPath(path: string): string {
  return path.charCodeAt(0) === 0 ? `@${path.slice(1)}` : path;
}

/**
 * `type` for an AF_UNIX socket made from a path: 'stream' (default) or one of `allowed`.
 * Windows' AF_UNIX has stream sockets only: any other type is ERR_NOT_SUPPORTED there.
 */
export function checkUnixType<T extends SocketType>(type: unknown, name: string, allowed: readonly T[]): T {
  if (type === undefined) return 'stream' as T;
  if (!allowed.includes(type as T)) {
    throw invalidArgValue(name, type, `must be ${allowed.map((t) => `'${t}'`).join(' or ')}`);
  }
  if (PLATFORM === 'win32' && type !== 'stream') throw notSupported(`An AF_UNIX ${type as T} socket`);
  return type as T;
}

/** `{ path }` options: true when `path` is given (and so host and port must not be). */
export function hasPath(options: unknown): options is { path: unknown } {
  return typeof options === 'object' && options !== null && (options as { path?: unknown }).path !== undefined;
}

/** Refuses `{ path }` together with host / port: one address only. */
export function checkPathOnly(options: Record<string, unknown>, name: string): void {
  for (const key of ['host', 'port']) {
    if (options[key] !== undefined) {
      throw invalidArgValue(`${name}.${key}`, options[key], `cannot be given with ${name}.path (an AF_UNIX address)`);
    }
  }
}

/**
 * The file a bind(2) created, to be unlinked by the close of what bound it. Its device and inode
 * are taken right after the bind, and the unlink happens only while the path still names that
 * very socket file: a path replaced since, or one this process never bound, is left alone.
 */
export class BoundPath {
  readonly path: string;
  readonly #identity: { dev: number; ino: number } | undefined;

  private constructor(path: string, identity: { dev: number; ino: number } | undefined) {
    this.path = path;
    this.#identity = identity;
  }

  /**
   * After a successful bind of `unix`: undefined for an abstract name (no file). If the file
   * cannot be looked at (stat fails) nothing will be unlinked: it could not be recognised later.
   */
  static afterBind(unix: UnixPath): BoundPath | undefined {
    if (unix.abstract) return undefined;
    try {
      // lstat: bind(2) made the last component itself, and Windows cannot follow its AF_UNIX
      // reparse point (stat would fail there).
      const stats = lstatSync(unix.path);
      return new BoundPath(unix.path, { dev: stats.dev, ino: stats.ino });
    } catch {
      return new BoundPath(unix.path, undefined);
    }
  }

  /**
   * unlink(2) of the path if it is still the socket file bound: lstat first (a symlink, another
   * file, or a new socket at the same path is left alone). Best effort, as Node's server.close():
   * a failure (the file is gone, no permission) is not an error of the close.
   * @see unlink(2)
   */
  unlinkIfOurs(): boolean {
    const identity = this.#identity;
    if (identity === undefined) return false;
    try {
      const stats = lstatSync(this.path);
      // Windows' AF_UNIX file is a reparse point that Node may not report as a socket.
      if ((PLATFORM !== 'win32' && !stats.isSocket()) || stats.dev !== identity.dev || stats.ino !== identity.ino)
        return false;
      unlinkSync(this.path);
      return true;
    } catch {
      return false;
    }
  }
}
