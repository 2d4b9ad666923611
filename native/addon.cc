// The N-API glue: JavaScript values in, platform.h calls, plain numbers out.
//
// It decides nothing. An OS outcome is always returned as a number (the call's
// result, or the negated error code); the only exceptions thrown here are
// TypeError / RangeError for malformed arguments, checked again here even though
// the TypeScript layer checked them first, because `sys` is public.
#include <napi.h>
#include <uv.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "platform.h"

namespace rawrecv {
namespace {

// POSIX descriptors are ints; a Win64 SOCKET is pointer-sized but JavaScript
// numbers are exact to 2^53, which is all any socket handle uses.
#ifdef _WIN32
constexpr double kSockMin = -1;
constexpr double kSockMax = 9007199254740991.0;
#else
constexpr double kSockMin = -2147483648.0;
constexpr double kSockMax = 2147483647.0;
#endif
constexpr double kIntMax = 2147483647.0;

void ThrowWithCode(Napi::Env env, bool range, const char* code, const std::string& message) {
  Napi::Error error = range ? Napi::Error(Napi::RangeError::New(env, message))
                            : Napi::Error(Napi::TypeError::New(env, message));
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

// Reads `value` as an integer in [min, max]; throws and returns false otherwise.
bool ReadInteger(napi_env env, napi_value value, const char* name, double min, double max,
                 int64_t* out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  std::string("The \"") + name + "\" argument must be of type number");
    return false;
  }
  if (!std::isfinite(number) || std::trunc(number) != number || number < min || number > max) {
    ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                  std::string("The value of \"") + name +
                      "\" is out of range. It must be an integer >= " +
                      std::to_string(static_cast<int64_t>(min)) +
                      " and <= " + std::to_string(static_cast<int64_t>(max)));
    return false;
  }
  *out = static_cast<int64_t>(number);
  return true;
}

bool ReadInteger(const Napi::CallbackInfo& info, size_t index, const char* name, double min,
                 double max, int64_t* out) {
  return ReadInteger(info.Env(), info[index], name, min, max, out);
}

bool ReadSock(const Napi::CallbackInfo& info, size_t index, sock* out) {
  int64_t value;
  if (!ReadInteger(info, index, "fd", kSockMin, kSockMax, &value)) return false;
  *out = value;
  return true;
}

bool ReadInt(const Napi::CallbackInfo& info, size_t index, const char* name, int* out) {
  int64_t value;
  if (!ReadInteger(info, index, name, -kIntMax - 1, kIntMax, &value)) return false;
  *out = static_cast<int>(value);
  return true;
}

bool ReadBool(const Napi::CallbackInfo& info, size_t index, const char* name, bool* out) {
  if (!info[index].IsBoolean()) {
    ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                  std::string("The \"") + name + "\" argument must be of type boolean");
    return false;
  }
  *out = info[index].As<Napi::Boolean>().Value();
  return true;
}

// Reads (buffer, offset, length) and checks the range lies inside the view, so the kernel is
// never handed memory past its end. The typed-array query comes first: it is the common case,
// and it fails cleanly (napi_invalid_arg) for anything else.
bool ReadRange(napi_env env, napi_value buffer, napi_value offset_value, napi_value length_value,
               char** data, size_t* length) {
  void* base = nullptr;
  size_t byte_length = 0;
  napi_typedarray_type type;
  size_t element_count;
  if (napi_get_typedarray_info(env, buffer, &type, &element_count, &base, nullptr, nullptr) ==
      napi_ok) {
    size_t element_size = 1;
    switch (type) {
      case napi_int16_array:
      case napi_uint16_array:
        element_size = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        element_size = 4;
        break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array:
        element_size = 8;
        break;
      default:
        break;
    }
    byte_length = element_count * element_size;
  } else {
    bool is_dataview = false;
    napi_is_dataview(env, buffer, &is_dataview);
    if (!is_dataview ||
        napi_get_dataview_info(env, buffer, &byte_length, &base, nullptr, nullptr) != napi_ok) {
      ThrowWithCode(
          env, false, "ERR_INVALID_ARG_TYPE",
          "The \"buffer\" argument must be an instance of Buffer, TypedArray, or DataView");
      return false;
    }
  }
  int64_t offset;
  int64_t count;
  if (!ReadInteger(env, offset_value, "offset", 0, kIntMax, &offset)) return false;
  if (!ReadInteger(env, length_value, "length", 0, kIntMax, &count)) return false;
  // A detached ArrayBuffer reports a byte length of 0, so it fails here too.
  if (static_cast<uint64_t>(offset) + static_cast<uint64_t>(count) > byte_length) {
    ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                  "offset + length (" + std::to_string(offset + count) +
                      ") exceeds the buffer's byte length (" + std::to_string(byte_length) + ")");
    return false;
  }
  *data = static_cast<char*>(base) + offset;
  *length = static_cast<size_t>(count);
  return true;
}

bool ReadRange(const Napi::CallbackInfo& info, size_t index, char** data, size_t* length) {
  return ReadRange(info.Env(), info[index], info[index + 1], info[index + 2], data, length);
}

// Reads (family, host, port) at `index`..`index + 2` into a sockaddr.
bool ReadAddress(const Napi::CallbackInfo& info, size_t index, SockAddr* out) {
  int family;
  int64_t port;
  if (!ReadInt(info, index, "family", &family)) return false;
  if (!info[index + 1].IsString()) {
    ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                  "The \"host\" argument must be of type string");
    return false;
  }
  std::string host = info[index + 1].As<Napi::String>().Utf8Value();
  if (!ReadInteger(info, index + 2, "port", 0, 65535, &port)) return false;
  if (host.find('\0') != std::string::npos ||
      address_parse(family, host.c_str(), static_cast<int>(port), out) != 0) {
    ThrowWithCode(
        info.Env(), false, "ERR_INVALID_ADDRESS",
        "The address \"" + host + "\" is not valid for address family " + std::to_string(family));
    return false;
  }
  return true;
}

Napi::Value Num(Napi::Env env, int64_t value) {
  return Napi::Number::New(env, static_cast<double>(value));
}

Napi::Object AddressObject(Napi::Env env, const SockAddr& raw, Napi::Object target) {
  Address address;
  address_format(raw, &address);
  target.Set("family", Napi::Number::New(env, address.family));
  target.Set("address", Napi::String::New(env, address.host));
  target.Set("port", Napi::Number::New(env, address.port));
  return target;
}

#define RAWRECV_ARG_SOCK(index, name) \
  sock name;                          \
  if (!ReadSock(info, index, &name)) return env.Undefined()
#define RAWRECV_ARG_INT(index, name) \
  int name;                          \
  if (!ReadInt(info, index, #name, &name)) return env.Undefined()

Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_INT(0, domain);
  RAWRECV_ARG_INT(1, type);
  RAWRECV_ARG_INT(2, protocol);
  return Num(env, sys::socket(domain, type, protocol));
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_INT(0, domain);
  RAWRECV_ARG_INT(1, type);
  RAWRECV_ARG_INT(2, protocol);
  sock fds[2];
  int64_t ret = sys::socketpair(domain, type, protocol, fds);
  if (ret < 0) return Num(env, ret);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(uint32_t{0}, Num(env, fds[0]));
  pair.Set(uint32_t{1}, Num(env, fds[1]));
  return pair;
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  SockAddr address;
  if (!ReadAddress(info, 1, &address)) return env.Undefined();
  return Num(env, sys::bind(fd, address));
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  SockAddr address;
  if (!ReadAddress(info, 1, &address)) return env.Undefined();
  return Num(env, sys::connect(fd, address));
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, backlog);
  return Num(env, sys::listen(fd, backlog));
}

Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  return Num(env, sys::accept(fd));
}

template <int64_t (*Call)(sock, SockAddr*)>
Napi::Value SocketAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  SockAddr address;
  int64_t ret = Call(fd, &address);
  if (ret < 0) return Num(env, ret);
  return AddressObject(env, address, Napi::Object::New(env));
}

Napi::Value SocketFamily(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  return Num(env, sys::socket_family(fd));
}

Napi::Value GetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  return Num(env, sys::get_nonblocking(fd));
}

Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool nonblocking;
  if (!ReadBool(info, 1, "nonblocking", &nonblocking)) return env.Undefined();
  return Num(env, sys::set_nonblocking(fd, nonblocking));
}

// recv and send are the hot path: plain N-API (napi_get_cb_info into a stack array), without
// node-addon-api's CallbackInfo, which the bench showed costs per call.
template <int64_t (*Call)(sock, char*, size_t, int)>
napi_value Transfer(napi_env env, napi_callback_info callback_info) {
  size_t argc = 5;
  napi_value argv[5];  // missing arguments read as undefined
  if (napi_get_cb_info(env, callback_info, &argc, argv, nullptr, nullptr) != napi_ok) {
    return nullptr;
  }
  int64_t fd;
  int64_t flags;
  char* data;
  size_t length;
  if (!ReadInteger(env, argv[0], "fd", kSockMin, kSockMax, &fd) ||
      !ReadRange(env, argv[1], argv[2], argv[3], &data, &length) ||
      !ReadInteger(env, argv[4], "flags", -kIntMax - 1, kIntMax, &flags)) {
    return nullptr;
  }
  napi_value result;
  napi_create_int64(env, Call(fd, data, length, static_cast<int>(flags)), &result);
  return result;
}

int64_t CallRecv(sock fd, char* data, size_t length, int flags) {
  return sys::recv(fd, data, length, flags);
}
int64_t CallSend(sock fd, char* data, size_t length, int flags) {
  return sys::send(fd, data, length, flags);
}

bool ReadOutObject(const Napi::CallbackInfo& info, size_t index) {
  if (info[index].IsObject()) return true;
  ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                "The \"out\" argument must be of type object");
  return false;
}

// recvfrom (WithFlags false) and recvmsg (true): the sender, and recvmsg's msg_flags, go to
// `out` whenever a datagram was taken (also Windows' WSAEMSGSIZE, which took one).
template <bool WithFlags>
Napi::Value ReceiveFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  char* data;
  size_t length;
  if (!ReadRange(info, 1, &data, &length)) return env.Undefined();
  RAWRECV_ARG_INT(4, flags);
  if (!ReadOutObject(info, 5)) return env.Undefined();
  SockAddr from{};
  int msg_flags = 0;
  int64_t ret = WithFlags ? sys::recvmsg(fd, data, length, flags, &from, &msg_flags)
                          : sys::recvfrom(fd, data, length, flags, &from);
  if (ret >= 0 || from.length > 0) {
    Napi::Object out = info[5].As<Napi::Object>();
    AddressObject(env, from, out);
    if (WithFlags) out.Set("msgFlags", Napi::Number::New(env, msg_flags));
  }
  return Num(env, ret);
}

Napi::Value SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  char* data;
  size_t length;
  if (!ReadRange(info, 1, &data, &length)) return env.Undefined();
  RAWRECV_ARG_INT(4, flags);
  SockAddr to;
  if (!ReadAddress(info, 5, &to)) return env.Undefined();
  return Num(env, sys::sendto(fd, data, length, flags, to));
}

Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, how);
  return Num(env, sys::shutdown(fd, how));
}

Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, level);
  RAWRECV_ARG_INT(2, name);
  return Num(env, sys::getsockopt_int(fd, level, name));
}

Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, level);
  RAWRECV_ARG_INT(2, name);
  RAWRECV_ARG_INT(3, value);
  return Num(env, sys::setsockopt_int(fd, level, name, value));
}

Napi::Value GetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, name);
  return Num(env, sys::get_timeout_ms(fd, name));
}

Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, name);
  int64_t milliseconds;
  if (!ReadInteger(info, 2, "milliseconds", 0, 4294967295.0, &milliseconds)) return env.Undefined();
  return Num(env, sys::set_timeout_ms(fd, name, static_cast<uint32_t>(milliseconds)));
}

Napi::Value GetLinger(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  int on = 0;
  int seconds = 0;
  int64_t ret = sys::get_linger(fd, &on, &seconds);
  if (ret < 0) return Num(env, ret);
  Napi::Object result = Napi::Object::New(env);
  result.Set("on", Napi::Boolean::New(env, on != 0));
  result.Set("seconds", Napi::Number::New(env, seconds));
  return result;
}

Napi::Value SetLinger(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool on;
  if (!ReadBool(info, 1, "on", &on)) return env.Undefined();
  int64_t seconds;
  if (!ReadInteger(info, 2, "seconds", 0, 65535, &seconds)) return env.Undefined();
  return Num(env, sys::set_linger(fd, on ? 1 : 0, static_cast<int>(seconds)));
}

Napi::Value Fionread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  return Num(env, sys::bytes_available(fd));
}

Napi::Value SetUdpConnReset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool report;
  if (!ReadBool(info, 1, "report", &report)) return env.Undefined();
  return Num(env, sys::set_udp_connreset(fd, report));
}

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
// - g_polled: every open poll handle, by descriptor. libuv aborts the process when it re-arms a
//   closed descriptor (epoll_ctl fails with EBADF or ENOENT in uv__io_poll), and a Socket of
//   another thread would go on using the number after it is reused, so a descriptor is never
//   closed while a handle of another thread watches it: that close(2) is deferred
//   (g_closing: the environments it waits for) until each such thread, told through its
//   `notify`, has closed its Sockets of it and its handles. (This thread's are closed by the
//   TypeScript layer before it calls close.)
std::mutex g_mutex;
std::unordered_map<sock, Environment*> g_owners;
std::unordered_multimap<sock, PollHandle*> g_polled;
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
  for (auto it = first; it != last; ++it) {
    if (it->second->environment != self) others.insert(it->second->environment);
  }
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

// close(2), deferred while another thread's poll handle watches fd (see g_polled). Whoever
// owned the number owns nothing once it is closed.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  std::lock_guard<std::mutex> lock(g_mutex);
  return Num(env, CloseLocked(env.GetInstanceData<Environment>(), fd));
}

Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, events);
  return Num(env, sys::poll(fd, events));
}

Napi::Value HandleCount(const Napi::CallbackInfo& info) {
  return Num(info.Env(), process_handle_count());
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object groups = Napi::Object::New(env);
  size_t count = 0;
  const ConstantGroup* list = constant_groups(&count);
  for (size_t g = 0; g < count; ++g) {
    Napi::Object group = Napi::Object::New(env);
    for (size_t i = 0; i < list[g].count; ++i) {
      group.Set(list[g].entries[i].name, Napi::Number::New(env, list[g].entries[i].value));
    }
    groups.Set(list[g].name, group);
  }
  return groups;
}

// One uv_poll_t per descriptor and thread, on this environment's own loop
// (napi_get_uv_event_loop, never uv_default_loop, so worker threads each poll on theirs).
// libuv's rules are kept here:
// - the handle is stopped and uv_close()d before the socket is closed: uv_close removes the
//   descriptor from epoll/kqueue at once, so a later reuse of the number is never touched;
//   a close(2) from another thread waits for it (see g_polled);
// - its memory is freed only in the close callback;
// - a started poller holds a strong reference to its JavaScript object, so it cannot be
//   collected while it can still call back; a stopped one holds none.
// Readiness can be spurious (uv_poll docs): the JavaScript side always follows it with a
// real non-blocking recv.
class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Poller",
        {InstanceMethod("open", &Poller::Open), InstanceMethod("start", &Poller::Start),
         InstanceMethod("stop", &Poller::Stop), InstanceMethod("close", &Poller::Close),
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
    Napi::Env env(raw_env);
    auto* environment = static_cast<Environment*>(context);
    std::vector<sock> fds;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      fds.swap(environment->closed_elsewhere);
    }
    for (sock fd : fds) {
      if (!environment->on_closed_elsewhere.IsEmpty()) {
        Napi::HandleScope scope(env);
        environment->on_closed_elsewhere.MakeCallback(env.Global(), {Num(env, fd)});
        if (env.IsExceptionPending()) {
          napi_fatal_exception(env, env.GetAndClearPendingException().Value());
        }
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
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->callback_.MakeCallback(self->Value(),
                                 {Napi::Number::New(env, status), Napi::Number::New(env, events)},
                                 *self->context_);
    if (env.IsExceptionPending()) {
      // No JavaScript frame is below us: report it as Node reports any uncaught exception.
      napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    }
  }

  // open(fd, blocking): uv_poll_init_socket. Returns 0 or a negative libuv error code
  // (UV_EEXIST when another handle on this loop already polls the descriptor; CLOSED_ELSEWHERE
  // when another thread has closed it and waits for this thread's handles to let go).
  // uv_poll_init sets O_NONBLOCK (FIONBIO on Windows) on the descriptor; polling does not need
  // it, and the socket's mode is its user's, so a blocking socket is put back in blocking mode
  // at once (`blocking` is the mode the Socket tracks: Windows cannot read it back).
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sock fd;
    if (!ReadSock(info, 0, &fd)) return env.Undefined();
    bool blocking;
    if (!ReadBool(info, 1, "blocking", &blocking)) return env.Undefined();
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
    return Num(env, blocking ? sys::set_nonblocking(fd, false) : 0);
  }

  // start(events): uv_poll_start with UV_READABLE / UV_WRITABLE / UV_DISCONNECT bits.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RAWRECV_ARG_INT(0, events);
    if (handle_ == nullptr || handle_->closing) return Num(env, UV_EBADF);
    int ret;
    {
      // Not once another thread has closed the descriptor: re-arming a closed one aborts.
      std::lock_guard<std::mutex> lock(g_mutex);
      ret = g_closing.count(handle_->fd) != 0 ? UV_ECANCELED
                                              : uv_poll_start(&handle_->poll, events, OnPoll);
    }
    if (ret == 0 && !active_) {
      Ref();
      active_ = true;
    }
    return Num(env, ret);
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != nullptr && !handle_->closing) uv_poll_stop(&handle_->poll);
    Release();
    return Num(env, 0);
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
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
  exports.Set("platform", Napi::String::New(env, platform_name()));
  const char* wine = wine_version();
  exports.Set("wine", wine != nullptr ? Napi::Value(Napi::String::New(env, wine)) : env.Null());
  exports.Set("constants", Constants(env));
  exports.Set("Poller", Poller::Define(env));
  const struct {
    const char* name;
    Napi::Function::Callback callback;
  } functions[] = {
      {"socket", Socket},
      {"socketpair", SocketPair},
      {"bind", Bind},
      {"connect", Connect},
      {"listen", Listen},
      {"accept", Accept},
      {"getsockname", SocketAddress<sys::getsockname>},
      {"getpeername", SocketAddress<sys::getpeername>},
      {"socketFamily", SocketFamily},
      {"getNonBlocking", GetNonBlocking},
      {"setNonBlocking", SetNonBlocking},
      {"recvfrom", ReceiveFrom<false>},
      {"recvmsg", ReceiveFrom<true>},
      {"sendto", SendTo},
      {"shutdown", Shutdown},
      {"close", Close},
      {"getsockopt", GetSockOpt},
      {"setsockopt", SetSockOpt},
      {"getTimeout", GetTimeout},
      {"setTimeout", SetTimeout},
      {"getLinger", GetLinger},
      {"setLinger", SetLinger},
      {"fionread", Fionread},
      {"setUdpConnReset", SetUdpConnReset},
      {"handleCount", HandleCount},
      {"own", Own},
      {"disown", Disown},
      {"poll", Poll},
      {"onClosedElsewhere", OnClosedElsewhere},
  };
  for (const auto& function : functions) {
    exports.Set(function.name, Napi::Function::New(env, function.callback, function.name));
  }
  const struct {
    const char* name;
    napi_callback callback;
  } fast[] = {{"recv", Transfer<CallRecv>}, {"send", Transfer<CallSend>}};
  for (const auto& function : fast) {
    napi_value value;
    napi_create_function(env, function.name, NAPI_AUTO_LENGTH, function.callback, nullptr, &value);
    exports.Set(function.name, value);
  }
  return exports;
}

}  // namespace
}  // namespace rawrecv

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return rawrecv::Init(env, exports);
}

NODE_API_MODULE(rawrecv, InitModule)
