// BipedalWalker-v3 and BipedalWalkerHardcore-v3: see bipedal_walker.h.
#include "envs/box2d/bipedal_walker.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ddpg {

namespace {

// np.sign: −1, 0 or +1 (0 for 0).
double sign_of(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }

// The hull outline, in pixels (HULL_POLY), divided by SCALE when the shape is made.
constexpr double kHullPoly[5][2] = {{-30, 9}, {6, 9}, {34, 1}, {34, -8}, {-30, -8}};

// Collision categories: the ground is 0x1, the walker 0x20 and collides only with the ground.
constexpr uint16 kGroundCategory = 0x0001;
constexpr uint16 kWalkerCategory = 0x0020;

}  // namespace

// Gymnasium's ContactDetector: any contact of the hull is a game over; the lower legs' contact
// flags follow their last begin or end event.
class BipedalWalker::Contacts : public b2ContactListener {
 public:
  explicit Contacts(BipedalWalker& env) : env_(env) {}
  void BeginContact(b2Contact* c) override {
    const b2Body* a = c->GetFixtureA()->GetBody();
    const b2Body* b = c->GetFixtureB()->GetBody();
    if (a == env_.hull_ || b == env_.hull_) env_.game_over_ = true;
    for (int i : {1, 3}) {
      if (a == env_.legs_[i] || b == env_.legs_[i]) env_.ground_contact_[i] = true;
    }
  }
  void EndContact(b2Contact* c) override {
    const b2Body* a = c->GetFixtureA()->GetBody();
    const b2Body* b = c->GetFixtureB()->GetBody();
    for (int i : {1, 3}) {
      if (a == env_.legs_[i] || b == env_.legs_[i]) env_.ground_contact_[i] = false;
    }
  }

 private:
  BipedalWalker& env_;
};

// Gymnasium's LidarCallback: skips fixtures outside the ground category and clips the ray at each
// hit, so the fraction left is the closest hit's (1 when nothing is hit).
class BipedalWalker::Lidar : public b2RayCastCallback {
 public:
  float ReportFixture(b2Fixture* fixture, const b2Vec2& /*point*/, const b2Vec2& /*normal*/,
                      float fraction) override {
    if ((fixture->GetFilterData().categoryBits & kGroundCategory) == 0) return -1.0f;
    fraction_ = fraction;
    return fraction;
  }
  float fraction_ = 1.0f;
};

BipedalWalker::BipedalWalker(EnvOptions& options, bool hardcore)
    : contacts_(std::make_unique<Contacts>(*this)), lidar_(std::make_unique<Lidar>()) {
  hardcore_ = options.get_bool("hardcore", hardcore);
  spec_.id = hardcore ? "BipedalWalkerHardcore-v3" : "BipedalWalker-v3";
  spec_.obs_dim = kObsDim;
  spec_.act_dim = kActDim;
  // observation_space: angles within ±π, speeds within ±5, contacts in [0, 5], lidar in ±1, all
  // as float32 (Gymnasium's bounds, not tight ones).
  const double pi = round_to_float32(M_PI);
  spec_.obs_high = {pi, 5.0, 5.0, 5.0, pi, 5.0, pi, 5.0, 5.0, pi, 5.0, pi, 5.0, 5.0};
  spec_.obs_low = {-pi, -5.0, -5.0, -5.0, -pi, -5.0, -pi, -5.0, -0.0, -pi, -5.0, -pi, -5.0, -0.0};
  spec_.obs_high.resize(kObsDim, 1.0);
  spec_.obs_low.resize(kObsDim, -1.0);
  spec_.act_low.assign(kActDim, -1.0);
  spec_.act_high.assign(kActDim, 1.0);
  spec_.max_episode_steps = hardcore ? 2000 : 1600;
  obs_.assign(kObsDim, 0.0);
  terrain_x_.reserve(kTerrainLength);
  terrain_y_.reserve(kTerrainLength);
  set_term_names({"reward_forward", "reward_angle", "reward_ctrl", "reward_fall"});
}

// The world goes first: its bodies' contacts refer to the listener.
BipedalWalker::~BipedalWalker() { world_.reset(); }

void BipedalWalker::build_episode() {
  // A fresh world with the contact listener, and a fresh game.
  world_.reset();
  hull_ = nullptr;
  legs_ = {};
  joints_ = {};
  world_ = std::make_unique<b2World>(b2Vec2(0.0f, -10.0f));
  world_->SetContactListener(contacts_.get());
  game_over_ = false;
  ground_contact_ = {};
  has_prev_shaping_ = false;

  // Terrain first, then the walker, drawing from rng_ in Gymnasium's order (no clouds).
  generate_terrain();
  create_walker();

  // Gymnasium's reset returns step([0, 0, 0, 0]); its reward is dropped, and the terms start at 0.
  advance(zero_action_);
  for (auto& term : terms()) term.second = 0.0;
}

void BipedalWalker::add_terrain_polygon(const std::array<b2Vec2, 4>& vertices) {
  b2PolygonShape shape;
  shape.Set(vertices.data(), static_cast<int32>(vertices.size()));
  b2FixtureDef fd;
  fd.shape = &shape;
  fd.friction = static_cast<float>(kFriction);
  b2BodyDef bd;  // static, at the origin
  world_->CreateBody(&bd)->CreateFixture(&fd);
}

void BipedalWalker::generate_terrain() {
  enum State { kGrass = 0, kStump = 1, kStairs = 2, kPit = 3 };
  const double step = kTerrainStep;
  int state = kGrass;
  double velocity = 0.0;
  double y = kTerrainHeight;
  int counter = kTerrainStartpad;
  bool oneshot = false;
  int stair_steps = 0, stair_width = 0, stair_height = 0;
  double original_y = 0.0;
  terrain_x_.clear();
  terrain_y_.clear();
  obstacles_.clear();
  const auto v = [](double px, double py) {
    return b2Vec2(static_cast<float>(px), static_cast<float>(py));
  };

  for (int i = 0; i < kTerrainLength; ++i) {
    const double x = i * step;
    terrain_x_.push_back(x);

    if (state == kGrass && !oneshot) {
      // grass: a damped pull back to TERRAIN_HEIGHT, rough after the start pad
      velocity = 0.8 * velocity + 0.01 * sign_of(kTerrainHeight - y);
      if (i > kTerrainStartpad) velocity += rng_.uniform(-1.0, 1.0) / kScale;
      y += velocity;
    } else if (state == kPit && oneshot) {
      // pit: its two walls, 3 or 4 steps apart (integers(3, 5))
      counter = 3 + static_cast<int>(rng_.below(2));
      obstacles_.push_back({ObstacleKind::kPit, i, counter, 0});
      const std::array<b2Vec2, 4> wall = {v(x, y), v(x + step, y), v(x + step, y - 4 * step),
                                          v(x, y - 4 * step)};
      add_terrain_polygon(wall);
      const double shift = step * counter;
      add_terrain_polygon({v(x + shift, y), v(x + step + shift, y),
                           v(x + step + shift, y - 4 * step), v(x + shift, y - 4 * step)});
      counter += 2;
      original_y = y;
    } else if (state == kPit && !oneshot) {
      // inside the pit the ground line drops by 4 steps, back up for its last step
      y = original_y;
      if (counter > 1) y -= 4 * step;
    } else if (state == kStump && oneshot) {
      // stump: a square box of 1 or 2 steps (integers(1, 3))
      counter = 1 + static_cast<int>(rng_.below(2));
      obstacles_.push_back({ObstacleKind::kStump, i, counter, 0});
      const double side = counter * step;
      add_terrain_polygon({v(x, y), v(x + side, y), v(x + side, y + side), v(x, y + side)});
    } else if (state == kStairs && oneshot) {
      // stairs: up or down, 4 steps wide (integers(4, 5)), 3 or 4 of them (integers(3, 5))
      stair_height = rng_.uniform() > 0.5 ? 1 : -1;
      stair_width = 4;
      stair_steps = 3 + static_cast<int>(rng_.below(2));
      obstacles_.push_back({ObstacleKind::kStairs, i, stair_steps, stair_height});
      original_y = y;
      for (int s = 0; s < stair_steps; ++s) {
        const double x0 = x + (s * stair_width) * step;
        const double x1 = x + ((1 + s) * stair_width) * step;
        const double top = y + (s * stair_height) * step;
        const double bottom = y + (-1 + s * stair_height) * step;
        add_terrain_polygon({v(x0, top), v(x1, top), v(x1, bottom), v(x0, bottom)});
      }
      counter = stair_steps * stair_width;
    } else if (state == kStairs && !oneshot) {
      // the ground line follows the stairs
      const int s = stair_steps * stair_width - counter - stair_height;
      const double n = static_cast<double>(s) / stair_width;
      y = original_y + (n * stair_height) * step;
    }

    oneshot = false;
    terrain_y_.push_back(y);
    // at the end of a run: grass for integers(5, 10) steps, or (hardcore, after grass) an obstacle
    if (--counter == 0) {
      counter = kTerrainGrass / 2 + static_cast<int>(rng_.below(kTerrainGrass - kTerrainGrass / 2));
      if (state == kGrass && hardcore_) {
        state = 1 + static_cast<int>(rng_.below(3));
      } else {
        state = kGrass;
      }
      oneshot = true;
    }
  }

  // The ground line: one two-sided edge per terrain step.
  b2EdgeShape edge;
  b2FixtureDef fd;
  fd.shape = &edge;
  fd.friction = static_cast<float>(kFriction);
  fd.filter.categoryBits = kGroundCategory;
  for (int i = 0; i + 1 < kTerrainLength; ++i) {
    edge.SetTwoSided(v(terrain_x_[i], terrain_y_[i]), v(terrain_x_[i + 1], terrain_y_[i + 1]));
    b2BodyDef bd;
    world_->CreateBody(&bd)->CreateFixture(&fd);
  }
}

void BipedalWalker::create_walker() {
  const double init_x = kTerrainStep * kTerrainStartpad / 2;
  const double init_y = kTerrainHeight + 2 * kLegH;

  // The hull, pushed sideways by U(−5, 5).
  b2Vec2 hull_vertices[5];
  for (int k = 0; k < 5; ++k) {
    hull_vertices[k].Set(static_cast<float>(kHullPoly[k][0] / kScale),
                         static_cast<float>(kHullPoly[k][1] / kScale));
  }
  b2PolygonShape hull_shape;
  hull_shape.Set(hull_vertices, 5);
  b2FixtureDef hull_fd;
  hull_fd.shape = &hull_shape;
  hull_fd.density = 5.0f;
  hull_fd.friction = 0.1f;
  hull_fd.restitution = 0.0f;
  hull_fd.filter.categoryBits = kWalkerCategory;
  hull_fd.filter.maskBits = kGroundCategory;
  b2BodyDef hull_bd;
  hull_bd.type = b2_dynamicBody;
  hull_bd.position.Set(static_cast<float>(init_x), static_cast<float>(init_y));
  hull_ = world_->CreateBody(&hull_bd);
  hull_->CreateFixture(&hull_fd);
  const double push = rng_.uniform(-kInitialRandom, kInitialRandom);
  hull_->ApplyForceToCenter(b2Vec2(static_cast<float>(push), 0.0f), true);

  // Legs (density 1, default friction 0.2; the lower legs 0.8× as wide), left (−1) then right (+1):
  // upper leg, hip joint, lower leg, knee joint. Each joint's angle counts from the pose it is
  // created in (add_motor_joint, as pybox2d), so the legs' tilt of ±0.05 is a hip angle of 0.
  b2PolygonShape upper_shape, lower_shape;
  upper_shape.SetAsBox(static_cast<float>(kLegW / 2), static_cast<float>(kLegH / 2));
  lower_shape.SetAsBox(static_cast<float>(0.8 * kLegW / 2), static_cast<float>(kLegH / 2));
  b2FixtureDef leg_fd;
  leg_fd.density = 1.0f;
  leg_fd.restitution = 0.0f;
  leg_fd.filter.categoryBits = kWalkerCategory;
  leg_fd.filter.maskBits = kGroundCategory;
  for (int side = 0; side < 2; ++side) {
    const int i = side == 0 ? -1 : 1;
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    bd.angle = static_cast<float>(i * 0.05);

    bd.position.Set(static_cast<float>(init_x), static_cast<float>(init_y - kLegH / 2 - kLegDown));
    b2Body* upper = world_->CreateBody(&bd);
    leg_fd.shape = &upper_shape;
    upper->CreateFixture(&leg_fd);
    joints_[2 * side] =
        add_motor_joint(hull_, b2Vec2(0.0f, static_cast<float>(kLegDown)), upper,
                        b2Vec2(0.0f, static_cast<float>(kLegH / 2)), kMotorsTorque, i, -0.8, 1.1);
    legs_[2 * side] = upper;

    bd.position.Set(static_cast<float>(init_x),
                    static_cast<float>(init_y - kLegH * 3 / 2 - kLegDown));
    b2Body* lower = world_->CreateBody(&bd);
    leg_fd.shape = &lower_shape;
    lower->CreateFixture(&leg_fd);
    joints_[2 * side + 1] = add_motor_joint(upper, b2Vec2(0.0f, static_cast<float>(-kLegH / 2)),
                                            lower, b2Vec2(0.0f, static_cast<float>(kLegH / 2)),
                                            kMotorsTorque, 1.0, -1.6, -0.1);
    legs_[2 * side + 1] = lower;
  }
}

void BipedalWalker::actuate(const std::vector<double>& action) {
  // Motors: full speed towards sign(a), torque limited by |a| (Gymnasium's default, not
  // control_speed). Box2D 2.3's setters woke the walker every step; 2.4's only on a change.
  // Waking only sleeping bodies, as 2.3 did (2.4's SetAwake(true) also restarts the sleep timer).
  if (!hull_->IsAwake()) hull_->SetAwake(true);
  for (b2Body* b : legs_) {
    if (!b->IsAwake()) b->SetAwake(true);
  }
  for (int i = 0; i < kActDim; ++i) {
    const double speed = i % 2 == 0 ? kSpeedHip : kSpeedKnee;
    const double a = action[i];
    joints_[i]->SetMotorSpeed(static_cast<float>(speed * sign_of(a)));
    joints_[i]->SetMaxMotorTorque(
        static_cast<float>(kMotorsTorque * std::clamp(std::abs(a), 0.0, 1.0)));
  }
}

StepResult BipedalWalker::advance(const std::vector<double>& action) {
  for (int i = 0; i < kActDim; ++i) {
    if (!std::isfinite(action[i])) {
      throw Error(spec_.id + ": action[" + std::to_string(i) + "] is not finite");
    }
  }

  actuate(action);

  // One physics step: dt 1/FPS, 180 velocity and 60 position iterations.
  world_->Step(kTimeStep, kVelocityIterations, kPositionIterations);

  // Lidar: 10 rays from the hull's origin, fanning from straight down towards +x.
  const b2Vec2 pos = hull_->GetPosition();
  const b2Vec2 vel = hull_->GetLinearVelocity();
  for (int i = 0; i < kLidarRays; ++i) {
    lidar_->fraction_ = 1.0f;
    const double ray_angle = 1.5 * i / 10.0;
    const b2Vec2 p2(static_cast<float>(pos.x + std::sin(ray_angle) * kLidarRange),
                    static_cast<float>(pos.y - std::cos(ray_angle) * kLidarRange));
    world_->RayCast(lidar_.get(), pos, p2);
    lidar_fraction_[i] = lidar_->fraction_;
  }

  // Observation, in double from Box2D's floats, then rounded to float32 as NumPy does.
  const double angle = hull_->GetAngle();
  obs_[0] = angle;
  obs_[1] = 2.0 * hull_->GetAngularVelocity() / kFps;
  obs_[2] = 0.3 * vel.x * (kViewportW / kScale) / kFps;
  obs_[3] = 0.3 * vel.y * (kViewportH / kScale) / kFps;
  for (int side = 0; side < 2; ++side) {
    const b2RevoluteJoint* hip = joints_[2 * side];
    const b2RevoluteJoint* knee = joints_[2 * side + 1];
    double* o = obs_.data() + 4 + 5 * side;
    o[0] = hip->GetJointAngle();
    o[1] = hip->GetJointSpeed() / kSpeedHip;
    o[2] = knee->GetJointAngle() + 1.0;
    o[3] = knee->GetJointSpeed() / kSpeedKnee;
    o[4] = ground_contact_[2 * side + 1] ? 1.0 : 0.0;
  }
  for (int i = 0; i < kLidarRays; ++i) obs_[14 + i] = lidar_fraction_[i];
  for (double& o : obs_) o = round_to_float32(o);

  // Reward: the change of shaping (forward progress, a level hull) less the torque cost.
  const double forward = 130.0 * pos.x / kScale;
  const double level = -5.0 * std::abs(angle);
  double ctrl = 0.0;
  for (int i = 0; i < kActDim; ++i) {
    ctrl -= 0.00035 * kMotorsTorque * std::clamp(std::abs(action[i]), 0.0, 1.0);
  }
  RewardTerms& t = terms();
  t[0].second = has_prev_shaping_ ? forward - prev_forward_ : 0.0;
  t[1].second = has_prev_shaping_ ? level - prev_angle_ : 0.0;
  t[2].second = ctrl;
  t[3].second = 0.0;
  has_prev_shaping_ = true;
  prev_forward_ = forward;
  prev_angle_ = level;

  // Termination: a fall (the hull touched the ground) or leaving the start costs −100 instead;
  // passing the end of the terrain ends the episode with the step's reward.
  bool terminated = false;
  if (game_over_ || pos.x < 0.0f) {
    t[0].second = t[1].second = t[2].second = 0.0;
    t[3].second = -100.0;
    terminated = true;
  }
  if (pos.x > end_x()) terminated = true;
  const double reward = t[0].second + t[1].second + t[2].second + t[3].second;
  return {reward, terminated, false};
}

void BipedalWalker::place_walker(double x, double y, double angle, double vx, double vy,
                                 double omega) {
  if (hull_ == nullptr) throw Error(spec_.id + ": place_walker() before reset()");
  const b2Transform old_hull = hull_->GetTransform();
  const float old_angle = hull_->GetAngle();
  const b2Transform new_hull(b2Vec2(static_cast<float>(x), static_cast<float>(y)),
                             b2Rot(static_cast<float>(angle)));
  const auto place = [&](b2Body* b) {
    // the body's pose in the hull's frame, carried to the hull's new pose
    const b2Vec2 local = b2MulT(old_hull, b->GetPosition());
    const float relative_angle = b->GetAngle() - old_angle;
    const b2Vec2 p = b2Mul(new_hull, local);
    b->SetTransform(p, static_cast<float>(angle) + relative_angle);
    // rigid motion: v + ω × r
    const b2Vec2 r = p - new_hull.p;
    b->SetLinearVelocity(
        b2Vec2(static_cast<float>(vx - omega * r.y), static_cast<float>(vy + omega * r.x)));
    b->SetAngularVelocity(static_cast<float>(omega));
  };
  for (b2Body* b : legs_) place(b);
  place(hull_);
}

}  // namespace ddpg
