// Update engine: the hand-written forward/backward passes, fused Adam and Polyak averaging give the
// same parameters as LibTorch autograd with torch.optim.Adam on the same batch, for every switch
// the engine handles (several critics, delay, action at a later layer, LayerNorm, activations,
// weight decay, gradient clipping, observation normalisation, uneven shards), with our multiply
// kernels and with BLAS; results do not depend
// on the thread count, and the per-thread replicas stay equal; acting through the float kernels
// equals the module's forward.
#include <gtest/gtest.h>

#include "ddpg/agent.h"
#include "ddpg/gemm.h"
#include "ddpg/io.h"
#include "tests/test_batches.h"

namespace ddpg {
namespace {

// The update as autograd computes it, on deep copies of an agent's networks.
class Reference {
 public:
  Reference(Agent& agent, int obs_dim, int act_dim) : cfg_(agent.config()) {
    actor_ = MlpActor(obs_dim, act_dim, cfg_);
    actor_target_ = MlpActor(obs_dim, act_dim, cfg_);
    copy_parameters(*actor_, *agent.actor());
    copy_parameters(*actor_target_, *agent.actor_target());
    std::vector<torch::Tensor> critic_params;
    for (int i = 0; i < cfg_.n_critics; ++i) {
      critics_.emplace_back(obs_dim, act_dim, cfg_);
      critic_targets_.emplace_back(obs_dim, act_dim, cfg_);
      copy_parameters(*critics_[i], *agent.critic(i));
      copy_parameters(*critic_targets_[i], *agent.critic_target(i));
      for (auto& p : critics_[i]->parameters()) critic_params.push_back(p);
    }
    for (auto& p : actor_->parameters()) p.set_requires_grad(true);
    for (auto& p : critic_params) p.set_requires_grad(true);
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(),
                                                      torch::optim::AdamOptions(cfg_.actor_lr));
    critic_opt_ = std::make_unique<torch::optim::Adam>(
        critic_params,
        torch::optim::AdamOptions(cfg_.critic_lr).weight_decay(cfg_.critic_weight_decay));
  }

  void update(const Batch& b, const ObsNormalizer* norm) {
    auto normalize = [&](const torch::Tensor& x) {
      if (!norm) return x;
      torch::Tensor mean = torch::zeros({1, x.size(1)}), inv = torch::ones({1, x.size(1)});
      norm->affine(mean.data_ptr<float>(), inv.data_ptr<float>());
      const double c = cfg_.obs_norm_clip;
      return ((x - mean) * inv).clamp(-c, c);
    };
    const torch::Tensor obs = normalize(b.obs), next_obs = normalize(b.next_obs);
    torch::Tensor y;
    {
      torch::NoGradGuard g;
      const torch::Tensor a = actor_target_->forward(next_obs);
      torch::Tensor q = critic_targets_[0]->forward(next_obs, a);
      for (size_t i = 1; i < critic_targets_.size(); ++i) {
        q = torch::min(q, critic_targets_[i]->forward(next_obs, a));
      }
      y = b.reward + b.discount * (1.0 - b.terminated) * q;
    }
    torch::Tensor loss;
    for (size_t i = 0; i < critics_.size(); ++i) {
      const torch::Tensor l = (critics_[i]->forward(obs, b.action) - y).pow(2).mean();
      loss = i == 0 ? l : loss + l;
    }
    critic_opt_->zero_grad();
    loss.backward();
    if (cfg_.grad_clip > 0) {
      for (auto& c : critics_) torch::nn::utils::clip_grad_norm_(c->parameters(), cfg_.grad_clip);
    }
    critic_opt_->step();
    if (++updates_ % cfg_.policy_delay != 0) return;
    const torch::Tensor actor_loss = -critics_[0]->forward(obs, actor_->forward(obs)).mean();
    actor_opt_->zero_grad();
    actor_loss.backward();
    if (cfg_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(actor_->parameters(), cfg_.grad_clip);
    actor_opt_->step();
    for (size_t i = 0; i < critics_.size(); ++i) {
      polyak_update(*critic_targets_[i], *critics_[i], cfg_.tau);
    }
    polyak_update(*actor_target_, *actor_, cfg_.tau);
  }

  // Largest absolute difference between the agent's parameters and these.
  double max_difference(Agent& agent) {
    double d = 0.0;
    auto cmp = [&](torch::nn::Module& a, torch::nn::Module& b) {
      auto pa = a.parameters();
      auto pb = b.parameters();
      for (size_t i = 0; i < pa.size(); ++i) {
        d = std::max(d, (pa[i] - pb[i]).abs().max().item<double>());
      }
    };
    cmp(*agent.actor(), *actor_);
    cmp(*agent.actor_target(), *actor_target_);
    for (size_t i = 0; i < critics_.size(); ++i) {
      cmp(*agent.critic(i), *critics_[i]);
      cmp(*agent.critic_target(i), *critic_targets_[i]);
    }
    return d;
  }

 private:
  AgentConfig cfg_;
  MlpActor actor_{nullptr}, actor_target_{nullptr};
  std::vector<MlpCritic> critics_, critic_targets_;
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_;
  int64_t updates_ = 0;
};

struct Case {
  const char* name;
  void (*edit)(AgentConfig&);
};

class EngineMatchesAutograd : public testing::TestWithParam<Case> {};

// Restores the multiply kernels at the end of a scope.
struct ForceBlas {
  explicit ForceBlas(bool on) { gemm::force_blas(on); }
  ~ForceBlas() { gemm::force_blas(false); }
};

// Both multiply paths: the AVX-512 kernels (where the CPU has them) and BLAS.
TEST_P(EngineMatchesAutograd, AfterSeveralUpdates) {
  for (bool blas : {false, true}) {
    SCOPED_TRACE(blas ? "BLAS multiplies" : "gemm.h kernels");
    const ForceBlas force(blas);
    AgentConfig c;
    c.hidden = {32, 24};
    c.batch_size = 16;
    c.actor_lr = 3e-3;
    c.critic_lr = 3e-3;
    c.tau = 0.05;
    GetParam().edit(c);
    const int obs_dim = 5, act_dim = 3;
    Agent agent(c, obs_dim, act_dim, 7);
    agent.set_threads(2);
    if (c.obs_norm) {
      Rng rng(4);
      for (int i = 0; i < 50; ++i) {
        std::vector<double> o(obs_dim);
        for (int j = 0; j < obs_dim; ++j) o[j] = 3.0 * j + (j + 1) * rng.normal();
        agent.observe(o);
      }
    }
    Reference ref(agent, obs_dim, act_dim);
    torch::manual_seed(11);
    for (int k = 0; k < 4; ++k) {
      Batch& b = agent.batch();
      fill_random(b);
      if (c.obs_norm) b.obs.mul_(4).add_(2);
      ref.update(b, agent.obs_normalizer());
      agent.update(b);
      EXPECT_LT(ref.max_difference(agent), 2e-5) << "after update " << k + 1;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Switches, EngineMatchesAutograd,
                         testing::Values(Case{"ddpg", [](AgentConfig&) {}},
                                         Case{"td3_paper_critic_layer_norm",
                                              [](AgentConfig& c) {
                                                c.n_critics = 2;
                                                c.policy_delay = 2;
                                                c.critic_action_layer = 1;
                                                c.layer_norm = "both";
                                                c.activation = "elu";
                                                c.critic_weight_decay = 0.01;
                                              }},
                                         Case{"clip_tanh_three_uneven_shards",
                                              [](AgentConfig& c) {
                                                c.grad_clip =
                                                    0.05;  // small enough to act on every update
                                                c.activation = "tanh";
                                                c.batch_shards = 3;
                                              }},
                                         Case{"obs_norm_leaky_actor_layer_norm",
                                              [](AgentConfig& c) {
                                                c.obs_norm = true;
                                                c.obs_norm_clip = 1.5;
                                                c.activation = "leaky_relu";
                                                c.layer_norm = "actor";
                                                c.batch_shards = 1;
                                              }}),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(Engine, ResultsDoNotDependOnTheThreadCount) {
  AgentConfig c;
  c.hidden = {32, 32};
  c.batch_size = 32;
  c.n_critics = 2;
  c.batch_shards = 4;
  Agent one(c, 4, 2, 3), two(c, 4, 2, 3);
  one.set_threads(1);
  two.set_threads(2);
  EXPECT_EQ(two.engine().threads(), 2);
  torch::manual_seed(5);
  for (int k = 0; k < 5; ++k) {
    fill_random(one.batch());
    two.batch().copy_from_for_test(one.batch());
    const UpdateStats a = one.update(one.batch()), b = two.update(two.batch());
    EXPECT_EQ(a.critic_loss, b.critic_loss);
  }
  auto p1 = one.actor()->parameters();
  auto p2 = two.actor()->parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_TRUE(torch::equal(p1[i], p2[i]));
}

// Each thread beyond the first steps its own replica of the parameters, targets and moments; the
// replicas must stay equal to the bound buffers bit for bit, with clipping (its own reduction
// path) and a delayed actor, and follow a checkpoint load.
TEST(Engine, ReplicasStayEqualToTheBoundBuffers) {
  AgentConfig c;
  c.hidden = {32, 24};
  c.batch_size = 30;
  c.n_critics = 2;
  c.policy_delay = 2;
  c.batch_shards = 3;
  for (double clip : {0.0, 0.05}) {
    c.grad_clip = clip;
    Agent a(c, 5, 2, 7), b(c, 5, 2, 8);
    a.set_threads(2);
    b.set_threads(2);
    ASSERT_TRUE(a.engine().replicas_in_sync());
    torch::manual_seed(9);
    for (int k = 0; k < 5; ++k) {
      fill_random(a.batch());
      a.update(a.batch());
      EXPECT_TRUE(a.engine().replicas_in_sync()) << "clip " << clip << ", update " << k;
    }
    ArchiveWriter w("AGENT___", 1);
    a.save(w);
    ArchiveReader r(w.finish(), "AGENT___", 1, "t");
    b.load(r);
    EXPECT_TRUE(b.engine().replicas_in_sync());
    b.batch().copy_from_for_test(a.batch());
    EXPECT_EQ(a.update(a.batch()).critic_loss, b.update(b.batch()).critic_loss);
  }
}

TEST(Engine, WritingTheModulesNeedsParametersChanged) {
  AgentConfig c;
  c.hidden = {32, 24};
  c.batch_size = 16;
  Agent agent(c, 3, 1, 1);
  agent.set_threads(2);
  {
    torch::NoGradGuard g;
    agent.critic()->parameters()[0].add_(0.5);
  }
  EXPECT_FALSE(agent.engine().replicas_in_sync());
  agent.parameters_changed();
  EXPECT_TRUE(agent.engine().replicas_in_sync());
}

TEST(Engine, ActingEqualsTheModuleForward) {
  AgentConfig c;
  c.hidden = {48, 40};
  c.layer_norm = "both";
  c.activation = "elu";
  Agent agent(c, 17, 6, 2);
  Rng rng(1);
  for (int k = 0; k < 10; ++k) {
    std::vector<double> obs(17);
    for (auto& o : obs) o = 2.0 * rng.normal();
    float a[6];
    agent.act(obs, a);
    torch::Tensor x = torch::zeros({1, 17});
    for (int j = 0; j < 17; ++j) x[0][j] = static_cast<float>(obs[j]);
    torch::NoGradGuard g;
    const torch::Tensor ref = agent.actor()->forward(x);
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(a[j], ref[0][j].item<float>(), 2e-6);
  }
}

TEST(Engine, FloorListsTheUpdatesMultiplies) {
  AgentConfig c;
  c.hidden = {256, 256};
  c.batch_size = 256;
  UpdateEngine e(c, 17, 6);
  // Critic step: 3 (target actor) + 3 (target critic) + 3 (critic) + 3 (∂W) + 2 (∂x) = 14;
  // actor step: 3 + 3 + 3 (∂x through the critic, to the action) + 3 (∂W) + 2 (∂x) = 14.
  EXPECT_EQ(e.shard_gemms(true).size(), 28u);
  EXPECT_EQ(e.shard_gemms(false).size(), 14u);
  // ≈ 359 MFLOP for the whole batch (the "about 360").
  EXPECT_NEAR(e.update_flop(true) / 1e6, 359.0, 1.0);
}

}  // namespace
}  // namespace ddpg
