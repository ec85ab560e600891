// Canvas: the software rasteriser of 2-D scenes (scene.h k2d): filled polygons (even-odd rule),
// thick polylines with round joints, and discs, drawn in order at 3 × 3 samples per pixel and
// averaged, so edges are anti-aliased. The scene's view rectangle is centred in the image and
// widened along one axis to the image's aspect ratio (never stretched).
#pragma once

#include <cstdint>
#include <vector>

#include "ddpg/render.h"
#include "ddpg/scene.h"

namespace ddpg {

class Canvas {
 public:
  static constexpr int kSamples = 3;  // per pixel, along each axis

  Canvas(int width, int height);
  // Draws `scene` (kind k2d) into `out` (width × height).
  void draw(const Scene& scene, Image& out);

 private:
  // In sample coordinates (x right, y down).
  void fill_polygon(const std::vector<Point2>& pts, Rgb c);
  void fill_disc(Point2 centre, double radius, Rgb c);
  void stroke(const std::vector<Point2>& pts, double width, Rgb c);
  void fill_span(int row, double x0, double x1, Rgb c);
  Point2 to_samples(const Point2& p) const;

  int width_, height_;        // pixels
  int sw_, sh_;               // samples
  std::vector<uint8_t> buf_;  // (sh_, sw_, 3)
  std::vector<double> crossings_;
  std::vector<Point2> scratch_;
  double scale_ = 1, cx_ = 0, cy_ = 0;  // samples per world unit; the view's centre
};

}  // namespace ddpg
