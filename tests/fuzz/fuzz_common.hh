// Shared by the libFuzzer targets: a failed property aborts, so both libFuzzer
// and the corpus replay driver report it.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TS_FUZZ_ASSERT(cond)                                                       \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
