// alloc_kinds: every allocation entry point flare hooks, each called from its
// own function a known number of times with a known size, so a profile
// recorded with --alloc-rate 1 can be checked to attribute each to the right
// function and to count each once (glibc and libstdc++ forward some of these
// to others: realloc(NULL) jumps to malloc, reallocarray to realloc, new[]
// to new, new calls malloc).
//
// Output (stdout): "truth func=NAME count=N bytes=N" per function, then
// "done". Every block is freed (delete or free) right after use.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#define FRAME __attribute__((noinline, noipa, used))

namespace {

constexpr int kCalls = 1000;
void* volatile g_sink;

struct Big {
  char bytes[1500];
};

void touch(void* p) {
  g_sink = p;
  static_cast<volatile char*>(p)[0] = 1;
}

}  // namespace

extern "C" {

FRAME void kinds_malloc() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = malloc(500);
    touch(p);
    free(p);
  }
}

FRAME void kinds_calloc() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = calloc(16, 64);
    touch(p);
    free(p);
  }
}

FRAME void kinds_posix_memalign() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, 2000) != 0) abort();
    touch(p);
    free(p);
  }
}

FRAME void kinds_aligned_alloc() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = aligned_alloc(64, 4096);
    touch(p);
    free(p);
  }
}

FRAME void kinds_realloc_null() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = realloc(nullptr, 700);
    touch(p);
    free(p);
  }
}

FRAME void kinds_reallocarray() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = reallocarray(nullptr, 10, 90);
    touch(p);
    free(p);
  }
}

FRAME void kinds_new_object() {
  for (int i = 0; i < kCalls; ++i) {
    Big* p = new Big;
    touch(p);
    delete p;
  }
}

FRAME void kinds_new_array() {
  for (int i = 0; i < kCalls; ++i) {
    char* p = new char[2500];
    touch(p);
    delete[] p;
  }
}

FRAME void kinds_valloc() {
  for (int i = 0; i < kCalls; ++i) {
    void* p = valloc(100);
    touch(p);
    free(p);
  }
}

}  // extern "C"

int main() {
  kinds_malloc();
  kinds_calloc();
  kinds_posix_memalign();
  kinds_aligned_alloc();
  kinds_realloc_null();
  kinds_reallocarray();
  kinds_new_object();
  kinds_new_array();
  kinds_valloc();
  const struct {
    const char* name;
    unsigned long size;
  } truth[] = {{"kinds_malloc", 500},       {"kinds_calloc", 1024},        {"kinds_posix_memalign", 2000},
               {"kinds_aligned_alloc", 4096}, {"kinds_realloc_null", 700}, {"kinds_reallocarray", 900},
               {"kinds_new_object", sizeof(Big)}, {"kinds_new_array", 2500}, {"kinds_valloc", 100}};
  for (const auto& t : truth) {
    printf("truth func=%s count=%d bytes=%lu\n", t.name, kCalls, kCalls * t.size);
  }
  printf("done\n");
  fflush(stdout);
  return 0;
}
