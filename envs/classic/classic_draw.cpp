// The pictures of the classic-control envs (Env::draw, scene.h), drawn as Gymnasium's
// classic_control renderers draw them: Pendulum-v1 in world units (±2.2 around the axle),
// MountainCarContinuous-v0 in Gymnasium's screen units (600 × 400, y up).
#include <cmath>
#include <utility>
#include <vector>

#include "ddpg/scene.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"

namespace ddpg {
namespace {

// p rotated by `angle` radians about the origin, then moved by (dx, dy).
Point2 rotated(double x, double y, double angle, double dx, double dy) {
  const double c = std::cos(angle), s = std::sin(angle);
  return {c * x - s * y + dx, s * x + c * y + dy};
}

}  // namespace

void Pendulum::draw(Scene& scene) const {
  scene.kind = Scene::Kind::k2d;
  scene.fps = 1.0 / kDt;
  scene.view = {-2.2, 2.2, -2.2, 2.2};
  scene.background = {255, 255, 255};
  // the rod: a 1 × 0.2 bar from the axle, at th + pi/2 (th = 0 points up), with a rounded end
  const Rgb rod{204, 77, 77};
  const double a = th_ + M_PI / 2, half_width = 0.1;
  scene.polygon({rotated(0, -half_width, a, 0, 0), rotated(kLength, -half_width, a, 0, 0),
                 rotated(kLength, half_width, a, 0, 0), rotated(0, half_width, a, 0, 0)},
                rod);
  scene.disc(rotated(kLength, 0, a, 0, 0), half_width, rod);
  scene.disc({0, 0}, 0.05, {0, 0, 0});  // the axle
}

void MountainCarContinuous::draw(Scene& scene) const {
  scene.kind = Scene::Kind::k2d;
  scene.fps = 30.0;  // Gymnasium's render_fps (the env has no time step)
  scene.view = {0, 600, 0, 400};
  scene.background = {255, 255, 255};
  const double scale = 600 / (kMaxPosition - kMinPosition);
  auto height = [](double x) { return std::sin(3 * x) * 0.45 + 0.55; };
  // the hill
  std::vector<Point2> hill;
  for (int i = 0; i < 100; ++i) {
    const double x = kMinPosition + (kMaxPosition - kMinPosition) * i / 99.0;
    hill.push_back({(x - kMinPosition) * scale, height(x) * scale});
  }
  scene.polyline(std::move(hill), 2.0, {0, 0, 0});
  // the goal flag
  const double flag_x = (kGoalPosition - kMinPosition) * scale;
  const double flag_y1 = height(kGoalPosition) * scale, flag_y2 = flag_y1 + 50;
  scene.polyline({{flag_x, flag_y1}, {flag_x, flag_y2}}, 1.5, {0, 0, 0});
  scene.polygon({{flag_x, flag_y2}, {flag_x, flag_y2 - 10}, {flag_x + 25, flag_y2 - 5}},
                {204, 204, 0});
  // the car, tilted by cos(3x) as Gymnasium tilts it, 10 units above the hill, on two wheels
  const double car_width = 40, car_height = 20, clearance = 10;
  const double angle = std::cos(3 * x_);
  const double cx = (x_ - kMinPosition) * scale, cy = clearance + height(x_) * scale;
  const double l = -car_width / 2, r = car_width / 2, t = car_height, b = 0;
  scene.polygon({rotated(l, b, angle, cx, cy), rotated(l, t, angle, cx, cy),
                 rotated(r, t, angle, cx, cy), rotated(r, b, angle, cx, cy)},
                {0, 0, 0});
  for (const double wx : {car_width / 4, -car_width / 4}) {
    scene.disc(rotated(wx, 0, angle, cx, cy), car_height / 2.5, {128, 128, 128});
  }
}

}  // namespace ddpg
