// ddpg::runtime::Policy: a trained policy inside a C++ control loop, with nothing but the standard
// library. It reads the policy files that training writes (policy_final.bin, policy_best.bin;
// format versions 2 and 3) and maps observations in env units to actions in env units:
//
//   z = clip((obs − mean) / sqrt(var + 1e-8), ±clip)     when the run normalised observations
//   h = act(LayerNorm?(W_i h + b_i))                      each hidden layer
//   u = tanh(W_out h + b_out)                             in [-1, 1]
//   action = low + (u + 1)/2 · (high − low)               per dimension (version-3 files)
//
// exactly as the project's DeployedPolicy does (the tests hold the two to 1e-5 on rollouts). A
// version-2 file records no action bounds: act() then returns u in [-1, 1] (has_bounds() false).
//
// This header and src/runtime/policy.cpp are the whole runtime: copy the two files into a project,
// or link ddpg::runtime from an installed prefix (find_package(ddpg), docs/deploy.md). A Policy
// keeps scratch buffers, so one object serves one thread at a time; copies are independent.
// Loading checks the file's magic, version, checksum and shapes and throws ddpg::runtime::Error
// naming the problem; acting never allocates (act_batch grows its scratch once per larger batch).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ddpg::runtime {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PolicyInfo {
  std::string env_id;  // "" in a version-2 file
  int obs_dim = 0, act_dim = 0;
  std::vector<int> hidden;  // hidden widths
  std::string activation;   // relu, tanh, elu or leaky_relu
  bool layer_norm = false;  // LayerNorm after each hidden Linear, before the activation
  bool obs_norm = false;    // the observations are normalised
  std::vector<double> act_low, act_high;  // empty in a version-2 file
  uint32_t format_version = 0;
};

class Policy {
 public:
  // Reads a policy file; throws Error for a missing, foreign, damaged or unsupported file.
  explicit Policy(const std::string& path);
  // The same from the file's bytes; `what` names them in messages.
  static Policy from_bytes(const std::string& bytes, const std::string& what);

  const PolicyInfo& info() const { return info_; }
  int obs_dim() const { return info_.obs_dim; }
  int act_dim() const { return info_.act_dim; }
  bool has_bounds() const { return !info_.act_low.empty(); }

  // One observation (obs_dim values) → one action (act_dim values, env units).
  void act(const double* obs, double* action);
  void act(const float* obs, float* action);
  std::vector<double> act(const std::vector<double>& obs);
  // `rows` observations (rows × obs_dim, row-major) → rows × act_dim actions.
  void act_batch(const double* obs, int rows, double* actions);
  void act_batch(const float* obs, int rows, float* actions);
  // The actor's output before the rescale, in [-1, 1].
  void act_unit(const double* obs, float* unit);

 private:
  Policy() = default;
  struct Layer {
    int in = 0, out = 0;
    std::vector<float> packed;      // W laid out in column blocks (src/runtime/policy.cpp)
    std::vector<float> b;           // out
    std::vector<float> gain, beta;  // LayerNorm (hidden layers, when on)
  };
  template <class T>
  void normalise(const T* obs, int rows, float* z) const;
  template <class T>
  void rescale(const float* unit, int rows, T* action) const;
  void forward(int rows);  // x_ (rows × obs_dim, normalised) → u_ (rows × act_dim)
  void reserve(int rows);

  PolicyInfo info_;
  enum class Act { kRelu, kTanh, kElu, kLeakyRelu } act_ = Act::kRelu;
  std::vector<Layer> layers_;
  std::vector<double> mean_, std_;  // observation normalisation: mean, sqrt(var + 1e-8)
  double clip_ = 5.0;
  std::vector<float> x_, y_, u_;  // scratch: layer input, layer output, unit actions
  int rows_reserved_ = 0;
  int widest_ = 0;
};

}  // namespace ddpg::runtime
