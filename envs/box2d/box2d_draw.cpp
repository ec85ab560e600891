// The pictures of the Box2D envs (Env::draw, scene.h), in world units (metres, y up), with the
// colours and layers of Gymnasium's pygame renderers (lunar_lander.py, bipedal_walker.py).
// Gymnasium's 1-pixel outlines are 1/SCALE wide here.
#include <box2d/box2d.h>

#include <cmath>
#include <utility>
#include <vector>

#include "ddpg/scene.h"
#include "envs/box2d/bipedal_walker.h"
#include "envs/box2d/lunar_lander.h"

namespace ddpg {
namespace {

Point2 point(const b2Vec2& v) { return {v.x, v.y}; }

// Every fixture of `body` at its current pose: polygons filled with `fill` and outlined with
// `outline` (`line` wide), circles as discs, edges as lines of the fill colour.
void draw_body(const b2Body* body, Rgb fill, Rgb outline, double line, Scene& scene) {
  const b2Transform& xf = body->GetTransform();
  for (const b2Fixture* f = body->GetFixtureList(); f; f = f->GetNext()) {
    const b2Shape* shape = f->GetShape();
    switch (shape->GetType()) {
      case b2Shape::e_polygon: {
        const auto* poly = static_cast<const b2PolygonShape*>(shape);
        std::vector<Point2> pts;
        for (int i = 0; i < poly->m_count; ++i)
          pts.push_back(point(b2Mul(xf, poly->m_vertices[i])));
        std::vector<Point2> ring = pts;
        ring.push_back(pts.front());
        scene.polygon(std::move(pts), fill);
        scene.polyline(std::move(ring), line, outline);
        break;
      }
      case b2Shape::e_circle: {
        const auto* circle = static_cast<const b2CircleShape*>(shape);
        scene.disc(point(b2Mul(xf, circle->m_p)), circle->m_radius, fill);
        break;
      }
      case b2Shape::e_edge: {
        const auto* edge = static_cast<const b2EdgeShape*>(shape);
        scene.polyline({point(b2Mul(xf, edge->m_vertex1)), point(b2Mul(xf, edge->m_vertex2))}, line,
                       fill);
        break;
      }
      default:
        break;
    }
  }
}

// A flag on a pole at x from y1 to y2 (Gymnasium's: 50 px pole, 25 × 10 px pennant).
void draw_flag(double x, double y1, double scale, Rgb pole, Rgb cloth, Scene& scene) {
  const double y2 = y1 + 50 / scale;
  scene.polyline({{x, y1}, {x, y2}}, 1 / scale, pole);
  scene.polygon({{x, y2}, {x, y2 - 10 / scale}, {x + 25 / scale, y2 - 5 / scale}}, cloth);
}

}  // namespace

void LunarLander::draw(Scene& scene) const {
  scene.kind = Scene::Kind::k2d;
  scene.fps = kFps;
  scene.view = {0, kW, 0, kH};
  scene.background = {255, 255, 255};  // the moon; the sky is drawn over it
  const double line = 1 / kScale;
  // the sky: black from the terrain up (past the top, for images taller than 3:2)
  for (int i = 0; i + 1 < kChunks; ++i) {
    const double x1 = kW / (kChunks - 1) * i, x2 = kW / (kChunks - 1) * (i + 1);
    scene.polygon({{x1, smooth_y_[i]}, {x2, smooth_y_[i + 1]}, {x2, 3 * kH}, {x1, 3 * kH}},
                  {0, 0, 0});
  }
  if (!lander_) return;
  // the main engine's flame, below the lander, as long as the throttle
  if (m_power_ > 0) {
    const b2Transform& xf = lander_->GetTransform();
    auto local = [&](double x, double y) {
      return point(
          b2Mul(xf, b2Vec2(static_cast<float>(x / kScale), static_cast<float>(y / kScale))));
    };
    const double length = 10 + 25 * m_power_;
    scene.polygon({local(-6, -10), local(6, -10), local(0, -10 - length)}, {255, 140, 40});
    scene.polygon({local(-3, -10), local(3, -10), local(0, -10 - 0.6 * length)}, {255, 230, 120});
  }
  const Rgb fill{128, 102, 230}, outline{77, 77, 128};
  draw_body(lander_, fill, outline, line, scene);
  for (const b2Body* leg : legs_) draw_body(leg, fill, outline, line, scene);
  // the pad's flags, at the chunks either side of the middle one
  for (const int chunk : {kChunks / 2 - 1, kChunks / 2 + 1}) {
    draw_flag(kW / (kChunks - 1) * chunk, helipad_y_, kScale, {255, 255, 255}, {204, 204, 0},
              scene);
  }
}

void BipedalWalker::draw(Scene& scene) const {
  scene.kind = Scene::Kind::k2d;
  scene.fps = kFps;
  const double width = kViewportW / kScale, height = kViewportH / kScale;
  const double scroll = hull_ ? hull_->GetPosition().x - width / 5 : 0.0;
  scene.view = {scroll, scroll + width, 0, height};
  scene.background = {215, 215, 255};  // the sky
  const double line = 1 / kScale;
  // the terrain: stripes of two greens from the surface down (past the bottom)
  for (size_t i = 0; i + 1 < terrain_x_.size(); ++i) {
    const double x1 = terrain_x_[i], x2 = terrain_x_[i + 1];
    if (x2 < scroll - 1 || x1 > scroll + width + 1) continue;
    const Rgb green{76, static_cast<uint8_t>(i % 2 == 0 ? 255 : 204), 76};
    scene.polygon({{x1, terrain_y_[i]}, {x2, terrain_y_[i + 1]}, {x2, -height}, {x1, -height}},
                  green);
  }
  if (!hull_) return;
  // (Gymnasium's red lidar ray, one of the ten per frame in turn, is left out: it flickers)
  // static bodies (the ground's edges, the hardcore obstacles), then the legs and the hull
  for (const b2Body* b = world_->GetBodyList(); b; b = b->GetNext()) {
    if (b->GetType() == b2_staticBody) draw_body(b, {255, 255, 255}, {153, 153, 153}, line, scene);
  }
  for (int i = 0; i < 4; ++i) {
    const double s = i < 2 ? -1 : 1;  // Gymnasium's i = -1 (first pair), +1 (second)
    auto channel = [](double v) { return static_cast<uint8_t>(std::lround(255 * v)); };
    const Rgb fill{channel(0.6 - s / 10), channel(0.3 - s / 10), channel(0.5 - s / 10)};
    const Rgb outline{channel(0.4 - s / 10), channel(0.2 - s / 10), channel(0.3 - s / 10)};
    draw_body(legs_[i], fill, outline, line, scene);
  }
  draw_body(hull_, {127, 51, 229}, {76, 76, 127}, line, scene);
  draw_flag(kTerrainStep * 3, kTerrainHeight, kScale, {0, 0, 0}, {230, 51, 0}, scene);
}

}  // namespace ddpg
