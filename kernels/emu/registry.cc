// The emulator's runtime: the kernel registry, device memory, and the
// launcher that runs a grid's blocks on a pool of OS threads, each block's
// threads as fibers switched at __syncthreads and warp primitives.
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi.h"
#include "emu.h"

// Under AddressSanitizer (CGO_CXXFLAGS=-fsanitize=address, see emu.go)
// every stack switch is announced, and all memory comes from malloc so that
// accesses past an allocation are reported.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif

#if !defined(__x86_64__) || defined(EMU_UCONTEXT)
#define EMU_USE_UCONTEXT 1
#include <ucontext.h>
#endif

namespace emu {
namespace {

// ---- Registry ---------------------------------------------------------------

struct Kernel {
	std::string name;
	int nargs;
	uint64_t ptrmask;
	Thunk thunk;
};

std::map<std::string, Kernel>& kernels() {
	static std::map<std::string, Kernel> m;
	return m;
}

// The names as a vector for emu_kernel_name; built on first use, after the
// static constructors of every translation unit have registered.
const std::vector<const Kernel*>& kernel_list() {
	static const std::vector<const Kernel*> v = [] {
		std::vector<const Kernel*> v;
		for (auto& kv : kernels()) v.push_back(&kv.second);
		return v;
	}();
	return v;
}

std::string format(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* f, ...) {
	char buf[512];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof buf, f, ap);
	va_end(ap);
	return buf;
}

char* dup(const std::string& s) {
	char* p = (char*)malloc(s.size() + 1);
	memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

// ---- Device memory ------------------------------------------------------------

std::mutex mem_mu;
std::map<uint64_t, size_t> mem;  // base -> bytes

// Large allocations are mapped pages, zero until touched: workspaces of
// many megabytes cost nothing unless used. Small ones come from malloc.
#ifdef EMU_ASAN
constexpr size_t kMapped = ~(size_t)0;
#else
constexpr size_t kMapped = 1 << 20;
#endif
size_t mapped_size(size_t bytes) { return (bytes + 4095) & ~(size_t)4095; }

bool in_allocation(uint64_t p, size_t bytes) {
	std::lock_guard<std::mutex> l(mem_mu);
	auto it = mem.upper_bound(p);
	if (it == mem.begin()) return false;
	--it;
	return p - it->first <= it->second && bytes <= it->second - (p - it->first);
}

// ---- Context switch -----------------------------------------------------------

constexpr size_t kStack = 128 << 10;  // per fiber
constexpr size_t kGuard = 64 << 10;   // PROT_NONE below each stack
constexpr int kMaxThreads = 1024;

enum State { RUNNABLE, AT_BARRIER, AT_WARP, DONE };

struct Fiber {
#ifdef EMU_USE_UCONTEXT
	ucontext_t uc;
#else
	void* sp;
#endif
	uint3 tid;
	int state;
	int op;       // warp primitive waited on
	int src;      // its source lane
	uint64_t val; // value offered at a barrier or warp primitive
	uint64_t res; // what the warp primitive returns
	void* fake;   // AddressSanitizer's fake stack while switched out
};

}  // namespace
}  // namespace emu

#ifndef EMU_USE_UCONTEXT
// emu_switch saves the callee-saved registers and the stack pointer in
// *save, and resumes the context at to. The SSE and x87 control words are
// left alone (restoring MXCSR stalls the pipeline): device code has no way
// to change rounding modes, so every fiber runs with the thread's.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
	.text
	.p2align 4
	.globl emu_switch
	.hidden emu_switch
	.type emu_switch,@function
emu_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size emu_switch, .-emu_switch
)");
#endif

extern "C" void emu_fiber_entry();

namespace emu {
namespace {

struct Job {
	const Kernel* k;
	const uint64_t* args;
	dim3 grid, block;
	uint64_t nblocks;
	bool reverse;  // blocks, and threads within a block, last first
	std::atomic<uint64_t> next{0};
	std::atomic<bool> failed{false};
	std::mutex mu;
	std::string err;  // the first error, guarded by mu
};

// Worker is one OS thread's scheduler: its fibers and their stacks, reused
// by every block and launch it runs.
struct Worker {
	std::vector<char*> stacks;  // top of each fiber's stack
	std::vector<Fiber> fibers = std::vector<Fiber>(kMaxThreads);
#ifdef EMU_USE_UCONTEXT
	ucontext_t sched;
#else
	void* sched = nullptr;
#endif
	Fiber* cur = nullptr;
	Job* job = nullptr;
	const void* sched_bottom = nullptr;  // the OS thread's stack, for ASan
	size_t sched_size = 0;
	void* sched_fake = nullptr;
	int n = 0;           // threads in a block
	int done = 0;        // fibers finished in this block
	int at_barrier = 0;  // fibers waiting at __syncthreads
	int at_warp[kMaxThreads / 32];
	int barrier_result = 0;
	bool failed = false;
	std::string err;

	bool ensure_stacks(int n) {
		while ((int)stacks.size() < n) {
			void* p = mmap(nullptr, kStack + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (p == MAP_FAILED) return false;
			mprotect(p, kGuard, PROT_NONE);
			stacks.push_back((char*)p + kGuard + kStack);
		}
		return true;
	}

	void init(int i) {
		Fiber& f = fibers[i];
#ifdef EMU_USE_UCONTEXT
		getcontext(&f.uc);
		f.uc.uc_stack.ss_sp = stacks[i] - kStack;
		f.uc.uc_stack.ss_size = kStack;
		f.uc.uc_link = nullptr;
		makecontext(&f.uc, emu_fiber_entry, 0);
#else
		// The frame emu_switch pops: r15..r12, rbx, rbp, then
		// emu_fiber_entry as the return address, entered with rsp = 8 mod 16
		// as after a call.
		uint64_t* top = (uint64_t*)((uintptr_t)stacks[i] & ~(uintptr_t)15);
		top[-1] = 0;
		top[-2] = (uint64_t)(uintptr_t)&emu_fiber_entry;
		for (int r = 3; r <= 8; r++) top[-r] = 0;
		f.sp = &top[-8];
#endif
		unsigned bx = ctx.bdim.x, by = ctx.bdim.y;
		unsigned u = (unsigned)i;
		f.tid = {u % bx, u / bx % by, u / (bx * by)};
		f.state = RUNNABLE;
	}

	void resume(Fiber* f) {
		cur = f;
		ctx.tid = f->tid;
#ifdef EMU_ASAN
		__sanitizer_start_switch_fiber(&sched_fake, stacks[f - fibers.data()] - kStack, kStack);
#endif
#ifdef EMU_USE_UCONTEXT
		swapcontext(&sched, &f->uc);
#else
		emu_switch(&sched, f->sp);
#endif
#ifdef EMU_ASAN
		__sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr);
#endif
		cur = nullptr;
	}

	// yield returns from the running fiber to the scheduler.
	void yield() {
		Fiber* f = cur;
#ifdef EMU_ASAN
		__sanitizer_start_switch_fiber(f->state == DONE ? nullptr : &f->fake, sched_bottom, sched_size);
#endif
#ifdef EMU_USE_UCONTEXT
		swapcontext(&f->uc, &sched);
#else
		emu_switch(&f->sp, sched);
#endif
#ifdef EMU_ASAN
		__sanitizer_finish_switch_fiber(f->fake, nullptr, nullptr);
#endif
	}

	void fail(const std::string& what) {
		if (!failed) {
			failed = true;
			uint3 b = ctx.bid;
			err = format("block (%u,%u,%u): ", b.x, b.y, b.z) + what;
		}
	}

	// run_block runs every thread of the block at ctx.bid to its end.
	bool run_block() {
		for (int i = 0; i < n; i++) init(i);
		done = 0;
		at_barrier = 0;
		for (int w = 0; w < (n + 31) / 32; w++) at_warp[w] = 0;
		for (;;) {
			bool ran = false;
			for (int k = 0; k < n; k++) {
				int i = job->reverse ? n - 1 - k : k;
				if (fibers[i].state != RUNNABLE) continue;
				ran = true;
				resume(&fibers[i]);
				if (failed) return false;
			}
			if (done == n) return true;
			if (!ran) {
				deadlock();
				return false;
			}
		}
	}

	void deadlock() {
		int warp = -1;
		for (int i = 0; i < n && warp < 0; i++)
			if (fibers[i].state == AT_WARP) warp = i / 32;
		if (at_barrier > 0) {
			fail(format("__syncthreads not reached by all threads: %d waiting, %d exited%s", at_barrier, done,
			            warp >= 0 ? ", others wait at a warp primitive" : ""));
		} else if (warp >= 0) {
			int waiting = 0;
			for (int i = warp * 32; i < warp * 32 + 32; i++) waiting += fibers[i].state == AT_WARP;
			fail(format("warp primitive not reached by all 32 lanes of warp %d: %d waiting", warp, waiting));
		} else {
			fail("scheduler stalled");
		}
	}

	void release_barrier() {
		int count = 0, all = 1, any = 0;
		for (int i = 0; i < n; i++) {
			Fiber& f = fibers[i];
			count += f.val != 0;
			f.state = RUNNABLE;
		}
		all = count == n;
		any = count > 0;
		barrier_result = count | all << 30 | any << 29;  // decoded in sync_block_reduce
		at_barrier = 0;
	}

	void release_warp(int w) {
		Fiber* lanes = &fibers[w * 32];
		uint32_t ballot = 0;
		for (int l = 0; l < 32; l++) ballot |= (uint32_t)(lanes[l].val != 0) << l;
		for (int l = 0; l < 32; l++) {
			Fiber& f = lanes[l];
			switch (f.op) {
			case WARP_BALLOT: f.res = ballot; break;
			case WARP_ANY: f.res = ballot != 0; break;
			case WARP_ALL: f.res = ballot == 0xffffffffu; break;
			case WARP_SYNC: f.res = 0; break;
			default: f.res = lanes[f.src].val;
			}
		}
		for (int l = 0; l < 32; l++) lanes[l].state = RUNNABLE;
		at_warp[w] = 0;
	}

	void run(Job& j) {
		job = &j;
		ctx.gdim = j.grid;
		ctx.bdim = j.block;
		n = (int)(j.block.x * j.block.y * j.block.z);
		failed = false;
		err.clear();
		if (!ensure_stacks(n)) fail("cannot map fiber stacks");
		while (!failed && !j.failed.load(std::memory_order_relaxed)) {
			uint64_t b = j.next.fetch_add(1, std::memory_order_relaxed);
			if (b >= j.nblocks) break;
			if (j.reverse) b = j.nblocks - 1 - b;
			uint64_t gx = j.grid.x, gy = j.grid.y;
			ctx.bid = {unsigned(b % gx), unsigned(b / gx % gy), unsigned(b / (gx * gy))};
			run_block();
		}
		if (failed) {
			std::lock_guard<std::mutex> l(j.mu);
			if (!j.failed.exchange(true)) j.err = err;
		}
		job = nullptr;
	}
};

thread_local Worker* worker = nullptr;

// The current fiber's worker; only fibers call the device functions below.
Worker* here() {
	Worker* w = worker;
	if (w == nullptr || w->cur == nullptr) {
		fprintf(stderr, "emu: a device function was called outside a kernel launch\n");
		abort();
	}
	return w;
}

// ---- Crash reports ------------------------------------------------------------

// on_fault reports a kernel's bad access (or a fiber's stack overflow) with
// the kernel, block and thread, then lets the default action end the
// process. It is installed before the Go runtime starts, and Go forwards to
// it the faults that happen outside Go code.
void on_fault(int sig, siginfo_t* si, void*) {
	Worker* w = worker;
	char msg[512];
	uintptr_t addr = (uintptr_t)si->si_addr;
	if (w != nullptr && w->cur != nullptr && w->job != nullptr) {
		const char* what = "bad memory access (out of bounds, or a null optional pointer?)";
		for (char* top : w->stacks)
			if (addr >= (uintptr_t)top - kStack - kGuard && addr < (uintptr_t)top - kStack) what = "fiber stack overflow";
		if (sig == SIGFPE) what = "arithmetic fault (integer division by zero?)";
		Fiber* f = w->cur;
		snprintf(msg, sizeof msg, "emu: kernel %s, block (%u,%u,%u), thread (%u,%u,%u): signal %d at %#lx: %s\n",
		         w->job->k->name.c_str(), ctx.bid.x, ctx.bid.y, ctx.bid.z, f->tid.x, f->tid.y, f->tid.z, sig,
		         (unsigned long)addr, what);
	} else {
		snprintf(msg, sizeof msg, "emu: signal %d at %#lx outside any kernel\n", sig, (unsigned long)addr);
	}
	if (write(2, msg, strlen(msg)) < 0) {
	}
	signal(sig, SIG_DFL);  // returning re-executes the access, which now kills
}

#ifdef EMU_ASAN
// asan_report names the kernel, block and thread of an AddressSanitizer
// report (whose stack trace, without a symbolizer, does not).
void asan_report(const char*) {
	Worker* w = worker;
	if (w == nullptr || w->cur == nullptr || w->job == nullptr) return;
	char msg[512];
	Fiber* f = w->cur;
	snprintf(msg, sizeof msg, "emu: kernel %s, block (%u,%u,%u), thread (%u,%u,%u): AddressSanitizer report above\n",
	         w->job->k->name.c_str(), ctx.bid.x, ctx.bid.y, ctx.bid.z, f->tid.x, f->tid.y, f->tid.z);
	if (write(2, msg, strlen(msg)) < 0) {
	}
}
#endif

const bool fault_handlers = [] {
#ifdef EMU_ASAN
	__asan_set_error_report_callback(asan_report);
#endif
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) sigaction(s, &sa, nullptr);
	return true;
}();

// ---- Pool ---------------------------------------------------------------------

struct Pool {
	std::mutex launch_mu;  // one launch at a time
	std::mutex mu;
	std::condition_variable wake, finished;
	Job* job = nullptr;
	uint64_t gen = 0;
	int busy = 0;
	int size = 0;

	void start() {
		size = (int)std::thread::hardware_concurrency();
		if (const char* e = getenv("EMU_THREADS")) size = atoi(e);
		if (size < 1) size = 1;
		if (size > 64) size = 64;
		for (int i = 0; i < size; i++) std::thread([this] { loop(); }).detach();
	}

	void loop() {
		// Asynchronous signals are for the Go threads; the synchronous ones
		// (a kernel's bad access) must reach Go's handler to be reported.
		sigset_t all;
		sigfillset(&all);
		for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&all, s);
		pthread_sigmask(SIG_BLOCK, &all, nullptr);
		// A fault handler needs a stack even when a fiber's is exhausted.
		stack_t alt;
		alt.ss_size = 64 << 10;
		alt.ss_sp = malloc(alt.ss_size);
		alt.ss_flags = 0;
		sigaltstack(&alt, nullptr);
		Worker w;
		worker = &w;
		uint64_t seen = 0;
		for (;;) {
			Job* j;
			{
				std::unique_lock<std::mutex> l(mu);
				wake.wait(l, [&] { return gen != seen; });
				seen = gen;
				j = job;
			}
			w.run(*j);
			std::lock_guard<std::mutex> l(mu);
			if (--busy == 0) finished.notify_all();
		}
	}

	void run(Job& j) {
		std::lock_guard<std::mutex> launch(launch_mu);
		std::unique_lock<std::mutex> l(mu);
		if (size == 0) start();
		job = &j;
		busy = size;
		gen++;
		wake.notify_all();
		finished.wait(l, [&] { return busy == 0; });
		job = nullptr;
	}
};

Pool pool;

}  // namespace

// ---- Device functions ---------------------------------------------------------

void fail(const char* what) {
	Worker* w = here();
	w->fail(format("thread (%u,%u,%u): %s", w->cur->tid.x, w->cur->tid.y, w->cur->tid.z, what));
	w->cur->state = DONE;
	w->yield();
	__builtin_unreachable();
}

void sync_block() { sync_block_reduce(REDUCE_COUNT, 0); }

int sync_block_reduce(int op, int pred) {
	Worker* w = here();
	Fiber* f = w->cur;
	f->val = pred != 0;
	f->state = AT_BARRIER;
	if (++w->at_barrier == w->n) w->release_barrier();
	w->yield();
	int r = w->barrier_result;
	switch (op) {
	case REDUCE_AND: return r >> 30 & 1;
	case REDUCE_OR: return r >> 29 & 1;
	default: return r & ((1 << 29) - 1);
	}
}

uint64_t warp_op(int op, unsigned int mask, uint64_t val, int arg, int width) {
	Worker* w = here();
	if (mask != 0xffffffffu) fail("warp primitive with a partial mask (only 0xffffffff is emulated)");
	if (w->n % 32 != 0) {
		char msg[128];  // not a std::string: this fiber's stack is abandoned, never unwound
		snprintf(msg, sizeof msg, "warp primitive in a block of %d threads, not a multiple of 32", w->n);
		fail(msg);
	}
	if (width < 1 || width > 32 || (width & (width - 1)) != 0) fail("warp shuffle width not a power of 2 up to 32");
	Fiber* f = w->cur;
	int i = (int)(f - w->fibers.data());
	int lane = i & 31, seg = lane & ~(width - 1), src = lane;
	switch (op) {
	case WARP_SHFL: src = seg | (arg & (width - 1)); break;
	case WARP_UP:
		if (arg >= 0 && (lane - seg) - arg >= 0) src = lane - arg;
		break;
	case WARP_DOWN:
		if (arg >= 0 && (lane - seg) + arg < width) src = lane + arg;
		break;
	case WARP_XOR:
		if ((lane ^ arg) >= 0 && (lane ^ arg) < seg + width) src = lane ^ arg;
		break;
	}
	f->op = op;
	f->src = src;
	f->val = val;
	f->state = AT_WARP;
	if (++w->at_warp[i / 32] == 32) w->release_warp(i / 32);
	w->yield();
	return f->res;
}

bool register_kernel(const char* name, int nargs, uint64_t ptrmask, Thunk thunk) {
	if (!kernels().emplace(name, Kernel{name, nargs, ptrmask, thunk}).second) {
		fprintf(stderr, "emu: kernel %s registered twice\n", name);
		abort();
	}
	return true;
}

}  // namespace emu

using namespace emu;

extern "C" void emu_fiber_entry() {
	Worker* w = worker;
#ifdef EMU_ASAN
	__sanitizer_finish_switch_fiber(nullptr, &w->sched_bottom, &w->sched_size);
#endif
	w->job->k->thunk(w->job->args);
	w->cur->state = DONE;
	w->done++;
	w->yield();
	__builtin_unreachable();
}

// ---- C interface --------------------------------------------------------------

extern "C" char* emu_launch(const char* name, const uint32_t* g, const uint32_t* b, const uint64_t* args, int nargs,
                            int flags) {
	auto it = kernels().find(name);
	if (it == kernels().end()) return dup(format("kernel %s: not found (no EMU_REGISTER, or no kernels/emu/*.cc)", name));
	const Kernel& k = it->second;
	auto bad = [&](const std::string& what) { return dup("kernel " + k.name + ": " + what); };
	if (nargs != k.nargs) return bad(format("takes %d arguments, launched with %d", k.nargs, nargs));
	uint64_t threads = (uint64_t)b[0] * b[1] * b[2];
	if (threads == 0 || threads > 1024 || b[0] > 1024 || b[1] > 1024 || b[2] > 64)
		return bad(format("bad block (%u,%u,%u)", b[0], b[1], b[2]));
	if (g[0] == 0 || g[1] == 0 || g[2] == 0 || g[0] > 0x7fffffffu || g[1] > 65535 || g[2] > 65535)
		return bad(format("bad grid (%u,%u,%u)", g[0], g[1], g[2]));
	static const bool trace = getenv("EMU_TRACE") != nullptr;
	if (trace) fprintf(stderr, "emu: %s grid (%u,%u,%u) block (%u,%u,%u)\n", name, g[0], g[1], g[2], b[0], b[1], b[2]);
	std::vector<uint64_t> a(args, args + nargs);
	for (int i = 0; i < nargs; i++)
		if ((k.ptrmask >> i & 1) && a[i] != 0 && !in_allocation(a[i], 0))
			return bad(format("argument %d (0x%llx) points into no allocation", i, (unsigned long long)a[i]));
	Job j;
	j.k = &k;
	j.args = a.data();
	j.grid = dim3(g[0], g[1], g[2]);
	j.block = dim3(b[0], b[1], b[2]);
	j.nblocks = (uint64_t)g[0] * g[1] * g[2];
	j.reverse = flags & EMU_REVERSE;
	pool.run(j);
	if (j.failed) return bad(j.err);
	return nullptr;
}

extern "C" int emu_kernel_count(void) { return (int)kernel_list().size(); }

extern "C" const char* emu_kernel_name(int i) { return kernel_list().at(i)->name.c_str(); }

extern "C" uint64_t emu_alloc(size_t bytes) {
	void* p = nullptr;
	if (bytes >= kMapped) {
		p = mmap(nullptr, mapped_size(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) return 0;
	} else {
		if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return 0;
		memset(p, 0, bytes);
	}
	std::lock_guard<std::mutex> l(mem_mu);
	mem[(uint64_t)(uintptr_t)p] = bytes;
	return (uint64_t)(uintptr_t)p;
}

extern "C" void emu_free(uint64_t p) {
	size_t bytes;
	{
		std::lock_guard<std::mutex> l(mem_mu);
		auto it = mem.find(p);
		if (it == mem.end()) return;
		bytes = it->second;
		mem.erase(it);
	}
	if (bytes >= kMapped)
		munmap((void*)(uintptr_t)p, mapped_size(bytes));
	else
		free((void*)(uintptr_t)p);
}

extern "C" int emu_check_range(uint64_t p, size_t bytes) { return in_allocation(p, bytes); }

extern "C" void emu_copy_in(uint64_t dst, const void* src, size_t bytes) {
	if (bytes) memcpy((void*)(uintptr_t)dst, src, bytes);
}

extern "C" void emu_copy_out(void* dst, uint64_t src, size_t bytes) {
	if (bytes) memcpy(dst, (const void*)(uintptr_t)src, bytes);
}

extern "C" void emu_memset0(uint64_t dst, size_t bytes) {
	if (bytes) memset((void*)(uintptr_t)dst, 0, bytes);
}

extern "C" int emu_asan(void) {
#ifdef EMU_ASAN
	return 1;
#else
	return 0;
#endif
}
