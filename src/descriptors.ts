/**
 * The descriptors this thread's Sockets use, one entry per number: the Sockets on it (at most
 * one owns it; others share it through `fromFd(fd, { owned: false })`) and the one libuv poll
 * handle that watches it (libuv allows one handle per descriptor per loop, so every Socket of
 * the number waits through the same {@link Readiness}).
 *
 * The rules it keeps (docs/recv-semantics.md#trap-7: a closed number is reused by the next open):
 * - the owner's close, and `sys.close`, close every Socket of the number in this thread first
 *   (their `fd` becomes -1, their pending waits reject with ERR_SOCKET_CLOSED) and take the
 *   poll handle off the descriptor before close(2): libuv never watches a closed number;
 * - when this module is handed a new descriptor (socket(2), accept(2), ...) under a number
 *   that Sockets here still hold, that number was closed behind their back: they are closed
 *   then, so none of them can reach the new socket;
 * - ownership is process-wide (kept by the addon): a descriptor owned in any thread cannot be
 *   owned again, and a terminated worker closes only what it owns.
 * @module
 */
import { addon } from './addon.js';
import { invalidArgValue, socketClosed } from './errors.js';
import { Readiness } from './readiness.js';

/** What a Socket holds of its descriptor. Kept apart from the Socket so its finalizer can run. */
export interface View {
  /** The descriptor, or -1 once this Socket is closed (by itself, its owner or `sys.close`). */
  fd: number;
  readonly owned: boolean;
}

/**
 * One number's Sockets and poll handle. It is also what its {@link Readiness} is made with (a
 * class, so that its methods are not closures made per descriptor).
 */
class Entry {
  /** Its Views (an array: nearly always one, and a Set costs several times its memory). */
  readonly views: View[];
  owner: View | undefined;
  readiness: Readiness | undefined;

  constructor(
    readonly fd: number,
    first: View,
  ) {
    // A literal: an empty array's first push would reserve 17 slots.
    this.views = [first];
  }

  /**
   * Without an owner in this thread, whoever owns the number may close it at any time: the
   * handle is then closed whenever no wait is pending (see Readiness).
   */
  closeWhenIdle(): boolean {
    return this.owner === undefined;
  }

  closedElsewhere(): void {
    closeViews(this.fd);
  }
}

const table = new Map<number, Entry>();

// Another thread closed a number this thread's poll handle watches: its close(2) waits until
// this thread's Sockets of it are closed too.
addon.onClosedElsewhere(closeViews);

/**
 * Registers a Socket's hold on `fd`. `fresh`: the kernel has just handed this number out, so
 * whatever held it before is gone. Throws ERR_INVALID_ARG_VALUE for a second owner.
 */
export function attach(fd: number, owned: boolean, fresh: boolean): View {
  if (fresh) closeViews(fd);
  let entry = table.get(fd);
  if (owned) {
    if (entry?.owner !== undefined) {
      throw invalidArgValue('fd', fd, 'is already owned by another rawrecv Socket (pass { owned: false } to share it)');
    }
    if (!addon.own(fd, fresh)) {
      throw invalidArgValue(
        'fd',
        fd,
        'is owned by a rawrecv Socket of another thread (pass { owned: false } to share it)',
      );
    }
  }
  const view: View = { fd, owned };
  if (entry === undefined) {
    entry = new Entry(fd, view);
    table.set(fd, entry);
    addon.track(fd, true);
  } else {
    entry.views.push(view);
  }
  if (owned) entry.owner = view;
  return view;
}

/** The view's descriptor; ERR_SOCKET_CLOSED, without a system call, once it is closed. */
export function openFd(view: View): number {
  const fd = view.fd;
  if (fd < 0) throw socketClosed();
  return fd;
}

/**
 * A Socket or Server dropped without close() is closed here, exactly once (`detach`: its
 * pending waits are rejected and the poll handle let go before close(2): libuv must stop
 * watching a descriptor before it is closed). Every one is registered, owned or not, with its
 * View (which must not reference it). A pending wait keeps its Socket reachable, so this never
 * runs under one of its waits.
 */
export const finalizer = new FinalizationRegistry<View>(detach);

/** The number's poll handle, shared by its Sockets; made on the first wait. */
export function readinessOf(view: View): Readiness {
  const fd = openFd(view);
  const entry = table.get(fd) as Entry;
  entry.readiness ??= new Readiness(entry);
  return entry.readiness;
}

/**
 * A Socket lets go: its own pending waits reject with ERR_SOCKET_CLOSED. An owner closes the
 * descriptor (and so every Socket of it here) and returns close(2)'s result; a sharer only
 * leaves (returns 0). Idempotent.
 */
export function detach(view: View): number {
  const fd = view.fd;
  if (fd < 0) return 0;
  if (view.owned) return closeDescriptor(fd);
  view.fd = -1;
  const entry = table.get(fd) as Entry;
  entry.views.splice(entry.views.indexOf(view), 1);
  if (entry.views.length === 0) {
    entry.readiness?.close();
    table.delete(fd);
    addon.track(fd, false);
  } else {
    entry.readiness?.cancel(view);
  }
  return 0;
}

/**
 * Closes every Socket of `fd` in this thread (no system call); their waits reject. Also what
 * happens when another thread closes the number under this thread's poll handle.
 */
function closeViews(fd: number): void {
  const entry = table.get(fd);
  if (entry === undefined) return;
  table.delete(fd);
  addon.track(fd, false);
  for (const view of entry.views) view.fd = -1;
  entry.readiness?.close();
  if (entry.owner !== undefined) addon.disown(fd);
}

/** close(2) of `fd`, after every Socket of it in this thread has let go. */
export function closeDescriptor(fd: number): number {
  closeViews(fd);
  return addon.close(fd);
}

/**
 * A descriptor the kernel has just handed this process outside any Socket (received in
 * SCM_RIGHTS): Sockets of this thread that still hold its number were closed behind their back,
 * and are closed now (as `attach` does for a fresh one), and the number is owned by this thread
 * until it is taken or closed, so that a terminated worker closes it too.
 */
export function received(fd: number): void {
  closeViews(fd);
  addon.own(fd, true);
}
