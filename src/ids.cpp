#include "ids.hpp"
#include "tls.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace skein::detail {
namespace {

struct Xoshiro {
  std::uint64_t s[4] = {0, 0, 0, 0};
  bool seeded = false;

  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  void seed() noexcept {
    std::uint64_t seedv[4] = {};
    if (getrandom(seedv, sizeof seedv, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seedv)) {
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      seedv[0] =
          static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(getpid()) << 32);
      seedv[1] = reinterpret_cast<std::uintptr_t>(this);
      seedv[2] = static_cast<std::uint64_t>(ts.tv_sec);
      seedv[3] = 0x9e3779b97f4a7c15ULL;
    }
    // splitmix64 over the seed so that no state word is zero.
    for (int i = 0; i < 4; ++i) {
      std::uint64_t z = (seedv[i] += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s[i] = z ^ (z >> 31);
    }
    seeded = true;
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

SKEIN_HOT_TLS Xoshiro tl_rng;

// The child of fork() has one thread: the one that forked. Its generator is re-seeded there.
void reseed_in_child() noexcept {
  tl_rng.seeded = false;
}

// Nonces are handed out to threads in blocks of this many.
constexpr std::uint64_t kNonceBlock = 1u << 16;
std::atomic<std::uint64_t> g_next_block{kNonceBlock};  // nonce 0 is never used

void draw_keys() noexcept {
  std::uint64_t k[3] = {};
  if (getrandom(k, sizeof k, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof k)) {
    Xoshiro x;  // seeded from the clock, the pid and an address when getrandom fails
    x.seed();
    for (auto& v : k) v = x.next();
  }
  g_id_keys = IdKeys{k[0], k[1], k[2]};
}

void rekey_in_child() noexcept {
  draw_keys();
}

bool init_keys() noexcept {
  draw_keys();
  pthread_atfork(nullptr, nullptr, &rekey_in_child);
  return true;
}

}  // namespace

IdKeys g_id_keys;

std::uint64_t refill_nonces() noexcept {
  // The keys are drawn once, before the first nonce of the process is handed out; a thread that
  // computes ids from a nonce it received from another thread sees them through that hand-off.
  static const bool keyed = init_keys();
  (void)keyed;
  std::uint64_t first = g_next_block.fetch_add(kNonceBlock, std::memory_order_relaxed);
  tl_nonce_end = first + kNonceBlock;
  return first;
}

std::uint64_t random_u64() noexcept {
  if (__builtin_expect(!tl_rng.seeded, 0)) {
    static const int registered = pthread_atfork(nullptr, nullptr, &reseed_in_child);
    (void)registered;
    tl_rng.seed();
  }
  return tl_rng.next();
}

void new_uuid(char out[36]) noexcept {
  std::uint64_t hi = random_u64(), lo = random_u64();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char hex[] = "0123456789abcdef";
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  int o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[bytes[i] >> 4];
    out[o++] = hex[bytes[i] & 15];
  }
}

}  // namespace skein::detail
