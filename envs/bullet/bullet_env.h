// The pybullet_envs suite (pybullet_envs/__init__.py ids, "Bullet" envs) in native C++ on Bullet
// (double precision), following /work/shared/reference/ENVIRONMENTS.md §2:
//
// - BulletWorld is pybullet's world for these envs: btMultiBodyDynamicsWorld with the multibody
//   solver, gravity (0, 0, -g), 5 solver iterations, contact ERP 0.9 (setDefaultContactERP),
//   friction ERP 0.2, linear slop 1e-5, warm-starting 0.1, residual threshold 1e-7, batch size 0,
//   dbvt margin 0, deterministic overlapping pairs. One env step is one stepSimulation of
//   frame_skip sub-steps of `timestep`; torques set before it act on all sub-steps (Bullet clears
//   forces once per stepSimulation). btMultiBody keeps its damping defaults (0.04).
// - Robots come from the MJCF assets embedded from envs/bullet/assets through mjcf_to_bullet.
// - Collision filtering is MuJoCo's rule, (group_a & mask_b) || (group_b & mask_a), which is what
//   the importer's contype/conaffinity → group/mask mapping is meant to give: robots whose geoms
//   have conaffinity 0 (cheetah, walker, ant) still stand on the stadium floor, and do not collide
//   with themselves.
// - The state saved for exact continuation is every multibody's base pose and velocity, joint
//   positions and velocities, the cached link frames and collider transforms the last step left,
//   and the persistent contact points (Bullet warm-starts from them). To make the contact order a
//   function of that state, the world sorts its manifolds after each collision detection.
//
// Torques are clipped actions times the robot's power, as pybullet_envs applies them; the agent's
// [-1, 1] is the action space of every id.
#pragma once

#include <BulletCollision/BroadphaseCollision/btDbvtBroadphase.h>
#include <BulletCollision/CollisionDispatch/btCollisionDispatcher.h>
#include <BulletCollision/CollisionDispatch/btDefaultCollisionConfiguration.h>
#include <BulletDynamics/Featherstone/btMultiBody.h>
#include <BulletDynamics/Featherstone/btMultiBodyConstraintSolver.h>
#include <BulletDynamics/Featherstone/btMultiBodyDynamicsWorld.h>
#include <BulletDynamics/Featherstone/btMultiBodyLinkCollider.h>

#include <memory>
#include <string>
#include <vector>

#include "ddpg/env.h"
#include "envs/bullet/mjcf_to_bullet.h"

namespace ddpg {

class BulletWorld {
 public:
  // gravity g (m/s²), one env step = frame_skip sub-steps of `timestep` seconds.
  BulletWorld(double gravity, double timestep, int frame_skip);
  ~BulletWorld();
  BulletWorld(const BulletWorld&) = delete;
  BulletWorld& operator=(const BulletWorld&) = delete;

  // Loads every top-level element of the embedded asset envs/bullet/assets/<name> as pybullet's
  // loadMJCF does (self collision on). Returns the index of the first model added.
  int load_mjcf(const std::string& name);
  // pybullet_envs' stadium floor: a static plane z = 0 with the given friction and restitution.
  void add_ground_plane(double friction, double restitution);

  void step();
  // Recomputes link frames and collider transforms after joints were set by hand.
  void refresh_kinematics();
  // Forgets every persistent contact point (used at reset, so that an episode depends on its
  // seed only).
  void clear_contacts();
  // pybullet_envs' restoreState of the state saved right after loading: every body at its loaded
  // pose, at rest, joints at 0; contacts cleared. Call refresh_kinematics after setting joints.
  void restore_initial_state();

  int num_models() const { return static_cast<int>(models_.size()); }
  const mjcf::Model& model(int i) const { return models_[i]; }
  btMultiBody* body(int i) const { return built_[i].body; }
  btMultiBodyLinkCollider* collider(int model, int link) const {
    return built_[model].colliders[link];
  }
  const btCollisionObject* ground() const { return ground_; }
  double dt() const { return timestep_ * frame_skip_; }
  btMultiBodyDynamicsWorld* dynamics() { return world_.get(); }

  // True when a persistent manifold between a and b holds at least one point after the last
  // step (what pybullet's getContactPoints reports).
  bool touching(const btCollisionObject* a, const btCollisionObject* b) const;

  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in);

  // Loaded models by asset name, parsed once per process.
  static const std::vector<mjcf::Model>& asset_models(const std::string& name);

 private:
  class World;
  struct Filter;
  double timestep_;
  int frame_skip_;
  std::unique_ptr<btDefaultCollisionConfiguration> config_;
  std::unique_ptr<btCollisionDispatcher> dispatcher_;
  std::unique_ptr<btDbvtBroadphase> broadphase_;
  std::unique_ptr<btMultiBodyConstraintSolver> solver_;
  std::unique_ptr<Filter> filter_;
  std::unique_ptr<btMultiBodyDynamicsWorld> world_;
  std::vector<mjcf::Model> models_;
  std::vector<mjcf::Built> built_;
  std::vector<btTransform> initial_base_;
  btCollisionObject* ground_ = nullptr;
  std::unique_ptr<btCollisionShape> ground_shape_;
  btAlignedObjectArray<btQuaternion> scratch_q_;
  btAlignedObjectArray<btVector3> scratch_v_;
};

// A joint of a loaded model, with pybullet's reported range (1/0 for unlimited joints).
struct BulletJoint {
  btMultiBody* body = nullptr;
  int link = -1;  // btMultiBody link index
  double lower = 1.0, upper = 0.0;

  double q() const { return body->getJointPos(link); }
  double qdot() const { return body->getJointVel(link); }
  // pybullet_envs' current_relative_position: 2 (q - mid) / (upper - lower), 0.1 qdot.
  double rel_pos() const { return 2.0 * (q() - 0.5 * (lower + upper)) / (upper - lower); }
  double rel_vel() const { return 0.1 * qdot(); }
  void reset(double q, double qdot) const {
    body->setJointPos(link, q);
    body->setJointVel(link, qdot);
  }
  void add_torque(double t) const { body->addJointTorque(link, t); }
};

// A part (link) of a loaded model: its centre-of-mass frame, as getLinkState reports it.
struct BulletPart {
  btMultiBody* body = nullptr;
  int link = -1;  // -1: the base
  btTransform com_frame() const {
    return link < 0 ? body->getBaseWorldTransform() : body->getLink(link).m_cachedWorldTransform;
  }
};

// Common machinery of the Bullet envs: the world, name lookups, reward terms, save/load.
class BulletEnv : public Env {
 public:
  // The collision shapes at their poses, with a camera that follows the robot (bullet_draw.cpp).
  void draw(Scene& scene) const override;

 protected:
  BulletEnv(double gravity, double timestep, int frame_skip);

  BulletJoint joint(const std::string& name) const;  // throws Error for an unknown joint
  BulletPart part(const std::string& name) const;

  // Task state beyond the physics (potential, contact flags, ...).
  virtual void save_task(ArchiveWriter& out) const = 0;
  virtual void load_task(ArchiveReader& in) = 0;
  void save_physics(ArchiveWriter& out) const final;
  void load_physics(ArchiveReader& in) final;

  BulletWorld world_;
};

// pybullet's getEulerFromQuaternion (roll, pitch, yaw about x, y, z).
btVector3 euler_from_quaternion(const btQuaternion& q);

// Appends the nine pybullet_envs ids, family "bullet", to `registry`.
void register_bullet_envs(std::vector<EnvInfo>& registry);

// Factories of the families (locomotors.cpp, pendula.cpp, reacher.cpp); throw for unknown ids.
std::unique_ptr<Env> make_bullet_walker(const std::string& id, EnvOptions& options);
std::unique_ptr<Env> make_bullet_pendulum(const std::string& id, EnvOptions& options);
std::unique_ptr<Env> make_bullet_reacher(EnvOptions& options);

}  // namespace ddpg
