// Scene: what an env shows of its current state, for `ddpg render` (render.h). Plain data: an env
// fills it in Env::draw, between steps and never on the step path, and the renderer draws it.
//
// Three kinds, one per way of drawing:
// - k2d (classic control, Box2D): filled polygons, thick polylines and discs in world units, inside
//   a view rectangle that must be visible (the renderer widens it to the image's aspect), drawn
//   as Gymnasium's pygame pictures are drawn (same colours, same layers, y up).
// - kMujoco (the MuJoCo envs): the model and data themselves; MuJoCo's renderer draws them.
// - kSolids (the Bullet envs): spheres, capsules, cylinders, boxes and planes at world poses (the
//   collision shapes), drawn with the same MuJoCo renderer, floor, lights and colours as kMujoco,
//   so that every 3-D picture looks alike.
// 3-D scenes carry a camera (a point to look at, usually the robot's torso, so that locomotion
// stays in the picture) and every scene carries the env's rate (Gymnasium's render_fps).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct mjModel_;
struct mjData_;

namespace ddpg {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

using Point2 = std::array<double, 2>;

// One 2-D shape in world units (y up).
struct Shape2d {
  enum class Kind { kPolygon, kPolyline, kDisc };
  Kind kind = Kind::kPolygon;
  std::vector<Point2> points;  // polygon vertices, polyline points, or the disc's centre
  double size = 0.0;           // polyline: line width; disc: radius
  Rgb color;
};

// One 3-D solid at a world pose, with MuJoCo's geom size conventions.
struct Solid {
  enum class Type { kPlane, kSphere, kCapsule, kCylinder, kBox };
  Type type = Type::kSphere;
  // plane: half extents (0: unbounded); sphere: radius; capsule, cylinder: radius, half-length
  // (along local z); box: half extents
  std::array<double, 3> size{0, 0, 0};
  std::array<double, 3> pos{0, 0, 0};
  std::array<double, 9> rot{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major; columns are the local axes
  // kRobot: Gymnasium's tan; kScenery: static bodies, grey; kTarget: targets and goals, red;
  // kObject: things to be moved (Pusher's puck), white
  enum class Paint { kRobot, kScenery, kTarget, kObject };
  Paint paint = Paint::kRobot;
};

// The paint of a body by its name (the models carry no colours): "target" or "goal" in it marks a
// target, "object" a thing to move; otherwise a static body is scenery and a moving one robot.
inline Solid::Paint paint_of_body(const std::string& name, bool is_static) {
  if (name.find("target") != std::string::npos || name.find("goal") != std::string::npos) {
    return Solid::Paint::kTarget;
  }
  if (name.find("object") != std::string::npos) return Solid::Paint::kObject;
  return is_static ? Solid::Paint::kScenery : Solid::Paint::kRobot;
}

// A free camera looking at `lookat` from `distance`, turned `azimuth` degrees about z (90: looking
// along +y, x to the right) and `elevation` degrees (negative: from above).
struct Camera {
  std::array<double, 3> lookat{0, 0, 0};
  double distance = 3.0;
  double azimuth = 90.0;
  double elevation = -20.0;
};

// Where an env's camera goes: at `lookat`, or (`track`) following the robot in x and y, and in z
// too where lookat[2] is kFollowRobot. The MuJoCo and Bullet envs each keep a table of these.
struct CameraPreset {
  const char* key;  // what the env's table matches: an asset name (MuJoCo), an id prefix (Bullet)
  bool track;
  double lookat[3];  // the fixed point, or the height when tracking
  double distance, azimuth, elevation;

  // The camera for a robot at `robot` (its centre, world frame).
  Camera aim(const double robot[3]) const {
    Camera cam;
    for (int i = 0; i < 3; ++i) {
      const bool follow = track && (i < 2 || std::isnan(lookat[i]));
      cam.lookat[i] = follow ? robot[i] : lookat[i];
    }
    cam.distance = distance;
    cam.azimuth = azimuth;
    cam.elevation = elevation;
    return cam;
  }
};
constexpr double kFollowRobot = NAN;

struct Scene {
  enum class Kind { kNone, k2d, kMujoco, kSolids };
  Kind kind = Kind::kNone;
  double fps = 30.0;  // env steps per second of simulated time

  // k2d
  std::array<double, 4> view{0, 1, 0, 1};  // x_min, x_max, y_min, y_max
  Rgb background{255, 255, 255};
  std::vector<Shape2d> shapes;  // in drawing order

  // kMujoco
  const mjModel_* model = nullptr;
  const mjData_* data = nullptr;

  // kSolids
  std::vector<Solid> solids;

  // kMujoco, kSolids
  Camera camera;

  // Empties the scene, keeping the vectors' memory (a scene is refilled every frame).
  void clear() {
    kind = Kind::kNone;
    shapes.clear();
    solids.clear();
    model = nullptr;
    data = nullptr;
  }
  void polygon(std::vector<Point2> pts, Rgb c) {
    shapes.push_back({Shape2d::Kind::kPolygon, std::move(pts), 0.0, c});
  }
  void polyline(std::vector<Point2> pts, double width, Rgb c) {
    shapes.push_back({Shape2d::Kind::kPolyline, std::move(pts), width, c});
  }
  void disc(Point2 centre, double radius, Rgb c) {
    shapes.push_back({Shape2d::Kind::kDisc, {centre}, radius, c});
  }
};

}  // namespace ddpg
