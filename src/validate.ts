/**
 * Argument checks shared by the typed API, with Node's error codes. Each throws a TypeError /
 * RangeError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) before any
 * system call is made, and returns the checked value.
 * @module
 */
import type { SocketType } from './classify.js';
import { KNOWN_MSG_FLAGS } from './constants.js';
import { detachedView, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import type { WaitOptions } from './readiness.js';

/** The largest length or flags value a call takes (INT_MAX). */
export const MAX_LENGTH = 2 ** 31 - 1;
/** setTimeout's own ceiling, and so a wait's. */
const MAX_TIMEOUT = 2 ** 31 - 1;
const SOCKET_TYPES: readonly SocketType[] = ['stream', 'dgram', 'seqpacket'];

/** Throws unless `value` is an integer in [min, max]. */
export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/** An options argument: undefined, or a plain object. */
export function checkOptions<T extends object>(value: T | undefined, name: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalidArgType(name, 'of type object', value);
  return value;
}

/**
 * A typed recv's length: an integer from 1. A zero-length recv is platform-dependent and says
 * nothing (docs/recv-semantics.md#trap-1): only `sys.recv` makes it.
 */
export function checkLength(length: unknown, name = 'length'): number {
  return checkInteger(length, name, 1, MAX_LENGTH);
}

/** MSG_* flags: a non-negative integer with no bit this platform does not define. */
export function checkFlags(flags: unknown): number {
  checkInteger(flags, 'flags', 0, MAX_LENGTH);
  if (((flags as number) & ~KNOWN_MSG_FLAGS) !== 0) {
    throw invalidArgValue('flags', flags, 'has bits that are not MSG_* flags of this platform (see constants.MSG)');
  }
  return flags as number;
}

/** A wait's `{ timeout?, signal? }`. */
export function checkWaitOptions(options: unknown): WaitOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const { timeout, signal } = options as WaitOptions;
  if (timeout !== undefined) checkInteger(timeout, 'options.timeout', 0, MAX_TIMEOUT);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return { timeout, signal };
}

/** 'stream', 'dgram' or 'seqpacket'. */
export function checkSocketType(type: unknown, name: string): SocketType {
  if (!SOCKET_TYPES.includes(type as SocketType)) {
    throw invalidArgValue(name, type, "must be 'stream', 'dgram' or 'seqpacket'");
  }
  return type as SocketType;
}

/** A Buffer, TypedArray or DataView. */
export function checkView(buffer: unknown, name: string): ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) {
    throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', buffer);
  }
  return buffer;
}

/**
 * A view's byte length; a RangeError ERR_OUT_OF_RANGE when it covers no memory any more: its
 * ArrayBuffer was detached (transferred), or resized below it. V8 reports such a typed array
 * as 0 bytes long but throws a plain TypeError from a DataView's getter; both end here.
 * (An empty view of live memory is 0 bytes long, and valid: a zero-length datagram.)
 */
export function attachedLength(view: ArrayBufferView, name: string): number {
  let length: number;
  try {
    length = view.byteLength;
    // V8 reports a detached or out-of-bounds typed array as 0 bytes long; its methods validate
    // it (ValidateTypedArray) and throw, an empty live one's do not. Only asked when it looks empty.
    if (length === 0 && !(view instanceof DataView)) (view as Uint8Array).at(0);
  } catch {
    throw detachedView(name);
  }
  return length;
}

/** Bytes to send, as the view and its length: a string is sent as UTF-8. */
export function checkPayload(data: unknown, name = 'data'): [ArrayBufferView, number] {
  if (typeof data === 'string') {
    const bytes = Buffer.from(data, 'utf8');
    return [bytes, bytes.length];
  }
  const view = checkView(data, name);
  return [view, attachedLength(view, name)];
}

/** The most entries a batch (recvMany, sendMany) takes: Linux's UIO_MAXIOV. */
export const BATCH_LIMIT = 1024;

/**
 * A batch's array (1..{@link BATCH_LIMIT} entries), each entry checked by `check` with its index
 * (its name, `name[index]`, is for the checker to make when it throws: not on every call).
 */
export function checkBatch(
  values: unknown,
  name: string,
  check: (value: unknown, index: number) => void,
): asserts values is readonly unknown[] {
  checkBatchLength(values, name);
  for (let index = 0; index < values.length; index++) check(values[index], index);
}

/** A batch's array and its length, as {@link checkBatch} checks them, for a caller that checks the entries itself. */
export function checkBatchLength(values: unknown, name: string): asserts values is readonly unknown[] {
  if (!Array.isArray(values)) throw invalidArgType(name, 'an instance of Array', values);
  if (values.length < 1 || values.length > BATCH_LIMIT) {
    throw outOfRange(`${name}.length`, `>= 1 and <= ${BATCH_LIMIT}`, values.length);
  }
}
