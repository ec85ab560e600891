// Renderer, play and render_to_file: see render.h.
#include "ddpg/render.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>

#include "ddpg/io.h"
#include "ddpg/rng.h"
#include "src/render/canvas.h"
#include "src/render/view3d.h"

namespace ddpg {
namespace {

constexpr int kMaxSide = 4096;
constexpr int kUncappedSteps = 1000;  // an env without a time limit, and no --max-steps
constexpr double kDefaultFpsCap = 30;
constexpr double kGifFpsCap = 50;  // GIF delays are in 1/100 s, and viewers slow those below 2

std::string extension_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Frames drawn from episodes of these lengths when every `every`-th state is (t = 0, every, ...).
int64_t frames_for(const std::vector<int>& lengths, int every) {
  int64_t n = 0;
  for (int t : lengths) n += t / every + 1;
  return n;
}

}  // namespace

Renderer::Renderer(int width, int height) : width_(width), height_(height) {
  if (width < 8 || height < 8 || width > kMaxSide || height > kMaxSide) {
    throw Error("a picture's width and height must be from 8 to " + std::to_string(kMaxSide) +
                " pixels, got " + std::to_string(width) + " x " + std::to_string(height));
  }
}

Renderer::~Renderer() = default;

const Image& Renderer::draw(const Env& env) {
  scene_.clear();
  env.draw(scene_);
  switch (scene_.kind) {
    case Scene::Kind::kNone:
      throw Error(env.spec().id +
                  " has no picture: `ddpg render` draws the classic-control, Box2D, MuJoCo and "
                  "Bullet envs (see `ddpg envs`)");
    case Scene::Kind::k2d:
      if (!canvas_) canvas_ = std::make_unique<Canvas>(width_, height_);
      canvas_->draw(scene_, image_);
      break;
    case Scene::Kind::kMujoco:
    case Scene::Kind::kSolids:
      if (!view_) view_ = std::make_unique<View3d>(width_, height_);
      view_->draw(scene_, image_);
      break;
  }
  return image_;
}

Played play(Env& env, const ActionFn& policy, uint64_t seed, int episodes, int max_steps,
            const std::function<void(int episode, int t)>& visit) {
  const EnvSpec& spec = env.spec();
  if (max_steps <= 0 && spec.max_episode_steps <= 0) max_steps = kUncappedSteps;
  std::vector<float> action(spec.act_dim);
  std::vector<double> env_action(spec.act_dim);
  Played out;
  for (int e = 0; e < episodes; ++e) {
    if (e == 0) {
      env.reset(seed);
    } else {
      env.reset();
    }
    visit(e, 0);
    double ret = 0;
    int t = 0;
    while (true) {
      policy(env.obs(), action.data());
      rescale_action(action.data(), spec, env_action);
      const StepResult r = env.step(env_action);
      ret += r.reward;
      visit(e, ++t);
      if (r.terminated || r.truncated || (max_steps > 0 && t >= max_steps)) break;
    }
    out.lengths.push_back(t);
    out.returns.push_back(ret);
  }
  return out;
}

PolicyFactory random_policy(int act_dim, uint64_t seed, bool zero) {
  return [=]() -> ActionFn {
    auto rng = std::make_shared<Rng>(seed);
    return [rng, act_dim, zero](const std::vector<double>&, float* a) {
      for (int i = 0; i < act_dim; ++i)
        a[i] = zero ? 0.0f : static_cast<float>(rng->uniform(-1, 1));
    };
  };
}

RenderResult render_to_file(Env& env, const PolicyFactory& policy, const std::string& out,
                            const RenderOptions& opts) {
  const std::string ext = extension_of(out);
  if (ext != "png" && ext != "gif" && ext != "mp4") {
    throw Error("'" + out + "': unknown picture format" + (ext.empty() ? "" : " '." + ext + "'") +
                "; name the file .png (a strip of frames), .gif or .mp4 (needs ffmpeg)");
  }
  if (ext == "mp4") require_ffmpeg(out);  // before playing anything
  if (opts.episodes < 1) throw Error("--episodes must be at least 1");
  const size_t slash = out.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_dirs(out.substr(0, slash));

  RenderResult result;
  // a first pass without drawing: the episodes' lengths, to space the frames
  const Played counted = play(env, policy(), opts.seed, ext == "png" ? 1 : opts.episodes,
                              opts.max_steps, [](int, int) {});

  if (ext == "png") {
    // a strip: `frames` states evenly spaced over the first episode, t = 0 to its end
    const int w = opts.width > 0 ? opts.width : 240, h = opts.height > 0 ? opts.height : 180;
    Renderer renderer(w, h);
    const int last = counted.lengths[0];
    const int k = std::max(1, std::min(opts.frames, last + 1));
    std::vector<int> at;
    for (int i = 0; i < k; ++i) {
      at.push_back(k == 1 ? 0
                          : static_cast<int>(std::lround(static_cast<double>(i) * last / (k - 1))));
    }
    std::vector<Image> frames;
    size_t next = 0;
    result.played = play(env, policy(), opts.seed, 1, opts.max_steps, [&](int, int t) {
      while (next < at.size() && at[next] == t) {
        frames.push_back(renderer.draw(env));
        ++next;
      }
    });
    if (frames.size() != at.size()) {
      throw Error("the second pass over " + env.spec().id +
                  " did not replay the first (the env is not deterministic for a seed)");
    }
    write_file_atomic(out, encode_png(frame_strip(frames, 4)));
    result.frames = static_cast<int>(frames.size());
    result.width = w;
    result.height = h;
    return result;
  }

  // an animation: every `every`-th state, for a rate of at most `fps` frames per second
  int w = opts.width > 0 ? opts.width : 480, h = opts.height > 0 ? opts.height : 360;
  if (ext == "mp4") {
    w -= w % 2;  // yuv420p
    h -= h % 2;
  }
  Renderer renderer(w, h);
  Scene probe;
  env.draw(probe);
  if (probe.kind == Scene::Kind::kNone) renderer.draw(env);  // throws, naming the env
  const double rate = probe.fps;
  double target = opts.fps > 0 ? opts.fps : std::min(rate, kDefaultFpsCap);
  if (ext == "gif") target = std::min(target, kGifFpsCap);
  int every = std::max(1, static_cast<int>(std::ceil(rate / target - 1e-9)));
  if (opts.max_frames > 0) {
    while (frames_for(counted.lengths, every) > opts.max_frames) ++every;
  }
  const double fps = rate / every;
  std::unique_ptr<GifWriter> gif;
  std::unique_ptr<Mp4Writer> mp4;
  if (ext == "gif") {
    gif = std::make_unique<GifWriter>(w, h);
  } else {
    mp4 = std::make_unique<Mp4Writer>(out, w, h, fps);
  }
  int64_t drawn = 0;
  result.played = play(env, policy(), opts.seed, opts.episodes, opts.max_steps, [&](int, int t) {
    if (t % every != 0) return;
    const Image& frame = renderer.draw(env);
    if (gif) {
      // delays in 1/100 s, rounded so that they add up to the frames' true times
      const int delay = static_cast<int>(std::lround(100.0 * (drawn + 1) / fps) -
                                         std::lround(100.0 * drawn / fps));
      gif->add(frame, delay);
    } else {
      mp4->add(frame);
    }
    ++drawn;
  });
  if (gif) {
    write_file_atomic(out, gif->finish());
  } else {
    mp4->finish();
  }
  result.frames = static_cast<int>(drawn);
  result.width = w;
  result.height = h;
  result.fps = fps;
  return result;
}

}  // namespace ddpg
