/*
 * The floor of `npm run bench`: the least an N-API binding of recv(2) can do, measured in the
 * same process and run as rawrecv so that its typed calls can be compared with it.
 *
 *   recv(fd, buffer, offset, length, flags) -> ret >= 0, or -errno
 *
 * Plain C against node_api.h (the local Node headers, or the node-api-headers package): read
 * five arguments, take the view's data pointer, check the range (a binding that wrote past a
 * view would not be a fair floor, it would be a bug), one recv(2), one int back. No classes,
 * no wrappers, no classification. bench/lib/build.js compiles it with `cc -O2 -shared -fPIC`
 * into bench/.build/minimal-napi.node; the N-API symbols are resolved from the node binary
 * when it is loaded.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

static napi_value Throw(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    return Throw(env, "recv(fd, buffer, offset, length, flags)");
  }
  int32_t fd, offset, length, flags;
  void *data;
  size_t size;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok ||
      napi_get_value_int32(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int32(env, argv[3], &length) != napi_ok ||
      napi_get_value_int32(env, argv[4], &flags) != napi_ok) {
    return Throw(env,
                 "recv(fd: int, buffer: ArrayBufferView, offset: int, length: int, flags: int)");
  }
  if (offset < 0 || length < 0 || (size_t)offset + (size_t)length > size) {
    return Throw(env, "offset and length must lie inside the buffer");
  }
  ssize_t ret = recv(fd, (char *)data + offset, (size_t)length, flags);
  napi_value result;
  napi_create_int32(env, ret < 0 ? -errno : (int32_t)ret, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value function;
  if (napi_create_function(env, "recv", NAPI_AUTO_LENGTH, Recv, NULL, &function) != napi_ok ||
      napi_set_named_property(env, exports, "recv", function) != napi_ok) {
    return NULL;
  }
  return exports;
}
