// Checks that every MJCF model we author in envs/mujoco/assets compiles (MuJoCo 2.2.2) to the same
// mjModel numbers as the Gymnasium asset it reproduces: every field of the reference JSON in
// tests/data/mujoco_model_facts (sizes, options, names, tree, masses, inertias, joints, dofs,
// geoms, tendons, sites, qpos0, actuators) is compared, reporting field name and index on a
// mismatch. Integer fields must match exactly, real fields within 1e-6 relative (1e-9 absolute near
// zero). It also checks that loading emits no warning, that each actuator drives the joint
// Gymnasium documents for that action index, and that 100 mj_step calls with zero control stay
// finite.

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#ifndef DDPG_MJCF_DIR
#error "DDPG_MJCF_DIR must name the directory of the MJCF assets"
#endif
#ifndef DDPG_FACTS_DIR
#error "DDPG_FACTS_DIR must name the directory of the reference JSON facts"
#endif

namespace {

using nlohmann::json;

constexpr double kRelTol = 1e-6;
constexpr double kAbsTol = 1e-9;

struct ModelCase {
  std::string name;
  // Joint driven by each actuator, in action order (Gymnasium action-space documentation).
  std::vector<std::string> actuated_joints;
};

std::ostream& operator<<(std::ostream& os, const ModelCase& c) { return os << c.name; }

// Collects MuJoCo warnings raised while a model is loaded or stepped.
std::string& WarningLog() {
  static std::string log;
  return log;
}
void CollectWarning(const char* msg) { WarningLog() += std::string(msg) + "\n"; }

// One mjModel field: either numbers (integers compared exactly) or names.
struct Field {
  bool is_int = false;
  bool is_name = false;
  std::vector<double> values;
  std::vector<std::string> names;
};

template <typename T>
Field Numbers(const T* data, int count, bool is_int) {
  Field f;
  f.is_int = is_int;
  f.values.assign(data, data + (count > 0 ? count : 0));
  return f;
}
Field Ints(const int* data, int count) { return Numbers(data, count, true); }
Field Reals(const mjtNum* data, int count) { return Numbers(data, count, false); }
Field Int(int v) { return Ints(&v, 1); }

Field Names(const mjModel* m, mjtObj type, int count) {
  Field f;
  f.is_name = true;
  for (int i = 0; i < count; ++i) {
    const char* n = mj_id2name(m, type, i);
    f.names.push_back(n ? n : "");
  }
  return f;
}

// Reads the mjModel field named like a key of the facts JSON.
std::map<std::string, std::function<Field(const mjModel*)>> FieldReaders() {
  std::map<std::string, std::function<Field(const mjModel*)>> r;
  r["nq"] = [](const mjModel* m) { return Int(m->nq); };
  r["nv"] = [](const mjModel* m) { return Int(m->nv); };
  r["nu"] = [](const mjModel* m) { return Int(m->nu); };
  r["nbody"] = [](const mjModel* m) { return Int(m->nbody); };
  r["njnt"] = [](const mjModel* m) { return Int(m->njnt); };
  r["ngeom"] = [](const mjModel* m) { return Int(m->ngeom); };
  r["nsite"] = [](const mjModel* m) { return Int(m->nsite); };
  r["ntendon"] = [](const mjModel* m) { return Int(m->ntendon); };
  r["integrator"] = [](const mjModel* m) { return Int(m->opt.integrator); };
  r["cone"] = [](const mjModel* m) { return Int(m->opt.cone); };
  r["solver"] = [](const mjModel* m) { return Int(m->opt.solver); };
  r["iterations"] = [](const mjModel* m) { return Int(m->opt.iterations); };
  r["timestep"] = [](const mjModel* m) { return Reals(&m->opt.timestep, 1); };
  r["gravity"] = [](const mjModel* m) { return Reals(m->opt.gravity, 3); };
  r["density_viscosity"] = [](const mjModel* m) {
    const mjtNum dv[2] = {m->opt.density, m->opt.viscosity};
    return Reals(dv, 2);
  };
  r["body_names"] = [](const mjModel* m) { return Names(m, mjOBJ_BODY, m->nbody); };
  r["joint_names"] = [](const mjModel* m) { return Names(m, mjOBJ_JOINT, m->njnt); };
  r["actuator_names"] = [](const mjModel* m) { return Names(m, mjOBJ_ACTUATOR, m->nu); };
  r["site_names"] = [](const mjModel* m) { return Names(m, mjOBJ_SITE, m->nsite); };
  r["body_parentid"] = [](const mjModel* m) { return Ints(m->body_parentid, m->nbody); };
  r["jnt_type"] = [](const mjModel* m) { return Ints(m->jnt_type, m->njnt); };
  r["jnt_bodyid"] = [](const mjModel* m) { return Ints(m->jnt_bodyid, m->njnt); };
  r["geom_type"] = [](const mjModel* m) { return Ints(m->geom_type, m->ngeom); };
  r["geom_bodyid"] = [](const mjModel* m) { return Ints(m->geom_bodyid, m->ngeom); };
  r["geom_contype"] = [](const mjModel* m) { return Ints(m->geom_contype, m->ngeom); };
  r["geom_conaffinity"] = [](const mjModel* m) { return Ints(m->geom_conaffinity, m->ngeom); };
  r["geom_condim"] = [](const mjModel* m) { return Ints(m->geom_condim, m->ngeom); };
  r["qpos0"] = [](const mjModel* m) { return Reals(m->qpos0, m->nq); };
  r["body_mass"] = [](const mjModel* m) { return Reals(m->body_mass, m->nbody); };
  r["body_inertia"] = [](const mjModel* m) { return Reals(m->body_inertia, 3 * m->nbody); };
  r["body_pos"] = [](const mjModel* m) { return Reals(m->body_pos, 3 * m->nbody); };
  r["body_quat"] = [](const mjModel* m) { return Reals(m->body_quat, 4 * m->nbody); };
  r["body_ipos"] = [](const mjModel* m) { return Reals(m->body_ipos, 3 * m->nbody); };
  r["jnt_axis"] = [](const mjModel* m) { return Reals(m->jnt_axis, 3 * m->njnt); };
  r["jnt_pos"] = [](const mjModel* m) { return Reals(m->jnt_pos, 3 * m->njnt); };
  r["jnt_range"] = [](const mjModel* m) { return Reals(m->jnt_range, 2 * m->njnt); };
  r["jnt_stiffness"] = [](const mjModel* m) { return Reals(m->jnt_stiffness, m->njnt); };
  r["dof_damping"] = [](const mjModel* m) { return Reals(m->dof_damping, m->nv); };
  r["dof_armature"] = [](const mjModel* m) { return Reals(m->dof_armature, m->nv); };
  r["dof_frictionloss"] = [](const mjModel* m) { return Reals(m->dof_frictionloss, m->nv); };
  r["geom_size"] = [](const mjModel* m) { return Reals(m->geom_size, 3 * m->ngeom); };
  r["geom_pos"] = [](const mjModel* m) { return Reals(m->geom_pos, 3 * m->ngeom); };
  r["geom_friction"] = [](const mjModel* m) { return Reals(m->geom_friction, 3 * m->ngeom); };
  r["geom_quat"] = [](const mjModel* m) { return Reals(m->geom_quat, 4 * m->ngeom); };
  r["geom_solref"] = [](const mjModel* m) { return Reals(m->geom_solref, mjNREF * m->ngeom); };
  r["geom_solimp"] = [](const mjModel* m) { return Reals(m->geom_solimp, mjNIMP * m->ngeom); };
  r["geom_margin"] = [](const mjModel* m) { return Reals(m->geom_margin, m->ngeom); };
  r["tendon_stiffness"] = [](const mjModel* m) { return Reals(m->tendon_stiffness, m->ntendon); };
  r["tendon_damping"] = [](const mjModel* m) { return Reals(m->tendon_damping, m->ntendon); };
  r["tendon_range"] = [](const mjModel* m) { return Reals(m->tendon_range, 2 * m->ntendon); };
  r["tendon_adr"] = [](const mjModel* m) { return Ints(m->tendon_adr, m->ntendon); };
  r["tendon_num"] = [](const mjModel* m) { return Ints(m->tendon_num, m->ntendon); };
  r["wrap_type"] = [](const mjModel* m) { return Ints(m->wrap_type, m->nwrap); };
  r["wrap_objid"] = [](const mjModel* m) { return Ints(m->wrap_objid, m->nwrap); };
  r["wrap_prm"] = [](const mjModel* m) { return Reals(m->wrap_prm, m->nwrap); };
  r["site_pos"] = [](const mjModel* m) { return Reals(m->site_pos, 3 * m->nsite); };
  r["actuator_gear"] = [](const mjModel* m) { return Reals(m->actuator_gear, 6 * m->nu); };
  r["actuator_ctrlrange"] = [](const mjModel* m) {
    return Reals(m->actuator_ctrlrange, 2 * m->nu);
  };
  return r;
}

json ReadFacts(const std::string& model) {
  const std::string path = std::string(DDPG_FACTS_DIR) + "/" + model + ".json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return json::parse(in);
}

// Loads the MJCF asset, recording the error text and any warning emitted while compiling.
mjModel* LoadModel(const std::string& model, std::string* error, std::string* warnings) {
  const std::string path = std::string(DDPG_MJCF_DIR) + "/" + model + ".xml";
  char err[1000] = "";
  WarningLog().clear();
  void (*previous)(const char*) = mju_user_warning;
  mju_user_warning = CollectWarning;
  mjModel* m = mj_loadXML(path.c_str(), nullptr, err, sizeof(err));
  mju_user_warning = previous;
  *error = err;
  *warnings = WarningLog();
  return m;
}

class MujocoModelFactsTest : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    facts_ = ReadFacts(GetParam().name);
    std::string error, warnings;
    model_ = LoadModel(GetParam().name, &error, &warnings);
    ASSERT_NE(model_, nullptr) << GetParam().name << ".xml: " << error;
    EXPECT_TRUE(error.empty()) << "load message: " << error;
    EXPECT_TRUE(warnings.empty()) << "load warnings: " << warnings;
  }
  void TearDown() override {
    if (model_) mj_deleteModel(model_);
  }

  json facts_;
  mjModel* model_ = nullptr;
};

TEST_P(MujocoModelFactsTest, CompiledFieldsMatchReference) {
  const auto readers = FieldReaders();
  for (const auto& item : facts_.items()) {
    const std::string& key = item.key();
    const json& want = item.value();
    const auto reader = readers.find(key);
    if (reader == readers.end()) {
      ADD_FAILURE() << "facts field '" << key << "' has no mjModel reader";
      continue;
    }
    const Field got = reader->second(model_);
    if (got.is_name) {
      ASSERT_TRUE(want.is_array()) << key;
      ASSERT_EQ(want.size(), got.names.size()) << "length of " << key;
      for (size_t i = 0; i < got.names.size(); ++i) {
        EXPECT_EQ(want[i].get<std::string>(), got.names[i]) << key << "[" << i << "]";
      }
      continue;
    }
    std::vector<double> expected;
    if (want.is_array()) {
      for (const json& v : want) expected.push_back(v.get<double>());
    } else {
      expected.push_back(want.get<double>());
    }
    ASSERT_EQ(expected.size(), got.values.size()) << "length of " << key;
    for (size_t i = 0; i < expected.size(); ++i) {
      const double e = expected[i], g = got.values[i];
      if (got.is_int) {
        EXPECT_EQ(e, g) << key << "[" << i << "]";
      } else {
        EXPECT_LE(std::fabs(g - e), kRelTol * std::fabs(e) + kAbsTol)
            << key << "[" << i << "]: model " << g << ", reference " << e;
      }
    }
  }
}

TEST_P(MujocoModelFactsTest, ActuatorsDriveDocumentedJointsWithLimits) {
  const std::vector<std::string>& joints = GetParam().actuated_joints;
  ASSERT_EQ(static_cast<int>(joints.size()), model_->nu);
  for (int u = 0; u < model_->nu; ++u) {
    EXPECT_EQ(model_->actuator_trntype[u], mjTRN_JOINT) << "actuator " << u;
    const char* joint = mj_id2name(model_, mjOBJ_JOINT, model_->actuator_trnid[2 * u]);
    EXPECT_EQ(joints[u], joint ? joint : "") << "actuator " << u;
    EXPECT_EQ(model_->actuator_ctrllimited[u], 1) << "actuator " << u;
  }
  // MuJoCo 2.2.2 has no autolimits: a joint with a range must be marked limited explicitly.
  for (int j = 0; j < model_->njnt; ++j) {
    const bool has_range = model_->jnt_range[2 * j] != 0 || model_->jnt_range[2 * j + 1] != 0;
    EXPECT_EQ(model_->jnt_limited[j] != 0, has_range) << "jnt_limited[" << j << "]";
  }
}

TEST_P(MujocoModelFactsTest, StepsWithZeroControlStayFinite) {
  mjData* d = mj_makeData(model_);
  ASSERT_NE(d, nullptr);
  WarningLog().clear();
  void (*previous)(const char*) = mju_user_warning;
  mju_user_warning = CollectWarning;
  mju_zero(d->ctrl, model_->nu);
  for (int step = 0; step < 100; ++step) mj_step(model_, d);
  mju_user_warning = previous;
  for (int i = 0; i < model_->nq; ++i)
    EXPECT_TRUE(std::isfinite(d->qpos[i])) << "qpos[" << i << "]";
  for (int i = 0; i < model_->nv; ++i)
    EXPECT_TRUE(std::isfinite(d->qvel[i])) << "qvel[" << i << "]";
  for (int w = 0; w < mjNWARNING; ++w) EXPECT_EQ(d->warning[w].number, 0) << "warning " << w;
  EXPECT_TRUE(WarningLog().empty()) << WarningLog();
  mj_deleteData(d);
}

const std::vector<std::string> kHumanoidActuators = {
    "abdomen_y",      "abdomen_z",       "abdomen_x",       "right_hip_x", "right_hip_z",
    "right_hip_y",    "right_knee",      "left_hip_x",      "left_hip_z",  "left_hip_y",
    "left_knee",      "right_shoulder1", "right_shoulder2", "right_elbow", "left_shoulder1",
    "left_shoulder2", "left_elbow"};
const std::vector<std::string> kWalkerActuators = {"thigh_joint",    "leg_joint",
                                                   "foot_joint",     "thigh_left_joint",
                                                   "leg_left_joint", "foot_left_joint"};
const std::vector<std::string> kPusherActuators = {
    "r_shoulder_pan_joint", "r_shoulder_lift_joint", "r_upper_arm_roll_joint", "r_elbow_flex_joint",
    "r_forearm_roll_joint", "r_wrist_flex_joint",    "r_wrist_roll_joint"};

INSTANTIATE_TEST_SUITE_P(
    GymnasiumAssets, MujocoModelFactsTest,
    ::testing::Values(
        ModelCase{"half_cheetah", {"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"}},
        ModelCase{"hopper", {"thigh_joint", "leg_joint", "foot_joint"}},
        ModelCase{"walker2d", kWalkerActuators}, ModelCase{"walker2d_v5", kWalkerActuators},
        ModelCase{"ant",
                  {"hip_4", "ankle_4", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3"}},
        ModelCase{"humanoid", kHumanoidActuators}, ModelCase{"humanoidstandup", kHumanoidActuators},
        ModelCase{"swimmer", {"motor1_rot", "motor2_rot"}},
        ModelCase{"reacher", {"joint0", "joint1"}}, ModelCase{"pusher", kPusherActuators},
        ModelCase{"pusher_v5", kPusherActuators}, ModelCase{"inverted_pendulum", {"slider"}},
        ModelCase{"inverted_double_pendulum", {"slider"}}),
    [](const ::testing::TestParamInfo<ModelCase>& info) { return info.param.name; });

}  // namespace
