// The picture of a MuJoCo env (Env::draw, scene.h): its model and data, drawn by MuJoCo's renderer,
// and a camera per task. The locomotion tasks are seen from the side (looking along +y, so that
// forward is to the right) with the camera following the robot's centre of mass, at the distances
// and elevations of Gymnasium's DEFAULT_CAMERA_CONFIG; the arms and pendulums from fixed points.
#include <cmath>
#include <string>

#include "ddpg/scene.h"
#include "envs/mujoco/mujoco_env.h"

namespace ddpg {
namespace {

constexpr CameraPreset kPresets[] = {
    {"hopper.xml", true, {0, 0, 1.15}, 3.0, 90, -20},
    {"walker2d.xml", true, {0, 0, 1.15}, 4.0, 90, -20},
    {"walker2d_v5.xml", true, {0, 0, 1.15}, 4.0, 90, -20},
    {"half_cheetah.xml", true, {0, 0, kFollowRobot}, 4.0, 90, -20},
    {"ant.xml", true, {0, 0, kFollowRobot}, 5.0, 90, -30},
    {"humanoid.xml", true, {0, 0, kFollowRobot}, 4.0, 90, -20},
    {"humanoidstandup.xml", true, {0, 0, kFollowRobot}, 4.0, 90, -20},
    {"swimmer.xml", true, {0, 0, kFollowRobot}, 5.5, 90, -45},
    {"reacher.xml", false, {0, 0, 0}, 0.9, 90, -90},
    {"pusher.xml", false, {0.25, -0.3, -0.3}, 2.0, 90, -55},
    {"pusher_v5.xml", false, {0.25, -0.3, -0.3}, 2.0, 90, -55},
    {"inverted_pendulum.xml", false, {0, 0, 0.3}, 2.5, 90, -10},
    {"inverted_double_pendulum.xml", false, {0, 0, 0.5}, 3.5, 90, -10},
};

}  // namespace

void MujocoEnv::draw(Scene& scene) const {
  scene.kind = Scene::Kind::kMujoco;
  scene.fps = 1.0 / dt();
  scene.model = model_;
  scene.data = data_;
  // an unknown model: follow the robot from twice the model's extent
  CameraPreset preset{"", model_->nbody > 1, {0, 0, kFollowRobot}, 2 * model_->stat.extent, 90,
                      -20};
  for (const CameraPreset& p : kPresets) {
    if (model_name() == p.key) preset = p;
  }
  double robot[3] = {0, 0, 0};
  if (model_->nbody > 1) {
    for (int i = 0; i < 3; ++i) robot[i] = data_->subtree_com[3 + i];
  }
  scene.camera = preset.aim(robot);
}

}  // namespace ddpg
