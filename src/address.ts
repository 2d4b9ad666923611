/**
 * Hosts, ports and families as the typed API takes and gives them.
 * @module
 */
import { isIP } from 'node:net';

import type { RawAddress } from './addon.js';
import type { Origin } from './classify.js';
import { constants } from './constants.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import { checkInteger } from './validate.js';

export type Family = Origin['family'];

/** An IP literal ready for the addon. */
export interface Endpoint {
  host: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * Accepts an IP literal, or 'localhost' as 127.0.0.1. Names are not looked up: a
 * synchronous call must not block on DNS (the async `connect` does look names up).
 */
export function checkHost(host: unknown, name: string): { host: string; family: 'IPv4' | 'IPv6' } {
  if (typeof host !== 'string') throw invalidArgType(name, 'of type string', host);
  if (host === 'localhost') return { host: '127.0.0.1', family: 'IPv4' };
  const version = isIP(host);
  if (version === 4) return { host, family: 'IPv4' };
  if (version === 6) return { host, family: 'IPv6' };
  throw invalidArgValue(name, host, "must be an IPv4 or IPv6 address or 'localhost'");
}

export function checkPort(port: unknown, name: string, min: number): number {
  return checkInteger(port, name, min, 65535);
}

/** `{ host, port }` with an IP literal host and a port in [min, 65535]. */
export function checkEndpoint(value: unknown, name: string, minPort: number): Endpoint {
  if (typeof value !== 'object' || value === null) throw invalidArgType(name, 'of type object', value);
  const { host, port } = value as { host?: unknown; port?: unknown };
  const checked = checkHost(host, `${name}.host`);
  return { ...checked, port: checkPort(port, `${name}.port`, minPort) };
}

export function familyNumber(family: Family): number {
  if (family === 'IPv4') return constants.AF.INET;
  if (family === 'IPv6') return constants.AF.INET6;
  return constants.AF.UNIX;
}

/** Maps an AF_* number to a family name; an unnamed address (AF_UNSPEC) takes `fallback`. */
export function familyName(af: number, fallback: Family): Family {
  if (af === constants.AF.INET) return 'IPv4';
  if (af === constants.AF.INET6) return 'IPv6';
  if (af === constants.AF.UNIX) return 'unix';
  return fallback;
}

export function toOrigin(raw: RawAddress, fallback: Family): Origin {
  const family = familyName(raw.family, fallback);
  if (family === 'unix') return { family, path: raw.address, address: raw.address, port: 0 };
  return { address: raw.address, port: raw.port, family };
}
