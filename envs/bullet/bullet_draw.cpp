// The picture of a Bullet env (Env::draw, scene.h): every collision shape of the world (the robots'
// link colliders, the static worldbody geoms, the stadium floor) as a solid at its current world
// pose, for the renderer to draw as MuJoCo geoms; and a camera per task, as for the MuJoCo envs
// (mujoco_draw.cpp): the locomotion robots seen from the side, followed.
#include <BulletCollision/CollisionShapes/btBoxShape.h>
#include <BulletCollision/CollisionShapes/btCapsuleShape.h>
#include <BulletCollision/CollisionShapes/btCompoundShape.h>
#include <BulletCollision/CollisionShapes/btCylinderShape.h>
#include <BulletCollision/CollisionShapes/btMultiSphereShape.h>
#include <BulletCollision/CollisionShapes/btSphereShape.h>
#include <BulletCollision/CollisionShapes/btStaticPlaneShape.h>

#include <cmath>
#include <string>

#include "ddpg/scene.h"
#include "envs/bullet/bullet_env.h"

namespace ddpg {
namespace {

constexpr CameraPreset kPresets[] = {
    {"HopperBullet", true, {0, 0, 1.15}, 3.0, 90, -20},
    {"Walker2DBullet", true, {0, 0, 1.15}, 4.0, 90, -20},
    {"HalfCheetahBullet", true, {0, 0, kFollowRobot}, 4.0, 90, -20},
    {"AntBullet", true, {0, 0, kFollowRobot}, 5.0, 90, -30},
    {"HumanoidBullet", true, {0, 0, kFollowRobot}, 4.0, 90, -20},
    {"ReacherBullet", false, {0, 0, 0}, 0.9, 90, -90},
    {"InvertedPendulum", false, {0, 0, 0.3}, 2.5, 90, -10},
    {"InvertedDoublePendulum", false, {0, 0, 0.5}, 3.5, 90, -10},
};

// `t` as a solid's pose.
void set_pose(const btTransform& t, Solid& s) {
  const btVector3& o = t.getOrigin();
  s.pos = {o.x(), o.y(), o.z()};
  const btMatrix3x3& r = t.getBasis();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) s.rot[3 * i + j] = r[i][j];
  }
}

// A frame whose z axis runs from a to b, centred between them.
btTransform segment_frame(const btVector3& a, const btVector3& b) {
  const btVector3 d = b - a;
  btQuaternion q = btQuaternion::getIdentity();
  if (d.length2() > SIMD_EPSILON) q = shortestArcQuat(btVector3(0, 0, 1), d.normalized());
  return btTransform(q, 0.5 * (a + b));
}

// `shape` at world pose `t` as solids (compounds recursively); shapes of other kinds are skipped.
void add_shape(const btCollisionShape* shape, const btTransform& t, Solid::Paint paint,
               Scene& scene) {
  Solid s;
  s.paint = paint;
  switch (shape->getShapeType()) {
    case COMPOUND_SHAPE_PROXYTYPE: {
      const auto* c = static_cast<const btCompoundShape*>(shape);
      for (int i = 0; i < c->getNumChildShapes(); ++i) {
        add_shape(c->getChildShape(i), t * c->getChildTransform(i), paint, scene);
      }
      return;
    }
    case SPHERE_SHAPE_PROXYTYPE:
      s.type = Solid::Type::kSphere;
      s.size = {static_cast<const btSphereShape*>(shape)->getRadius(), 0, 0};
      set_pose(t, s);
      break;
    case BOX_SHAPE_PROXYTYPE: {
      const btVector3 h = static_cast<const btBoxShape*>(shape)->getHalfExtentsWithoutMargin();
      s.type = Solid::Type::kBox;
      s.size = {h.x(), h.y(), h.z()};
      set_pose(t, s);
      break;
    }
    case CAPSULE_SHAPE_PROXYTYPE: {
      // btCapsuleShapeZ (the importer's only capsule kind): along local z
      const auto* c = static_cast<const btCapsuleShape*>(shape);
      s.type = Solid::Type::kCapsule;
      s.size = {c->getRadius(), c->getHalfHeight(), 0};
      set_pose(t, s);
      break;
    }
    case CYLINDER_SHAPE_PROXYTYPE: {
      // btCylinderShapeZ: radius in x, half height in z
      const btVector3 h = static_cast<const btCylinderShape*>(shape)->getHalfExtentsWithoutMargin();
      s.type = Solid::Type::kCylinder;
      s.size = {h.x(), h.z(), 0};
      set_pose(t, s);
      break;
    }
    case MULTI_SPHERE_SHAPE_PROXYTYPE: {
      // a fromto capsule: two spheres of one radius
      const auto* m = static_cast<const btMultiSphereShape*>(shape);
      if (m->getSphereCount() != 2) return;
      const btVector3 a = m->getSpherePosition(0), b = m->getSpherePosition(1);
      s.type = Solid::Type::kCapsule;
      s.size = {m->getSphereRadius(0), 0.5 * (b - a).length(), 0};
      set_pose(t * segment_frame(a, b), s);
      break;
    }
    case STATIC_PLANE_PROXYTYPE: {
      const auto* p = static_cast<const btStaticPlaneShape*>(shape);
      const btVector3 n = p->getPlaneNormal();
      s.type = Solid::Type::kPlane;
      s.paint = Solid::Paint::kScenery;
      set_pose(t * segment_frame(n * p->getPlaneConstant(), n * (p->getPlaneConstant() + 1)) *
                   btTransform(btQuaternion::getIdentity(), btVector3(0, 0, -0.5)),
               s);
      break;
    }
    default:
      return;
  }
  scene.solids.push_back(s);
}

}  // namespace

void BulletEnv::draw(Scene& scene) const {
  scene.kind = Scene::Kind::kSolids;
  scene.fps = 1.0 / world_.dt();
  if (const btCollisionObject* g = world_.ground()) {
    add_shape(g->getCollisionShape(), g->getWorldTransform(), Solid::Paint::kScenery, scene);
  }
  // the robot: the first model that has mass; its top-level body is the one to follow
  btVector3 robot(0, 0, 0);
  bool have_robot = false;
  for (int m = 0; m < world_.num_models(); ++m) {
    const mjcf::Model& model = world_.model(m);
    const bool moving = model.total_mass() > 0;
    for (int link = 0; link < static_cast<int>(model.links.size()); ++link) {
      if (const btMultiBodyLinkCollider* c = world_.collider(m, link)) {
        // a worldbody geom's model is named after the geom; a robot's links after its bodies
        const std::string& name = moving ? model.links[link].name : model.name;
        add_shape(c->getCollisionShape(), c->getWorldTransform(), paint_of_body(name, !moving),
                  scene);
      }
    }
    if (moving && !have_robot) {
      have_robot = true;
      const int top = model.find_link(model.name);
      const btMultiBodyLinkCollider* c = world_.collider(m, top < 0 ? 0 : top);
      robot = c ? c->getWorldTransform().getOrigin()
                : world_.body(m)->getBaseWorldTransform().getOrigin();
    }
  }
  CameraPreset preset{"", have_robot, {0, 0, kFollowRobot}, 4.0, 90, -20};
  for (const CameraPreset& p : kPresets) {
    if (spec_.id.rfind(p.key, 0) == 0) preset = p;
  }
  const double at[3] = {robot[0], robot[1], robot[2]};
  scene.camera = preset.aim(at);
}

}  // namespace ddpg
