// Collector: see collector.h.
#include "src/collector.h"

#include <algorithm>
#include <exception>
#include <thread>

namespace ddpg {

Collector::Collector(const Config& cfg, int threads, uint64_t action_seed)
    : cfg_(cfg),
      truncation_terminal_(cfg.agent.truncation == "terminal"),
      action_rng_(action_seed) {
  const int n = cfg.trainer.num_envs;
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < n; ++i) envs.push_back(make_env(cfg.env.id, cfg.env.options));
  pool_ = std::make_unique<EnvPool>(std::move(envs), cfg.trainer.async_collect ? 1 : threads);
  slots_.resize(n);
  env_actions_.resize(n);
  obs_rows_.resize(n);
}

void Collector::start(Agent& agent, uint64_t env_seed, uint64_t noise_seed) {
  agent_ = &agent;
  const EnvSpec& sp = spec();
  for (int i = 0; i < size(); ++i) {
    Slot& sl = slots_[i];
    sl.noise = make_noise(cfg_.noise, sp.act_dim, i == 0 ? noise_seed : Rng::derive(noise_seed, i));
    sl.nstep = std::make_unique<NStepAccumulator>(cfg_.agent.n_step, cfg_.agent.gamma, sp.obs_dim,
                                                  sp.act_dim);
    sl.action.resize(sp.act_dim);
    observe(pool_->env(i).reset(i == 0 ? env_seed : Rng::derive(env_seed, i)));
    sl.noise->reset();
  }
}

void Collector::choose_actions(int64_t step) {
  const int n = size();
  const EnvSpec& sp = spec();
  if (step < cfg_.trainer.learning_starts) {
    for (Slot& sl : slots_) {
      for (auto& a : sl.action) a = static_cast<float>(action_rng_.uniform(-1.0, 1.0));
    }
  } else {
    const double sigma = scheduled_sigma(cfg_.noise, step);
    if (cfg_.noise.type == "param") {
      agent_->set_param_noise_target(sigma);
      for (int i = 0; i < n; ++i) {
        agent_->act_perturbed(pool_->env(i).obs(), slots_[i].action.data());
      }
    } else {
      for (int i = 0; i < n; ++i) obs_rows_[i] = &pool_->env(i).obs();
      agent_->act_rows(obs_rows_, actions_flat_);
      for (int i = 0; i < n; ++i) {
        Slot& sl = slots_[i];
        std::copy_n(actions_flat_.data() + i * sp.act_dim, sp.act_dim, sl.action.data());
        sl.noise->set_sigma(sigma);
        sl.noise->add_to(sl.action.data());
      }
    }
    for (Slot& sl : slots_) {
      for (auto& a : sl.action) a = std::clamp(a, -1.0f, 1.0f);
    }
  }
  for (int i = 0; i < n; ++i) {
    Slot& sl = slots_[i];
    rescale_action(sl.action.data(), sp, env_actions_[i]);
    sl.obs = pool_->env(i).obs();
  }
}

void Collector::step(const std::function<void()>& beside) {
  if (!beside) {
    pool_->step(env_actions_, results_, true);
    return;
  }
  std::exception_ptr env_error;
  std::thread envs([&] {
    try {
      pool_->step(env_actions_, results_, true);
    } catch (...) {
      env_error = std::current_exception();
    }
  });
  try {
    beside();
  } catch (...) {
    envs.join();
    throw;
  }
  envs.join();
  if (env_error) std::rethrow_exception(env_error);
}

void Collector::store(ReplayBuffer& replay, const std::function<void()>& counted,
                      const std::function<void(double, int64_t)>& ended) {
  for (int i = 0; i < size(); ++i) {
    Slot& sl = slots_[i];
    const StepResult& r = results_[i];
    const bool done = r.terminated || r.truncated;
    const bool stop = r.terminated || (r.truncated && truncation_terminal_);
    const std::vector<double>& next_obs = done ? pool_->final_obs(i) : pool_->env(i).obs();
    sl.nstep->add(sl.obs, sl.action.data(), r.reward, next_obs, stop, done, replay);
    observe(next_obs);
    counted();
    sl.episode_return += r.reward;
    ++sl.episode_length;
    if (!done) continue;
    ended(sl.episode_return, sl.episode_length);
    sl.episode_return = 0;
    sl.episode_length = 0;
    observe(pool_->env(i).obs());  // the pool already reset the env
    sl.noise->reset();
    agent_->resample_perturbation();  // parameter noise: a new θ̃ per episode
  }
}

void Collector::save(ArchiveWriter& out) const {
  out.u64(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    out.i64(slots_[i].episode_length);
    out.f64(slots_[i].episode_return);
    pool_->env(static_cast<int>(i)).save_state(out);
    slots_[i].noise->save(out);
    slots_[i].nstep->save(out);
  }
}

void Collector::load(ArchiveReader& in, const std::string& path) {
  const uint64_t n = in.u64();
  if (n != slots_.size()) {
    throw Error("'" + path + "' holds " + std::to_string(n) + " envs, the run's config has " +
                "trainer.num_envs = " + std::to_string(slots_.size()) +
                "; resume with the number of envs it was started with");
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].episode_length = in.i64();
    slots_[i].episode_return = in.f64();
    pool_->env(static_cast<int>(i)).load_state(in);
    slots_[i].noise->load(in);
    slots_[i].nstep->load(in);
  }
}

}  // namespace ddpg
