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
  /** The next View of the same descriptor (its entry's list: nearly always none). */
  next: View | undefined;
}

/**
 * One number's Sockets, and the waits on it through its poll handle: the entry is the number's
 * {@link Readiness} (one object per descriptor, made with its first View).
 */
class Entry extends Readiness {
  /** Its Views, a list through `View.next`. */
  views: View | undefined;
  owner: View | undefined = undefined;

  constructor(fd: number, first: View) {
    super(fd);
    this.views = first;
  }

  /**
   * Without an owner in this thread, whoever owns the number may close it at any time: the
   * handle is then closed whenever no wait is pending (see Readiness).
   */
  override closeWhenIdle(): boolean {
    return this.owner === undefined;
  }

  override closedElsewhere(): void {
    closeViews(this.fd);
  }

  /** Takes `view` out of the list; returns whether any View is left. */
  leave(view: View): boolean {
    if (this.views === view) {
      this.views = view.next;
    } else {
      let before = this.views;
      while (before !== undefined && before.next !== view) before = before.next;
      if (before !== undefined) before.next = view.next;
    }
    view.next = undefined;
    return this.views !== undefined;
  }
}

const table = new Map<number, Entry>();

// Another thread closed a number this thread's poll handle watches: its close(2) waits until
// this thread's Sockets of it are closed too.
addon.onClosedElsewhere(closeViews);

// libuv's poll callbacks, for every descriptor of this thread.
addon.poller.onEvents((fd, status, events) => table.get(fd)?.dispatch(status, events));

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
  const view: View = { fd, owned, next: undefined };
  if (entry === undefined) {
    entry = new Entry(fd, view);
    table.set(fd, entry);
    addon.track(fd, true);
  } else {
    view.next = entry.views;
    entry.views = view;
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
  return table.get(openFd(view)) as Entry;
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
  if (entry.leave(view)) {
    entry.cancel(view);
  } else {
    entry.close();
    table.delete(fd);
    addon.track(fd, false);
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
  for (let view = entry.views; view !== undefined; view = view.next) view.fd = -1;
  entry.close();
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
