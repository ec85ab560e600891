// Fuzz target: a run's checkpoint as `ddpg train --resume` loads it: a small Hopper-v4 run with
// two envs is made once; each input becomes its checkpoints/last.ckpt, and the run is resumed to
// step 1, which every checkpoint past step 0 refuses after loading it whole (a checkpoint at step 0
// trains one step). The folder is put back before each input. Any input may be refused, only with
// ddpg::Error.
#include <filesystem>

#include "ddpg/config.h"
#include "ddpg/trainer.h"
#include "fuzz/fuzz_util.h"

namespace {

struct Run {
  std::string dir;
  std::string config, progress, eval;
};

const Run& run() {
  static const Run r = [] {
    using namespace ddpg;
    ConfigSources src;
    src.env_id = "Hopper-v4";
    src.total_steps = 120;
    src.sets = {"agent.hidden=16,16",           "agent.batch_size=16",  "agent.buffer_size=500",
                "trainer.learning_starts=50",   "trainer.eval_every=0", "trainer.eval_episodes=1",
                "trainer.checkpoint_every=100", "trainer.threads=1",    "trainer.num_envs=2"};
    Run out;
    out.dir = fuzz::scratch_dir() + "/run";
    TrainOptions quiet;
    quiet.quiet = true;
    quiet.show_progress = false;
    train_new(resolve_config(src), out.dir, quiet);
    out.config = read_file(out.dir + "/config.yaml");
    out.progress = read_file(out.dir + "/progress.csv");
    out.eval = read_file(out.dir + "/eval.csv");
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddpg;
  const Run& r = run();
  write_file_atomic(r.dir + "/config.yaml", r.config);
  write_file_atomic(r.dir + "/progress.csv", r.progress);
  write_file_atomic(r.dir + "/eval.csv", r.eval);
  std::filesystem::create_directories(r.dir + "/checkpoints");
  write_file_atomic(r.dir + "/checkpoints/last.ckpt",
                    fuzz::archive_from(data, size, "DDPGCKPT", 3));
  TrainOptions quiet;
  quiet.quiet = true;
  quiet.show_progress = false;
  try {
    train_resume(r.dir, 1, quiet);
  } catch (const Error&) {
  }
  return 0;
}
