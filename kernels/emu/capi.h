// The emulator's C interface, used by emu.go (cgo) and implemented in
// registry.cc. Errors come back as malloc'ed strings the caller frees.
#ifndef EMU_CAPI_H
#define EMU_CAPI_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

// emu_launch runs kernel name on grid g x block b with nargs 8-byte
// arguments and returns NULL or an error naming the kernel. With
// EMU_REVERSE in flags, blocks and the threads of a block run last first.
enum { EMU_REVERSE = 1 };
char* emu_launch(const char* name, const uint32_t* g, const uint32_t* b, const uint64_t* args, int nargs, int flags);

int emu_kernel_count(void);
const char* emu_kernel_name(int i);

// Device memory: 256-byte aligned, zeroed; emu_alloc returns 0 when out of
// memory. emu_check_range tells whether [p, p+bytes) lies in one live
// allocation.
uint64_t emu_alloc(size_t bytes);
void emu_free(uint64_t p);
int emu_check_range(uint64_t p, size_t bytes);
void emu_copy_in(uint64_t dst, const void* src, size_t bytes);
void emu_copy_out(void* dst, uint64_t src, size_t bytes);
void emu_memset0(uint64_t dst, size_t bytes);

// emu_asan tells whether this build uses AddressSanitizer.
int emu_asan(void);

#ifdef __cplusplus
}
#endif
#endif
