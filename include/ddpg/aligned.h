// Float arrays for the update's hot loops: zeroed, aligned to a cache line, and each starting at a
// different offset within a 4 KiB page. Adam and Polyak averaging stream through five or six
// arrays at once; when those start at the same offset within a page (as large malloc blocks do),
// loads falsely wait on stores to another array at the same page offset ("4K aliasing"), and we
// measured those loops running ~4x slower in some processes and not in others. Staggering the
// starting offsets removes that.
#pragma once

#include <cstdint>
#include <utility>

namespace ddpg {

// Allocates n floats (zeroed); free with free_floats.
float* alloc_floats(int64_t n);
void free_floats(float* p);

class FloatBuffer {
 public:
  FloatBuffer() = default;
  explicit FloatBuffer(int64_t n) : p_(alloc_floats(n)), n_(n) {}
  FloatBuffer(int64_t n, float value) : FloatBuffer(n) {
    for (int64_t i = 0; i < n; ++i) p_[i] = value;
  }
  ~FloatBuffer() { free_floats(p_); }
  FloatBuffer(FloatBuffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  FloatBuffer& operator=(FloatBuffer&& o) noexcept {
    if (this != &o) {
      free_floats(p_);
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;

  float* data() { return p_; }
  const float* data() const { return p_; }
  int64_t size() const { return n_; }
  float& operator[](int64_t i) { return p_[i]; }
  float operator[](int64_t i) const { return p_[i]; }
  float* begin() { return p_; }
  float* end() { return p_ + n_; }

 private:
  float* p_ = nullptr;
  int64_t n_ = 0;
};

}  // namespace ddpg
