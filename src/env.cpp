// Env base: time limit, action and observation checks, state save/restore, option parsing.
#include "ddpg/env.h"

#include <algorithm>
#include <cmath>

namespace ddpg {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

double EnvOptions::get_double(const std::string& key, double fallback) {
  known_.push_back(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  try {
    size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    if (!std::isfinite(v)) throw std::invalid_argument("not finite");
    return v;
  } catch (const std::exception&) {
    throw Error("env option '" + key + "' must be a finite number, got '" + it->second + "'");
  }
}

int EnvOptions::get_int(const std::string& key, int fallback) {
  known_.push_back(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  try {
    size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw Error("env option '" + key + "' must be an integer, got '" + it->second + "'");
  }
}

bool EnvOptions::get_bool(const std::string& key, bool fallback) {
  known_.push_back(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw Error("env option '" + key + "' must be true or false, got '" + it->second + "'");
}

std::string EnvOptions::get_string(const std::string& key, const std::string& fallback) {
  known_.push_back(key);
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

void EnvOptions::check_all_used(const std::string& env_id) const {
  std::vector<std::string> unknown;
  for (const auto& [k, v] : values_) {
    if (std::find(known_.begin(), known_.end(), k) == known_.end()) unknown.push_back(k);
  }
  if (unknown.empty()) return;
  std::vector<std::string> known = known_;
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  throw Error("unknown option(s) for " + env_id + ": " + join(unknown, ", ") +
              " (known: " + (known.empty() ? "none" : join(known, ", ")) + ")");
}

const std::vector<double>& Env::reset(std::optional<uint64_t> seed) {
  if (seed) rng_.seed_with(*seed);
  elapsed_ = 0;
  terms_.clear();
  reset_seed_ = seed;
  do_reset();
  reset_seed_.reset();
  check_obs("reset");
  return obs_;
}

StepResult Env::step(const std::vector<double>& action) {
  if (static_cast<int>(action.size()) != spec_.act_dim) {
    throw Error(spec_.id + ": action has " + std::to_string(action.size()) +
                " values, the env expects " + std::to_string(spec_.act_dim));
  }
  StepResult r = do_step(action);
  ++elapsed_;
  check_obs("step");
  if (!std::isfinite(r.reward)) {
    throw Error(spec_.id + ": the reward is not finite at step " + std::to_string(elapsed_) +
                " (the simulation diverged)");
  }
  if (spec_.max_episode_steps > 0 && elapsed_ >= spec_.max_episode_steps) r.truncated = true;
  return r;
}

void Env::set_term_names(std::vector<std::string> names) {
  term_names_ = std::move(names);
  terms();
}

RewardTerms& Env::terms() {
  if (terms_.size() != term_names_.size()) {
    terms_.clear();
    for (const auto& n : term_names_) terms_.emplace_back(n, 0.0);
  }
  return terms_;
}

void Env::check_obs(const char* where) const {
  for (size_t i = 0; i < obs_.size(); ++i) {
    if (!std::isfinite(obs_[i])) {
      throw Error(spec_.id + ": observation[" + std::to_string(i) + "] is not finite after " +
                  where + " at episode step " + std::to_string(elapsed_) +
                  " (the simulation diverged)");
    }
  }
}

void Env::save_state(ArchiveWriter& out) const {
  out.tag("env:" + spec_.id);
  for (uint64_t w : rng_.state()) out.u64(w);
  out.i64(elapsed_);
  out.doubles(obs_);
  save_physics(out);
}

void Env::load_state(ArchiveReader& in) {
  in.expect_tag("env:" + spec_.id);
  Rng::State s;
  for (auto& w : s) w = in.u64();
  rng_.set_state(s);
  elapsed_ = static_cast<int>(in.i64());
  obs_.resize(spec_.obs_dim);
  in.doubles(obs_.data(), obs_.size(), "env observation");
  load_physics(in);
}

namespace {

// The env of with_time_feature: the inner env's observation and the remaining time.
class TimeFeatureEnv final : public Env {
 public:
  explicit TimeFeatureEnv(std::unique_ptr<Env> inner) : inner_(std::move(inner)) {
    spec_ = inner_->spec();
    if (spec_.max_episode_steps <= 0) {
      throw Error("env option 'time_feature' needs a time limit, and " + spec_.id +
                  " has none: set max_episode_steps too");
    }
    inner_->set_max_episode_steps(0);  // the wrapper counts and truncates
    spec_.obs_dim += 1;
    spec_.obs_low.push_back(0.0);
    spec_.obs_high.push_back(1.0);
  }

  void draw(Scene& scene) const override { inner_->draw(scene); }

 protected:
  void do_reset() override {
    inner_->reset(reset_seed());
    copy_out(0);
  }

  StepResult do_step(const std::vector<double>& action) override {
    const StepResult r = inner_->step(action);
    copy_out(elapsed_steps() + 1);  // the base counts this step after do_step returns
    return r;
  }

  void save_physics(ArchiveWriter& out) const override { inner_->save_state(out); }
  void load_physics(ArchiveReader& in) override { inner_->load_state(in); }

 private:
  // obs_ = inner observation + [1 - t/T]; terms_ = the inner env's, in place after the first copy.
  void copy_out(int t) {
    const int limit = spec_.max_episode_steps;
    if (limit <= 0) {
      throw Error("env option 'time_feature' needs a time limit, and max_episode_steps of " +
                  spec_.id + " was set to 0");
    }
    const std::vector<double>& o = inner_->obs();
    obs_.assign(o.begin(), o.end());
    obs_.push_back(1.0 - static_cast<double>(t) / limit);
    const RewardTerms& terms = inner_->reward_terms();
    if (terms_.size() == terms.size()) {
      for (size_t i = 0; i < terms.size(); ++i) terms_[i].second = terms[i].second;
    } else {
      terms_ = terms;
    }
  }

  std::unique_ptr<Env> inner_;
};

}  // namespace

std::unique_ptr<Env> with_time_feature(std::unique_ptr<Env> env) {
  return std::make_unique<TimeFeatureEnv>(std::move(env));
}

void rescale_action(const float* action, const EnvSpec& spec, std::vector<double>& env_action) {
  env_action.resize(spec.act_dim);
  for (int i = 0; i < spec.act_dim; ++i) {
    const double a = action[i];
    env_action[i] = spec.act_low[i] + 0.5 * (a + 1.0) * (spec.act_high[i] - spec.act_low[i]);
  }
}

}  // namespace ddpg
