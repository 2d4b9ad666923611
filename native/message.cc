// The N-API glue of recvmsg(2) / sendmsg(2) with control messages (ancillary data).
//
// As addon.cc: JavaScript values in, platform.h calls, plain numbers and bytes out. It decides
// nothing: the control messages come back as (level, type, bytes) and src/control.ts decodes
// them. The control buffer is the glue's own, aligned as the CMSG_* macros require (a
// JavaScript buffer can start at any byte), and only the bytes the kernel wrote are copied out.
#include "message.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "glue.h"
#include "platform.h"

namespace rawrecv {
namespace {

// The largest control buffer a call takes: far beyond any set of control messages (253
// descriptors, SCM_MAX_FD, take about 1 KiB), small enough to allocate per call.
constexpr double kControlMax = 1 << 20;

// Aligned room for `length` bytes of control messages (cmsghdr starts with a size_t).
struct ControlBuffer {
  explicit ControlBuffer(size_t length)
      : words((length + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t) + 1) {}
  void* data() { return words.data(); }
  std::vector<std::max_align_t> words;
};

// recvmsgControl(fd, buffer, offset, length, flags, controlLength): one recvmsg(2). Returns the
// negated error when nothing was taken, else { ret, family, address, port, msgFlags, control:
// [{ level, type, data }] } (also for Windows' WSAEMSGSIZE, which took a datagram: ret is then
// the negated error). A new object, never one of the caller's: a setter of the caller's could
// throw after descriptors arrived.
Napi::Value RecvmsgControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  char* data;
  size_t length;
  if (!ReadViewRange(env, info[1], info[2], info[3], &data, &length)) return env.Undefined();
  RAWRECV_ARG_INT(4, flags);
  int64_t control_length;
  if (!ReadInteger(info, 5, "controlLength", 0, kControlMax, &control_length)) {
    return env.Undefined();
  }
  ControlBuffer control(static_cast<size_t>(control_length));
  SockAddr from{};
  int msg_flags = 0;
  size_t control_used = 0;
  int64_t ret =
      sys::recvmsg_control(fd, data, length, flags, &from, control.data(),
                           static_cast<size_t>(control_length), &msg_flags, &control_used);
  if (ret < 0 && from.length == 0 && control_used == 0) return Num(env, ret);
  if (control_used > static_cast<size_t>(control_length)) {
    control_used = static_cast<size_t>(control_length);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("ret", Num(env, ret));
  Address address;
  address_format(from, &address);
  result.Set("family", Napi::Number::New(env, address.family));
  result.Set("address", Napi::String::New(env, address.host, address.host_length));
  result.Set("port", Napi::Number::New(env, address.port));
  result.Set("msgFlags", Napi::Number::New(env, msg_flags));
  size_t count = control_walk(control.data(), control_used, nullptr, 0);
  std::vector<ControlEntry> entries(count);
  control_walk(control.data(), control_used, entries.data(), count);
  Napi::Array messages = Napi::Array::New(env, count);
  const auto* bytes = static_cast<const unsigned char*>(control.data());
  for (size_t i = 0; i < count; ++i) {
    Napi::Object message = Napi::Object::New(env);
    message.Set("level", Napi::Number::New(env, entries[i].level));
    message.Set("type", Napi::Number::New(env, entries[i].type));
    message.Set("data", Napi::Buffer<unsigned char>::Copy(env, bytes + entries[i].offset,
                                                          entries[i].length));
    messages.Set(static_cast<uint32_t>(i), message);
  }
  result.Set("control", messages);
  return result;
}

// Reads the control messages to send, [[level, type, bytes], ...], into one aligned buffer.
bool ReadControl(Napi::Env env, Napi::Value value, ControlBuffer** out, size_t* out_length,
                 std::unique_ptr<ControlBuffer>* holder) {
  if (!value.IsArray()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"control\" argument must be an array of [level, type, data]");
    return false;
  }
  Napi::Array list = value.As<Napi::Array>();
  uint32_t count = list.Length();
  struct Item {
    int64_t level;
    int64_t type;
    char* data;
    size_t length;
  };
  // Two passes: every JavaScript value is fetched first (a getter can run JavaScript, which
  // could detach a buffer whose memory was already taken), then the memory is looked at.
  std::vector<Item> items(count);
  std::vector<napi_value> datas(count);
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value entry = list.Get(i);
    if (env.IsExceptionPending()) return false;
    if (!entry.IsArray() || entry.As<Napi::Array>().Length() != 3) {
      ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                    "Each control message must be an array [level, type, data]");
      return false;
    }
    Napi::Array triple = entry.As<Napi::Array>();
    Napi::Value level = triple.Get(uint32_t{0});
    Napi::Value type = triple.Get(uint32_t{1});
    Napi::Value data = triple.Get(uint32_t{2});
    if (env.IsExceptionPending()) return false;
    if (!ReadInteger(env, level, "level", -kIntMax - 1, kIntMax, &items[i].level) ||
        !ReadInteger(env, type, "type", -kIntMax - 1, kIntMax, &items[i].type)) {
      return false;
    }
    datas[i] = data;
  }
  size_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    Item& item = items[i];
    if (!ReadViewRange(env, datas[i], nullptr, nullptr, &item.data, &item.length)) return false;
    total += control_space(item.length);
    if (item.length > kControlMax || total > kControlMax) {
      ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                    "The control messages must take at most " +
                        std::to_string(static_cast<int64_t>(kControlMax)) + " bytes");
      return false;
    }
  }
  holder->reset(new ControlBuffer(total));
  auto* at = static_cast<unsigned char*>((*holder)->data());
  for (const Item& item : items) {
    at += control_build(at, static_cast<int>(item.level), static_cast<int>(item.type), item.data,
                        item.length);
  }
  *out = holder->get();
  *out_length = total;
  return true;
}

// sendmsgControl(fd, buffer, offset, length, flags, family, host, port, control): one
// sendmsg(2). family 0: no address (the connected peer); host and port are then not read.
Napi::Value SendmsgControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(4, flags);
  RAWRECV_ARG_INT(5, family);
  SockAddr to{};
  if (family != 0 && !ReadAddress(env, info[5], info[6], info[7], &to)) return env.Undefined();
  ControlBuffer* control = nullptr;
  size_t control_length = 0;
  std::unique_ptr<ControlBuffer> holder;
  if (!ReadControl(env, info[8], &control, &control_length, &holder)) return env.Undefined();
  // The payload last: reading the control messages can run JavaScript (see ReadControl).
  char* data;
  size_t length;
  if (!ReadViewRange(env, info[1], info[2], info[3], &data, &length)) return env.Undefined();
  return Num(env, sys::sendmsg_control(fd, data, length, flags, family != 0 ? &to : nullptr,
                                       control->data(), control_length));
}

// interfaceName(index): if_indextoname(3), the name or the negated error.
Napi::Value InterfaceName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t index;
  if (!ReadInteger(info, 0, "index", 0, 4294967295.0, &index)) return env.Undefined();
  char name[kInterfaceNameSize] = {};
  int64_t ret = sys::interface_name(static_cast<uint32_t>(index), name);
  if (ret < 0) return Num(env, ret);
  return Napi::String::New(env, name);
}

// inetNtop(family, buffer, offset): inet_ntop(3) of the 4 (AF_INET) or 16 (AF_INET6) bytes
// at offset: the text, or the negated error (too few bytes, another family: no call).
Napi::Value InetNtop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_INT(0, family);
  char* bytes;
  size_t available;
  if (!ReadViewRange(env, info[1], info[2], nullptr, &bytes, &available)) return env.Undefined();
  char text[64] = {};
  int64_t ret = address_ntop(family, bytes, available, text, sizeof(text));
  if (ret < 0) return Num(env, ret);
  return Napi::String::New(env, text);
}

// inetPton(family, host): inet_pton(3), the 4 or 16 bytes as a Buffer, or the negated error.
Napi::Value InetPton(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_INT(0, family);
  if (!info[1].IsString()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"host\" argument must be of type string");
    return env.Undefined();
  }
  std::string host = info[1].As<Napi::String>().Utf8Value();
  unsigned char bytes[16] = {};
  // A NUL inside the text would cut it short: parse "" instead, which fails as it should.
  bool cut = host.find('\0') != std::string::npos;
  int64_t ret = address_pton(family, cut ? "" : host.c_str(), bytes);
  if (ret < 0) return Num(env, ret);
  return Napi::Buffer<unsigned char>::Copy(env, bytes, static_cast<size_t>(ret));
}

// controlSpace(length): CMSG_SPACE(length), the room one control message takes.
Napi::Value ControlSpace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t length;
  if (!ReadInteger(info, 0, "length", 0, kControlMax, &length)) return env.Undefined();
  return Num(env, static_cast<int64_t>(control_space(static_cast<size_t>(length))));
}

}  // namespace

void InitMessage(Napi::Env env, Napi::Object exports) {
  const struct {
    const char* name;
    Napi::Function::Callback callback;
  } functions[] = {
      {"recvmsgControl", RecvmsgControl},
      {"sendmsgControl", SendmsgControl},
      {"interfaceName", InterfaceName},
      {"inetNtop", InetNtop},
      {"inetPton", InetPton},
      {"controlSpace", ControlSpace},
  };
  for (const auto& function : functions) {
    exports.Set(function.name, Napi::Function::New(env, function.callback, function.name));
  }
  ControlSizes sizes = control_sizes();
  Napi::Object object = Napi::Object::New(env);
  object.Set("in_pktinfo", Napi::Number::New(env, sizes.in_pktinfo));
  object.Set("in6_pktinfo", Napi::Number::New(env, sizes.in6_pktinfo));
  object.Set("timespec", Napi::Number::New(env, sizes.timespec));
  object.Set("ucred", Napi::Number::New(env, sizes.ucred));
  object.Set("sock_extended_err", Napi::Number::New(env, sizes.sock_extended_err));
  exports.Set("controlSizes", object);
}

}  // namespace rawrecv
