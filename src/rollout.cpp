// Rollout: parsing the actions CSV and stepping the env through it (ddpg rollout).
#include "ddpg/rollout.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "ddpg/io.h"

namespace ddpg {
namespace {

// A cell as an error message shows it: control bytes as \xNN, at most 40 characters.
std::string shown(const std::string& cell) {
  std::string out;
  for (unsigned char ch : cell.substr(0, 40)) {
    if (ch < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return cell.size() > 40 ? out + "..." : out;
}

}  // namespace

std::vector<std::vector<double>> parse_actions_csv(const std::string& text, int act_dim,
                                                   const std::string& what,
                                                   const std::string& env_id) {
  std::vector<std::vector<double>> actions;
  std::stringstream lines(text);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = what + ":" + std::to_string(line_no) + ": ";
    std::vector<double> row;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      const char* begin = cell.c_str();
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      while (*end == ' ' || *end == '\t' || *end == '\r') ++end;
      if (end == begin || *end != '\0' || cell.size() != std::char_traits<char>::length(begin)) {
        throw Error(where + "'" + shown(cell) + "' is not a number");
      }
      if (!std::isfinite(v)) throw Error(where + "'" + shown(cell) + "' is not a finite number");
      row.push_back(v);
    }
    if (row.size() != static_cast<size_t>(act_dim)) {
      throw Error(where + std::to_string(row.size()) + " values, but " + env_id + " takes " +
                  std::to_string(act_dim) + " per action");
    }
    actions.push_back(std::move(row));
  }
  return actions;
}

std::string rollout_csv(Env& env, uint64_t seed, const std::vector<std::vector<double>>& actions,
                        size_t* unused) {
  const EnvSpec& spec = env.spec();
  std::string out = "step,reward,terminated,truncated";
  for (int i = 0; i < spec.obs_dim; ++i) out += ",obs_" + std::to_string(i);
  out += "\n";
  auto write_obs = [&](const std::vector<double>& obs) {
    for (double v : obs) out += "," + format_double(v);
    out += "\n";
  };
  out += "0,,0,0";
  write_obs(env.reset(seed));
  if (unused) *unused = 0;
  for (size_t t = 0; t < actions.size(); ++t) {
    const StepResult r = env.step(actions[t]);
    out += std::to_string(t + 1) + "," + format_double(r.reward) + "," +
           (r.terminated ? "1" : "0") + "," + (r.truncated ? "1" : "0");
    write_obs(env.obs());
    if (r.terminated || r.truncated) {
      if (unused) *unused = actions.size() - t - 1;
      break;
    }
  }
  return out;
}

}  // namespace ddpg
