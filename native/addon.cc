// The N-API glue: JavaScript values in, platform.h calls, plain numbers out.
//
// It decides nothing. An OS outcome is always returned as a number (the call's
// result, or the negated error code); the only exceptions thrown here are
// TypeError / RangeError for malformed arguments, checked again here even though
// the TypeScript layer checked them first, because `sys` is public.
#include <napi.h>

#include <string>

#include "glue.h"
#include "message.h"
#include "platform.h"
#include "poller.h"

namespace rawrecv {
namespace {

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

Napi::Object AddressObject(Napi::Env env, const SockAddr& raw, Napi::Object target) {
  Address address;
  address_format(raw, &address);
  target.Set("family", Napi::Number::New(env, address.family));
  target.Set("address", Napi::String::New(env, address.host));
  target.Set("port", Napi::Number::New(env, address.port));
  return target;
}

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
  return Num(env, sys::fionread(fd));
}

Napi::Value SetUdpConnReset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  bool report;
  if (!ReadBool(info, 1, "report", &report)) return env.Undefined();
  return Num(env, sys::set_udp_connreset(fd, report));
}

// close(2), deferred while another thread's poll handle watches fd (see poller.h). Whoever
// owned the number owns nothing once it is closed.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  return Num(env, CloseDescriptor(env, fd));
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitPoller(env, exports);
  InitMessage(env, exports);
  exports.Set("platform", Napi::String::New(env, platform_name()));
  const char* wine = wine_version();
  exports.Set("wine", wine != nullptr ? Napi::Value(Napi::String::New(env, wine)) : env.Null());
  exports.Set("constants", Constants(env));
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
      {"poll", Poll},
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
