/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Rust-built .node files (vitest's bundler,
 * rolldown) import ProcessPrng from it. Windows implements it over the system RNG; so does this.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  return BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, (ULONG)length, BCRYPT_USE_SYSTEM_PREFERRED_RNG));
}
