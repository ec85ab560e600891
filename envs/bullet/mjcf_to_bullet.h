// mjcf_to_bullet: MJCF text → btMultiBody models, with the semantics of pybullet's loadMJCF
// (Bullet's BulletMJCFImporter + URDF2Bullet), so that the pybullet_envs robots authored in
// envs/bullet/assets behave as pybullet builds them. See /work/shared/reference/ENVIRONMENTS.md §2
// and pybullet_robot_facts/README.md. The rules reproduced, and why they matter:
//
// - Angles are degrees unless <compiler angle="radian">; only a limited hinge's range is converted.
// - Mass is 1000 × geom volume (geom density, mass and settotalmass are ignored) unless the body
//   has an <inertial mass>; the inertia is Bullet's box inertia of the link's compound-shape AABB;
//   the centre of mass is the midpoint of the last geom's `fromto` (else the body origin).
// - A top-level body without joints is a floating base. One with joints gets a massless fixed root
//   link, then one massless link per joint (named like pybullet's "link<model>_<index>"), and the
//   body's own link hangs from the last of them by a fixed joint "jointfix_*". A body without
//   joints hangs from its parent by a fixed joint. Links are numbered depth first, children in
//   document order, as URDF2Bullet numbers them; observation layouts depend on that order.
// - A limited hinge is revolute with a limit constraint; an unlimited one is "continuous" and
//   reports lower = 1, upper = 0 (pybullet_envs scales positions with that range). Slides are
//   prismatic, with a limit constraint when limited and lower <= upper.
// - contype/conaffinity become the collision group/mask of a link (its last geom's values), lateral
//   friction is friction[0] (default 0.5); damping, armature, stiffness, ref, actuators and tendons
//   are ignored. Every worldbody geom becomes its own static body.
// - Capsules given by `fromto` are btMultiSphereShape (two spheres), others btCapsuleShapeZ;
//   collision margin 0.001.
//
// parse_mjcf does the importer's half (plain data, testable without a world); add_to_world does
// URDF2Bullet's half (btMultiBody, colliders, limit constraints).
#pragma once

#include <LinearMath/btTransform.h>

#include <string>
#include <vector>

class btCollisionShape;
class btMultiBody;
class btMultiBodyConstraint;
class btMultiBodyDynamicsWorld;
class btMultiBodyLinkCollider;

namespace ddpg {
namespace mjcf {

enum class GeomType { kSphere, kCapsule, kCylinder, kBox, kPlane };

struct Geom {
  std::string name;
  GeomType type = GeomType::kSphere;
  double radius = 0.0;              // sphere, capsule, cylinder
  double half_length = 0.0;         // capsule, cylinder without fromto: along local z
  btVector3 half_extents{0, 0, 0};  // box
  bool has_fromto = false;
  btVector3 from{0, 0, 0}, to{0, 0, 0};            // in the body frame
  btTransform frame = btTransform::getIdentity();  // pos/quat/axisangle, in the body frame
  double volume = 0.0;
  double friction = 0.5;    // friction[0]
  int group = 1, mask = 1;  // contype, conaffinity
};

enum class JointType { kFixed, kRevolute, kContinuous, kPrismatic };

// One link of a multibody (or its base). Frames carry no rotation of the inertia: the inertial
// frame is the link frame shifted to `com`.
struct Link {
  std::string name;        // body name, or link<model>_<index> for the massless joint links
  std::string joint_name;  // joint to the parent; "" for the base
  JointType joint = JointType::kFixed;
  int parent = -1;  // index into Model::links; -1 for the base (links[0])
  btTransform parent_to_link = btTransform::getIdentity();  // link frame in parent frame, q = 0
  btVector3 axis{1, 0, 0};  // joint axis in the link frame (normalised)
  bool limited = false;
  double lower = 1.0, upper = 0.0;  // pybullet's getJointInfo range (1/0 when unlimited)
  double mass = 0.0;
  btVector3 com{0, 0, 0};   // centre of mass in the link frame
  std::vector<Geom> geoms;  // in the link frame
};

// One top-level body (a multibody) or one worldbody geom (a static body). links[0] is the base;
// links[i] for i >= 1 is btMultiBody link i - 1.
struct Model {
  std::string name;  // the top-level body's name, or the geom's
  std::vector<Link> links;
  bool fixed_base() const { return links[0].mass == 0.0; }
  double total_mass() const;
  // Index into links of the link named `name`, or -1.
  int find_link(const std::string& name) const;
  // Index into links of the link whose parent joint is named `joint`, or -1.
  int find_joint(const std::string& joint) const;
};

// Parses MJCF text (as Bullet's importer reads it) into one Model per top-level element of
// <worldbody>, in document order. `what` names the source in errors. Throws ddpg::Error.
std::vector<Model> parse_mjcf(const std::string& xml, const std::string& what);

// What add_to_world allocated; remove_from_world takes it out of the world and frees it.
struct Built {
  btMultiBody* body = nullptr;
  std::vector<btMultiBodyLinkCollider*> colliders;  // by Model::links index; nullptr: no geoms
  std::vector<btCollisionShape*> shapes;
  std::vector<btMultiBodyConstraint*> limits;
};

// Builds `model` as a btMultiBody in `world`, at rest with every joint at 0. With
// `self_collision`, links of the body collide with each other except with their ancestors
// (pybullet's URDF_USE_SELF_COLLISION | URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS), subject to
// the group/mask filter. Sleeping is disabled, as in pybullet.
Built add_to_world(const Model& model, btMultiBodyDynamicsWorld* world, bool self_collision);
void remove_from_world(Built& built, btMultiBodyDynamicsWorld* world);

}  // namespace mjcf
}  // namespace ddpg
