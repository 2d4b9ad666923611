/**
 * Where `recv(length)` and `recvFrom(length)` receive: a buffer of this thread's, reused, so a
 * call that brings no data (would-block, timeout, eof, an error) allocates nothing, however
 * large `length` is; only what arrived is copied out.
 *
 * - Up to {@link SCRATCH_LIMIT} bytes: one fixed 64 KiB buffer.
 * - Larger lengths: a second buffer, grown to the largest length asked (kept up to
 *   {@link KEEP_LIMIT}; beyond it each call has its own). A read of more than 64 KiB that fills
 *   at least half of it takes that buffer as its data without a copy, and the next large call
 *   makes a new one.
 *
 * Sync calls cannot interleave in a thread, so one of each is enough.
 * @module
 */

/** Lengths up to this use the fixed scratch buffer. */
const SCRATCH_LIMIT = 64 * 1024;
/** The grown buffer is kept for the next call only up to this size. */
const KEEP_LIMIT = 16 * 1024 * 1024;

const scratch = Buffer.allocUnsafeSlow(SCRATCH_LIMIT);
let large: Buffer | undefined;

/** The buffer to receive up to `length` bytes into (at least `length` bytes long). */
export function receiveBuffer(length: number): Buffer {
  if (length <= SCRATCH_LIMIT) return scratch;
  if (large !== undefined && large.length >= length) return large;
  const made = Buffer.allocUnsafeSlow(length);
  if (length <= KEEP_LIMIT) large = made;
  return made;
}

/** The first `n` bytes of `target` (from {@link receiveBuffer}) as a Buffer of their own. */
export function takeData(target: Buffer, n: number): Buffer {
  if (target !== scratch && n > SCRATCH_LIMIT && n >= target.length / 2) {
    // Big enough to be worth the whole buffer (at least half of it: a small read must not pin
    // a big buffer): handed over, not copied.
    if (target === large) large = undefined;
    return target.subarray(0, n);
  }
  const data = Buffer.allocUnsafe(n);
  target.copy(data, 0, 0, n);
  return data;
}
