// Distributed training over MPI (trainer.distributed = actors; docs/distributed.md): rank 0 is
// the learner, every other rank an actor. Private to the trainer and the command line.
//
// The protocol. The learner starts every actor with the run's resolved config, a seed salt, its
// step, update count and actor parameters (kStart). An actor steps its envs for trainer.actor_batch
// env steps, sends the batch (kBatch: the transitions, n-step where configured, the episodes that
// ended and the statistics of the observations it saw) and acts the next batch while the learner
// takes this one in; before sending that next batch it waits for the learner's answer (kReply:
// carry on, with the learner's step and, every trainer.refresh_every updates, new parameters; or
// stop). So each actor has at most one batch waiting for the learner: the learner inserts a batch,
// makes the updates the inserted env steps owe (gradient_steps per update_every, as one process
// does) and only then answers, which is the samples-per-insert limiter: an actor cannot run ahead
// of the updates by more than the batch it is acting.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ddpg/agent.h"
#include "ddpg/config.h"
#include "ddpg/obs_normalizer.h"
#include "ddpg/trainer.h"

namespace ddpg {

// An episode that ended in a batch, `at` env steps into it (counting the step that ended it).
struct EpisodeEnd {
  int64_t at = 0;
  double ret = 0;
  int64_t length = 0;
};

// One actor message, as the learner receives it.
struct ActorBatch {
  int actor = 0;          // MPI rank
  int64_t env_steps = 0;  // env steps the actor took for it
  int64_t version = 0;    // the learner's update count when it sent the parameters acted with
  // the actor's time so far: acting (stepping, choosing, storing) and waiting for answers
  double acting_s = 0, waiting_s = 0;
  std::vector<EpisodeEnd> episodes;
  // Transitions, one row each: obs, action, reward, next_obs, terminated, discount.
  int64_t rows = 0;
  std::vector<float> data;
  ObsNormalizer seen;  // the observations the actor showed its agent (agent.obs_norm)
  bool has_seen = false;
};

// The learner's side of the actors.
class ActorLinks {
 public:
  virtual ~ActorLinks() = default;
  virtual int actors() const = 0;
  // Sends every actor the run's config, a seed salt, the step and the agent's parameters.
  virtual void start(const Config& cfg, uint64_t salt, int64_t step, const Agent& agent) = 0;
  // The next actor message; waits (sleeping, not spinning) until one comes. Returns false without
  // one when `stop` (if given) becomes non-zero while waiting.
  virtual bool receive(ActorBatch& b, const std::atomic<int>* stop) = 0;
  // Answers an actor's message: stop, or carry on with the learner's step and, when `refresh`,
  // the agent's actor parameters (and observation statistics).
  virtual void reply(int actor, bool stop, int64_t step, const Agent* refresh) = 0;
  // Lets messages on their way move on (call it often during long work: between updates).
  virtual void progress() {}
  virtual uint64_t bytes_in() const = 0;   // received so far
  virtual uint64_t bytes_out() const = 0;  // sent so far
  virtual uint64_t refreshes() const = 0;  // parameter sets sent (kStart and refreshes)
  // The host of each rank (0: the learner), known after start().
  virtual const std::vector<std::string>& hosts() const = 0;
};

// Runs `ddpg train` as one rank of an MPI job and returns its exit status. Rank 0 runs `learner`,
// with the links to the other ranks (nullptr when the job has one rank). The others are actors
// until rank 0 stops them; when rank 0 fails before starting them they exit with status 1.
int train_mpi(const std::function<int(ActorLinks*)>& learner);

// Actor seeds: each actor's env, noise and action streams, from the run's seed, the actor's rank
// and a salt the learner chooses (its step at start, so a resumed run's actors play new episodes).
uint64_t actor_seed(uint64_t run_seed, int rank, uint64_t salt, uint64_t stream);

}  // namespace ddpg
