// Shared helpers for the libFuzzer targets: a failed invariant aborts (libFuzzer saves the input).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define SKEIN_FUZZ_CHECK(cond)                                                           \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

inline std::string_view as_view(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}
