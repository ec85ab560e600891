// BulletWorld, BulletEnv and the registration of the pybullet_envs ids: see bullet_env.h.
#include "envs/bullet/bullet_env.h"

#include <BulletCollision/CollisionShapes/btStaticPlaneShape.h>
#include <BulletCollision/NarrowPhaseCollision/btPersistentManifold.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "ddpg/embedded.h"

namespace ddpg {

// MuJoCo's contype/conaffinity rule on Bullet's group/mask (see the header for why).
struct BulletWorld::Filter : public btOverlapFilterCallback {
  bool needBroadphaseCollision(btBroadphaseProxy* a, btBroadphaseProxy* b) const override {
    return (a->m_collisionFilterGroup & b->m_collisionFilterMask) != 0 ||
           (b->m_collisionFilterGroup & a->m_collisionFilterMask) != 0;
  }
};

namespace {

// Manifold order key: the two objects' broadphase ids, then the first point's child shapes
// (a compound link has one manifold per child); empty manifolds last.
struct ManifoldKey {
  int uid0, uid1, index0, index1;
  bool operator<(const ManifoldKey& o) const {
    if (uid0 != o.uid0) return uid0 < o.uid0;
    if (uid1 != o.uid1) return uid1 < o.uid1;
    if (index0 != o.index0) return index0 < o.index0;
    return index1 < o.index1;
  }
  bool operator==(const ManifoldKey& o) const {
    return uid0 == o.uid0 && uid1 == o.uid1 && index0 == o.index0 && index1 == o.index1;
  }
};

ManifoldKey key_of(const btPersistentManifold* m) {
  ManifoldKey k{m->getBody0()->getBroadphaseHandle()->m_uniqueId,
                m->getBody1()->getBroadphaseHandle()->m_uniqueId, 1 << 30, 1 << 30};
  if (m->getNumContacts() > 0) {
    k.index0 = m->getContactPoint(0).m_index0;
    k.index1 = m->getContactPoint(0).m_index1;
  }
  return k;
}

// The multibody world whose manifold order after collision detection is a function of the
// contacts alone (not of the history of pair creation), so that a saved state continues exactly.
class SortedWorld : public btMultiBodyDynamicsWorld {
 public:
  using btMultiBodyDynamicsWorld::btMultiBodyDynamicsWorld;
  void performDiscreteCollisionDetection() override {
    btMultiBodyDynamicsWorld::performDiscreteCollisionDetection();
    sort_manifolds(getDispatcher());
  }
  static void sort_manifolds(btDispatcher* dispatcher) {
    const int n = dispatcher->getNumManifolds();
    btPersistentManifold** m = dispatcher->getInternalManifoldPointer();
    std::sort(m, m + n, [](const btPersistentManifold* a, const btPersistentManifold* b) {
      return key_of(a) < key_of(b);
    });
    for (int i = 0; i < n; ++i) m[i]->m_index1a = i;  // releaseManifold swaps by this index
  }
};

void write_transform(ArchiveWriter& out, const btTransform& t) {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) out.f64(t.getBasis()[r][c]);
  }
  for (int i = 0; i < 3; ++i) out.f64(t.getOrigin()[i]);
}

btTransform read_transform(ArchiveReader& in) {
  btMatrix3x3 b;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) b[r][c] = in.f64();
  }
  btVector3 o;
  for (int i = 0; i < 3; ++i) o[i] = in.f64();
  return btTransform(b, o);
}

void write_vec(ArchiveWriter& out, const btVector3& v) {
  for (int i = 0; i < 3; ++i) out.f64(v[i]);
}
btVector3 read_vec(ArchiveReader& in) {
  const double x = in.f64(), y = in.f64(), z = in.f64();
  return btVector3(x, y, z);
}

}  // namespace

BulletWorld::BulletWorld(double gravity, double timestep, int frame_skip)
    : timestep_(timestep), frame_skip_(frame_skip) {
  config_ = std::make_unique<btDefaultCollisionConfiguration>();
  dispatcher_ = std::make_unique<btCollisionDispatcher>(config_.get());
  broadphase_ = std::make_unique<btDbvtBroadphase>();
  solver_ = std::make_unique<btMultiBodyConstraintSolver>();
  filter_ = std::make_unique<Filter>();
  gDbvtMargin = 0;  // pybullet's server default (a process-wide Bullet global)
  world_ = std::make_unique<SortedWorld>(dispatcher_.get(), broadphase_.get(), solver_.get(),
                                         config_.get());
  world_->getPairCache()->setOverlapFilterCallback(filter_.get());
  world_->setGravity(btVector3(0, 0, -gravity));
  btContactSolverInfo& s = world_->getSolverInfo();
  s.m_numIterations = 5;
  s.m_erp2 = 0.9;  // setDefaultContactERP(0.9)
  s.m_frictionERP = 0.2;
  s.m_linearSlop = 1e-5;
  s.m_warmstartingFactor = 0.1;
  s.m_leastSquaresResidualThreshold = 1e-7;
  s.m_minimumSolverBatchSize = 0;
  world_->getDispatchInfo().m_deterministicOverlappingPairs = true;
}

BulletWorld::~BulletWorld() {
  for (auto& b : built_) mjcf::remove_from_world(b, world_.get());
  if (ground_) {
    world_->removeCollisionObject(ground_);
    delete ground_;
  }
}

const std::vector<mjcf::Model>& BulletWorld::asset_models(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<mjcf::Model>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const std::string path = "envs/bullet/assets/" + name;
  const std::string* xml = embedded_file(path);
  if (!xml) throw Error("Bullet robot model '" + path + "' is not embedded in this binary");
  return cache.emplace(name, mjcf::parse_mjcf(*xml, path)).first->second;
}

int BulletWorld::load_mjcf(const std::string& name) {
  const int first = num_models();
  for (const mjcf::Model& m : asset_models(name)) {
    models_.push_back(m);
    built_.push_back(mjcf::add_to_world(m, world_.get(), /*self_collision=*/true));
    initial_base_.push_back(built_.back().body->getBaseWorldTransform());
  }
  return first;
}

void BulletWorld::add_ground_plane(double friction, double restitution) {
  ground_shape_ = std::make_unique<btStaticPlaneShape>(btVector3(0, 0, 1), 0);
  ground_ = new btCollisionObject();
  ground_->setCollisionShape(ground_shape_.get());
  ground_->setCollisionFlags(btCollisionObject::CF_STATIC_OBJECT);
  ground_->setFriction(friction);
  ground_->setRestitution(restitution);
  // a static body of pybullet's SDF loader: static group, colliding with everything else
  world_->addCollisionObject(ground_, btBroadphaseProxy::StaticFilter,
                             btBroadphaseProxy::AllFilter ^ btBroadphaseProxy::StaticFilter);
}

void BulletWorld::step() { world_->stepSimulation(dt(), frame_skip_, timestep_); }

void BulletWorld::refresh_kinematics() {
  for (const auto& b : built_) {
    scratch_q_.resize(b.body->getNumLinks() + 1);
    scratch_v_.resize(b.body->getNumLinks() + 1);
    b.body->forwardKinematics(scratch_q_, scratch_v_);
    b.body->updateCollisionObjectWorldTransforms(scratch_q_, scratch_v_);
  }
}

void BulletWorld::clear_contacts() {
  for (int i = 0; i < dispatcher_->getNumManifolds(); ++i) {
    dispatcher_->getManifoldByIndexInternal(i)->clearManifold();
  }
}

void BulletWorld::restore_initial_state() {
  clear_contacts();
  for (size_t i = 0; i < built_.size(); ++i) {
    btMultiBody* mb = built_[i].body;
    mb->setBaseWorldTransform(initial_base_[i]);
    mb->setBaseVel(btVector3(0, 0, 0));
    mb->setBaseOmega(btVector3(0, 0, 0));
    for (int l = 0; l < mb->getNumLinks(); ++l) {
      if (mb->getLink(l).m_dofCount == 0) continue;
      mb->setJointPos(l, 0.0);
      mb->setJointVel(l, 0.0);
    }
  }
  refresh_kinematics();
}

bool BulletWorld::touching(const btCollisionObject* a, const btCollisionObject* b) const {
  const int n = dispatcher_->getNumManifolds();
  for (int i = 0; i < n; ++i) {
    const btPersistentManifold* m = dispatcher_->getManifoldByIndexInternal(i);
    if (m->getNumContacts() == 0) continue;
    if ((m->getBody0() == a && m->getBody1() == b) || (m->getBody0() == b && m->getBody1() == a)) {
      return true;
    }
  }
  return false;
}

void BulletWorld::save(ArchiveWriter& out) const {
  out.tag("bullet_world");
  out.u64(built_.size());
  for (const auto& b : built_) {
    btMultiBody* mb = b.body;
    write_vec(out, mb->getBasePos());
    const btQuaternion r = mb->getWorldToBaseRot();
    for (int i = 0; i < 4; ++i) out.f64(r[i]);
    write_vec(out, mb->getBaseVel());
    write_vec(out, mb->getBaseOmega());
    for (int l = 0; l < mb->getNumLinks(); ++l) {
      write_transform(out, mb->getLink(l).m_cachedWorldTransform);
      if (mb->getLink(l).m_dofCount == 0) continue;
      out.f64(mb->getJointPos(l));
      out.f64(mb->getJointVel(l));
    }
    for (const auto* col : b.colliders) {
      if (col) write_transform(out, col->getWorldTransform());
    }
  }
  // persistent contact points, in the sorted manifold order
  std::vector<const btPersistentManifold*> live;
  for (int i = 0; i < dispatcher_->getNumManifolds(); ++i) {
    const btPersistentManifold* m = dispatcher_->getManifoldByIndexInternal(i);
    if (m->getNumContacts() > 0) live.push_back(m);
  }
  out.u64(live.size());
  for (const auto* m : live) {
    const ManifoldKey k = key_of(m);
    out.i64(k.uid0);
    out.i64(k.uid1);
    out.u64(m->getNumContacts());
    // btManifoldPoint is plain data (its user pointer is unused here); the archive is only read
    // back by the same binary.
    for (int p = 0; p < m->getNumContacts(); ++p)
      out.raw(&m->getContactPoint(p), sizeof(btManifoldPoint));
  }
}

void BulletWorld::load(ArchiveReader& in) {
  in.expect_tag("bullet_world");
  if (in.u64() != built_.size()) throw Error(in.what() + ": Bullet world has other bodies");
  for (auto& b : built_) {
    btMultiBody* mb = b.body;
    mb->setBasePos(read_vec(in));
    btQuaternion r;
    for (int i = 0; i < 4; ++i) r[i] = in.f64();
    mb->setWorldToBaseRot(r);
    mb->setBaseVel(read_vec(in));
    mb->setBaseOmega(read_vec(in));
    for (int l = 0; l < mb->getNumLinks(); ++l) {
      mb->getLink(l).m_cachedWorldTransform = read_transform(in);
      if (mb->getLink(l).m_dofCount == 0) continue;
      const double q = in.f64();
      mb->setJointPos(l, q);
      mb->setJointVel(l, in.f64());
    }
    for (auto* col : b.colliders) {
      if (col) col->setWorldTransform(read_transform(in));
    }
  }
  // Create the pairs and manifolds the current poses call for, then put back the saved points.
  world_->performDiscreteCollisionDetection();
  const uint64_t n_live = in.u64();
  std::vector<bool> restored(dispatcher_->getNumManifolds(), false);
  for (uint64_t s = 0; s < n_live; ++s) {
    const int uid0 = static_cast<int>(in.i64()), uid1 = static_cast<int>(in.i64());
    const uint64_t np = in.u64();
    if (np > 4) throw Error(in.what() + ": a contact manifold has more than 4 points");
    btManifoldPoint pts[4];
    for (uint64_t p = 0; p < np; ++p) in.raw(&pts[p], sizeof(btManifoldPoint));
    const ManifoldKey want{uid0, uid1, pts[0].m_index0, pts[0].m_index1};
    int found = -1;
    for (int i = 0; i < dispatcher_->getNumManifolds() && found < 0; ++i) {
      if (!restored[i] && key_of(dispatcher_->getManifoldByIndexInternal(i)) == want) found = i;
    }
    for (int i = 0; i < dispatcher_->getNumManifolds() && found < 0; ++i) {
      const ManifoldKey k = key_of(dispatcher_->getManifoldByIndexInternal(i));
      if (!restored[i] && k.uid0 == uid0 && k.uid1 == uid1 && k.index0 == (1 << 30)) found = i;
    }
    if (found < 0) continue;  // the pair no longer overlaps: the next step would drop it anyway
    btPersistentManifold* m = dispatcher_->getManifoldByIndexInternal(found);
    m->setNumContacts(static_cast<int>(np));
    for (uint64_t p = 0; p < np; ++p) m->getContactPoint(static_cast<int>(p)) = pts[p];
    restored[found] = true;
  }
  for (int i = 0; i < dispatcher_->getNumManifolds(); ++i) {
    if (!restored[i]) dispatcher_->getManifoldByIndexInternal(i)->clearManifold();
  }
  SortedWorld::sort_manifolds(dispatcher_.get());
}

BulletEnv::BulletEnv(double gravity, double timestep, int frame_skip)
    : world_(gravity, timestep, frame_skip) {}

BulletJoint BulletEnv::joint(const std::string& name) const {
  for (int m = 0; m < world_.num_models(); ++m) {
    const int l = world_.model(m).find_joint(name);
    if (l < 0) continue;
    const mjcf::Link& link = world_.model(m).links[l];
    return BulletJoint{world_.body(m), l - 1, link.lower, link.upper};
  }
  throw Error(spec_.id + ": the robot model has no joint '" + name + "'");
}

BulletPart BulletEnv::part(const std::string& name) const {
  for (int m = 0; m < world_.num_models(); ++m) {
    const int l = world_.model(m).find_link(name);
    if (l >= 0) return BulletPart{world_.body(m), l - 1};
  }
  throw Error(spec_.id + ": the robot model has no part '" + name + "'");
}

void BulletEnv::save_physics(ArchiveWriter& out) const {
  world_.save(out);
  save_task(out);
}

void BulletEnv::load_physics(ArchiveReader& in) {
  world_.load(in);
  load_task(in);
}

btVector3 euler_from_quaternion(const btQuaternion& q) {
  const double x = q.x(), y = q.y(), z = q.z(), w = q.w();
  const double squ = w * w, sqx = x * x, sqy = y * y, sqz = z * z;
  const double sarg = -2.0 * (x * z - w * y);
  if (sarg <= -0.99999) return btVector3(0, -0.5 * M_PI, 2.0 * std::atan2(x, -y));
  if (sarg >= 0.99999) return btVector3(0, 0.5 * M_PI, 2.0 * std::atan2(-x, y));
  return btVector3(std::atan2(2.0 * (y * z + w * x), squ - sqx - sqy + sqz), std::asin(sarg),
                   std::atan2(2.0 * (x * y + w * z), squ + sqx - sqy - sqz));
}

void register_bullet_envs(std::vector<EnvInfo>& registry) {
  struct Entry {
    const char* id;
    const char* description;
    int kind;  // 0 walker, 1 pendulum, 2 reacher
  };
  static const Entry entries[] = {
      {"InvertedPendulumBulletEnv-v0",
       "cart-pole balance on Bullet; +1 per step until |theta| > 0.2", 1},
      {"InvertedDoublePendulumBulletEnv-v0",
       "double cart-pole balance on Bullet; 10 minus tip-height and x penalties", 1},
      {"InvertedPendulumSwingupBulletEnv-v0",
       "cart-pole swing-up on Bullet from hanging; reward cos(theta), never terminates", 1},
      {"ReacherBulletEnv-v0", "2-link planar arm reaching a random target on Bullet (150 steps)",
       2},
      {"HopperBulletEnv-v0", "one-legged hopper on Bullet running toward a target 1 km away", 0},
      {"Walker2DBulletEnv-v0", "planar biped on Bullet running toward a target 1 km away", 0},
      {"HalfCheetahBulletEnv-v0",
       "planar cheetah on Bullet running toward a target 1 km away; never terminates", 0},
      {"AntBulletEnv-v0", "four-legged ant on Bullet running toward a target 1 km away", 0},
      {"HumanoidBulletEnv-v0", "17-joint humanoid on Bullet running toward a target 1 km away", 0},
  };
  for (const Entry& e : entries) {
    const std::string id = e.id;
    EnvFactory f;
    if (e.kind == 0) {
      f = [id](EnvOptions& o) { return make_bullet_walker(id, o); };
    } else if (e.kind == 1) {
      f = [id](EnvOptions& o) { return make_bullet_pendulum(id, o); };
    } else {
      f = [](EnvOptions& o) { return make_bullet_reacher(o); };
    }
    registry.push_back({id, "bullet", e.description, f});
  }
}

}  // namespace ddpg
