// Exploration noise: Gaussian moments, OU moments against the closed form of the discretised
// process, OU reset, seeding and state save/restore.
#include "ddpg/noise.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ddpg {
namespace {

TEST(GaussianNoise, MomentsPerDimension) {
  GaussianNoise noise(2, 0.3, 1);
  const int n = 200000;
  double s[2] = {0, 0}, sq[2] = {0, 0};
  for (int i = 0; i < n; ++i) {
    float a[2] = {0, 0};
    noise.add_to(a);
    for (int d = 0; d < 2; ++d) {
      s[d] += a[d];
      sq[d] += a[d] * a[d];
    }
  }
  for (int d = 0; d < 2; ++d) {
    EXPECT_NEAR(s[d] / n, 0.0, 0.003);
    EXPECT_NEAR(std::sqrt(sq[d] / n), 0.3, 0.003);
  }
}

TEST(OrnsteinUhlenbeckNoise, StationaryMomentsAndAutocorrelation) {
  // x' = (1 - θ dt) x + σ √dt N: lag-1 autocorrelation ρ = 1 − θ dt and stationary variance
  // σ² dt / (1 − ρ²).
  const double theta = 0.15, sigma = 0.2, dt = 1.0;
  OrnsteinUhlenbeckNoise noise(1, theta, sigma, dt, 0.0, 7);
  const double rho = 1 - theta * dt;
  const double var = sigma * sigma * dt / (1 - rho * rho);
  std::vector<double> xs;
  for (int i = 0; i < 400000; ++i) {
    float a = 0;
    noise.add_to(&a);
    if (i > 1000) xs.push_back(a);
  }
  double mean = 0, v = 0, c = 0;
  for (double x : xs) mean += x;
  mean /= xs.size();
  for (size_t i = 0; i < xs.size(); ++i) {
    v += (xs[i] - mean) * (xs[i] - mean);
    if (i > 0) c += (xs[i] - mean) * (xs[i - 1] - mean);
  }
  v /= xs.size();
  c /= xs.size() - 1;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(v, var, 0.03 * var);
  EXPECT_NEAR(c / v, rho, 0.01);
}

TEST(OrnsteinUhlenbeckNoise, ResetReturnsToMu) {
  OrnsteinUhlenbeckNoise noise(3, 0.15, 0.5, 1e-2, 0.25, 1);
  float a[3] = {0, 0, 0};
  for (int i = 0; i < 10; ++i) noise.add_to(a);
  EXPECT_NE(noise.state()[0], 0.25);
  noise.reset();
  for (double x : noise.state()) EXPECT_EQ(x, 0.25);
}

TEST(ActionNoise, SaveLoadContinuesTheSameStream) {
  NoiseConfig cfg;
  cfg.type = "ou";
  auto a = make_noise(cfg, 2, 9);
  auto b = make_noise(cfg, 2, 123);
  float x[2] = {0, 0};
  for (int i = 0; i < 50; ++i) a->add_to(x);
  ArchiveWriter w("NOISE___", 1);
  a->save(w);
  ArchiveReader r(w.finish(), "NOISE___", 1, "t");
  b->load(r);
  for (int i = 0; i < 20; ++i) {
    float p[2] = {0, 0}, q[2] = {0, 0};
    a->add_to(p);
    b->add_to(q);
    EXPECT_EQ(p[0], q[0]);
    EXPECT_EQ(p[1], q[1]);
  }
}

TEST(ActionNoise, NoneAddsNothing) {
  NoiseConfig cfg;
  cfg.type = "none";
  auto n = make_noise(cfg, 2, 0);
  float a[2] = {0.5f, -0.25f};
  n->add_to(a);
  EXPECT_EQ(a[0], 0.5f);
  EXPECT_EQ(a[1], -0.25f);
}

}  // namespace
}  // namespace ddpg
