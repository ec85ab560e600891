// LunarLanderContinuous-v3: see lunar_lander.h.
#include "envs/box2d/lunar_lander.h"

#include <algorithm>
#include <cmath>

namespace ddpg {

// Gymnasium's ContactDetector: the body touching anything is a crash; a leg's contact is on from
// the first contact that begins to the first that ends.
class LunarLander::Contacts : public b2ContactListener {
 public:
  explicit Contacts(LunarLander& env) : env_(env) {}
  void BeginContact(b2Contact* c) override {
    const b2Body* a = c->GetFixtureA()->GetBody();
    const b2Body* b = c->GetFixtureB()->GetBody();
    if (a == env_.lander_ || b == env_.lander_) env_.game_over_ = true;
    for (int i = 0; i < 2; ++i) {
      if (a == env_.legs_[i] || b == env_.legs_[i]) env_.leg_contact_[i] = true;
    }
  }
  void EndContact(b2Contact* c) override {
    const b2Body* a = c->GetFixtureA()->GetBody();
    const b2Body* b = c->GetFixtureB()->GetBody();
    for (int i = 0; i < 2; ++i) {
      if (a == env_.legs_[i] || b == env_.legs_[i]) env_.leg_contact_[i] = false;
    }
  }

 private:
  LunarLander& env_;
};

LunarLander::LunarLander(EnvOptions& options) {
  gravity_ = options.get_double("gravity", -10.0);
  enable_wind_ = options.get_bool("enable_wind", false);
  wind_power_ = options.get_double("wind_power", 15.0);
  turbulence_power_ = options.get_double("turbulence_power", 1.5);
  if (!(gravity_ > -12.0 && gravity_ < 0.0)) {
    throw Error(
        "LunarLanderContinuous-v3: option 'gravity' must be in (-12, 0) as in Gymnasium, got " +
        std::to_string(gravity_));
  }
  if (!std::isfinite(wind_power_) || !std::isfinite(turbulence_power_)) {
    throw Error(
        "LunarLanderContinuous-v3: options 'wind_power' and 'turbulence_power' must be "
        "finite (Gymnasium recommends 0..20 and 0..2)");
  }
  spec_.id = "LunarLanderContinuous-v3";
  spec_.obs_dim = 8;
  spec_.act_dim = 2;
  spec_.obs_low = {-2.5, -2.5, -10.0, -10.0, -2 * M_PI, -10.0, 0.0, 0.0};
  spec_.obs_high = {2.5, 2.5, 10.0, 10.0, 2 * M_PI, 10.0, 1.0, 1.0};
  for (auto* bounds : {&spec_.obs_low, &spec_.obs_high}) {
    for (double& v : *bounds) v = round_to_float32(v);  // float32 bounds, as Gymnasium's Box
  }
  spec_.act_low = {-1.0, -1.0};
  spec_.act_high = {1.0, 1.0};
  spec_.max_episode_steps = 1000;
  obs_.assign(8, 0.0);
  set_term_names({"reward_shaping", "reward_main_engine", "reward_side_engine", "reward_terminal"});
}

// The contact listener must outlive the world that points to it.
LunarLander::~LunarLander() { world_.reset(); }

void LunarLander::build_episode() {
  // A fresh world, with its contact listener (Gymnasium v3 recreates the world on reset).
  world_.reset();
  world_ = std::make_unique<b2World>(b2Vec2(0.0f, static_cast<float>(gravity_)));
  contacts_ = std::make_unique<Contacts>(*this);
  world_->SetContactListener(contacts_.get());
  game_over_ = false;
  leg_contact_ = {false, false};

  // Terrain: 11 chunk heights U(0, H/2) (12 drawn), the 5 around the middle flattened to the
  // pad's height H/4, then smoothed over neighbours; edges with friction 0.1 on a static body,
  // over a flat floor at y = 0.
  std::array<double, kChunks + 1> height{};
  for (double& h : height) h = rng_.uniform(0.0, kH / 2);
  helipad_y_ = kH / 4;
  for (int i = kChunks / 2 - 2; i <= kChunks / 2 + 2; ++i) height[i] = helipad_y_;
  std::array<double, kChunks> chunk_x{};
  for (int i = 0; i < kChunks; ++i) {
    chunk_x[i] = kW / (kChunks - 1) * i;
    // (height[-1] is the last one, as Python's negative index reads it)
    const double before = i == 0 ? height[kChunks] : height[i - 1];
    smooth_y_[i] = 0.33 * (before + height[i] + height[i + 1]);
  }
  b2BodyDef ground;
  moon_ = world_->CreateBody(&ground);
  b2EdgeShape edge;
  edge.SetTwoSided(b2Vec2(0.0f, 0.0f), b2Vec2(static_cast<float>(kW), 0.0f));
  b2FixtureDef floor;  // pybox2d's defaults: friction 0.2, density 0
  floor.shape = &edge;
  moon_->CreateFixture(&floor);
  for (int i = 0; i + 1 < kChunks; ++i) {
    edge.SetTwoSided(
        b2Vec2(static_cast<float>(chunk_x[i]), static_cast<float>(smooth_y_[i])),
        b2Vec2(static_cast<float>(chunk_x[i + 1]), static_cast<float>(smooth_y_[i + 1])));
    b2FixtureDef fd;
    fd.shape = &edge;
    fd.density = 0.0f;
    fd.friction = 0.1f;
    moon_->CreateFixture(&fd);
  }

  // The lander: a hexagon of density 5 at the top centre, colliding only with the ground, pushed
  // by a force U(±1000) on each axis.
  const double initial_x = kW / 2, initial_y = kH;
  b2BodyDef body;
  body.type = b2_dynamicBody;
  body.position.Set(static_cast<float>(initial_x), static_cast<float>(initial_y));
  body.angle = 0.0f;
  lander_ = world_->CreateBody(&body);
  static constexpr double kPoly[6][2] = {{-14, 17}, {-17, 0}, {-17, -10},
                                         {17, -10}, {17, 0},  {14, 17}};
  b2Vec2 vertices[6];
  for (int i = 0; i < 6; ++i) {
    vertices[i].Set(static_cast<float>(kPoly[i][0] / kScale),
                    static_cast<float>(kPoly[i][1] / kScale));
  }
  b2PolygonShape hull;
  hull.Set(vertices, 6);
  b2FixtureDef hull_fixture;
  hull_fixture.shape = &hull;
  hull_fixture.density = 5.0f;
  hull_fixture.friction = 0.1f;
  hull_fixture.filter.categoryBits = 0x0010;
  hull_fixture.filter.maskBits = 0x001;
  hull_fixture.restitution = 0.0f;
  lander_->CreateFixture(&hull_fixture);
  const double fx = rng_.uniform(-kInitialRandom, kInitialRandom);
  const double fy = rng_.uniform(-kInitialRandom, kInitialRandom);
  lander_->ApplyForceToCenter(b2Vec2(static_cast<float>(fx), static_cast<float>(fy)), true);

  // Wind and turbulence phases, drawn at every reset (v3): integers in [-9999, 9999).
  if (enable_wind_) {
    wind_idx_ = static_cast<int64_t>(rng_.below(2 * 9999)) - 9999;
    torque_idx_ = static_cast<int64_t>(rng_.below(2 * 9999)) - 9999;
  }

  // Legs: thin boxes either side (k = 0, i = −1 on the right; k = 1 on the left), on motorised
  // revolute joints with limits that let them fold a little (0.4..0.9 rad and −0.9..−0.4, counted
  // from their initial tilt of ∓0.05, so 0.35..0.85 and −0.85..−0.35 from the body), the motors
  // pushing them outwards.
  for (int k = 0; k < 2; ++k) {
    const int i = k == 0 ? -1 : 1;
    b2BodyDef leg_def;
    leg_def.type = b2_dynamicBody;
    leg_def.position.Set(static_cast<float>(initial_x - i * kLegAway / kScale),
                         static_cast<float>(initial_y));
    leg_def.angle = static_cast<float>(i * 0.05);
    b2Body* leg = world_->CreateBody(&leg_def);
    b2PolygonShape box;
    box.SetAsBox(static_cast<float>(kLegW / kScale), static_cast<float>(kLegH / kScale));
    b2FixtureDef leg_fixture;
    leg_fixture.shape = &box;
    leg_fixture.density = 1.0f;
    leg_fixture.restitution = 0.0f;
    leg_fixture.filter.categoryBits = 0x0020;
    leg_fixture.filter.maskBits = 0x001;
    leg->CreateFixture(&leg_fixture);
    add_motor_joint(
        lander_, b2Vec2(0.0f, 0.0f), leg,
        b2Vec2(static_cast<float>(i * kLegAway / kScale), static_cast<float>(kLegDown / kScale)),
        kLegSpringTorque, 0.3 * i, i == -1 ? 0.9 - 0.5 : -0.9, i == -1 ? 0.9 : -0.9 + 0.5);
    legs_[k] = leg;
  }

  // Gymnasium's reset returns step([0, 0]): one physics step, whose reward only sets the shaping.
  double m_power = 0.0, s_power = 0.0;
  physics_step({0.0, 0.0}, m_power, s_power);
  prev_shaping_ = shaping();
}

double LunarLander::shaping() const {
  const auto& s = state_;
  return -100 * std::sqrt(s[0] * s[0] + s[1] * s[1]) - 100 * std::sqrt(s[2] * s[2] + s[3] * s[3]) -
         100 * std::abs(s[4]) + 10 * s[6] + 10 * s[7];
}

void LunarLander::set_lander_state(double x, double y, double angle, double vx, double vy,
                                   double omega) {
  const b2Vec2 shift(static_cast<float>(x) - lander_->GetPosition().x,
                     static_cast<float>(y) - lander_->GetPosition().y);
  lander_->SetTransform(b2Vec2(static_cast<float>(x), static_cast<float>(y)),
                        static_cast<float>(angle));
  lander_->SetLinearVelocity(b2Vec2(static_cast<float>(vx), static_cast<float>(vy)));
  lander_->SetAngularVelocity(static_cast<float>(omega));
  for (b2Body* leg : legs_) {
    leg->SetTransform(leg->GetPosition() + shift, leg->GetAngle());
    leg->SetLinearVelocity(b2Vec2(static_cast<float>(vx), static_cast<float>(vy)));
  }
}

void LunarLander::physics_step(const std::vector<double>& action, double& m_power,
                               double& s_power) {
  actuate(action);
  m_power = m_power_;
  s_power = s_power_;
  world_->Step(kTimeStep, kVelocityIterations, kPositionIterations);
  observe();
}

void LunarLander::actuate(const std::vector<double>& action) {
  // Wind and turbulence, while no leg touches the ground: tanh(sin(0.02 t) + sin(0.01 π t)).
  if (enable_wind_ && !(leg_contact_[0] || leg_contact_[1])) {
    const double t = static_cast<double>(wind_idx_++);
    const double wind = std::tanh(std::sin(0.02 * t) + std::sin(M_PI * 0.01 * t)) * wind_power_;
    lander_->ApplyForceToCenter(b2Vec2(static_cast<float>(wind), 0.0f), true);
    const double u = static_cast<double>(torque_idx_++);
    const double torque =
        std::tanh(std::sin(0.02 * u) + std::sin(M_PI * 0.01 * u)) * turbulence_power_;
    lander_->ApplyTorque(static_cast<float>(torque), true);
  }

  // The action, clipped as Gymnasium's np.clip(action, -1, +1).astype(np.float64) (Gymnasium 1.0
  // cast it to float32 before; Gymnasium issue #1142).
  const double a0 = std::clamp(action[0], -1.0, 1.0);
  const double a1 = std::clamp(action[1], -1.0, 1.0);

  // Engines: impulses at points jittered by two draws, in the lander's frame (tip = up, side).
  const double angle = lander_->GetAngle();
  const double tip[2] = {std::sin(angle), std::cos(angle)};
  const double side[2] = {-tip[1], tip[0]};
  double dispersion[2];
  for (double& d : dispersion) d = rng_.uniform(-1.0, 1.0) / kScale;
  const b2Vec2 pos = lander_->GetPosition();
  double& m_power = m_power_;
  m_power = 0.0;
  if (a0 > 0.0) {
    m_power = (std::clamp(a0, 0.0, 1.0) + 1.0) * 0.5;  // 0.5..1
    const double ox =
        tip[0] * (kMainEngineY / kScale + 2 * dispersion[0]) + side[0] * dispersion[1];
    const double oy =
        -tip[1] * (kMainEngineY / kScale + 2 * dispersion[0]) - side[1] * dispersion[1];
    const b2Vec2 at(static_cast<float>(pos.x + ox), static_cast<float>(pos.y + oy));
    lander_->ApplyLinearImpulse(b2Vec2(static_cast<float>(-ox * kMainEnginePower * m_power),
                                       static_cast<float>(-oy * kMainEnginePower * m_power)),
                                at, true);
  }
  double& s_power = s_power_;
  s_power = 0.0;
  if (std::abs(a1) > 0.5) {
    const double direction = a1 > 0 ? 1.0 : -1.0;
    s_power = std::clamp(std::abs(a1), 0.5, 1.0);
    const double lever = 3 * dispersion[1] + direction * kSideEngineAway / kScale;
    const double ox = tip[0] * dispersion[0] + side[0] * lever;
    const double oy = -tip[1] * dispersion[0] - side[1] * lever;
    const b2Vec2 at(static_cast<float>(pos.x + ox - tip[0] * 17 / kScale),
                    static_cast<float>(pos.y + oy + tip[1] * kSideEngineHeight / kScale));
    lander_->ApplyLinearImpulse(b2Vec2(static_cast<float>(-ox * kSideEnginePower * s_power),
                                       static_cast<float>(-oy * kSideEnginePower * s_power)),
                                at, true);
  }
}

void LunarLander::observe() {
  // Observation: position relative to the pad's centre, velocities scaled to the viewport,
  // angle, angular velocity × 20/FPS, leg contacts.
  const b2Vec2 p = lander_->GetPosition();
  const b2Vec2 v = lander_->GetLinearVelocity();
  state_ = {(p.x - kW / 2) / (kW / 2),   (p.y - (helipad_y_ + kLegDown / kScale)) / (kH / 2),
            v.x * (kW / 2) / kFps,       v.y * (kH / 2) / kFps,
            lander_->GetAngle(),         20.0 * lander_->GetAngularVelocity() / kFps,
            leg_contact_[0] ? 1.0 : 0.0, leg_contact_[1] ? 1.0 : 0.0};
  for (int i = 0; i < 8; ++i) obs_[i] = round_to_float32(state_[i]);
}

StepResult LunarLander::advance(const std::vector<double>& action) {
  double m_power = 0.0, s_power = 0.0;
  const double before = prev_shaping_;
  physics_step(action, m_power, s_power);
  const double now = shaping();
  prev_shaping_ = now;
  RewardTerms& t = terms();
  t[0].second = now - before;
  t[1].second = -m_power * 0.30;
  t[2].second = -s_power * 0.03;
  t[3].second = 0.0;
  StepResult r;
  // A crash or leaving the screen sideways: −100 instead of the step's reward; coming to rest:
  // +100 (Gymnasium checks rest last, so it wins when both hold).
  const bool crashed = game_over_ || std::abs(state_[0]) >= 1.0;
  const bool at_rest = !lander_->IsAwake();
  if (crashed || at_rest) {
    r.terminated = true;
    for (int i = 0; i < 3; ++i) t[i].second = 0.0;
    t[3].second = at_rest ? 100.0 : -100.0;
  }
  r.reward = t[0].second + t[1].second + t[2].second + t[3].second;
  return r;
}

}  // namespace ddpg
