// `ddpg render` and render.h: the PNG and GIF encoders against decoders written here (zlib's
// inflate for PNG, an LZW decoder for GIF), the 2-D rasteriser, one env of each family drawn for a
// few steps (frame count, size, frames that change, the robot's colour in the picture), the 3-D
// floor that follows the camera without jumping, and the command line: formats, strips, errors
// that name the fix, MP4 when ffmpeg is installed, and the report's pictures.
#include "ddpg/render.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ddpg/io.h"
#include "ddpg/rng.h"
#include "ddpg/scene.h"
#include "tests/test_util.h"

namespace ddpg {
namespace {

// ---------------------------------------------------------------------------------------------
// helpers

// A scratch folder, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ddpg_render_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  operator std::string() const { return path_; }  // NOLINT: used as a path string

 private:
  std::string path_;
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// A PNG (8-bit RGB, not interlaced) decoded with zlib: checks the signature, every chunk's CRC
// and the header, then undoes the row filters.
Image decode_png(const std::string& file) {
  EXPECT_EQ(file.substr(0, 8), std::string("\x89PNG\r\n\x1a\n"));
  size_t at = 8;
  Image img;
  std::string idat;
  bool ended = false;
  while (at + 12 <= file.size() && !ended) {
    const uint32_t len = be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    const std::string data = file.substr(at + 8, len);
    const uint32_t crc = be32(file, at + 8 + len);
    const std::string body = file.substr(at + 4, 4 + len);
    EXPECT_EQ(crc, ::crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())) << type;
    if (type == "IHDR") {
      img = Image(static_cast<int>(be32(data, 0)), static_cast<int>(be32(data, 4)));
      EXPECT_EQ(data.substr(8), std::string("\x08\x02\x00\x00\x00", 5));
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(at, file.size());
  const size_t row = static_cast<size_t>(img.width) * 3;
  uLongf raw_size = (row + 1) * img.height;
  std::vector<uint8_t> raw(raw_size);
  EXPECT_EQ(
      uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
      Z_OK);
  EXPECT_EQ(raw_size, (row + 1) * img.height);
  for (int y = 0; y < img.height; ++y) {
    const int type = raw[y * (row + 1)];
    const uint8_t* f = &raw[y * (row + 1) + 1];
    uint8_t* cur = img.pixel(0, y);
    for (size_t i = 0; i < row; ++i) {
      const int a = i >= 3 ? cur[i - 3] : 0;
      const int b = y > 0 ? img.pixel(0, y - 1)[i] : 0;
      const int c = (i >= 3 && y > 0) ? img.pixel(0, y - 1)[i - 3] : 0;
      int pred = 0;
      if (type == 1) pred = a;
      if (type == 2) pred = b;
      if (type == 3) pred = (a + b) / 2;
      if (type == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
      }
      EXPECT_LE(type, 4);
      cur[i] = static_cast<uint8_t>(f[i] + pred);
    }
  }
  return img;
}

struct Gif {
  int width = 0, height = 0;
  bool loops = false;
  int palette_size = 0;
  std::vector<Image> frames;  // the whole picture after each frame
  std::vector<int> delays;
};

// GIF's LZW, as a decoder reads it: codes LSB first, widening when the table reaches 2^bits.
std::vector<uint8_t> lzw_decode(const std::string& data, int min_bits) {
  const int clear = 1 << min_bits, end = clear + 1;
  std::vector<std::vector<uint8_t>> table;
  int bits = min_bits + 1, prev = -1;
  auto reset = [&] {
    table.assign(clear + 2, {});
    for (int i = 0; i < clear; ++i) table[i] = {static_cast<uint8_t>(i)};
    bits = min_bits + 1;
    prev = -1;
  };
  reset();
  std::vector<uint8_t> out;
  uint64_t acc = 0;
  int have = 0;
  size_t at = 0;
  while (true) {
    while (have < bits && at < data.size()) {
      acc |= uint64_t(uint8_t(data[at++])) << have;
      have += 8;
    }
    if (have < bits) {
      ADD_FAILURE() << "LZW data ended without an end code";
      break;
    }
    const int code = static_cast<int>(acc & ((1u << bits) - 1));
    acc >>= bits;
    have -= bits;
    if (code == clear) {
      reset();
      continue;
    }
    if (code == end) break;
    std::vector<uint8_t> entry;
    if (prev < 0) {
      EXPECT_LT(code, clear);
      entry = table[code];
    } else {
      if (code < static_cast<int>(table.size())) {
        entry = table[code];
      } else {
        EXPECT_EQ(code, static_cast<int>(table.size())) << "a code past the table";
        entry = table[prev];
        entry.push_back(table[prev][0]);
      }
      if (table.size() < 4096) {
        std::vector<uint8_t> added = table[prev];
        added.push_back(entry[0]);
        table.push_back(added);
      }
    }
    out.insert(out.end(), entry.begin(), entry.end());
    prev = code;
    if (static_cast<int>(table.size()) == (1 << bits) && bits < 12) ++bits;
  }
  return out;
}

std::string sub_blocks(const std::string& f, size_t& at) {
  std::string data;
  while (at < f.size() && f[at] != 0) {
    const size_t n = uint8_t(f[at]);
    data += f.substr(at + 1, n);
    at += 1 + n;
  }
  ++at;  // the terminator
  return data;
}

Gif decode_gif(const std::string& f) {
  Gif g;
  EXPECT_EQ(f.substr(0, 6), "GIF89a");
  auto le16 = [&](size_t at) { return int(uint8_t(f[at])) | (int(uint8_t(f[at + 1])) << 8); };
  g.width = le16(6);
  g.height = le16(8);
  const int packed = uint8_t(f[10]);
  EXPECT_TRUE(packed & 0x80) << "a global colour table";
  g.palette_size = 2 << (packed & 7);
  const std::string palette = f.substr(13, 3 * g.palette_size);
  size_t at = 13 + 3 * g.palette_size;
  Image canvas(g.width, g.height);
  int delay = 0;
  while (at < f.size()) {
    const int block = uint8_t(f[at++]);
    if (block == 0x3b) break;
    if (block == 0x21) {
      const int label = uint8_t(f[at++]);
      const std::string data = sub_blocks(f, at);
      if (label == 0xf9) delay = int(uint8_t(data[1])) | (int(uint8_t(data[2])) << 8);
      if (label == 0xff && data.substr(0, 11) == "NETSCAPE2.0") {
        g.loops = data.size() == 14 && data[11] == 1 && data[12] == 0 && data[13] == 0;
      }
      continue;
    }
    EXPECT_EQ(block, 0x2c) << "an image descriptor";
    if (block != 0x2c) break;
    const int x0 = le16(at), y0 = le16(at + 2), w = le16(at + 4), h = le16(at + 6);
    EXPECT_EQ(uint8_t(f[at + 8]), 0) << "no local table, not interlaced";
    at += 9;
    const int min_bits = uint8_t(f[at++]);
    const std::vector<uint8_t> idx = lzw_decode(sub_blocks(f, at), min_bits);
    EXPECT_EQ(idx.size(), static_cast<size_t>(w) * h);
    EXPECT_LE(x0 + w, g.width);
    EXPECT_LE(y0 + h, g.height);
    for (size_t i = 0; i < idx.size() && i < static_cast<size_t>(w) * h; ++i) {
      uint8_t* p = canvas.pixel(x0 + static_cast<int>(i) % w, y0 + static_cast<int>(i) / w);
      for (int k = 0; k < 3; ++k) p[k] = uint8_t(palette[3 * idx[i] + k]);
    }
    g.frames.push_back(canvas);
    g.delays.push_back(delay);
  }
  return g;
}

double mean_abs_diff(const Image& a, const Image& b) {
  EXPECT_EQ(a.rgb.size(), b.rgb.size());
  double s = 0;
  for (size_t i = 0; i < a.rgb.size() && i < b.rgb.size(); ++i) s += std::abs(a.rgb[i] - b.rgb[i]);
  return a.rgb.empty() ? 0 : s / a.rgb.size();
}

// Pixels near an RGB colour (each channel within `tol`).
int count_near(const Image& img, int r, int g, int b, int tol) {
  int n = 0;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    n += std::abs(img.rgb[i] - r) <= tol && std::abs(img.rgb[i + 1] - g) <= tol &&
         std::abs(img.rgb[i + 2] - b) <= tol;
  }
  return n;
}

// Pixels of the 3-D robots' tan (0.8, 0.6, 0.4) under any light: red over green over blue, by
// margins the bluish floor and sky never reach.
int count_tan(const Image& img) {
  int n = 0;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    const int r = img.rgb[i], g = img.rgb[i + 1], b = img.rgb[i + 2];
    n += r > g + 15 && g > b + 15;
  }
  return n;
}

Image test_image(int w, int h, uint64_t seed) {
  Image img(w, h);
  Rng rng(seed);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      // smooth areas (which the filters predict) and noise
      uint8_t* p = img.pixel(x, y);
      p[0] = static_cast<uint8_t>(x * 7 + y);
      p[1] = static_cast<uint8_t>(y * 11);
      p[2] = static_cast<uint8_t>(x < w / 2 ? 200 : rng.uniform() * 255);
    }
  }
  return img;
}

// ---------------------------------------------------------------------------------------------
// encoders (unit)

TEST(RenderEncode, PngDecodesToTheSamePixels) {
  for (const auto& [w, h] : {std::pair{37, 23}, std::pair{1, 1}, std::pair{300, 7}}) {
    const Image img = test_image(w, h, 5);
    const Image back = decode_png(encode_png(img));
    EXPECT_EQ(back.width, w);
    EXPECT_EQ(back.height, h);
    EXPECT_EQ(back.rgb, img.rgb) << w << " x " << h;
  }
}

TEST(RenderEncode, GifDecodesToTheSameFramesWithFewColours) {
  // colours on GIF's 5-bit grid (multiples of 8 below 248), few enough for an exact palette;
  // later frames change a corner only, so they are written cropped
  std::vector<Image> frames;
  Image img(20, 15);
  for (int y = 0; y < 15; ++y) {
    for (int x = 0; x < 20; ++x) {
      uint8_t* p = img.pixel(x, y);
      p[0] = static_cast<uint8_t>(8 * (x % 5));
      p[1] = static_cast<uint8_t>(8 * (y % 4) + 128);
      p[2] = 240;
    }
  }
  frames.push_back(img);
  for (int f = 1; f < 3; ++f) {
    for (int y = 10; y < 13; ++y) {
      for (int x = 2; x < 6 + f; ++x) img.pixel(x, y)[2] = static_cast<uint8_t>(8 * f);
    }
    frames.push_back(img);
  }
  GifWriter gif(20, 15);
  for (size_t f = 0; f < frames.size(); ++f) gif.add(frames[f], 3 + static_cast<int>(f));
  EXPECT_EQ(gif.frames(), 3);
  const Gif g = decode_gif(gif.finish());
  EXPECT_EQ(g.width, 20);
  EXPECT_EQ(g.height, 15);
  EXPECT_TRUE(g.loops);
  EXPECT_EQ(g.palette_size, 256);
  ASSERT_EQ(g.frames.size(), 3u);
  for (size_t f = 0; f < 3; ++f) {
    EXPECT_EQ(g.frames[f].rgb, frames[f].rgb) << "frame " << f;
    EXPECT_EQ(g.delays[f], 3 + static_cast<int>(f));
  }
}

TEST(RenderEncode, GifWithManyColoursStaysClose) {
  // thousands of colours (a median-cut palette of 256) and noise that fills the LZW table many
  // times over (clear codes), in a frame larger than one sub-block
  const Image img = test_image(160, 120, 9);
  GifWriter gif(160, 120);
  gif.add(img, 4);
  gif.add(test_image(160, 120, 10), 4);
  const Gif g = decode_gif(gif.finish());
  ASSERT_EQ(g.frames.size(), 2u);
  EXPECT_LT(mean_abs_diff(g.frames[0], img), 12.0);
  EXPECT_GT(mean_abs_diff(g.frames[0], g.frames[1]), 1.0);
}

TEST(RenderEncode, FrameStripPlacesFramesSideBySide) {
  std::vector<Image> frames;
  for (int k = 0; k < 3; ++k) {
    Image f(4, 2);
    for (auto& v : f.rgb) v = static_cast<uint8_t>(10 * (k + 1));
    frames.push_back(f);
  }
  const Image s = frame_strip(frames, 2);
  EXPECT_EQ(s.width, 3 * 4 + 2 * 2);
  EXPECT_EQ(s.height, 2);
  EXPECT_EQ(s.pixel(0, 0)[0], 10);
  EXPECT_EQ(s.pixel(4, 1)[1], 128);  // the gap
  EXPECT_EQ(s.pixel(6, 0)[2], 20);
  EXPECT_EQ(s.pixel(15, 1)[0], 30);
}

// A 2-D scene of fixed shapes, or 3-D solids (a floor and a ball at x), for the rasteriser and the
// floor tests.
class SketchEnv : public Env {
 public:
  explicit SketchEnv(bool solids) : solids_(solids) {
    spec_.id = "Sketch";
    spec_.obs_dim = 1;
    spec_.act_dim = 1;
    spec_.act_low = {-1};
    spec_.act_high = {1};
    spec_.max_episode_steps = 5;
    obs_.assign(1, 0.0);
  }
  double x = 0;
  void draw(Scene& s) const override {
    if (!solids_) {
      s.kind = Scene::Kind::k2d;
      s.view = {0, 4, 0, 2};  // 2:1, into a 2:1 image
      s.background = {255, 255, 255};
      s.polygon({{0, 0}, {2, 0}, {2, 2}, {0, 2}}, {0, 0, 255});  // the left half
      s.disc({3, 1}, 0.5, {255, 0, 0});
      s.polyline({{2.5, 0.1}, {3.5, 0.1}}, 0.1, {0, 128, 0});
      return;
    }
    s.kind = Scene::Kind::kSolids;
    Solid floor;
    floor.type = Solid::Type::kPlane;
    floor.paint = Solid::Paint::kScenery;
    s.solids.push_back(floor);
    Solid ball;
    ball.size = {0.2, 0, 0};
    ball.pos = {x, 0, 0.2};
    s.solids.push_back(ball);
    s.camera.lookat = {x, 0, 0.2};
    s.camera.distance = 2;
  }

 protected:
  void do_reset() override {}
  StepResult do_step(const std::vector<double>&) override { return {}; }
  void save_physics(ArchiveWriter&) const override {}
  void load_physics(ArchiveReader&) override {}

 private:
  bool solids_;
};

TEST(RenderEncode, CanvasFillsShapesWhereTheyAre) {
  SketchEnv env(false);
  Renderer r(80, 40);
  const Image& img = r.draw(env);
  ASSERT_EQ(img.width, 80);
  auto at = [&](int x, int y) {
    const uint8_t* p = img.pixel(x, y);
    return std::vector<int>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(at(5, 5), (std::vector<int>{0, 0, 255}));    // inside the square
  EXPECT_EQ(at(38, 20), (std::vector<int>{0, 0, 255}));  // its right edge is at x = 40
  EXPECT_EQ(at(41, 5), (std::vector<int>{255, 255, 255}));
  EXPECT_EQ(at(60, 20), (std::vector<int>{255, 0, 0}));     // the disc's centre
  EXPECT_EQ(at(60, 8), (std::vector<int>{255, 255, 255}));  // above the disc (radius 10 px)
  EXPECT_EQ(at(60, 38)[1], 128);                            // the line along the bottom
  // anti-aliased: the disc's rim has blends of red and white
  int blends = 0;
  for (int x = 48; x < 72; ++x) {
    const auto p = at(x, 14);
    blends += p[0] == 255 && p[1] > 0 && p[1] < 255;
  }
  EXPECT_GT(blends, 0);
}

// ---------------------------------------------------------------------------------------------
// one env of each family (smoke)

struct Recorded {
  std::vector<Image> frames;
  double fps = 0;
};

// `steps` steps from reset(seed 3), every second state drawn at 64 × 48: random actions, or (for
// the robots, which random actions may topple within the steps) zero actions.
Recorded record(const std::string& id, int steps, bool zero = false) {
  auto env = make_env(id);
  Renderer r(64, 48);
  Recorded out;
  play(*env, random_policy(env->spec().act_dim, 7, zero)(), 3, 1, steps, [&](int, int t) {
    if (t % 2 == 0) out.frames.push_back(r.draw(*env));
  });
  out.fps = r.scene().fps;
  return out;
}

void expect_moving_frames(const Recorded& rec, size_t count, const std::string& id) {
  ASSERT_EQ(rec.frames.size(), count) << id;
  for (size_t i = 0; i < rec.frames.size(); ++i) {
    EXPECT_EQ(rec.frames[i].width, 64) << id;
    EXPECT_EQ(rec.frames[i].height, 48) << id;
    EXPECT_EQ(rec.frames[i].rgb.size(), 64u * 48 * 3) << id;
    if (i > 0) {
      EXPECT_GT(mean_abs_diff(rec.frames[i - 1], rec.frames[i]), 0.0) << id << " " << i;
    }
  }
}

TEST(RenderEnvs, PendulumRodSwings) {
  const Recorded rec = record("Pendulum-v1", 10);
  expect_moving_frames(rec, 6, "Pendulum-v1");
  EXPECT_DOUBLE_EQ(rec.fps, 20.0);
  for (const Image& f : rec.frames) EXPECT_GT(count_near(f, 204, 77, 77, 30), 10);  // the rod
}

TEST(RenderEnvs, LunarLanderFallsOverTheMoon) {
  const Recorded rec = record("LunarLanderContinuous-v3", 10);
  expect_moving_frames(rec, 6, "LunarLanderContinuous-v3");
  EXPECT_DOUBLE_EQ(rec.fps, 50.0);
  for (const Image& f : rec.frames) {
    EXPECT_GT(count_near(f, 128, 102, 230, 40), 3);    // the lander
    EXPECT_GT(count_near(f, 0, 0, 0, 10), 500);        // the sky
    EXPECT_GT(count_near(f, 255, 255, 255, 10), 200);  // the moon
  }
}

TEST(RenderEnvs, MujocoHopperOnTheFloor) {
  const Recorded rec = record("Hopper-v4", 10, true);
  expect_moving_frames(rec, 6, "Hopper-v4");
  EXPECT_DOUBLE_EQ(rec.fps, 125.0);
  for (const Image& f : rec.frames) EXPECT_GT(count_tan(f), 30);  // the robot
}

TEST(RenderEnvs, BulletHopperOnTheFloor) {
  const Recorded rec = record("HopperBulletEnv-v0", 10, true);
  expect_moving_frames(rec, 6, "HopperBulletEnv-v0");
  EXPECT_NEAR(rec.fps, 1 / 0.0165, 1e-9);
  for (const Image& f : rec.frames) EXPECT_GT(count_tan(f), 30);
}

TEST(RenderEnvs, FloorFollowsTheCameraWithoutJumping) {
  // the floor is moved in whole checker periods as the camera passes x = 1; the picture of a
  // ball 2 mm further on barely changes, while half a metre further on the checker has moved
  SketchEnv env(true);
  Renderer r(64, 48);
  env.x = 0.999;
  const Image before = r.draw(env);
  env.x = 1.001;
  const Image after = r.draw(env);
  env.x = 1.5;
  const Image later = r.draw(env);
  EXPECT_LT(mean_abs_diff(before, after), 1.0);
  EXPECT_GT(mean_abs_diff(before, later), 5.0);
}

// ---------------------------------------------------------------------------------------------
// the command line (smoke)

TEST(RenderCli, GifOfAnEnvUnderRandomActions) {
  const TempDir scratch;
  const std::string dir = scratch;
  const CommandResult r = run_command("render --env Pendulum-v1 --out " + dir +
                                      "/p.gif --max-steps 30 --width 64 --height 48");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("31 frames of 64 x 48 at 20 fps"), std::string::npos) << r.output;
  const Gif g = decode_gif(read_file(dir + "/p.gif"));
  EXPECT_EQ(g.width, 64);
  EXPECT_EQ(g.height, 48);
  EXPECT_TRUE(g.loops);
  ASSERT_EQ(g.frames.size(), 31u);  // reset + 30 steps, at the env's 20 Hz
  int changed = 0;
  for (size_t i = 1; i < g.frames.size(); ++i) {
    changed += mean_abs_diff(g.frames[i - 1], g.frames[i]) > 0;
    EXPECT_EQ(g.delays[i], 5);  // 1/20 s
  }
  EXPECT_GE(changed, 29);  // the rod moves every step (a stop at the top may repeat one frame)
  EXPECT_FALSE(file_exists(dir + "/p.gif.tmp." + std::to_string(getpid())));
}

TEST(RenderCli, PngStripAndLimits) {
  const TempDir scratch;
  const std::string dir = scratch;
  CommandResult r = run_command("render --env LunarLanderContinuous-v3 --out " + dir +
                                "/sub/l.png --frames 4 --width 60 --height 40 --max-steps 40 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
  const Image strip = decode_png(read_file(dir + "/sub/l.png"));
  EXPECT_EQ(strip.width, 4 * 60 + 3 * 4);
  EXPECT_EQ(strip.height, 40);
  // a GIF capped at 10 frames draws fewer states of the same 40 steps
  r = run_command("render --env LunarLanderContinuous-v3 --out " + dir +
                  "/l.gif --max-steps 40 --max-frames 10 --width 60 --height 40");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LE(decode_gif(read_file(dir + "/l.gif")).frames.size(), 10u);
}

TEST(RenderCli, ErrorsNameTheFix) {
  const TempDir scratch;
  const std::string dir = scratch;
  CommandResult r = run_command("render --env Pendulum-v1 --out " + dir + "/p.jpg");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown picture format '.jpg'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(".png"), std::string::npos) << r.output;
  r = run_command("render --out " + dir + "/p.png");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("give a run folder"), std::string::npos) << r.output;
  r = run_command("render --env Hopper-v4 --out " + dir + "/h.png",
                  "DDPG_EGL_LIBRARY=/nonexistent");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("libegl-mesa0"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir + "/h.png"));
  r = run_command("render --env Pendulum-v1 --out " + dir + "/p.mp4", "PATH=/nonexistent");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("apt-get install ffmpeg"), std::string::npos) << r.output;
  // a run folder without a policy
  make_dirs(dir + "/run");
  write_file_atomic(dir + "/run/config.yaml", "env:\n  id: Pendulum-v1\n");
  r = run_command("render " + dir + "/run --out " + dir + "/r.png");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no policy"), std::string::npos) << r.output;
}

TEST(RenderCli, Mp4WhenFfmpegIsInstalled) {
  if (find_ffmpeg().empty()) GTEST_SKIP() << "ffmpeg is not installed (apt-get install ffmpeg)";
  const TempDir scratch;
  const std::string dir = scratch;
  const CommandResult r = run_command("render --env HalfCheetah-v4 --zero-actions --out " + dir +
                                      "/h.mp4 --max-steps 40 --width 96 --height 72");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string mp4 = read_file(dir + "/h.mp4");
  ASSERT_GT(mp4.size(), 100u);
  EXPECT_EQ(mp4.substr(4, 4), "ftyp");
  // ffprobe (from the same package) counts the frames: the reset and 40 steps at 20 Hz
  const std::string probe = dir + "/probe.txt";
  const int rc = std::system(("ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                              "stream=nb_read_frames,width,height -of csv=p=0 " +
                              dir + "/h.mp4 > " + probe)
                                 .c_str());
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(read_file(probe), "96,72,41\n");
}

TEST(RenderCli, ReportShowsTheBestPolicy) {
  const TempDir scratch;
  const std::string dir = scratch;
  const std::string run = dir + "/run";
  CommandResult r = run_command(
      "train --env Pendulum-v1 --preset none --steps 600 --out " + run +
      " -q --set agent.hidden=16,16 --set agent.batch_size=16 --set trainer.learning_starts=100"
      " --set trainer.eval_every=300 --set trainer.eval_episodes=1 --set trainer.threads=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("render " + run + " --out " + dir + "/strip.png --frames 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(decode_png(read_file(dir + "/strip.png")).width, 3 * 240 + 2 * 4);

  r = run_command("report " + run + " --anchors none --out " + dir + "/rep");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string md = read_file(dir + "/rep/report.md");
  EXPECT_NE(md.find("](media/Pendulum-v1.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("media/Pendulum-v1.gif"), std::string::npos) << md;
  EXPECT_EQ(decode_png(read_file(dir + "/rep/media/Pendulum-v1.png")).height, 180);
  const Gif g = decode_gif(read_file(dir + "/rep/media/Pendulum-v1.gif"));
  EXPECT_EQ(g.width, 240);
  EXPECT_LE(g.frames.size(), 150u);

  // no pictures asked for
  r = run_command("report " + run + " --anchors none --no-media --out " + dir + "/bare");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(dir + "/bare/report.md").find("media/"), std::string::npos);
  EXPECT_FALSE(file_exists(dir + "/bare/media/Pendulum-v1.png"));

  // a run whose policies are gone (committed data): the pictures already there stay linked
  for (const char* f : {"/run/policy_final.bin", "/run/policy_best.bin"}) {
    std::remove((dir + f).c_str());
  }
  r = run_command("report " + run + " --anchors none --out " + dir + "/rep");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(read_file(dir + "/rep/report.md").find("](media/Pendulum-v1.png)"), std::string::npos);
}

}  // namespace
}  // namespace ddpg
