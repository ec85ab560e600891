// Staggered float arrays: see aligned.h.
#include "ddpg/aligned.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ddpg {

float* alloc_floats(int64_t n) {
  static std::atomic<uint32_t> counter{0};
  // 1..63 cache lines into the page, 7 lines further for each new array (7 is prime to 64)
  const uint32_t k = counter.fetch_add(1);
  const size_t offset = 64 * (1 + (k * 7) % 63);
  const size_t bytes = sizeof(float) * static_cast<size_t>(n);
  const size_t total = (offset + bytes + 4095) / 4096 * 4096;
  void* base = std::aligned_alloc(4096, total);
  if (!base) throw std::bad_alloc();
  std::memset(base, 0, total);
  char* p = static_cast<char*>(base) + offset;
  std::memcpy(p - sizeof(void*), &base, sizeof(void*));  // the block's start, for free_floats
  return reinterpret_cast<float*>(p);
}

void free_floats(float* p) {
  if (!p) return;
  void* base;
  std::memcpy(&base, reinterpret_cast<char*>(p) - sizeof(void*), sizeof(void*));
  std::free(base);
}

}  // namespace ddpg
