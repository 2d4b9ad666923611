// The few pieces of the C++ runtime the addon uses, compiled into the Linux build so that the
// prebuild needs nothing but glibc 2.28 (Node 20's own floor) and no libstdc++ (issue 12).
//
// Linked statically, libstdc++ would carry glibc symbols of the machine that built it: a prebuild
// made on Debian 12 would require __libc_single_threaded (glibc 2.32), arc4random (2.36) and,
// through libgcc's unwinder, _dl_find_object (2.35), and would not load on RHEL 8 or Ubuntu 20.04.
// They all come from exception handling: a throwing operator new, std::__throw_*, and
// std::string's explicit instantiation in the library (compiled with try/catch). The addon is
// built without exceptions (node-gyp's -fno-exceptions, NAPI_DISABLE_CPP_EXCEPTIONS), where every
// one of those throws would end the process anyway (std::terminate). Here they end it the same
// way, with a message, and nothing pulls the unwinder in. What remains of libstdc++.a (the hash
// table's prime-number policy) needs no glibc symbol. test/51.prebuild.test.ts reads the result.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

// std::string's members, instantiated here without exceptions instead of taken from
// libstdc++.a's string-inst.o (which needs __cxa_begin_catch, hence the unwinder).
template class std::__cxx11::basic_string<char>;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "rawrecv: fatal: %s\n", what);
  std::abort();
}

void* allocate(std::size_t size) {
  // operator new(0) must return a unique pointer; malloc(0) may return NULL.
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) fail("out of memory (std::bad_alloc)");
  return memory;
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }

namespace std {
void __throw_bad_alloc() { fail("std::bad_alloc"); }
void __throw_bad_array_new_length() { fail("std::bad_array_new_length"); }
void __throw_length_error(const char* what) { fail(what); }
void __throw_logic_error(const char* what) { fail(what); }
void __throw_out_of_range(const char* what) { fail(what); }
void __throw_out_of_range_fmt(const char* format, ...) { fail(format); }
void __throw_invalid_argument(const char* what) { fail(what); }
void __throw_system_error(int error) {
  std::fprintf(stderr, "rawrecv: fatal: std::system_error %d\n", error);
  std::abort();
}
}  // namespace std

extern "C" void __cxa_pure_virtual() { fail("pure virtual function called"); }
