// The N-API glue: JavaScript values in, platform.h calls, plain numbers out.
//
// It decides nothing. An OS outcome is always returned as a number (the call's
// result, or the negated error code); the only exceptions thrown here are
// TypeError / RangeError for malformed arguments, checked again here even though
// the TypeScript layer checked them first, because `sys` is public.
#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "glue.h"
#include "message.h"
#include "platform.h"
#include "poller.h"

namespace rawrecv {
namespace {

bool ReadRange(const Napi::CallbackInfo& info, size_t index, char** data, size_t* length) {
  return ReadViewRange(info.Env(), info[index], info[index + 1], info[index + 2], data, length);
}

// Reads (family, host, port) at `index`..`index + 2` into a sockaddr.
bool ReadAddress(const Napi::CallbackInfo& info, size_t index, SockAddr* out) {
  return ReadAddress(info.Env(), info[index], info[index + 1], info[index + 2], out);
}

Napi::Object AddressObject(Napi::Env env, const SockAddr& raw, Napi::Object target) {
  Address address;
  address_format(raw, &address);
  target.Set("family", Napi::Number::New(env, address.family));
  target.Set("address", Napi::String::New(env, address.host, address.host_length));
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

int64_t CallRecv(sock fd, char* data, size_t length, int flags) {
  return sys::recv(fd, data, length, flags);
}
int64_t CallSend(sock fd, char* data, size_t length, int flags) {
  return sys::send(fd, data, length, flags);
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
      !ReadViewRange(env, argv[1], argv[2], argv[3], &data, &length) ||
      !ReadInteger(env, argv[4], "flags", -kIntMax - 1, kIntMax, &flags)) {
    return nullptr;
  }
  napi_value result;
  napi_create_int64(env, Call(fd, data, length, static_cast<int>(flags)), &result);
  return result;
}

// The fast path of recv and send: (buffer) alone crosses as an argument; fd, offset, length and
// flags are int32s the caller has just written into the call-arguments array (`callArgs`, one
// per environment, its memory passed as the function's data). Reading four JavaScript numbers
// is most of a minimal binding's cost; these are plain loads. The caller (src/sys.ts, the
// Socket) writes only exact int32s there and takes the checked 5-argument path otherwise; the
// range is still checked here against the view, so no value can reach memory past its end.
// A length of kRestOfView (never a valid length) asks for the rest of the view after the offset,
// as the checked reader gives without a length: recvInto(buffer) then needs no byteLength read in
// JavaScript (a property load V8 does not inline, about 10 ns of the call).
enum CallArg { kFd, kOffset, kLength, kFlags, kCallArgCount };
constexpr int32_t kRestOfView = -1;

template <int64_t (*Call)(sock, char*, size_t, int)>
napi_value TransferFast(napi_env env, napi_callback_info callback_info) {
  size_t argc = 1;
  napi_value buffer;
  void* slots;
  if (napi_get_cb_info(env, callback_info, &argc, &buffer, nullptr, &slots) != napi_ok) {
    return nullptr;
  }
  const int32_t* args = static_cast<const int32_t*>(slots);
  const int64_t offset = args[kOffset];
  int64_t count = args[kLength];
  char* data;
  size_t length;
  void* base;
  size_t byte_length;
  napi_typedarray_type type;
  const bool rest = count == kRestOfView;
  bool bytes =
      napi_get_typedarray_info(env, buffer, &type, &byte_length, &base, nullptr, nullptr) ==
          napi_ok &&
      (type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array);
  if (bytes && rest && offset >= 0 && static_cast<uint64_t>(offset) <= byte_length) {
    count = static_cast<int64_t>(byte_length) - offset;
  }
  if (bytes && count <= static_cast<int64_t>(kIntMax)) {
    // One byte per element: the count is the byte length. Checked as ReadRange does.
    if (offset < 0 || count < 0 ||
        static_cast<uint64_t>(offset) + static_cast<uint64_t>(count) > byte_length) {
      ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                    "offset + length (" + std::to_string(offset + count) +
                        ") exceeds the buffer's byte length (" + std::to_string(byte_length) + ")");
      return nullptr;
    }
    data = static_cast<char*>(base) + offset;
    length = static_cast<size_t>(count);
  } else {
    // Any other view (wider elements, a DataView), a bad value, or a rest longer than an int32:
    // the checked reader, with the rest of the view as a number (so it is range-checked too).
    if (rest) {
      char* view;
      size_t view_length;
      if (!ViewBytes(env, buffer, "buffer", &view, &view_length)) return nullptr;
      count = static_cast<uint64_t>(offset) <= view_length
                  ? static_cast<int64_t>(view_length) - offset
                  : 0;
    }
    napi_value offset_value;
    napi_value count_value;
    if (napi_create_int64(env, offset, &offset_value) != napi_ok ||
        napi_create_int64(env, count, &count_value) != napi_ok ||
        !ReadViewRange(env, buffer, offset_value, count_value, &data, &length)) {
      return nullptr;
    }
  }
  if (rest && length == 0) {
    // The caller asks for the rest only of a view it saw hold at least one element, by its
    // `length`, which a subclass or an own property can fake (or a getter that detaches the
    // buffer). A zero-length recv would read as eof, or drop a datagram: no call, undefined, and
    // the caller takes its checked path.
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  napi_value result;
  napi_create_int32(env, static_cast<int32_t>(Call(args[kFd], data, length, args[kFlags])),
                    &result);
  return result;
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

// The most messages one batch call takes (Linux's own limit for recvmmsg / sendmmsg, UIO_MAXIOV).
constexpr uint32_t kBatchLimit = 1024;

// A batch's `count`, if it is 1..kBatchLimit, else a RangeError and 0.
uint32_t BatchCount(Napi::Env env, size_t count) {
  if (count < 1 || count > kBatchLimit) {
    ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                  "The length of \"buffers\" is out of range. It must be >= 1 and <= " +
                      std::to_string(kBatchLimit) + ". Received " + std::to_string(count));
    return 0;
  }
  return count;
}

// The length of a batch's `buffers` array: 1..kBatchLimit, else a TypeError / RangeError and 0.
uint32_t BatchLength(Napi::Env env, Napi::Value value) {
  if (!value.IsArray()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"buffers\" argument must be an instance of Array");
    return 0;
  }
  return BatchCount(env, value.As<Napi::Array>().Length());
}

// The memory of each of `count` buffers (each whole) into the first `count` of `messages`.
bool ReadViews(Napi::Env env, const napi_value* elements, uint32_t count,
               std::vector<Message>* messages) {
  for (uint32_t i = 0; i < count; ++i) {
    Message& message = (*messages)[i];
    char* base;
    if (!ViewBytes(env, elements[i], "buffers", &base, &message.length, i)) return false;
    if (message.length > static_cast<size_t>(kIntMax)) {
      // Each message's byte count goes back as an int32.
      ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                    "The byte length of \"buffers[" + std::to_string(i) +
                        "]\" must be <= " + std::to_string(static_cast<int64_t>(kIntMax)));
      return false;
    }
    message.data = base;
    message.transferred = 0;
    message.flags = 0;
  }
  return true;
}

// Reads a batch's buffers (each whole) into the first `count` of `messages`. The elements are
// all fetched before any memory is looked at: fetching one can run JavaScript (a getter), which
// could detach a buffer whose memory was already taken. Nothing after this may run JavaScript
// before the system call.
bool ReadBatch(Napi::Env env, Napi::Value value, uint32_t count, std::vector<Message>* messages) {
  Napi::Array array = value.As<Napi::Array>();
  std::vector<napi_value> elements(count);
  for (uint32_t i = 0; i < count; ++i) {
    elements[i] = array.Get(i);
    if (env.IsExceptionPending()) return false;
  }
  return ReadViews(env, elements.data(), count, messages);
}

// An Int32Array with room for `needed` values, or a TypeError / RangeError.
bool ReadCounts(Napi::Env env, Napi::Value value, size_t needed, int32_t** out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"out\" argument must be an instance of Int32Array");
    return false;
  }
  if (length < needed) {
    ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                  "The \"out\" argument needs " + std::to_string(needed) + " elements");
    return false;
  }
  *out = static_cast<int32_t*>(data);
  return true;
}

// recv_many into `messages` (their memory read: nothing after that may run JavaScript before
// the call), after taking `out`'s memory, `stride` values a message. `out`'s memory is taken
// last and the callers write it before any object is made: fetching the buffers (getters) or
// setting a sender (setters) can run JavaScript, which could detach it. False when `out` is
// refused (an exception is pending); else `*ret` is recv_many's.
bool ReceiveBatch(Napi::Env env, sock fd, std::vector<Message>* batch, int flags,
                  Napi::Value out_value, size_t stride, int32_t** out, int64_t* ret) {
  std::vector<Message>& messages = *batch;
  for (Message& message : messages) message.address.length = 0;
  if (!ReadCounts(env, out_value, stride * messages.size(), out)) return false;
  *ret = sys::recv_many(fd, messages.data(), messages.size(), flags);
  return true;
}

bool SameAddress(const SockAddr& a, const SockAddr& b) {
  return a.length == b.length && std::memcmp(a.bytes, b.bytes, a.length) == 0;
}

// recvMany(fd, buffers, flags, out, senders): recv_many into each whole buffer. For each message
// received, out[2i] is its length (beyond the buffer's: truncated) and out[2i + 1] its msg_flags,
// and senders[i] its sender ({ family, address, port }), set only where it differs from the
// previous message's (`senders` is left as it was elsewhere: the caller passes an empty array).
// Returns how many, or the negated error.
Napi::Value ReceiveMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  uint32_t count = BatchLength(env, info[1]);
  if (count == 0) return env.Undefined();
  RAWRECV_ARG_INT(2, flags);
  if (!info[4].IsArray()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"senders\" argument must be an instance of Array");
    return env.Undefined();
  }
  Napi::Array senders = info[4].As<Napi::Array>();
  std::vector<Message> messages(count);
  if (!ReadBatch(env, info[1], count, &messages)) return env.Undefined();
  int32_t* out;
  int64_t ret;
  if (!ReceiveBatch(env, fd, &messages, flags, info[3], 2, &out, &ret)) return env.Undefined();
  for (int64_t i = 0; i < ret; ++i) {
    out[2 * i] = static_cast<int32_t>(messages[i].transferred);
    out[2 * i + 1] = messages[i].flags;
  }
  for (int64_t i = 0; i < ret; ++i) {
    if (i == 0 || !SameAddress(messages[i - 1].address, messages[i].address)) {
      senders.Set(static_cast<uint32_t>(i),
                  AddressObject(env, messages[i].address, Napi::Object::New(env)));
    }
  }
  return Num(env, ret);
}

// recvManyFast's `out`: values per message, and what each one is.
enum FastOut { kOutLength, kOutMessageFlags, kOutSender, kOutFamily, kOutPort, kFastOutStride };
// How many of a batch's distinct senders a message's is compared with (beyond them, a sender
// seen before is reported again as new: the same address, made again).
constexpr int64_t kSendersCompared = 8;

// recvManyFast(fd, flags, out, senders, ...buffers): recvMany with the buffers as arguments
// (src/socket.ts passes the list it has checked, with Function.prototype.apply), and the senders
// as numbers and strings. Reading an array's element through N-API (napi_get_element: a
// TryCatch and a property lookup) costs about 40 ns, and an object with three named properties
// about 600 ns: together most of what recvMany added to recvmmsg per message. For message i,
// out[5i] is its length, out[5i + 1] its msg_flags, out[5i + 2] the first message of the batch
// from the same sender (i itself for a new one); for a new one out[5i + 3] is the sender's
// family, out[5i + 4] its port and senders[i] its address (a string; the AF_UNIX path).
Napi::Value ReceiveManyFast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  RAWRECV_ARG_INT(1, flags);
  if (!info[3].IsArray()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"senders\" argument must be an instance of Array");
    return env.Undefined();
  }
  Napi::Array senders = info[3].As<Napi::Array>();
  uint32_t count = BatchCount(env, info.Length() > 4 ? info.Length() - 4 : 0);
  if (count == 0) return env.Undefined();
  std::vector<napi_value> elements(count);
  for (uint32_t i = 0; i < count; ++i) elements[i] = info[4 + i];
  std::vector<Message> messages(count);
  if (!ReadViews(env, elements.data(), count, &messages)) return env.Undefined();
  for (uint32_t i = 0; i < count; ++i) {
    // Checked for a byte by recvMany, but a getter it ran since may have detached the buffer: a
    // zero-length receive would take a datagram and keep none of it. The checks' own error.
    if (messages[i].length == 0) {
      ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                    "The value of \"buffers[" + std::to_string(i) +
                        "].byteLength\" is out of range. It must be >= 1. Received 0");
      return env.Undefined();
    }
  }
  int32_t* out;
  int64_t ret;
  if (!ReceiveBatch(env, fd, &messages, flags, info[2], kFastOutStride, &out, &ret)) {
    return env.Undefined();
  }
  // The first message of each distinct sender so far (the last one found first).
  int64_t distinct[kSendersCompared];
  int64_t distinct_count = 0;
  // The new senders, formatted while `out` is written; their strings are made after (making
  // and setting one can run JavaScript, which could detach `out`: it is not read again).
  std::vector<std::pair<uint32_t, Address>> news;
  for (int64_t i = 0; i < ret; ++i) {
    int32_t* values = out + kFastOutStride * i;
    values[kOutLength] = static_cast<int32_t>(messages[i].transferred);
    values[kOutMessageFlags] = messages[i].flags;
    int64_t first = i;
    for (int64_t d = distinct_count - 1; d >= 0; --d) {
      if (SameAddress(messages[distinct[d]].address, messages[i].address)) {
        first = distinct[d];
        break;
      }
    }
    values[kOutSender] = static_cast<int32_t>(first);
    if (first != i) continue;
    if (distinct_count < kSendersCompared) distinct[distinct_count++] = i;
    news.emplace_back(static_cast<uint32_t>(i), Address{});
    Address& address = news.back().second;
    address_format(messages[i].address, &address);
    values[kOutFamily] = address.family;
    values[kOutPort] = address.port;
  }
  for (const auto& [index, address] : news) {
    senders.Set(index, Napi::String::New(env, address.host, address.host_length));
  }
  return Num(env, ret);
}

// sendMany(fd, buffers, flags, destinations, out): send_many of each whole buffer, to
// destinations[i] ({ family, host, port }) where it is given (destinations may be undefined).
// out[i] is each sent message's byte count. Returns how many went, or the negated error.
Napi::Value SendMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RAWRECV_ARG_SOCK(0, fd);
  uint32_t count = BatchLength(env, info[1]);
  if (count == 0) return env.Undefined();
  RAWRECV_ARG_INT(2, flags);
  std::vector<Message> messages(count);
  for (Message& message : messages) message.address.length = 0;
  // Destinations first: reading them can run JavaScript (getters), see ReadBatch.
  if (!info[3].IsUndefined()) {
    if (!info[3].IsArray() || info[3].As<Napi::Array>().Length() != count) {
      ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                    "The \"destinations\" argument must be undefined or an Array as long as "
                    "\"buffers\"");
      return env.Undefined();
    }
    Napi::Array destinations = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < count; ++i) {
      Napi::Value destination = destinations.Get(i);
      if (env.IsExceptionPending()) return env.Undefined();
      if (destination.IsUndefined()) continue;
      if (!destination.IsObject()) {
        ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                      "The \"destinations[" + std::to_string(i) +
                          "]\" argument must be undefined or of type object");
        return env.Undefined();
      }
      Napi::Object to = destination.As<Napi::Object>();
      Napi::Value family = to.Get("family");
      Napi::Value host = env.IsExceptionPending() ? Napi::Value() : to.Get("host");
      Napi::Value port = env.IsExceptionPending() ? Napi::Value() : to.Get("port");
      if (env.IsExceptionPending() || !ReadAddress(env, family, host, port, &messages[i].address)) {
        return env.Undefined();
      }
    }
  }
  if (!ReadBatch(env, info[1], count, &messages)) return env.Undefined();
  // Taken last: fetching the buffers can run JavaScript (see ReceiveMany).
  int32_t* out;
  if (!ReadCounts(env, info[4], count, &out)) return env.Undefined();
  int64_t ret = sys::send_many(fd, messages.data(), messages.size(), flags);
  for (int64_t i = 0; i < ret; ++i) out[i] = static_cast<int32_t>(messages[i].transferred);
  return Num(env, ret);
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitPoller(env, exports);
  InitMessage(env, exports);
  exports.Set("platform", Napi::String::New(env, platform_name()));
  const char* wine = wine_version();
  exports.Set("wine", wine != nullptr ? Napi::Value(Napi::String::New(env, wine)) : env.Null());
  exports.Set("constants", Constants(env));
  exports.Set("unixPathSize", Napi::Number::New(env, static_cast<double>(unix_path_size())));
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
      {"recvMany", ReceiveMany},
      {"recvManyFast", ReceiveManyFast},
      {"sendMany", SendMany},
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
  // The call-arguments array of the fast path: its memory is the functions' data. src/addon.ts
  // takes it out of the exports (nothing else may reach it: a detached array would leave these
  // functions reading stale values) and holds it for the life of the environment.
  void* slots = nullptr;
  napi_value memory;
  napi_value call_args;
  NAPI_THROW_IF_FAILED(
      env, napi_create_arraybuffer(env, kCallArgCount * sizeof(int32_t), &slots, &memory), exports);
  NAPI_THROW_IF_FAILED(
      env, napi_create_typedarray(env, napi_int32_array, kCallArgCount, memory, 0, &call_args),
      exports);
  exports.Set("callArgs", call_args);
  const struct {
    const char* name;
    napi_callback callback;
    void* data;
  } fast[] = {{"recv", Transfer<CallRecv>, nullptr},
              {"send", Transfer<CallSend>, nullptr},
              {"recvFast", TransferFast<CallRecv>, slots},
              {"sendFast", TransferFast<CallSend>, slots}};
  for (const auto& function : fast) {
    napi_value value;
    napi_create_function(env, function.name, NAPI_AUTO_LENGTH, function.callback, function.data,
                         &value);
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
