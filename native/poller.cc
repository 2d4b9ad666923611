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
};

struct PollHandle;

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
// uv_poll_start calls made, process-wide (Poller.startCount).
std::atomic<uint64_t> g_start_count{0};
std::unordered_map<sock, Environment*> g_owners;
std::unordered_multimap<sock, PollHandle*> g_polled;
std::unordered_map<sock, std::unordered_set<Environment*>> g_tracked;
std::unordered_map<sock, std::unordered_set<Environment*>> g_closing;

struct PollHandle {
  uv_poll_t poll;
  sock fd;
  Environment* environment;
  class Poller* owner;
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
// load, this hook runs after the pollers' hooks (cleanup hooks run newest first), so this
// environment's poll handles are already closed.
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

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Poller",
        {InstanceMethod("open", &Poller::Open), InstanceMethod("start", &Poller::Start),
         InstanceMethod("idle", &Poller::Idle), InstanceMethod("stop", &Poller::Stop),
         InstanceMethod("close", &Poller::Close), StaticMethod("startCount", &Poller::StartCount),
         StaticValue("READABLE", Napi::Number::New(env, UV_READABLE)),
         StaticValue("WRITABLE", Napi::Number::New(env, UV_WRITABLE)),
         StaticValue("DISCONNECT", Napi::Number::New(env, UV_DISCONNECT)),
         StaticValue("CLOSED_ELSEWHERE", Napi::Number::New(env, UV_ECANCELED))});
  }

  // new Poller(callback): callback(status, events) is called with `this` = the poller.
  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    if (!info[0].IsFunction()) {
      ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                    "The \"callback\" argument must be of type function");
      return;
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(info.Env(), "rawrecv.Poller");
  }

  ~Poller() override {
    if (handle_ != nullptr) {
      handle_->owner = nullptr;
      CloseHandle(handle_);
    }
  }

  // Runs on an environment's thread when another thread closed descriptors that this
  // environment's handles watch (CloseLocked): for each, the TypeScript layer's callback
  // closes this thread's Sockets of it (their waits reject, their handle closes), any handle
  // left is closed, and this environment lets go, which lets the deferred close(2) happen.
  static void OnClosedElsewhere(napi_env raw_env, napi_value, void* context, void*) {
    if (raw_env == nullptr) return;  // the environment is going away: CloseOwned lets go
    auto* environment = static_cast<Environment*>(context);
    std::vector<sock> fds;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      fds.swap(environment->closed_elsewhere);
    }
    for (sock fd : fds) {
      if (!environment->on_closed_elsewhere.IsEmpty()) {
        CallFromLoop(raw_env, nullptr, nullptr, environment->on_closed_elsewhere,
                     static_cast<double>(fd), 0);
      }
      std::vector<PollHandle*> handles;
      {
        std::lock_guard<std::mutex> lock(g_mutex);
        auto [first, last] = g_polled.equal_range(fd);
        for (auto it = first; it != last; ++it) {
          if (it->second->environment == environment) handles.push_back(it->second);
        }
      }
      for (PollHandle* handle : handles) CloseHandle(handle);
      std::lock_guard<std::mutex> lock(g_mutex);
      TrackLocked(environment, fd, false);
      LetGoLocked(environment, fd);
    }
  }

 private:
  // uv_close now (the descriptor leaves the backend at once); free in OnClose.
  static void CloseHandle(PollHandle* handle) {
    if (handle->closing) return;
    handle->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), OnClose);
    Unregister(handle);
  }

  static void OnClose(uv_handle_t* raw) {
    PollHandle* handle = static_cast<PollHandle*>(raw->data);
    if (handle->owner != nullptr) handle->owner->handle_ = nullptr;
    napi_remove_async_cleanup_hook(handle->cleanup);
    delete handle;
  }

  // The environment is going away (a worker exiting) with the handle still open.
  static void OnEnvironmentCleanup(napi_async_cleanup_hook_handle, void* data) {
    CloseHandle(static_cast<PollHandle*>(data));
  }

  static void OnPoll(uv_poll_t* raw, int status, int events) {
    PollHandle* handle = static_cast<PollHandle*>(raw->data);
    Poller* self = handle->owner;
    if (self == nullptr || handle->closing) return;
    // After an error libuv has stopped watching (on Windows without marking the handle
    // inactive): the next start must really start it again.
    if (status < 0) self->events_ = 0;
    CallFromLoop(self->Env(), *self->context_, static_cast<napi_ref>(*self), self->callback_,
                 status, events);
  }

  // Calls `callback(a, b)` (`this` = the object of `receiver`, or the global) from the event
  // loop, in raw N-API: node-addon-api turns a failing call into a JavaScript error, and making
  // that error is itself a fatal error while a worker is being terminated (JavaScript cannot
  // run there any more), which libuv callbacks can still see. A call that cannot be made is
  // dropped; an exception the callback threw is reported as Node reports any uncaught one
  // (no JavaScript frame is below us).
  static void CallFromLoop(napi_env env, napi_async_context context, napi_ref receiver,
                           napi_ref callback, double a, double b) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value function;
    napi_value self;
    napi_value argv[2];
    bool ready =
        napi_get_reference_value(env, callback, &function) == napi_ok &&
        (receiver == nullptr ? napi_get_global(env, &self)
                             : napi_get_reference_value(env, receiver, &self)) == napi_ok &&
        napi_create_double(env, a, &argv[0]) == napi_ok &&
        napi_create_double(env, b, &argv[1]) == napi_ok;
    napi_value result;
    if (ready && napi_make_callback(env, context, self, function, 2, argv, &result) != napi_ok) {
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  // open(fd): uv_poll_init_socket. Returns 0 or a negative libuv error code (UV_EEXIST when
  // another handle on this loop already polls the descriptor; CLOSED_ELSEWHERE when another
  // thread has closed it and waits for this thread to let go). uv_poll_init sets O_NONBLOCK
  // (FIONBIO on Windows) on the descriptor: what to do about that is the caller's decision.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sock fd;
    if (!ReadSock(info, 0, &fd)) return env.Undefined();
    if (handle_ != nullptr) return Num(env, UV_EALREADY);
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return Num(env, UV_EINVAL);
    auto* handle = new PollHandle{};
    handle->fd = fd;
    handle->environment = env.GetInstanceData<Environment>();
    handle->owner = this;
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
    napi_add_async_cleanup_hook(env, OnEnvironmentCleanup, handle, &handle->cleanup);
    handle_ = handle;
    return Num(env, 0);
  }

  // start(events): uv_poll_start with UV_READABLE / UV_WRITABLE / UV_DISCONNECT bits, unless the
  // handle is already started for exactly these events (kept armed by idle()): then nothing is
  // called, so a steady wait loop makes no epoll_ctl / kevent change. The handle is ref'd: a
  // pending wait keeps the loop alive.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RAWRECV_ARG_INT(0, events);
    if (handle_ == nullptr || handle_->closing) return Num(env, UV_EBADF);
    int ret = 0;
    {
      // Not once another thread has closed the descriptor: re-arming a closed one aborts.
      std::lock_guard<std::mutex> lock(g_mutex);
      if (g_closing.count(handle_->fd) != 0) {
        ret = UV_ECANCELED;
      } else if (events != events_ ||
                 !uv_is_active(reinterpret_cast<uv_handle_t*>(&handle_->poll))) {
        // (libuv stops a handle by itself on POLLERR: uv_is_active tells.)
        ret = uv_poll_start(&handle_->poll, events, OnPoll);
        events_ = ret == 0 ? events : 0;
        if (ret == 0) g_start_count.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (ret == 0) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
      if (!active_) {
        Ref();
        active_ = true;
      }
    }
    return Num(env, ret);
  }

  // idle(): no wait is pending, but the next one will most likely want the same events (a
  // receive loop): the handle stays started, unref'd so that it never holds the loop (or the
  // process) open, and this object is no longer held by it. A callback that comes while idle
  // finds no waiter, and the TypeScript side stops the handle then (libuv polls level-triggered:
  // readiness nobody takes would call back on every turn).
  Napi::Value Idle(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != nullptr && !handle_->closing) {
      uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    }
    Release();
    return Num(env, 0);
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != nullptr && !handle_->closing) {
      uv_poll_stop(&handle_->poll);
      uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    }
    events_ = 0;
    Release();
    return Num(env, 0);
  }

  // startCount(): how many uv_poll_start calls this process has made (each one is an
  // epoll_ctl / kevent change at the loop's next turn). For tests and the bench.
  static Napi::Value StartCount(const Napi::CallbackInfo& info) {
    return Num(info.Env(), static_cast<int64_t>(g_start_count.load(std::memory_order_relaxed)));
  }

  // close(): stop and uv_close. Idempotent. Must come before the socket's own close.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != nullptr) CloseHandle(handle_);
    Release();
    return Num(env, 0);
  }

  void Release() {
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  PollHandle* handle_ = nullptr;
  // The events the handle was last started with (0: stopped).
  int events_ = 0;
  bool active_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// onClosedElsewhere(callback): callback(fd) is called on this thread when another thread has
// closed a descriptor that this thread's poll handles watch (see OnClosedElsewhere).
Napi::Value OnClosedElsewhere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"callback\" argument must be of type function");
    return env.Undefined();
  }
  env.GetInstanceData<Environment>()->on_closed_elsewhere =
      Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
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
  env.SetInstanceData(environment);  // deleted with the environment, after the hook below
  napi_add_env_cleanup_hook(env, CloseOwned, environment);
  napi_threadsafe_function notify = nullptr;
  if (napi_create_threadsafe_function(env, nullptr, nullptr,
                                      Napi::String::New(env, "rawrecv.closedElsewhere"), 0, 1,
                                      environment, OnNotifyFinalize, environment,
                                      Poller::OnClosedElsewhere, &notify) == napi_ok) {
    napi_unref_threadsafe_function(env, notify);  // never keeps the process alive
    std::lock_guard<std::mutex> lock(g_mutex);
    environment->notify = notify;
  }
  exports.Set("Poller", Poller::Define(env));
  exports.Set("own", Napi::Function::New(env, Own, "own"));
  exports.Set("disown", Napi::Function::New(env, Disown, "disown"));
  exports.Set("track", Napi::Function::New(env, Track, "track"));
  exports.Set("onClosedElsewhere",
              Napi::Function::New(env, OnClosedElsewhere, "onClosedElsewhere"));
}

}  // namespace rawrecv
