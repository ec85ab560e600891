// mjcf_to_bullet: see mjcf_to_bullet.h.
#include "envs/bullet/mjcf_to_bullet.h"

#include <BulletCollision/CollisionShapes/btBoxShape.h>
#include <BulletCollision/CollisionShapes/btCapsuleShape.h>
#include <BulletCollision/CollisionShapes/btCompoundShape.h>
#include <BulletCollision/CollisionShapes/btCylinderShape.h>
#include <BulletCollision/CollisionShapes/btMultiSphereShape.h>
#include <BulletCollision/CollisionShapes/btSphereShape.h>
#include <BulletCollision/CollisionShapes/btStaticPlaneShape.h>
#include <BulletDynamics/Featherstone/btMultiBody.h>
#include <BulletDynamics/Featherstone/btMultiBodyDynamicsWorld.h>
#include <BulletDynamics/Featherstone/btMultiBodyJointLimitConstraint.h>
#include <BulletDynamics/Featherstone/btMultiBodyLinkCollider.h>
#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "ddpg/io.h"

namespace ddpg {
namespace mjcf {
namespace {

constexpr double kDensity = 1000.0;         // the importer's fixed density (geom density ignored)
constexpr double kDefaultFriction = 0.5;    // the importer's lateral friction without a friction
constexpr double kCollisionMargin = 0.001;  // pybullet's margin for every MJCF shape

// The numbers of an attribute (none when it is absent). Each whitespace-separated token must be a
// finite number: MJCF has no NaN or infinity, and a physics engine cannot take them.
std::vector<double> numbers(const char* text, const std::string& what) {
  std::vector<double> v;
  if (!text) return v;
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    char* end = nullptr;
    const double x = std::strtod(token.c_str(), &end);
    if (end == token.c_str() || *end != '\0' || !std::isfinite(x)) {
      throw Error(what + ": '" + token.substr(0, 40) + "' is not a finite number");
    }
    v.push_back(x);
  }
  return v;
}

// A direction: 3 numbers, not all zero.
btVector3 direction(const std::vector<double>& v, const std::string& what) {
  if (v.size() < 3) throw Error(what + ": expected 3 numbers");
  const btVector3 d(v[0], v[1], v[2]);
  if (!(d.length2() > 1e-20)) throw Error(what + ": the direction has zero length");
  return d.normalized();
}

// A friction coefficient: one number, not negative.
double friction_of(const char* text, const std::string& what) {
  const auto v = numbers(text, what + " friction");
  if (v.empty() || v[0] < 0) throw Error(what + ": friction needs a number >= 0");
  return v[0];
}

btVector3 vec3(const std::vector<double>& v, const std::string& what) {
  if (v.size() < 3) throw Error(what + ": expected 3 numbers");
  return btVector3(v[0], v[1], v[2]);
}

// Body/geom frame from pos and quat (w x y z), as the importer reads it (euler etc. unread).
btTransform frame_of(const tinyxml2::XMLElement* e, const std::string& what) {
  btTransform t = btTransform::getIdentity();
  if (const char* p = e->Attribute("pos"))
    t.setOrigin(vec3(numbers(p, what + " pos"), what + " pos"));
  if (const char* q = e->Attribute("quat")) {
    const auto v = numbers(q, what + " quat");
    if (v.size() != 4) throw Error(what + ": quat needs 4 numbers");
    const btQuaternion quat(v[1], v[2], v[3], v[0]);
    if (!(quat.length2() > 1e-20)) throw Error(what + ": quat has zero length");
    t.setRotation(quat);
  }
  return t;
}

struct Defaults {
  bool degrees = true;
  std::string limited;  // from <default><joint limited>
  int group = 1, mask = 1;
  double friction = kDefaultFriction;
};

double geom_volume(const Geom& g) {
  switch (g.type) {
    case GeomType::kSphere:
      return 4.0 / 3.0 * M_PI * g.radius * g.radius * g.radius;
    case GeomType::kBox:
      return 8.0 * g.half_extents.x() * g.half_extents.y() * g.half_extents.z();
    case GeomType::kCapsule:
    case GeomType::kCylinder: {
      const double r = g.radius;
      const double h = g.has_fromto ? (g.to - g.from).length() : 2.0 * g.half_length;
      const double sphere = g.type == GeomType::kCapsule ? 4.0 / 3.0 * M_PI * r * r * r : 0.0;
      return sphere + M_PI * r * r * h;
    }
    case GeomType::kPlane:
      return 0.0;
  }
  return 0.0;
}

Geom parse_geom(const tinyxml2::XMLElement* e, const Defaults& d, const std::string& what) {
  Geom g;
  g.name = e->Attribute("name") ? e->Attribute("name") : "";
  const std::string w = what + " geom '" + g.name + "'";
  const std::string type = e->Attribute("type") ? e->Attribute("type") : "sphere";
  const auto size = numbers(e->Attribute("size"), w + " size");
  if (type == "sphere") {
    g.type = GeomType::kSphere;
  } else if (type == "capsule") {
    g.type = GeomType::kCapsule;
  } else if (type == "cylinder") {
    g.type = GeomType::kCylinder;
  } else if (type == "box") {
    g.type = GeomType::kBox;
  } else if (type == "plane") {
    g.type = GeomType::kPlane;
  } else {
    throw Error(w + ": geom type '" + type + "' is not supported");
  }
  if (g.type == GeomType::kBox) {
    g.half_extents = vec3(size, w + " size");
    if (!(g.half_extents.x() > 0 && g.half_extents.y() > 0 && g.half_extents.z() > 0)) {
      throw Error(w + ": box sizes must be > 0");
    }
  } else if (g.type != GeomType::kPlane) {
    if (size.empty()) throw Error(w + ": size is missing");
    g.radius = size[0];
    if (size.size() > 1) g.half_length = size[1];
    if (!(g.radius > 0) || g.half_length < 0) {
      throw Error(w + ": sizes must be > 0 (radius) and >= 0 (half length)");
    }
  }
  g.frame = frame_of(e, w);
  if (const char* aa = e->Attribute("axisangle")) {
    const auto v = numbers(aa, w + " axisangle");  // radians whatever <compiler angle> says
    if (v.size() != 4) throw Error(w + ": axisangle needs 4 numbers");
    g.frame.setRotation(btQuaternion(direction(v, w + " axisangle"), v[3]));
  }
  if (const char* ft = e->Attribute("fromto")) {
    const auto v = numbers(ft, w + " fromto");
    if (v.size() != 6) throw Error(w + ": fromto needs 6 numbers");
    g.has_fromto = true;
    g.from = btVector3(v[0], v[1], v[2]);
    g.to = btVector3(v[3], v[4], v[5]);
  } else if ((g.type == GeomType::kCapsule || g.type == GeomType::kCylinder) && size.size() < 2) {
    throw Error(w + ": a capsule without fromto needs 2 sizes");
  }
  g.friction = d.friction;
  if (const char* f = e->Attribute("friction")) g.friction = friction_of(f, w);
  g.group = e->IntAttribute("contype", d.group);
  g.mask = e->IntAttribute("conaffinity", d.mask);
  g.volume = geom_volume(g);
  return g;
}

// The importer's intermediate link list: links in creation order, each with the sequence number of
// the joint that attaches it (joints are inserted in parse order; children follow that order).
struct Parser {
  Defaults d;
  std::string what;
  int model_index = 0;
  std::vector<Link> links;
  std::vector<long> joint_seq;
  long next_seq = 0;
  int fix_count = 0;

  int create_link(const char* name) {
    Link l;
    l.name =
        name ? name : "link" + std::to_string(model_index) + "_" + std::to_string(links.size());
    links.push_back(l);
    joint_seq.push_back(-1);
    return static_cast<int>(links.size()) - 1;
  }

  void attach(int link, int parent, const std::string& joint_name, const btTransform& tf) {
    links[link].parent = parent;
    links[link].joint_name = joint_name;
    links[link].parent_to_link = tf;
    joint_seq[link] = next_seq++;
  }

  void parse_joint(const tinyxml2::XMLElement* e, int link, int parent, const btTransform& tf) {
    Link& l = links[link];
    const std::string name = e->Attribute("name") ? e->Attribute("name") : l.name;
    const std::string type = e->Attribute("type") ? e->Attribute("type") : "hinge";
    const std::string w = what + " joint '" + name + "'";
    attach(link, parent, name, tf);
    if (const char* a = e->Attribute("axis"))
      l.axis = direction(numbers(a, w + " axis"), w + " axis");
    const char* lim = e->Attribute("limited");
    const std::string limited = lim ? lim : d.limited;
    l.limited = limited == "true";
    if (l.limited) {
      const auto r = numbers(e->Attribute("range"), w + " range");
      if (r.size() != 2 || !(r[0] <= r[1])) {
        throw Error(w + ": a limited joint needs range=\"lower upper\" with lower <= upper");
      }
      const double scale = (type == "hinge" && d.degrees) ? M_PI / 180.0 : 1.0;
      l.lower = r[0] * scale;
      l.upper = r[1] * scale;
    }
    if (type == "hinge") {
      l.joint = l.limited ? JointType::kRevolute : JointType::kContinuous;
    } else if (type == "slide") {
      l.joint = JointType::kPrismatic;
    } else {
      throw Error(w + ": joint type '" + type + "' is not supported");
    }
  }

  // Mirrors BulletMJCFImporter::parseBody: joint links chained from the parent, the body link last.
  void parse_body(const tinyxml2::XMLElement* body, int parent) {
    const char* name = body->Attribute("name");
    const int link = create_link(name);
    const std::string w = what + " body '" + links[link].name + "'";
    btTransform link_tf = frame_of(body, w);
    int new_parent = parent;
    bool has_joint = false, mass_defined = false;
    btTransform first_joint_tf = btTransform::getIdentity();
    double mass = 0.0;
    btVector3 com(0, 0, 0);
    for (auto* e = body->FirstChildElement(); e; e = e->NextSiblingElement()) {
      const std::string n = e->Name();
      if (n == "inertial") {
        if (const char* p = e->Attribute("pos")) {
          com = vec3(numbers(p, w + " inertial pos"), w + " inertial pos");
        }
        mass = e->DoubleAttribute("mass", 0.0);
        if (!(mass >= 0) || !std::isfinite(mass)) throw Error(w + ": mass must be a number >= 0");
        mass_defined = true;
      } else if (n == "joint") {
        const std::string type = e->Attribute("type") ? e->Attribute("type") : "hinge";
        if (!has_joint && parent < 0 && type == "free") continue;  // the base floats anyway
        btTransform jtf = btTransform::getIdentity();
        if (const char* p = e->Attribute("pos")) {
          jtf.setOrigin(vec3(numbers(p, w + " joint pos"), w + " joint pos"));
        }
        if (!has_joint) {
          if (new_parent < 0) {  // a top-level body with joints: massless fixed root link
            new_parent = create_link(nullptr);
          }
          const int jl = create_link(nullptr);
          parse_joint(e, jl, new_parent, link_tf * jtf);
          link_tf = jtf.inverse();
          first_joint_tf = jtf;
          new_parent = jl;
          has_joint = true;
        } else {
          // later joints are placed relative to the first joint's frame, as the importer does
          const int jl = create_link(nullptr);
          parse_joint(e, jl, new_parent, first_joint_tf.inverse() * jtf);
          new_parent = jl;
        }
      } else if (n == "geom") {
        Geom g = parse_geom(e, d, w);
        if (!mass_defined) com = g.has_fromto ? 0.5 * (g.from + g.to) : btVector3(0, 0, 0);
        links[link].geoms.push_back(g);
      } else if (n == "body") {
        parse_body(e, link);
      } else if (n != "site" && n != "light" && n != "camera") {
        throw Error(w + ": element <" + n + "> is not supported");
      }
    }
    if (new_parent >= 0) {
      attach(link, new_parent, "jointfix_" + std::to_string(fix_count++) + "_" + links[link].name,
             link_tf);
    } else {
      links[link].parent_to_link = link_tf;  // a floating base: its pose in the world
    }
    if (!mass_defined) {
      mass = 0.0;
      for (const Geom& g : links[link].geoms) mass += kDensity * g.volume;
    }
    links[link].mass = mass;
    links[link].com = com;
  }

  // Renumbers depth first from the root, children in joint order (URDF2Bullet's link order).
  Model finish(const std::string& model_name) const {
    const int n = static_cast<int>(links.size());
    std::vector<std::vector<int>> children(n);
    int root = -1;
    for (int i = 0; i < n; ++i) {
      if (links[i].parent < 0) {
        root = i;
      } else {
        children[links[i].parent].push_back(i);
      }
    }
    for (auto& c : children) {
      std::sort(c.begin(), c.end(), [&](int a, int b) { return joint_seq[a] < joint_seq[b]; });
    }
    std::vector<int> order, new_index(n, -1);
    std::function<void(int)> visit = [&](int i) {
      new_index[i] = static_cast<int>(order.size());
      order.push_back(i);
      for (int c : children[i]) visit(c);
    };
    visit(root);
    Model m;
    m.name = model_name;
    for (int i : order) {
      Link l = links[i];
      l.parent = l.parent < 0 ? -1 : new_index[l.parent];
      m.links.push_back(l);
    }
    return m;
  }
};

btCollisionShape* make_shape(const Geom& g) {
  btCollisionShape* s = nullptr;
  switch (g.type) {
    case GeomType::kSphere:
      s = new btSphereShape(g.radius);
      break;
    case GeomType::kBox:
      s = new btBoxShape(g.half_extents);
      break;
    case GeomType::kPlane:
      s = new btStaticPlaneShape(btVector3(0, 0, 1), 0);
      break;
    case GeomType::kCapsule:
      if (g.has_fromto) {
        const btVector3 centres[2] = {g.from, g.to};
        const btScalar radii[2] = {g.radius, g.radius};
        s = new btMultiSphereShape(centres, radii, 2);
      } else {
        s = new btCapsuleShapeZ(g.radius, 2.0 * g.half_length);
      }
      break;
    case GeomType::kCylinder: {
      // a fromto cylinder is placed by shape_frame
      const double half = g.has_fromto ? 0.5 * (g.to - g.from).length() : g.half_length;
      s = new btCylinderShapeZ(btVector3(g.radius, g.radius, half));
      break;
    }
  }
  s->setMargin(kCollisionMargin);
  return s;
}

// The shape's frame in the body frame: the geom's own, except for a fromto cylinder, which the
// importer centres between its ends with its z axis along them.
btTransform shape_frame(const Geom& g) {
  if (g.type != GeomType::kCylinder || !g.has_fromto) return g.frame;
  const btVector3 d = g.to - g.from;
  btQuaternion q = btQuaternion::getIdentity();
  if (d.length2() > SIMD_EPSILON) q = shortestArcQuat(btVector3(0, 0, 1), d.normalized());
  return btTransform(q, 0.5 * (g.from + g.to));
}

}  // namespace

double Model::total_mass() const {
  double m = 0.0;
  for (const Link& l : links) m += l.mass;
  return m;
}

int Model::find_link(const std::string& name) const {
  for (size_t i = 0; i < links.size(); ++i) {
    if (links[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Model::find_joint(const std::string& joint) const {
  for (size_t i = 1; i < links.size(); ++i) {
    if (links[i].joint_name == joint) return static_cast<int>(i);
  }
  return -1;
}

std::vector<Model> parse_mjcf(const std::string& xml, const std::string& what) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(xml.c_str(), xml.size()) != tinyxml2::XML_SUCCESS) {
    throw Error(what + ": XML parse error: " + doc.ErrorStr());
  }
  const auto* root = doc.FirstChildElement("mujoco");
  if (!root) throw Error(what + ": no <mujoco> element");
  Defaults d;
  if (const auto* c = root->FirstChildElement("compiler")) {
    if (const char* a = c->Attribute("angle")) d.degrees = std::string(a) != "radian";
  }
  // Only the top-level <default> counts: the importer reads `limited` from it and no class.
  if (const auto* def = root->FirstChildElement("default")) {
    if (const auto* j = def->FirstChildElement("joint")) {
      if (const char* l = j->Attribute("limited")) d.limited = l;
    }
    if (const auto* g = def->FirstChildElement("geom")) {
      d.group = g->IntAttribute("contype", d.group);
      d.mask = g->IntAttribute("conaffinity", d.mask);
      if (const char* f = g->Attribute("friction")) d.friction = friction_of(f, what + " default");
    }
  }
  std::vector<Model> models;
  const auto* world = root->FirstChildElement("worldbody");
  if (!world) throw Error(what + ": no <worldbody>");
  for (auto* e = world->FirstChildElement(); e; e = e->NextSiblingElement()) {
    const std::string n = e->Name();
    Parser p;
    p.d = d;
    p.what = what;
    p.model_index = static_cast<int>(models.size());
    if (n == "body") {
      p.parse_body(e, -1);
      models.push_back(p.finish(p.links[0].name));
    } else if (n == "geom") {
      // a worldbody geom: its own static body (mass 0) whose single link holds the geom
      Geom g = parse_geom(e, d, what);
      const int l = p.create_link(g.name.empty() ? "anonymous" : g.name.c_str());
      p.links[l].geoms.push_back(g);
      models.push_back(p.finish(p.links[l].name));
    } else if (n != "site" && n != "light" && n != "camera") {
      throw Error(what + ": <worldbody> element <" + n + "> is not supported");
    }
  }
  return models;
}

Built add_to_world(const Model& model, btMultiBodyDynamicsWorld* world, bool self_collision) {
  Built b;
  const int n = static_cast<int>(model.links.size());
  std::vector<btCompoundShape*> compounds(n, nullptr);
  std::vector<btVector3> inertia(n, btVector3(0, 0, 0));
  for (int i = 0; i < n; ++i) {
    const Link& l = model.links[i];
    if (l.geoms.empty()) continue;
    // children sit in the centre-of-mass frame, as URDF2Bullet places them
    auto* c = new btCompoundShape();
    const btTransform com_inv = btTransform(btQuaternion::getIdentity(), l.com).inverse();
    for (const Geom& g : l.geoms) {
      btCollisionShape* s = make_shape(g);
      b.shapes.push_back(s);
      c->addChildShape(com_inv * shape_frame(g), s);
    }
    b.shapes.push_back(c);
    compounds[i] = c;
    // Bullet's compound inertia: the box inertia of the compound's AABB
    if (l.mass > 0) c->calculateLocalInertia(l.mass, inertia[i]);
  }
  const Link& base = model.links[0];
  const bool fixed = base.mass == 0.0;
  auto* mb = new btMultiBody(n - 1, base.mass, inertia[0], fixed, /*canSleep=*/false);
  b.body = mb;
  mb->setBaseWorldTransform(base.parent_to_link *
                            btTransform(btQuaternion::getIdentity(), base.com));
  for (int i = 1; i < n; ++i) {
    const Link& l = model.links[i];
    const Link& p = model.links[l.parent];
    // URDF2Bullet's frames: offset_a is the joint (link) frame in the parent's COM frame,
    // offset_b the link frame in this link's COM frame.
    const btTransform offset_a =
        btTransform(btQuaternion::getIdentity(), p.com).inverse() * l.parent_to_link;
    const btTransform offset_b = btTransform(btQuaternion::getIdentity(), l.com).inverse();
    const btQuaternion rot_parent_to_this =
        offset_b.getRotation() * offset_a.inverse().getRotation();
    const btVector3 axis = quatRotate(offset_b.getRotation(), l.axis);
    switch (l.joint) {
      case JointType::kRevolute:
      case JointType::kContinuous:
        mb->setupRevolute(i - 1, l.mass, inertia[i], l.parent - 1, rot_parent_to_this, axis,
                          offset_a.getOrigin(), -offset_b.getOrigin(), true);
        break;
      case JointType::kPrismatic:
        mb->setupPrismatic(i - 1, l.mass, inertia[i], l.parent - 1, rot_parent_to_this, axis,
                           offset_a.getOrigin(), -offset_b.getOrigin(), true);
        break;
      case JointType::kFixed:
        mb->setupFixed(i - 1, l.mass, inertia[i], l.parent - 1, rot_parent_to_this,
                       offset_a.getOrigin(), -offset_b.getOrigin());
        break;
    }
  }
  mb->finalizeMultiDof();
  mb->setHasSelfCollision(self_collision);
  world->addMultiBody(mb);

  btAlignedObjectArray<btQuaternion> world_to_local;
  btAlignedObjectArray<btVector3> local_origin;
  mb->forwardKinematics(world_to_local, local_origin);

  b.colliders.assign(n, nullptr);
  for (int i = 0; i < n; ++i) {
    if (!compounds[i]) continue;
    const Link& l = model.links[i];
    auto* col = new btMultiBodyLinkCollider(mb, i - 1);
    col->setCollisionShape(compounds[i]);
    col->setWorldTransform(i == 0 ? mb->getBaseWorldTransform()
                                  : mb->getLink(i - 1).m_cachedWorldTransform);
    col->setFriction(l.geoms.back().friction);
    col->setRestitution(0.0);
    col->setActivationState(DISABLE_DEACTIVATION);
    const bool is_static = i == 0 && fixed;
    if (is_static)
      col->setCollisionFlags(col->getCollisionFlags() | btCollisionObject::CF_STATIC_OBJECT);
    // every MJCF geom carries a group and a mask (the defaults when unset): the last one counts
    world->addCollisionObject(col, l.geoms.back().group, l.geoms.back().mask);
    if (i == 0) {
      mb->setBaseCollider(col);
    } else {
      mb->getLink(i - 1).m_collider = col;
      if (self_collision)
        mb->getLink(i - 1).m_flags |= BT_MULTIBODYLINKFLAGS_DISABLE_ALL_PARENT_COLLISION;
    }
    b.colliders[i] = col;
  }
  mb->updateCollisionObjectWorldTransforms(world_to_local, local_origin);

  for (int i = 1; i < n; ++i) {
    const Link& l = model.links[i];
    const bool has_limit = (l.joint == JointType::kRevolute || l.joint == JointType::kPrismatic) &&
                           l.limited && l.lower <= l.upper;
    if (!has_limit) continue;
    auto* c = new btMultiBodyJointLimitConstraint(mb, i - 1, l.lower, l.upper);
    world->addMultiBodyConstraint(c);
    b.limits.push_back(c);
  }
  return b;
}

void remove_from_world(Built& b, btMultiBodyDynamicsWorld* world) {
  for (auto* c : b.limits) {
    world->removeMultiBodyConstraint(c);
    delete c;
  }
  for (auto* col : b.colliders) {
    if (!col) continue;
    world->removeCollisionObject(col);
    delete col;
  }
  if (b.body) {
    world->removeMultiBody(b.body);
    delete b.body;
  }
  for (auto* s : b.shapes) delete s;
  b = Built{};
}

}  // namespace mjcf
}  // namespace ddpg
