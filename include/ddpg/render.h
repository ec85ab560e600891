// render: pictures of a policy acting in an env (`ddpg render`, docs/render.md).
//
// A Renderer turns an env's current state (Env::draw, scene.h) into an RGB image: 2-D scenes with
// a small software rasteriser (anti-aliased by 3×3 supersampling), 3-D scenes with MuJoCo's
// renderer on an offscreen OpenGL context made through EGL (src/render/gl_context.h), all 3-D envs
// on one stage (sky, checker floor, a headlight and a shadow-casting sun). `play` runs the
// episodes; the encoders write what was drawn: a PNG (one image, e.g. a strip of frames side by
// side), an animated GIF (our own GIF89a encoder: one adaptive 256-colour palette by median cut,
// LZW, frames cropped to what changed, looping forever), or an MP4 through Debian's ffmpeg
// (libx264, yuv420p), found on PATH at run time. `render_to_file` does the whole command.
//
// Drawing is never on an env's step path: play() steps the env exactly as evaluation does, and
// the caller draws between steps. Files are written atomically (a temporary beside the target,
// then rename).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ddpg/env.h"
#include "ddpg/scene.h"

namespace ddpg {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // (height, width, 3), rows top to bottom

  Image() = default;
  Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0) {}
  uint8_t* pixel(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* pixel(int x, int y) const {
    return &rgb[(static_cast<size_t>(y) * width + x) * 3];
  }
};

class Canvas;
class View3d;

// Draws envs' states at a fixed image size. 3-D drawing makes its OpenGL context on the first
// 3-D scene; a Renderer is used from one thread.
class Renderer {
 public:
  Renderer(int width, int height);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // The env's current state. Throws Error for an env without a picture, or when a 3-D scene
  // cannot get OpenGL (the message names the packages).
  const Image& draw(const Env& env);
  // What the last draw() drew (its kind and the env's rate).
  const Scene& scene() const { return scene_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  int width_, height_;
  Scene scene_;
  Image image_;
  std::unique_ptr<Canvas> canvas_;
  std::unique_ptr<View3d> view_;
};

// Maps one observation to an action in [-1, 1] (act_dim floats): the same type as evaluate.h's
// Policy.
using ActionFn = std::function<void(const std::vector<double>& obs, float* action)>;
// A fresh policy for each pass over the episodes (a random policy restarts its stream), so that a
// second pass replays the first.
using PolicyFactory = std::function<ActionFn()>;

// What play() did: each episode's steps and undiscounted return.
struct Played {
  std::vector<int> lengths;
  std::vector<double> returns;
};

// Plays `episodes` episodes of `policy` on `env` (the first reset with `seed`, later ones
// continuing the env's RNG, as evaluate() does), each ending at termination, truncation or
// `max_steps` steps (0: no cap), and calls visit(episode, t) after the reset (t = 0) and after
// each step t = 1, 2, ... The env is deterministic for a seed, so a second call replays the first.
Played play(Env& env, const ActionFn& policy, uint64_t seed, int episodes, int max_steps,
            const std::function<void(int episode, int t)>& visit);

// A uniformly random policy in [-1, 1] from its own stream, or (zero) the middle of the bounds.
PolicyFactory random_policy(int act_dim, uint64_t seed, bool zero = false);

// Encoders. PNG: 8-bit RGB, zlib-compressed, each row with PNG's best-guess filter.
std::string encode_png(const Image& image);
// Frames side by side, separated by `gap` columns of grey (frames of one size).
Image frame_strip(const std::vector<Image>& frames, int gap);

// An animated GIF built frame by frame; frames keep 15-bit colour until finish() chooses the
// palette, so memory is 2 bytes per pixel per frame.
class GifWriter {
 public:
  GifWriter(int width, int height);
  // Adds a frame shown for `delay_cs` hundredths of a second.
  void add(const Image& frame, int delay_cs);
  int frames() const { return static_cast<int>(delays_.size()); }
  // The whole file (GIF89a, looping forever).
  std::string finish();

 private:
  int width_, height_;
  std::vector<std::vector<uint16_t>> frames_;  // 5-5-5 colour per pixel
  std::vector<int> delays_;
  std::vector<uint32_t> histogram_;            // pixels per 15-bit colour, over all frames
  std::vector<std::array<uint64_t, 3>> sums_;  // the sum of their 8-bit colours
};

// ffmpeg's path on PATH, or "" when it is not installed.
std::string find_ffmpeg();
// ffmpeg's path; throws Error naming the package (and the other formats) when it is not installed.
std::string require_ffmpeg(const std::string& out);

// An MP4 (H.264, yuv420p) made by piping raw frames into ffmpeg, written to a temporary beside
// `path` and renamed onto it by finish(). Width and height must be even (yuv420p).
class Mp4Writer {
 public:
  Mp4Writer(const std::string& path, int width, int height, double fps);
  ~Mp4Writer();  // without finish(): stops ffmpeg and removes the temporary
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;
  void add(const Image& frame);
  void finish();

 private:
  void stop();
  std::string path_, tmp_;
  int width_, height_;
  int pid_ = -1, fd_ = -1;
};

struct RenderOptions {
  int width = 0, height = 0;  // 0: 480 × 360 for animations, 240 × 180 per strip frame
  int episodes = 1;           // animations: episodes one after another (strips: the first)
  uint64_t seed = 0;          // the first reset's seed
  double fps = 0;             // animations: frames per second (0: the env's rate, at most 30)
  int frames = 6;             // strips: frames evenly spaced over the first episode
  int max_steps = 0;          // steps per episode (0: the env's time limit)
  int max_frames = 0;         // animations: at most this many frames, by lowering the rate
  bool quiet = false;         // no progress line
};

struct RenderResult {
  int frames = 0;             // frames written
  int width = 0, height = 0;  // of one frame
  double fps = 0;             // animations: the rate written
  Played played;              // the episodes drawn
};

// Plays `policy` on `env` and writes `out`: .png (a strip of frames of the first episode), .gif
// or .mp4 (every drawn state of every episode). Throws Error for an unknown extension (naming the
// three), .mp4 without ffmpeg (naming the package), or no OpenGL for a 3-D env.
RenderResult render_to_file(Env& env, const PolicyFactory& policy, const std::string& out,
                            const RenderOptions& opts);

}  // namespace ddpg
