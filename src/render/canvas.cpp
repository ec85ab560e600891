// Canvas: see canvas.h.
#include "src/render/canvas.h"

#include <algorithm>
#include <cmath>

namespace ddpg {

Canvas::Canvas(int width, int height)
    : width_(width),
      height_(height),
      sw_(width * kSamples),
      sh_(height * kSamples),
      buf_(static_cast<size_t>(sw_) * sh_ * 3) {}

Point2 Canvas::to_samples(const Point2& p) const {
  return {0.5 * sw_ + (p[0] - cx_) * scale_, 0.5 * sh_ - (p[1] - cy_) * scale_};
}

void Canvas::fill_span(int row, double x0, double x1, Rgb c) {
  // samples whose centre i + 0.5 lies in [x0, x1)
  const int i0 = std::max(0, static_cast<int>(std::ceil(x0 - 0.5)));
  const int i1 = std::min(sw_ - 1, static_cast<int>(std::ceil(x1 - 0.5)) - 1);
  uint8_t* p = &buf_[(static_cast<size_t>(row) * sw_ + i0) * 3];
  for (int i = i0; i <= i1; ++i, p += 3) {
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
}

void Canvas::fill_polygon(const std::vector<Point2>& pts, Rgb c) {
  if (pts.size() < 3) return;
  double y_min = pts[0][1], y_max = pts[0][1];
  for (const Point2& p : pts) {
    y_min = std::min(y_min, p[1]);
    y_max = std::max(y_max, p[1]);
  }
  const int r0 = std::max(0, static_cast<int>(std::ceil(y_min - 0.5)));
  const int r1 = std::min(sh_ - 1, static_cast<int>(std::floor(y_max - 0.5)));
  for (int row = r0; row <= r1; ++row) {
    // even-odd rule at the samples' centre line
    const double y = row + 0.5;
    crossings_.clear();
    for (size_t i = 0, j = pts.size() - 1; i < pts.size(); j = i++) {
      const Point2& a = pts[j];
      const Point2& b = pts[i];
      if ((a[1] <= y) != (b[1] <= y)) {
        crossings_.push_back(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
      }
    }
    std::sort(crossings_.begin(), crossings_.end());
    for (size_t k = 0; k + 1 < crossings_.size(); k += 2) {
      fill_span(row, crossings_[k], crossings_[k + 1], c);
    }
  }
}

void Canvas::fill_disc(Point2 centre, double radius, Rgb c) {
  const int r0 = std::max(0, static_cast<int>(std::ceil(centre[1] - radius - 0.5)));
  const int r1 = std::min(sh_ - 1, static_cast<int>(std::floor(centre[1] + radius - 0.5)));
  for (int row = r0; row <= r1; ++row) {
    const double dy = row + 0.5 - centre[1];
    const double half = std::sqrt(std::max(0.0, radius * radius - dy * dy));
    fill_span(row, centre[0] - half, centre[0] + half, c);
  }
}

void Canvas::stroke(const std::vector<Point2>& pts, double width, Rgb c) {
  const double h = 0.5 * width;
  for (size_t i = 0; i + 1 < pts.size(); ++i) {
    const Point2& a = pts[i];
    const Point2& b = pts[i + 1];
    const double dx = b[0] - a[0], dy = b[1] - a[1], len = std::hypot(dx, dy);
    if (len <= 0) continue;
    const double nx = -dy / len * h, ny = dx / len * h;
    fill_polygon({{a[0] + nx, a[1] + ny},
                  {b[0] + nx, b[1] + ny},
                  {b[0] - nx, b[1] - ny},
                  {a[0] - nx, a[1] - ny}},
                 c);
  }
  // round joints and ends
  for (const Point2& p : pts) fill_disc(p, h, c);
}

void Canvas::draw(const Scene& scene, Image& out) {
  const auto& v = scene.view;
  scale_ = std::min(sw_ / (v[1] - v[0]), sh_ / (v[3] - v[2]));
  cx_ = 0.5 * (v[0] + v[1]);
  cy_ = 0.5 * (v[2] + v[3]);
  for (size_t i = 0; i < buf_.size(); i += 3) {
    buf_[i] = scene.background.r;
    buf_[i + 1] = scene.background.g;
    buf_[i + 2] = scene.background.b;
  }
  for (const Shape2d& s : scene.shapes) {
    scratch_.clear();
    for (const Point2& p : s.points) scratch_.push_back(to_samples(p));
    switch (s.kind) {
      case Shape2d::Kind::kPolygon:
        fill_polygon(scratch_, s.color);
        break;
      case Shape2d::Kind::kPolyline:
        // never thinner than one pixel, so hairlines stay visible in small images
        stroke(scratch_, std::max(s.size * scale_, 1.0 * kSamples), s.color);
        break;
      case Shape2d::Kind::kDisc:
        if (!scratch_.empty()) fill_disc(scratch_[0], s.size * scale_, s.color);
        break;
    }
  }
  // average each pixel's samples
  if (out.width != width_ || out.height != height_) out = Image(width_, height_);
  constexpr int n = kSamples * kSamples;
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x) {
      int sum[3] = {0, 0, 0};
      for (int sy = 0; sy < kSamples; ++sy) {
        const uint8_t* p =
            &buf_[((static_cast<size_t>(y) * kSamples + sy) * sw_ + x * kSamples) * 3];
        for (int sx = 0; sx < kSamples; ++sx, p += 3) {
          sum[0] += p[0];
          sum[1] += p[1];
          sum[2] += p[2];
        }
      }
      uint8_t* q = out.pixel(x, y);
      for (int k = 0; k < 3; ++k) q[k] = static_cast<uint8_t>((sum[k] + n / 2) / n);
    }
  }
}

}  // namespace ddpg
