// Reading N-API arguments, shared by the glue (addon.cc) and the poller (poller.cc): each
// reader throws a TypeError / RangeError with Node's error code and returns false when the
// value is malformed, so a caller returns at once.
#ifndef RAWRECV_GLUE_H_
#define RAWRECV_GLUE_H_

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "platform.h"

namespace rawrecv {

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

inline void ThrowWithCode(Napi::Env env, bool range, const char* code, const std::string& message) {
  Napi::Error error = range ? Napi::Error(Napi::RangeError::New(env, message))
                            : Napi::Error(Napi::TypeError::New(env, message));
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

// Reads `value` as an integer in [min, max]; throws and returns false otherwise.
inline bool ReadInteger(napi_env env, napi_value value, const char* name, double min, double max,
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

inline bool ReadInteger(const Napi::CallbackInfo& info, size_t index, const char* name, double min,
                        double max, int64_t* out) {
  return ReadInteger(info.Env(), info[index], name, min, max, out);
}

inline bool ReadSock(const Napi::CallbackInfo& info, size_t index, sock* out) {
  int64_t value;
  if (!ReadInteger(info, index, "fd", kSockMin, kSockMax, &value)) return false;
  *out = value;
  return true;
}

inline bool ReadInt(const Napi::CallbackInfo& info, size_t index, const char* name, int* out) {
  int64_t value;
  if (!ReadInteger(info, index, name, -kIntMax - 1, kIntMax, &value)) return false;
  *out = static_cast<int>(value);
  return true;
}

inline bool ReadBool(const Napi::CallbackInfo& info, size_t index, const char* name, bool* out) {
  if (!info[index].IsBoolean()) {
    ThrowWithCode(info.Env(), false, "ERR_INVALID_ARG_TYPE",
                  std::string("The \"") + name + "\" argument must be of type boolean");
    return false;
  }
  *out = info[index].As<Napi::Boolean>().Value();
  return true;
}

inline Napi::Value Num(Napi::Env env, int64_t value) {
  return Napi::Number::New(env, static_cast<double>(value));
}
#define RAWRECV_ARG_SOCK(index, name) \
  sock name;                          \
  if (!ReadSock(info, index, &name)) return env.Undefined()
#define RAWRECV_ARG_INT(index, name) \
  int name;                          \
  if (!ReadInt(info, index, #name, &name)) return env.Undefined()

// The memory of a typed array or DataView: its first byte and byte length. Throws
// ERR_INVALID_ARG_TYPE (naming `name`, or `name[index]`) and returns false for anything else.
// The typed-array query comes first: it is the common case, and it fails cleanly otherwise.
inline bool ViewBytes(napi_env env, napi_value buffer, const char* name, char** base_out,
                      size_t* byte_length_out, int64_t index = -1) {
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
      std::string label = index < 0 ? name : name + ("[" + std::to_string(index) + "]");
      ThrowWithCode(
          env, false, "ERR_INVALID_ARG_TYPE",
          "The \"" + label + "\" argument must be an instance of Buffer, TypedArray, or DataView");
      return false;
    }
  }
  *base_out = static_cast<char*>(base);
  *byte_length_out = byte_length;
  return true;
}

// Reads a Buffer / TypedArray / DataView and checks that [offset, offset + length) lies inside
// it (a detached one is 0 bytes long), so the kernel is never handed memory past its end.
// Without an offset (nullptr): 0; without a length: the rest of the view after the offset.
inline bool ReadViewRange(napi_env env, napi_value view, napi_value offset_value,
                          napi_value length_value, char** data, size_t* length) {
  char* base;
  size_t byte_length;
  if (!ViewBytes(env, view, "buffer", &base, &byte_length)) return false;
  int64_t offset = 0;
  if (offset_value != nullptr && !ReadInteger(env, offset_value, "offset", 0, kIntMax, &offset)) {
    return false;
  }
  int64_t count =
      static_cast<uint64_t>(offset) <= byte_length ? static_cast<int64_t>(byte_length) - offset : 0;
  if (length_value != nullptr && !ReadInteger(env, length_value, "length", 0, kIntMax, &count)) {
    return false;
  }
  if (static_cast<uint64_t>(offset) + static_cast<uint64_t>(count) > byte_length) {
    ThrowWithCode(env, true, "ERR_OUT_OF_RANGE",
                  "offset + length (" + std::to_string(offset + count) +
                      ") exceeds the buffer's byte length (" + std::to_string(byte_length) + ")");
    return false;
  }
  *data = base + offset;
  *length = static_cast<size_t>(count);
  return true;
}

// Reads (family, host, port) into a sockaddr. The host's length goes with its bytes: a Linux
// abstract AF_UNIX name starts with a NUL.
inline bool ReadAddress(Napi::Env env, Napi::Value family_value, Napi::Value host_value,
                        Napi::Value port_value, SockAddr* out) {
  int64_t family;
  int64_t port;
  if (!ReadInteger(env, family_value, "family", -kIntMax - 1, kIntMax, &family)) return false;
  if (!host_value.IsString()) {
    ThrowWithCode(env, false, "ERR_INVALID_ARG_TYPE",
                  "The \"host\" argument must be of type string");
    return false;
  }
  std::string host = host_value.As<Napi::String>().Utf8Value();
  if (!ReadInteger(env, port_value, "port", 0, 65535, &port)) return false;
  if (address_parse(static_cast<int>(family), host.data(), host.size(), static_cast<int>(port),
                    out) != 0) {
    std::string shown = host;
    for (char& c : shown) {
      if (c == '\0') c = '@';  // as ss(8) shows an abstract name
    }
    ThrowWithCode(
        env, false, "ERR_INVALID_ADDRESS",
        "The address \"" + shown + "\" is not valid for address family " + std::to_string(family));
    return false;
  }
  return true;
}

}  // namespace rawrecv

#endif  // RAWRECV_GLUE_H_
