// Collector: the acting half of the training loop (trainer.h) — the env pool, each env's
// exploration noise and n-step accumulator, the choice of actions and the storing of transitions.
// Private to the trainer.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/env.h"
#include "ddpg/env_pool.h"
#include "ddpg/io.h"
#include "ddpg/noise.h"
#include "ddpg/replay_buffer.h"
#include "ddpg/rng.h"

namespace ddpg {

class Collector {
 public:
  // The run's envs (trainer.num_envs), stepped on `threads` threads (one beside the updates with
  // async_collect); random starting actions from `action_seed`.
  Collector(const Config& cfg, int threads, uint64_t action_seed);
  // Resets the envs from the run's env stream and shows the first observations to `agent`, which
  // acts for them from now on; each env's noise from the noise stream. Env 0 keeps the single-env
  // streams, env i > 0 derives its own from them.
  void start(Agent& agent, uint64_t env_seed, uint64_t noise_seed);

  int size() const { return pool_->size(); }
  const EnvSpec& spec() const { return pool_->env(0).spec(); }

  // The actions of the next vector step: uniform in [-1, 1] before learning_starts, else π(s) for
  // every env in one pass (π̃(s), the perturbed actor, with parameter noise) plus each env's
  // noise, clipped to [-1, 1]; then rescaled to the env's bounds.
  void choose_actions(int64_t step);
  // Steps every env (an env whose episode ends is reset on its thread). With `beside`, the envs
  // step on a second thread while `beside` runs on this one (asynchronous collection).
  void step(const std::function<void()>& beside);
  // Stores the last step's transitions in env order — terminated stops the bootstrap, truncated
  // does not (unless agent.truncation is "terminal") — and shows the agent each next observation.
  // After each transition `counted()`; when env i's episode ended, `ended(return, length)`, then
  // env i's noise restarts (and parameter noise draws a new perturbation).
  void store(ReplayBuffer& replay, const std::function<void()>& counted,
             const std::function<void(double, int64_t)>& ended);

  // Distributed actors: every observation shown to the agent is also added to `tap` (the
  // statistics the actor sends the learner). Set before start().
  void set_observation_tap(ObsNormalizer* tap) { tap_ = tap; }

  Rng& action_rng() { return action_rng_; }
  // Each env's state (episode so far, physics and RNG, noise, n-step window), for checkpoints.
  void save(ArchiveWriter& out) const;
  void load(ArchiveReader& in, const std::string& path);

 private:
  struct Slot {
    std::unique_ptr<ActionNoise> noise;
    std::unique_ptr<NStepAccumulator> nstep;
    std::vector<float> action;  // in [-1, 1]
    std::vector<double> obs;    // observation the action was chosen on
    int64_t episode_length = 0;
    double episode_return = 0;
  };
  void observe(const std::vector<double>& obs) {
    agent_->observe(obs);
    if (tap_) tap_->update(obs);
  }
  const Config& cfg_;
  bool truncation_terminal_;  // agent.truncation == "terminal"
  Agent* agent_ = nullptr;
  ObsNormalizer* tap_ = nullptr;
  std::unique_ptr<EnvPool> pool_;
  std::vector<Slot> slots_;
  std::vector<std::vector<double>> env_actions_;
  std::vector<StepResult> results_;
  std::vector<const std::vector<double>*> obs_rows_;
  std::vector<float> actions_flat_;
  Rng action_rng_;
};

}  // namespace ddpg
