// Distributed training over MPI: the message formats, the learner's links and the actor loop. See
// distributed.h.
#include "src/distributed.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "ddpg/io.h"
#include "ddpg/replay_buffer.h"
#include "ddpg/rng.h"
#include "ddpg/sweep_mpi.h"
#include "src/collector.h"

namespace ddpg {
namespace {

enum Tag : int { kHello = 10, kStart = 11, kAbort = 12, kBatch = 13, kReply = 14 };

std::string host_name() {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  return std::string(name, static_cast<size_t>(len));
}

// A message body: plain values and float arrays, in this machine's byte order (the ranks of one
// job run the same binary; MPI_BYTE carries it unchanged).
class Packer {
 public:
  template <class T>
  void put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    buf.insert(buf.end(), p, p + sizeof v);
  }
  void floats(const float* p, size_t n) {
    const char* c = reinterpret_cast<const char*>(p);
    buf.insert(buf.end(), c, c + n * sizeof(float));
  }
  void doubles(const double* p, size_t n) {
    const char* c = reinterpret_cast<const char*>(p);
    buf.insert(buf.end(), c, c + n * sizeof(double));
  }
  std::vector<char> buf;
};

class Unpacker {
 public:
  Unpacker(const std::vector<char>& buf, int from)
      : p_(buf.data()), end_(p_ + buf.size()), from_(from) {}
  template <class T>
  T get() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  void floats(float* p, size_t n) { bytes(p, n * sizeof(float)); }
  void doubles(double* p, size_t n) { bytes(p, n * sizeof(double)); }
  void bytes(void* p, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      throw Error("a message from MPI rank " + std::to_string(from_) +
                  " is shorter than its contents say (mixed ddpg builds in one job?)");
    }
    std::memcpy(p, p_, n);
    p_ += n;
  }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  const char* p_;
  const char* end_;
  int from_;
};

// Observation statistics (count, means, sums of squared deviations) of `dim` observations.
void pack_stats(Packer& out, const ObsNormalizer& stats) {
  out.put<double>(stats.count());
  out.doubles(stats.means().data(), stats.dim());
  out.doubles(stats.squared_deviations().data(), stats.dim());
}

void unpack_stats(Unpacker& in, ObsNormalizer& stats) {
  const double count = in.get<double>();
  std::vector<double> mean(stats.dim()), m2(stats.dim());
  in.doubles(mean.data(), mean.size());
  in.doubles(m2.data(), m2.size());
  stats.set(count, mean.data(), m2.data());
}

// The actor's parameters and, with agent.obs_norm, the observation statistics.
void pack_parameters(Packer& out, const Agent& agent) {
  const MlpShape& shape = agent.engine().actor_shape();
  out.put<uint64_t>(shape.size());
  out.floats(agent.actor(), shape.size());
  const ObsNormalizer* norm = agent.obs_normalizer();
  out.put<uint8_t>(norm != nullptr);
  if (norm) pack_stats(out, *norm);
}

void unpack_parameters(Unpacker& in, Agent& agent) {
  const size_t n = agent.engine().actor_shape().size();
  if (in.get<uint64_t>() != n) {
    throw Error("the learner's actor has another size than this rank's (mixed ddpg builds?)");
  }
  in.floats(agent.actor(), n);  // (the non-const actor(): the agent drops its packed copy)
  if (in.get<uint8_t>() != 0) {
    ObsNormalizer stats(agent.obs_dim(), agent.config().obs_norm_clip);
    unpack_stats(in, stats);
    agent.set_observation_stats(stats);
  }
}

// Sleeps between polls, doubling the pause from `first` up to `most`: Open MPI's blocking calls
// spin, which would take a core from the ranks sharing it.
class Backoff {
 public:
  Backoff(std::chrono::microseconds first, std::chrono::microseconds most)
      : pause_(first), most_(most) {}
  void sleep() {
    std::this_thread::sleep_for(pause_);
    pause_ = std::min(pause_ * 2, most_);
  }

 private:
  std::chrono::microseconds pause_, most_;
};

// Waits for a message with `tag` (any tag when MPI_ANY_TAG) from `source`, sleeping between
// probes. Returns false when `stop` becomes non-zero first.
bool wait_for(int source, int tag, MPI_Status& st, const std::atomic<int>* stop) {
  int flag = 0;
  Backoff backoff(std::chrono::microseconds(5), std::chrono::microseconds(500));
  for (;;) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &st);
    if (flag) return true;
    if (stop && *stop != 0) return false;
    backoff.sleep();
  }
}

// Completes `req`, testing it with sleeps in between (and calling `between` at each test); fills
// `status` when given. Large messages move only while both sides call MPI, so neither side may
// block in a call that spins or waits for the other's progress.
void complete(MPI_Request& req, MPI_Status* status = nullptr,
              const std::function<void()>& between = nullptr) {
  int done = 0;
  Backoff backoff(std::chrono::microseconds(2), std::chrono::microseconds(200));
  for (;;) {
    MPI_Test(&req, &done, status ? status : MPI_STATUS_IGNORE);
    if (done) return;
    if (between) between();
    backoff.sleep();
  }
}

// Receives the message `st` announced (by a probe).
std::vector<char> receive_bytes(const MPI_Status& st,
                                const std::function<void()>& between = nullptr) {
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  std::vector<char> buf(static_cast<size_t>(count));
  MPI_Request req;
  MPI_Irecv(buf.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &req);
  complete(req, nullptr, between);
  return buf;
}

class MpiActorLinks : public ActorLinks {
 public:
  explicit MpiActorLinks(int size)
      : size_(size),
        out_(static_cast<size_t>(size)),
        out_req_(static_cast<size_t>(size), MPI_REQUEST_NULL) {}

  int actors() const override { return size_ - 1; }

  void start(const Config& cfg, uint64_t salt, int64_t step, const Agent& agent) override {
    hosts_.assign(1, host_name());
    for (int r = 1; r < size_; ++r) {  // each actor's first message: its host
      MPI_Status st;
      wait_for(r, kHello, st, nullptr);
      const std::vector<char> name = receive_bytes(st);
      hosts_.emplace_back(name.begin(), name.end());
    }
    Packer p;
    const std::string yaml = to_yaml(cfg);
    p.put<uint64_t>(yaml.size());
    p.buf.insert(p.buf.end(), yaml.begin(), yaml.end());
    p.put<uint64_t>(salt);
    p.put<int64_t>(step);
    p.put<int64_t>(agent.updates());
    pack_parameters(p, agent);
    for (int r = 1; r < size_; ++r) send(r, kStart, p.buf);
    refreshes_ += static_cast<uint64_t>(size_ - 1);
    started_ = true;
  }

  bool receive(ActorBatch& b, const std::atomic<int>* stop) override {
    MPI_Status st;
    if (!wait_for(MPI_ANY_SOURCE, kBatch, st, stop)) return false;
    const std::vector<char> buf = receive_bytes(st, [this] { progress(); });
    bytes_in_ += buf.size();
    Unpacker in(buf, st.MPI_SOURCE);
    b.actor = st.MPI_SOURCE;
    b.env_steps = in.get<int64_t>();
    b.version = in.get<int64_t>();
    b.acting_s = in.get<double>();
    b.waiting_s = in.get<double>();
    b.episodes.resize(in.get<uint64_t>());
    for (EpisodeEnd& e : b.episodes) {
      e.at = in.get<int64_t>();
      e.ret = in.get<double>();
      e.length = in.get<int64_t>();
    }
    b.rows = in.get<int64_t>();
    const uint64_t width = in.get<uint64_t>();
    if (b.rows < 0 || width * static_cast<uint64_t>(b.rows) * sizeof(float) > in.left()) {
      throw Error("a batch from MPI rank " + std::to_string(b.actor) + " is malformed");
    }
    b.data.resize(width * static_cast<uint64_t>(b.rows));
    in.floats(b.data.data(), b.data.size());
    b.has_seen = in.get<uint8_t>() != 0;
    if (b.has_seen) {
      const int dim = static_cast<int>(in.get<uint64_t>());
      if (b.seen.dim() != dim) b.seen = ObsNormalizer(dim, 5.0);
      unpack_stats(in, b.seen);
    }
    return true;
  }

  void reply(int actor, bool stop, int64_t step, const Agent* refresh) override {
    // (the actor has the previous answer, or it would not have sent this batch: that send is done
    // or about to be)
    MPI_Request& req = out_req_[static_cast<size_t>(actor)];
    complete(req, nullptr, [this] { progress(); });
    Packer& p = out_[static_cast<size_t>(actor)];
    p.buf.clear();
    p.put<uint8_t>(stop);
    p.put<int64_t>(step);
    p.put<uint8_t>(refresh != nullptr);
    if (refresh) {
      p.put<int64_t>(refresh->updates());
      pack_parameters(p, *refresh);
      ++refreshes_;
    }
    MPI_Isend(p.buf.data(), static_cast<int>(p.buf.size()), MPI_BYTE, actor, kReply, MPI_COMM_WORLD,
              &req);
    bytes_out_ += p.buf.size();
    if (stop) ++stopped_;
  }

  // Moves the answers still on their way (between updates, while waiting).
  void progress() override {
    for (MPI_Request& r : out_req_) {
      if (r == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    }
  }

  // Completes every answer (before MPI_Finalize).
  void flush() {
    for (MPI_Request& r : out_req_) complete(r);
  }

  uint64_t bytes_in() const override { return bytes_in_; }
  uint64_t bytes_out() const override { return bytes_out_; }
  uint64_t refreshes() const override { return refreshes_; }
  const std::vector<std::string>& hosts() const override { return hosts_; }

  // The learner failed before it started the actors: they exit.
  void abort_unstarted() {
    if (started_) return;
    for (int r = 1; r < size_; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kAbort, MPI_COMM_WORLD);
    started_ = true;
    stopped_ = size_ - 1;
  }
  // Actors that were started and not yet told to stop.
  bool actors_running() const { return started_ && stopped_ < size_ - 1; }

 private:
  void send(int rank, int tag, const std::vector<char>& buf) {
    MPI_Send(buf.data(), static_cast<int>(buf.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD);
    bytes_out_ += buf.size();
  }

  int size_;
  std::vector<Packer> out_;  // each actor's answer being sent
  std::vector<MPI_Request> out_req_;
  std::vector<std::string> hosts_;
  bool started_ = false;
  int stopped_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0, refreshes_ = 0;
};

std::atomic<int> g_actor_signal{0};
void on_actor_signal(int sig) { g_actor_signal = sig; }

// One actor rank: waits for kStart (or kAbort), then acts and sends batches until told to stop.
int actor_loop(int rank) {
  // A Ctrl-C reaches every rank; the learner checkpoints and stops the actors, so an actor only
  // notes the signal and carries on until it is told to stop.
  std::signal(SIGINT, on_actor_signal);
  std::signal(SIGTERM, on_actor_signal);
  std::signal(SIGHUP, on_actor_signal);
  const std::string host = host_name();
  MPI_Send(host.data(), static_cast<int>(host.size()), MPI_BYTE, 0, kHello, MPI_COMM_WORLD);
  MPI_Status st;
  wait_for(0, MPI_ANY_TAG, st, nullptr);
  if (st.MPI_TAG == kAbort) {
    MPI_Recv(nullptr, 0, MPI_BYTE, 0, kAbort, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return 1;  // rank 0 reports why
  }
  const std::vector<char> start = receive_bytes(st);
  Unpacker in(start, 0);
  std::string yaml(in.get<uint64_t>(), '\0');
  in.bytes(yaml.data(), yaml.size());
  Config cfg;
  ConfigErrors errors;
  apply_yaml(cfg, yaml, "the learner's config", errors);
  validate(cfg, errors);
  errors.throw_if_any("the learner's config");
  const uint64_t salt = in.get<uint64_t>();
  int64_t known_step = in.get<int64_t>();
  int64_t version = in.get<int64_t>();
  if (cfg.trainer.threads <= 0) cfg.trainer.threads = 1;  // one rank per core

  const uint64_t seed = cfg.trainer.seed;
  Collector collector(cfg, cfg.trainer.threads, actor_seed(seed, rank, salt, 0));
  const EnvSpec& spec = collector.spec();
  Agent agent(cfg.agent, spec.obs_dim, spec.act_dim, actor_seed(seed, rank, salt, 1));
  unpack_parameters(in, agent);
  ObsNormalizer seen(spec.obs_dim, cfg.agent.obs_norm_clip);
  collector.set_observation_tap(cfg.agent.obs_norm ? &seen : nullptr);
  collector.start(agent, actor_seed(seed, rank, salt, 2), actor_seed(seed, rank, salt, 3));

  const int n = collector.size();
  const int64_t vector_steps = (cfg.trainer.actor_batch + n - 1) / n;
  // (n-step accumulators flush up to n_step transitions per env at an episode end)
  ReplayBuffer outbox(vector_steps * n + static_cast<int64_t>(cfg.agent.n_step) * n, spec.obs_dim,
                      spec.act_dim);
  const uint64_t width = 2 * spec.obs_dim + spec.act_dim + 3;
  std::vector<EpisodeEnd> episodes;
  Packer batch;
  MPI_Request request = MPI_REQUEST_NULL;  // the batch in flight
  // Its answer, received into a buffer posted with it: a carry-on with parameters is the largest.
  const size_t params = agent.engine().actor_shape().size();
  std::vector<char> reply(64 + params * sizeof(float) + (2 * spec.obs_dim + 1) * sizeof(double));
  MPI_Request answer = MPI_REQUEST_NULL;
  MPI_Status answer_status;
  bool answered = false;
  // Moves the batch in flight and its answer on while this rank acts: large messages go in pieces
  // that need both sides' MPI calls.
  auto progress = [&] {
    int done = 0;
    if (request != MPI_REQUEST_NULL) MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (answer != MPI_REQUEST_NULL) {
      MPI_Test(&answer, &done, &answer_status);
      answered = answered || done;
    }
  };
  int64_t local = 0;  // env steps since known_step (the learner's step at its last answer)
  double acting_s = 0, waiting_s = 0;  // this rank's time so far, sent with each batch
  using Clock = std::chrono::steady_clock;
  for (;;) {
    const auto t0 = Clock::now();
    outbox.clear();
    episodes.clear();
    int64_t steps = 0;
    const int64_t acted_version = version;
    for (int64_t k = 0; k < vector_steps; ++k) {
      collector.choose_actions(known_step + local);
      collector.step(nullptr);
      collector.store(
          outbox,
          [&] {
            ++steps;
            ++local;
          },
          [&](double ret, int64_t len) {
            episodes.push_back({steps, ret, len});
          });
      progress();
    }
    const auto t1 = Clock::now();
    acting_s += std::chrono::duration<double>(t1 - t0).count();
    if (request != MPI_REQUEST_NULL || answered || answer != MPI_REQUEST_NULL) {
      // the answer to the batch in flight
      if (!answered) {
        complete(answer, &answer_status, [&] {
          int done = 0;
          if (request != MPI_REQUEST_NULL) MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        });
      }
      complete(request);
      answered = false;
      int count = 0;
      MPI_Get_count(&answer_status, MPI_BYTE, &count);
      reply.resize(static_cast<size_t>(count));
      waiting_s += std::chrono::duration<double>(Clock::now() - t1).count();
      Unpacker r(reply, 0);
      if (r.get<uint8_t>() != 0) break;  // stop: the batch just acted is not needed
      known_step = r.get<int64_t>();
      local = 0;
      if (r.get<uint8_t>() != 0) {
        version = r.get<int64_t>();
        unpack_parameters(r, agent);
      }
      reply.resize(reply.capacity());
    }
    batch.buf.clear();
    batch.put<int64_t>(steps);
    batch.put<int64_t>(acted_version);
    batch.put<double>(acting_s);
    batch.put<double>(waiting_s);
    batch.put<uint64_t>(episodes.size());
    for (const EpisodeEnd& e : episodes) {
      batch.put<int64_t>(e.at);
      batch.put<double>(e.ret);
      batch.put<int64_t>(e.length);
    }
    batch.put<int64_t>(outbox.size());
    batch.put<uint64_t>(width);
    for (int64_t i = 0; i < outbox.size(); ++i) {
      batch.floats(outbox.obs_at(i), spec.obs_dim);
      batch.floats(outbox.action_at(i), spec.act_dim);
      const float reward = outbox.reward_at(i);
      batch.floats(&reward, 1);
      batch.floats(outbox.next_obs_at(i), spec.obs_dim);
      const float term = outbox.terminated_at(i) ? 1.0f : 0.0f;
      const float discount = outbox.discount_at(i);
      batch.floats(&term, 1);
      batch.floats(&discount, 1);
    }
    batch.put<uint8_t>(cfg.agent.obs_norm);
    if (cfg.agent.obs_norm) {
      batch.put<uint64_t>(spec.obs_dim);
      pack_stats(batch, seen);
      seen.clear();
    }
    MPI_Isend(batch.buf.data(), static_cast<int>(batch.buf.size()), MPI_BYTE, 0, kBatch,
              MPI_COMM_WORLD, &request);
    MPI_Irecv(reply.data(), static_cast<int>(reply.size()), MPI_BYTE, 0, kReply, MPI_COMM_WORLD,
              &answer);
  }
  return 0;
}

}  // namespace

uint64_t actor_seed(uint64_t run_seed, int rank, uint64_t salt, uint64_t stream) {
  return Rng::derive(Rng::derive(Rng::derive(run_seed, 1000 + static_cast<uint64_t>(rank)), salt),
                     stream);
}

int train_mpi(const std::function<int(ActorLinks*)>& learner) {
  const MpiSession mpi(/*funneled=*/true);  // (the learner's updates and env pools use threads)
  const int rank = mpi.rank(), size = mpi.size();
  if (rank != 0) {
    try {
      return actor_loop(rank);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error (actor rank %d): %s\n", rank, e.what());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);  // the learner would wait for this rank's batches forever
      return 1;
    }
  }
  if (size == 1) return learner(nullptr);
  MpiActorLinks links(size);
  try {
    const int status = learner(&links);
    links.abort_unstarted();  // (a learner that returns has started and stopped them)
    links.flush();
    return status;
  } catch (const Interrupted&) {
    links.abort_unstarted();
    links.flush();
    throw;  // (the learner stopped its actors before it reported the interruption)
  } catch (const std::exception& e) {
    if (!links.actors_running()) {
      links.abort_unstarted();
      throw;
    }
    std::fprintf(stderr, "error: %s\n", e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);  // the actors are mid-run
    return 1;
  }
}

}  // namespace ddpg
