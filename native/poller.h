// The event-loop side of the addon: one libuv poll handle (uv_poll_t) per descriptor and
// thread, and what the whole process knows of its descriptors (which thread owns each, which
// threads' handles watch each), so that no close(2) can pull a descriptor from under a handle.
#ifndef RAWRECV_POLLER_H_
#define RAWRECV_POLLER_H_

#include <napi.h>

#include "platform.h"

namespace rawrecv {

// Sets up this environment (thread) and adds to `exports`: poller (this thread's poll handles by
// descriptor, and the promises of waiting calls), own, disown, track and onClosedElsewhere. Called
// once per environment, from the module's Init.
void InitPoller(Napi::Env env, Napi::Object exports);

// close(2) of `fd` from this environment: now, or, while Sockets or poll handles of another
// thread hold it, once that thread has let go (then 0 is returned now). Its ownership ends.
int64_t CloseDescriptor(Napi::Env env, sock fd);

}  // namespace rawrecv

#endif  // RAWRECV_POLLER_H_
