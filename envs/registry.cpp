// The env registry: every env id the project knows, with its factory. New families register here.
#include <algorithm>
#include <map>
#include <mutex>

#include "ddpg/env.h"
#include "envs/box2d/box2d_envs.h"
#include "envs/bullet/bullet_env.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"
#include "envs/mujoco/mujoco_env.h"

namespace ddpg {
namespace {

template <class E>
EnvFactory simple_factory() {
  return [](EnvOptions& options) -> std::unique_ptr<Env> { return std::make_unique<E>(options); };
}

// Edit distance, to suggest the id a user probably meant.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (::tolower(a[i - 1]) != ::tolower(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<EnvInfo>& env_registry() {
  static const std::vector<EnvInfo> registry = [] {
    std::vector<EnvInfo> r;
    r.push_back({"Pendulum-v1", "classic", "torque-limited pendulum swing-up (Gymnasium)",
                 simple_factory<Pendulum>()});
    r.push_back({"MountainCarContinuous-v0", "classic",
                 "underpowered car must rock up a hill; sparse +100 at the goal (Gymnasium)",
                 simple_factory<MountainCarContinuous>()});
    register_mujoco_envs(r);
    register_bullet_envs(r);
    register_box2d_envs(r);
    return r;
  }();
  return registry;
}

namespace {

std::mutex& external_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, EnvInfo>& external_envs() {
  static std::map<std::string, EnvInfo> envs;
  return envs;
}

// The factory of a run-time env (nullptr: none by that id).
EnvFactory external_factory(const std::string& id) {
  const std::lock_guard<std::mutex> lock(external_mutex());
  const auto it = external_envs().find(id);
  return it == external_envs().end() ? nullptr : it->second.factory;
}

}  // namespace

void register_external_env(const EnvInfo& info) {
  const std::lock_guard<std::mutex> lock(external_mutex());
  external_envs()[info.id] = info;
}

bool env_exists(const std::string& id) {
  const auto& r = env_registry();
  return std::any_of(r.begin(), r.end(), [&](const EnvInfo& e) { return e.id == id; }) ||
         external_factory(id) != nullptr;
}

std::unique_ptr<Env> make_env(const std::string& id,
                              const std::map<std::string, std::string>& options) {
  std::vector<EnvInfo> external;
  if (EnvFactory f = external_factory(id)) external.push_back({id, "external", "", f});
  for (const std::vector<EnvInfo>* list :
       {&env_registry(), static_cast<const std::vector<EnvInfo>*>(&external)}) {
    for (const auto& info : *list) {
      if (info.id != id) continue;
      // `max_episode_steps` is accepted by every env, as in gymnasium.make, and so is
      // `time_feature` (sb3-contrib's wrapper, applied last, after the time limit is set).
      std::map<std::string, std::string> own = options;
      std::optional<std::string> max_steps, time_feature;
      if (auto it = own.find("max_episode_steps"); it != own.end()) {
        max_steps = it->second;
        own.erase(it);
      }
      if (auto it = own.find("time_feature"); it != own.end()) {
        time_feature = it->second;
        own.erase(it);
      }
      EnvOptions opts(own);
      std::unique_ptr<Env> env = info.factory(opts);
      opts.check_all_used(id);
      if (max_steps) {
        EnvOptions m(std::map<std::string, std::string>{{"max_episode_steps", *max_steps}});
        const int n = m.get_int("max_episode_steps", 0);
        if (n < 0) throw Error("env option 'max_episode_steps' must be >= 0 (0: no limit)");
        env->set_max_episode_steps(n);
      }
      if (time_feature) {
        EnvOptions t(std::map<std::string, std::string>{{"time_feature", *time_feature}});
        if (t.get_bool("time_feature", false)) env = with_time_feature(std::move(env));
      }
      return env;
    }
  }
  std::vector<std::pair<size_t, std::string>> near;
  for (const auto& info : env_registry()) near.push_back({edit_distance(id, info.id), info.id});
  std::sort(near.begin(), near.end());
  std::string hint;
  for (size_t i = 0; i < near.size() && i < 3; ++i) hint += (i ? ", " : "") + near[i].second;
  throw Error("unknown env id '" + id + "'. Did you mean: " + hint +
              "? ('ddpg envs' lists every id)");
}

}  // namespace ddpg
