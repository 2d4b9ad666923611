// The stand-in for Node in the musl leg (scripts/test-musl.sh): loads an addon with musl's
// dynamic loader, every symbol bound at once (RTLD_NOW), and calls into it. N-API's and
// libuv's functions come from stubs the leg generates; none of them is called here.
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: load ADDON\n");
    return 2;
  }
  void* addon = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (addon == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  int (*version)(void) = (int (*)(void))dlsym(addon, "node_api_module_get_api_version_v1");
  if (version == NULL || dlsym(addon, "napi_register_module_v1") == NULL) {
    fprintf(stderr, "not an N-API addon: %s\n", argv[1]);
    return 1;
  }
  printf("loaded %s under musl: napi_register_module_v1 found, N-API version %d\n", argv[1],
         version());
  return 0;
}
