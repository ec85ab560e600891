// Replay buffer: storage, wraparound (oldest overwritten first), terminated kept apart from
// truncation, seeded sampling, save/load and shape checks.
#include "ddpg/replay_buffer.h"

#include <gtest/gtest.h>

#include <set>

#include "ddpg/obs_normalizer.h"

namespace ddpg {
namespace {

void add_numbered(ReplayBuffer& rb, int i) {
  const std::vector<double> obs = {double(i), double(-i)};
  const std::vector<double> next = {double(i + 1), double(-i - 1)};
  const float action[1] = {static_cast<float>(i) / 100.0f};
  rb.add(obs, action, i * 10.0, next, i % 3 == 0, 0.5 + i);
}

TEST(ReplayBuffer, WrapsAroundOverwritingOldest) {
  ReplayBuffer rb(5, 2, 1);
  for (int i = 0; i < 7; ++i) add_numbered(rb, i);
  EXPECT_EQ(rb.size(), 5);
  EXPECT_EQ(rb.next_index(), 2);
  // slots 0, 1 hold transitions 5, 6; slots 2..4 hold 2..4
  EXPECT_EQ(rb.obs_at(0)[0], 5.0f);
  EXPECT_EQ(rb.obs_at(1)[0], 6.0f);
  EXPECT_EQ(rb.obs_at(2)[0], 2.0f);
  EXPECT_EQ(rb.next_obs_at(1)[1], -7.0f);
  EXPECT_EQ(rb.reward_at(1), 60.0f);
  EXPECT_TRUE(rb.terminated_at(1));   // 6 % 3 == 0
  EXPECT_FALSE(rb.terminated_at(0));  // 5
  EXPECT_FLOAT_EQ(rb.action_at(0)[0], 0.05f);
}

TEST(ReplayBuffer, SamplesOnlyFilledRowsAndIsSeeded) {
  ReplayBuffer rb(100, 2, 1);
  for (int i = 0; i < 10; ++i) add_numbered(rb, i);
  Rng r1(5), r2(5);
  std::vector<int64_t> a, b;
  rb.sample_indices(r1, 1000, a);
  rb.sample_indices(r2, 1000, b);
  EXPECT_EQ(a, b);
  std::set<int64_t> seen(a.begin(), a.end());
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(*seen.rbegin(), 9);
}

TEST(ReplayBuffer, GatherCopiesRows) {
  ReplayBuffer rb(10, 2, 1);
  for (int i = 0; i < 4; ++i) add_numbered(rb, i);
  std::vector<int64_t> idx = {3, 0};
  float obs[4], act[2], rew[2], next[4], term[2], disc[2];
  rb.gather(idx, obs, act, rew, next, term, disc);
  EXPECT_EQ(disc[0], 3.5f);
  EXPECT_EQ(obs[0], 3.0f);
  EXPECT_EQ(obs[2], 0.0f);
  EXPECT_EQ(next[1], -4.0f);
  EXPECT_EQ(rew[0], 30.0f);
  EXPECT_EQ(term[0], 1.0f);  // 3 % 3 == 0
  EXPECT_EQ(term[1], 1.0f);
}

TEST(ReplayBuffer, SaveLoadRoundTripAndShapeCheck) {
  ReplayBuffer rb(6, 2, 1);
  for (int i = 0; i < 8; ++i) add_numbered(rb, i);
  ArchiveWriter w("REPLAY__", 1);
  rb.save(w);
  const std::string data = w.finish();
  ReplayBuffer copy(6, 2, 1);
  ArchiveReader r(data, "REPLAY__", 1, "t");
  copy.load(r);
  EXPECT_EQ(copy.size(), 6);
  EXPECT_EQ(copy.next_index(), rb.next_index());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(copy.obs_at(i)[0], rb.obs_at(i)[0]);
  ReplayBuffer other(6, 3, 1);
  ArchiveReader r2(data, "REPLAY__", 1, "t");
  EXPECT_THROW(other.load(r2), Error);
}

}  // namespace
// Distributed actors send rows of their own buffer: the float copy equals the original row, and
// clear() empties a buffer for the next batch.
TEST(ReplayBuffer, FloatRowsCopyExactlyAndClearEmpties) {
  ReplayBuffer a(8, 3, 2), b(8, 3, 2);
  const float act[2] = {0.25f, -1.0f};
  a.add(std::vector<double>{0.1, 0.2, 0.3}, act, 1.5, std::vector<double>{1.1, 1.2, 1.3}, true,
        0.99);
  a.add(std::vector<double>{2.1, 2.2, 2.3}, act, -0.5, std::vector<double>{3.1, 3.2, 3.3}, false,
        0.98);
  for (int64_t i = 0; i < a.size(); ++i) {
    b.add(a.obs_at(i), a.action_at(i), a.reward_at(i), a.next_obs_at(i), a.terminated_at(i),
          a.discount_at(i));
  }
  ASSERT_EQ(b.size(), 2);
  for (int64_t i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(b.obs_at(i)[j], a.obs_at(i)[j]);
      EXPECT_EQ(b.next_obs_at(i)[j], a.next_obs_at(i)[j]);
    }
    for (int j = 0; j < 2; ++j) EXPECT_EQ(b.action_at(i)[j], a.action_at(i)[j]);
    EXPECT_EQ(b.reward_at(i), a.reward_at(i));
    EXPECT_EQ(b.terminated_at(i), a.terminated_at(i));
    EXPECT_EQ(b.discount_at(i), a.discount_at(i));
  }
  b.clear();
  EXPECT_EQ(b.size(), 0);
  EXPECT_EQ(b.next_index(), 0);
}

// The learner merges each actor's observation statistics into its own: the result is that of
// one update per observation, in any split.
TEST(ObsNormalizer, MergeEqualsOneUpdatePerObservation) {
  Rng rng(7);
  std::vector<std::vector<double>> obs(101, std::vector<double>(4));
  for (auto& o : obs) {
    for (size_t j = 0; j < o.size(); ++j) o[j] = rng.normal() * (j + 1) + 3.0 * j;
  }
  ObsNormalizer whole(4, 5.0), first(4, 5.0), second(4, 5.0);
  for (size_t i = 0; i < obs.size(); ++i) {
    whole.update(obs[i]);
    (i < 37 ? first : second).update(obs[i]);
  }
  ObsNormalizer empty(4, 5.0);
  first.merge(empty);  // merging nothing changes nothing
  first.merge(second);
  EXPECT_EQ(first.count(), whole.count());
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(first.mean(j), whole.mean(j), 1e-12 * (1 + std::abs(whole.mean(j))));
    EXPECT_NEAR(first.variance(j), whole.variance(j), 1e-12 * whole.variance(j));
  }
  empty.merge(whole);  // into an empty one: a copy
  EXPECT_EQ(empty.mean(2), whole.mean(2));
  second.clear();
  EXPECT_EQ(second.count(), 0.0);
  EXPECT_EQ(second.mean(1), 0.0);
}

}  // namespace ddpg
