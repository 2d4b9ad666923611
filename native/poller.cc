// The event-loop side of the addon (see poller.h): libuv's uv_poll_t per descriptor and thread,
// and the process-wide descriptor registry that keeps libuv from ever re-arming a closed
// descriptor. Decides nothing about sockets: the TypeScript layer (src/readiness.ts,
// src/descriptors.ts) does.
#include "poller.h"

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "glue.h"

namespace rawrecv {
namespace {

struct PollHandle;

// One environment per thread that loaded the addon (the main thread, each worker).
struct Environment {
  // Tells this environment's thread that descriptors its poll handles watch were closed by
  // another thread (OnClosedElsewhere). Null once the environment is going away.
  napi_threadsafe_function notify = nullptr;
  // Those descriptors, until its thread takes them. Both fields are guarded by g_mutex.
  std::vector<sock> closed_elsewhere;
  // The TypeScript layer's callback(fd) that closes this thread's Sockets of fd
  // (onClosedElsewhere); used on this environment's thread only.
  Napi::FunctionReference on_closed_elsewhere;
  // Everything below is used on this environment's thread only.
  napi_env env = nullptr;
  // This thread's open poll handles, by descriptor (libuv allows one per descriptor and loop).
  std::unordered_map<sock, PollHandle*> handles;
  // The TypeScript layer's callback(fd, status, events), and the async context it is called in
  // (poller.onEvents).
  Napi::FunctionReference on_events;
  napi_async_context context = nullptr;
  // Poll handles are always unref'd; this handle, ref'd while any wait is pending (poller.hold),
  // is what keeps the loop alive for them. An async handle: it never calls back.
  uv_async_t* keep_alive = nullptr;
  // Pending promises made by poller.promise(), by slot; freed slots are reused.
  std::vector<napi_deferred> deferreds;
  std::vector<uint32_t> free_slots;
  // Where poller.promise() writes the new promise's slot (an Int32Array of one element).
  int32_t* promise_slot = nullptr;
};

// What the whole process knows of its descriptors, guarded by g_mutex. Descriptor numbers are
// per process, so these are too:
// - g_owners: which environment owns each descriptor a live Socket owns. A worker adopting the
//   main thread's socket would otherwise close it when terminated: a second owner is refused,
//   and an environment's cleanup closes only what it owns.
// - g_polled: every open poll handle, by descriptor; g_tracked: the environments whose
//   Sockets hold each descriptor (track). libuv aborts the process when it re-arms a closed
//   descriptor (epoll_ctl fails with EBADF or ENOENT in uv__io_poll), and a Socket of another
//   thread would go on using the number once it is reused, so a descriptor is never closed
//   while another thread's Sockets hold it or its handles watch it: that close(2) is deferred
//   (g_closing: the environments it waits for) until each such thread, told through its
//   `notify`, has closed its Sockets of it and its handles. (This thread's are closed by the
//   TypeScript layer before it calls close.)
std::mutex g_mutex;
// uv_poll_start calls made, process-wide (poller.startCount).
std::atomic<uint64_t> g_start_count{0};
std::unordered_map<sock, Environment*> g_owners;
std::unordered_multimap<sock, PollHandle*> g_polled;
std::unordered_map<sock, std::unordered_set<Environment*>> g_tracked;
std::unordered_map<sock, std::unordered_set<Environment*>> g_closing;

struct PollHandle {
  uv_poll_t poll;
  sock fd;
  Environment* environment;
  napi_async_cleanup_hook_handle cleanup;
  bool closing;
};

// close(2) now, or once the last handle of another environment on `fd` is closed. Called with
// g_mutex held; `self` is the closing environment. Returns close(2)'s result, or 0 if deferred.
int64_t CloseLocked(Environment* self, sock fd) {
  g_owners.erase(fd);
  if (g_closing.count(fd) != 0) return 0;  // already closing: once is enough
  std::unordered_set<Environment*> others;
  auto [first, last] = g_polled.equal_range(fd);
  for (auto it = first; it != last; ++it) others.insert(it->second->environment);
  auto tracked = g_tracked.find(fd);
  if (tracked != g_tracked.end()) others.insert(tracked->second.begin(), tracked->second.end());
  others.erase(self);
  if (others.empty()) return sys::close(fd);
  for (Environment* other : others) {
    other->closed_elsewhere.push_back(fd);
    if (other->notify != nullptr) {
      napi_call_threadsafe_function(other->notify, nullptr, napi_tsfn_nonblocking);
    }
  }
  g_closing.emplace(fd, std::move(others));
  return 0;
}

// `environment` has let go of a descriptor another thread closed; the deferred close(2)
// happens when the last one has. Called with g_mutex held.
void LetGoLocked(Environment* environment, sock fd) {
  auto it = g_closing.find(fd);
  if (it == g_closing.end()) return;
  it->second.erase(environment);
  if (!it->second.empty()) return;
  g_closing.erase(it);
  sys::close(fd);
}

// A handle stops watching its descriptor (uv_close takes it out of epoll/kqueue at once).
void Unregister(PollHandle* handle) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto [first, last] = g_polled.equal_range(handle->fd);
  for (auto it = first; it != last; ++it) {
    if (it->second == handle) {
      g_polled.erase(it);
      return;
    }
  }
}

// The environment is going away (a worker exiting, the process ending). A terminated worker
// runs no more JavaScript (no FinalizationRegistry callback), so what its Sockets still own is
// closed here, and only that; and it lets go of what other threads are closing. Registered at
// load, this hook runs after the poll handles' async cleanup hooks (cleanup hooks run newest
// first), so this environment's poll handles are already closed.
void CloseOwned(void* data) {
  auto* environment = static_cast<Environment*>(data);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<sock> fds;
  for (const auto& [fd, owner] : g_owners) {
    if (owner == environment) fds.push_back(fd);
  }
  for (sock fd : fds) CloseLocked(environment, fd);
  fds.clear();
  for (const auto& [fd, waiting] : g_closing) {
    if (waiting.count(environment) != 0) fds.push_back(fd);
  }
  for (sock fd : fds) LetGoLocked(environment, fd);
  environment->closed_elsewhere.clear();
  for (auto it = g_tracked.begin(); it != g_tracked.end();) {
    it->second.erase(environment);
    it = it->second.empty() ? g_tracked.erase(it) : std::next(it);
  }
}

// Whether this environment's Sockets hold `fd` (tracked true) or no longer do. Caller holds
// g_mutex.
void TrackLocked(Environment* environment, sock fd, bool tracked) {
  if (tracked) {
    g_tracked[fd].insert(environment);
    return;
  }
  auto it = g_tracked.find(fd);
  if (it == g_tracked.end()) return;
  it->second.erase(environment);
  if (it->second.empty()) g_tracked.erase(it);
}

// Calls `callback(argument)` from the event loop, in raw N-API: node-addon-api turns a failing
// call into a JavaScript error, and making that error is itself a fatal error while a worker is
// being terminated (JavaScript cannot run there any more), which libuv callbacks can still see.
// A call that cannot be made is dropped; an exception the callback threw is reported as Node
// reports any uncaught one (no JavaScript frame is below us).
void CallFromLoop(napi_env env, napi_async_context context, napi_ref callback, size_t argc,
                  const napi_value* argv) {
  napi_value function;
  napi_value global;
  if (napi_get_reference_value(env, callback, &function) != napi_ok ||
      napi_get_global(env, &global) != napi_ok) {
    return;
  }
  napi_value result;
  if (napi_make_callback(env, context, global, function, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      napi_fatal_exception(env, error);
    }
  }
}

// uv_close now (the descriptor leaves the backend at once); freed in OnClose.
void CloseHandle(PollHandle* handle) {
  if (handle->closing) return;
  handle->closing = true;
  handle->environment->handles.erase(handle->fd);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), [](uv_handle_t* raw) {
    auto* closed = static_cast<PollHandle*>(raw->data);
    napi_remove_async_cleanup_hook(closed->cleanup);
    delete closed;
  });
  Unregister(handle);
}

// The environment is going away (a worker exiting) with the handle still open.
void OnEnvironmentCleanup(napi_async_cleanup_hook_handle, void* data) {
  CloseHandle(static_cast<PollHandle*>(data));
}

// libuv says a descriptor is ready (status 0, events), or failed (status < 0): the TypeScript
// layer's callback(fd, status, events) is called at once. Not later in the turn: libuv polls
// level-triggered and, after a full batch of events, polls again within the same turn, so
// readiness not consumed by then would be reported again (and again).
void OnPoll(uv_poll_t* raw, int status, int events) {
  auto* handle = static_cast<PollHandle*>(raw->data);
  if (handle->closing) return;
  Environment* environment = handle->environment;
  if (environment->on_events.IsEmpty()) return;
  napi_env env = environment->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3];
  if (napi_create_double(env, static_cast<double>(handle->fd), &argv[0]) == napi_ok &&
      napi_create_int32(env, status, &argv[1]) == napi_ok &&
      napi_create_int32(env, events, &argv[2]) == napi_ok) {
    CallFromLoop(env, environment->context, environment->on_events, 3, argv);
  }
  napi_close_handle_scope(env, scope);
}

// This environment's open handle on `fd`, or null.
PollHandle* HandleOf(Environment* environment, sock fd) {
  auto it = environment->handles.find(fd);
  return it == environment->handles.end() ? nullptr : it->second;
}

// Runs on an environment's thread when another thread closed descriptors that this
// environment's handles watch (CloseLocked): for each, the TypeScript layer's callback closes
// this thread's Sockets of it (their waits reject, their handle closes), any handle left is
// closed, and this environment lets go, which lets the deferred close(2) happen.
void OnClosedElsewhereCall(napi_env raw_env, napi_value, void* context, void*) {
  if (raw_env == nullptr) return;  // the environment is going away: CloseOwned lets go
  auto* environment = static_cast<Environment*>(context);
  std::vector<sock> fds;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    fds.swap(environment->closed_elsewhere);
  }
  for (sock fd : fds) {
    if (!environment->on_closed_elsewhere.IsEmpty()) {
      napi_handle_scope scope;
      napi_value argument;
      if (napi_open_handle_scope(raw_env, &scope) == napi_ok) {
        if (napi_create_double(raw_env, static_cast<double>(fd), &argument) == napi_ok) {
          CallFromLoop(raw_env, environment->context, environment->on_closed_elsewhere, 1,
                       &argument);
        }
        napi_close_handle_scope(raw_env, scope);
      }
    }
    if (PollHandle* handle = HandleOf(environment, fd)) CloseHandle(handle);
    std::lock_guard<std::mutex> lock(g_mutex);
    TrackLocked(environment, fd, false);
    LetGoLocked(environment, fd);
  }
}

// poller.open(fd): uv_poll_init_socket. Returns 0 or a negative libuv error code (UV_EEXIST when
// another handle on this loop already polls the descriptor: a rawrecv one, or node:net's, or
// another addon's; CLOSED_ELSEWHERE when another thread has closed it and waits for this thread
// to let go). uv_poll_init sets O_NONBLOCK (FIONBIO on Windows) on the descriptor: what to do
// about that is the caller's decision.
Napi::Value PollOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  auto* environment = env.GetInstanceData<Environment>();
  if (HandleOf(environment, fd) != nullptr) return Num(env, UV_EEXIST);
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return Num(env, UV_EINVAL);
  auto* handle = new PollHandle{};
  handle->fd = fd;
  handle->environment = environment;
  {
    // Checked and registered at once, so a close(2) from another thread either comes first
    // (and this open fails) or sees this handle (and waits for it).
    std::lock_guard<std::mutex> lock(g_mutex);
    int ret = g_closing.count(fd) != 0
                  ? UV_ECANCELED
                  : uv_poll_init_socket(loop, &handle->poll, static_cast<uv_os_sock_t>(fd));
    if (ret != 0) {
      delete handle;
      return Num(env, ret);
    }
    g_polled.emplace(fd, handle);
  }
  handle->poll.data = handle;
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle->poll));  // see poller.hold
  napi_add_async_cleanup_hook(env, OnEnvironmentCleanup, handle, &handle->cleanup);
  environment->handles.emplace(fd, handle);
  return Num(env, 0);
}

// poller.start(fd, events): uv_poll_start with UV_READABLE / UV_WRITABLE / UV_DISCONNECT bits
// (an epoll_ctl / kevent change at the loop's next turn). The TypeScript side calls it only when
// the events change: a handle stays started between a receive loop's waits. UV_EBADF when `fd`
// has no open handle here.
Napi::Value PollStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, events);
  // libuv asserts on any other bit (the process aborts): refused here instead.
  if ((events & ~(UV_READABLE | UV_WRITABLE | UV_DISCONNECT)) != 0) return Num(env, UV_EINVAL);
  PollHandle* handle = HandleOf(env.GetInstanceData<Environment>(), fd);
  if (handle == nullptr) return Num(env, UV_EBADF);
  // Not once another thread has closed the descriptor: re-arming a closed one aborts.
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_closing.count(fd) != 0) return Num(env, UV_ECANCELED);
  int ret = uv_poll_start(&handle->poll, events, OnPoll);
  if (ret == 0) g_start_count.fetch_add(1, std::memory_order_relaxed);
  return Num(env, ret);
}

// poller.stop(fd): uv_poll_stop.
Napi::Value PollStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  PollHandle* handle = HandleOf(env.GetInstanceData<Environment>(), fd);
  if (handle != nullptr) uv_poll_stop(&handle->poll);
  return Num(env, 0);
}

// poller.hold(waiting): whether any wait of this thread is pending. Poll handles never hold the
// loop (or the process) open by themselves, so that one left started between waits costs
// nothing; while a wait is pending this keeps the loop alive instead (uv_ref of one handle).
Napi::Value PollHold(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool waiting;
  if (!ReadBool(info, 0, "waiting", &waiting)) return env.Undefined();
  auto* keep_alive = reinterpret_cast<uv_handle_t*>(env.GetInstanceData<Environment>()->keep_alive);
  if (keep_alive != nullptr) {
    if (waiting) {
      uv_ref(keep_alive);
    } else {
      uv_unref(keep_alive);
    }
  }
  return env.Undefined();
}

// poller.close(fd): stop and uv_close the handle (the descriptor leaves epoll/kqueue at once; the
// memory is freed in libuv's close callback). Idempotent. Must come before the socket's close.
Napi::Value PollClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  PollHandle* handle = HandleOf(env.GetInstanceData<Environment>(), fd);
  if (handle != nullptr) CloseHandle(handle);
  return Num(env, 0);
}

// poller.startCount(): how many uv_poll_start calls this process has made (each one is an
// epoll_ctl / kevent change at the loop's next turn). For tests and the bench.
Napi::Value PollStartCount(const Napi::CallbackInfo& info) {
  return Num(info.Env(), static_cast<int64_t>(g_start_count.load(std::memory_order_relaxed)));
}

// Reads a callback argument into `*out`; throws ERR_INVALID_ARG_TYPE otherwise.
bool ReadCallback(const Napi::CallbackInfo& info, Napi::FunctionReference* out) {
  if (!info[0].IsFunction()) {
    ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                  "The \"callback\" argument must be of type function");
    return false;
  }
  *out = Napi::Persistent(info[0].As<Napi::Function>());
  return true;
}

// poller.onEvents(callback): callback(fd, status, events) is called for each poll callback.
Napi::Value PollOnEvents(const Napi::CallbackInfo& info) {
  ReadCallback(info, &info.Env().GetInstanceData<Environment>()->on_events);
  return info.Env().Undefined();
}

// poller.promise(): a new pending promise, its slot written into the slot array (poller.slot[0])
// for poller.settle. Made here rather than with `new Promise` because a promise made through N-API
// has no resolving functions: a pending call then holds one object (the promise) in the
// JavaScript heap instead of four (and its deferred handle, outside it).
napi_value PollPromise(napi_env env, napi_callback_info) {
  Environment* environment;
  napi_get_instance_data(env, reinterpret_cast<void**>(&environment));
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return nullptr;
  uint32_t slot;
  if (environment->free_slots.empty()) {
    slot = static_cast<uint32_t>(environment->deferreds.size());
    environment->deferreds.push_back(deferred);
  } else {
    slot = environment->free_slots.back();
    environment->free_slots.pop_back();
    environment->deferreds[slot] = deferred;
  }
  *environment->promise_slot = static_cast<int32_t>(slot);
  return promise;
}

// poller.settle(slot, value, rejected): resolves (or rejects) the promise of `slot` with `value`
// and frees the slot. A slot that holds no pending promise is ERR_INVALID_ARG_VALUE.
napi_value PollSettle(napi_env env, napi_callback_info callback_info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, callback_info, &argc, argv, nullptr, nullptr) != napi_ok) {
    return nullptr;
  }
  Environment* environment;
  napi_get_instance_data(env, reinterpret_cast<void**>(&environment));
  int64_t slot;
  bool rejected = false;
  if (!ReadInteger(env, argv[0], "slot", 0, kIntMax, &slot)) return nullptr;
  napi_get_value_bool(env, argv[2], &rejected);
  if (static_cast<size_t>(slot) >= environment->deferreds.size() ||
      environment->deferreds[slot] == nullptr) {
    ThrowWithCode(Napi::Env(env), false, "ERR_INVALID_ARG_VALUE",
                  "The slot " + std::to_string(slot) + " holds no pending promise");
    return nullptr;
  }
  napi_deferred deferred = environment->deferreds[slot];
  environment->deferreds[slot] = nullptr;
  environment->free_slots.push_back(static_cast<uint32_t>(slot));
  if (rejected) {
    napi_reject_deferred(env, deferred, argv[1]);
  } else {
    napi_resolve_deferred(env, deferred, argv[1]);
  }
  return nullptr;
}

// The environment is going away: its async context is destroyed and its keep-alive handle
// closed, freed once libuv has (poll handles close in their own hooks).
void CloseLoopParts(napi_async_cleanup_hook_handle hook, void* data) {
  auto* environment = static_cast<Environment*>(data);
  if (environment->context != nullptr) {
    napi_async_destroy(environment->env, environment->context);
    environment->context = nullptr;
  }
  uv_async_t* keep_alive = environment->keep_alive;
  environment->keep_alive = nullptr;
  keep_alive->data = hook;
  uv_close(reinterpret_cast<uv_handle_t*>(keep_alive), [](uv_handle_t* raw) {
    napi_remove_async_cleanup_hook(static_cast<napi_async_cleanup_hook_handle>(raw->data));
    delete reinterpret_cast<uv_async_t*>(raw);
  });
}

// onClosedElsewhere(callback): callback(fd) is called on this thread when another thread has
// closed a descriptor that this thread's poll handles watch (see OnClosedElsewhereCall).
Napi::Value OnClosedElsewhere(const Napi::CallbackInfo& info) {
  ReadCallback(info, &info.Env().GetInstanceData<Environment>()->on_closed_elsewhere);
  return info.Env().Undefined();
}

// The threadsafe function is finalized on its environment's thread as the environment goes
// away: no other thread may post to it after that.
void OnNotifyFinalize(napi_env, void*, void* context) {
  std::lock_guard<std::mutex> lock(g_mutex);
  static_cast<Environment*>(context)->notify = nullptr;
}

// own(fd, take): bookkeeping only, no system call. Returns true when this environment now owns
// fd. With take false it refuses (false) a descriptor that any environment already owns; with
// take true (a descriptor this process has just been given by socket(2), accept(2), ...: any
// earlier owner's number was closed behind its back) it takes it over.
Napi::Value Own(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool take;
  if (!ReadBool(info, 1, "take", &take)) return env.Undefined();
  auto* environment = env.GetInstanceData<Environment>();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto [it, inserted] = g_owners.try_emplace(fd, environment);
  if (!inserted && take) it->second = environment;
  return Napi::Boolean::New(env, inserted || take);
}

// track(fd, tracked): whether this environment's Sockets hold fd (see g_tracked). No system call.
Napi::Value Track(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool tracked;
  if (!ReadBool(info, 1, "tracked", &tracked)) return env.Undefined();
  std::lock_guard<std::mutex> lock(g_mutex);
  TrackLocked(env.GetInstanceData<Environment>(), fd, tracked);
  return env.Undefined();
}

// disown(fd): lets go of fd if this environment owns it. No system call.
Napi::Value Disown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  auto* environment = env.GetInstanceData<Environment>();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_owners.find(fd);
  if (it != g_owners.end() && it->second == environment) g_owners.erase(it);
  return env.Undefined();
}

}  // namespace

int64_t CloseDescriptor(Napi::Env env, sock fd) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return CloseLocked(env.GetInstanceData<Environment>(), fd);
}

void InitPoller(Napi::Env env, Napi::Object exports) {
  auto* environment = new Environment();
  env.SetInstanceData(environment);  // deleted with the environment, after the hooks below
  environment->env = env;
  napi_add_env_cleanup_hook(env, CloseOwned, environment);
  napi_threadsafe_function notify = nullptr;
  if (napi_create_threadsafe_function(
          env, nullptr, nullptr, Napi::String::New(env, "rawrecv.closedElsewhere"), 0, 1,
          environment, OnNotifyFinalize, environment, OnClosedElsewhereCall, &notify) == napi_ok) {
    napi_unref_threadsafe_function(env, notify);  // never keeps the process alive
    std::lock_guard<std::mutex> lock(g_mutex);
    environment->notify = notify;
  }
  // The async context the poll callbacks are made in: one for this thread's poll handles.
  NAPI_THROW_IF_FAILED_VOID(
      env,
      napi_async_init(env, nullptr, Napi::String::New(env, "rawrecv.poll"), &environment->context));
  uv_loop_t* loop = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &loop));
  environment->keep_alive = new uv_async_t{};
  if (uv_async_init(loop, environment->keep_alive, nullptr) != 0) {
    delete environment->keep_alive;
    environment->keep_alive = nullptr;
    Napi::Error::New(env, "rawrecv: uv_async_init failed").ThrowAsJavaScriptException();
    return;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(environment->keep_alive));
  napi_async_cleanup_hook_handle hook;
  napi_add_async_cleanup_hook(env, CloseLoopParts, environment, &hook);

  Napi::Object poll = Napi::Object::New(env);
  const struct {
    const char* name;
    Napi::Function::Callback callback;
  } functions[] = {{"open", PollOpen},        {"start", PollStart}, {"hold", PollHold},
                   {"stop", PollStop},        {"close", PollClose}, {"startCount", PollStartCount},
                   {"onEvents", PollOnEvents}};
  for (const auto& function : functions) {
    poll.Set(function.name, Napi::Function::New(env, function.callback, function.name));
  }
  // The promise functions, in raw N-API: they are on every waiting call's path.
  napi_value slot_memory;
  napi_value slot;
  void* slot_data = nullptr;
  NAPI_THROW_IF_FAILED_VOID(
      env, napi_create_arraybuffer(env, sizeof(int32_t), &slot_data, &slot_memory));
  NAPI_THROW_IF_FAILED_VOID(
      env, napi_create_typedarray(env, napi_int32_array, 1, slot_memory, 0, &slot));
  environment->promise_slot = static_cast<int32_t*>(slot_data);
  poll.Set("slot", Napi::Value(env, slot));
  const struct {
    const char* name;
    napi_callback callback;
  } raw[] = {{"promise", PollPromise}, {"settle", PollSettle}};
  for (const auto& function : raw) {
    napi_value value;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, function.name, NAPI_AUTO_LENGTH,
                                                        function.callback, nullptr, &value));
    poll.Set(function.name, Napi::Value(env, value));
  }
  poll.Set("READABLE", Napi::Number::New(env, UV_READABLE));
  poll.Set("WRITABLE", Napi::Number::New(env, UV_WRITABLE));
  poll.Set("DISCONNECT", Napi::Number::New(env, UV_DISCONNECT));
  poll.Set("CLOSED_ELSEWHERE", Napi::Number::New(env, UV_ECANCELED));
  exports.Set("poller", poll);
  exports.Set("own", Napi::Function::New(env, Own, "own"));
  exports.Set("disown", Napi::Function::New(env, Disown, "disown"));
  exports.Set("track", Napi::Function::New(env, Track, "track"));
  exports.Set("onClosedElsewhere",
              Napi::Function::New(env, OnClosedElsewhere, "onClosedElsewhere"));
}

}  // namespace rawrecv
