// Reads a YAML policy, validates it, and collects every problem with its line and column.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "auditwall/policy.hpp"
#include "internal.hpp"

namespace auditwall::policy {
namespace {

// Policies are small; a larger file is a mistake or an attack on the loader.
constexpr std::size_t kMaxPolicyBytes = 1 << 20;

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" when one candidate is close to the word, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (auto candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  LoadResult load(std::string_view text) {
    LoadResult result;
    if (text.size() > kMaxPolicyBytes) {
      error_at(0, 0, "policy is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(kMaxPolicyBytes));
      result.diagnostics = std::move(diagnostics_);
      return result;
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      error_at(e.mark.line + 1, e.mark.column + 1, "invalid YAML: " + e.msg);
      result.diagnostics = std::move(diagnostics_);
      return result;
    }
    read_root(root);
    if (!has_errors()) {
      result.policy = Compiler::compile(std::move(rules_), mode_, file_, digest(text));
    }
    result.diagnostics = std::move(diagnostics_);
    return result;
  }

  void error_at(int line, int column, std::string message) {
    diagnostics_.push_back({file_, line, column, Severity::error, std::move(message)});
  }

 private:
  void error(const YAML::Node& node, std::string message) {
    const YAML::Mark mark = node.Mark();
    error_at(mark.line + 1, mark.column + 1, std::move(message));
  }

  bool has_errors() const {
    return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
  }

  // Reports keys of `map` that are not in `known`; returns false when `map` is not a map.
  bool check_keys(const YAML::Node& map, const std::vector<std::string_view>& known,
                  std::string_view what) {
    if (!map.IsMap()) {
      error(map, std::string(what) + " must be a mapping");
      return false;
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        error(it->first, "keys of " + std::string(what) + " must be plain words");
        continue;
      }
      const std::string key = it->first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(it->first, "unknown key '" + key + "' in " + std::string(what) +
                             did_you_mean(key, known) + "; known keys: " + join(known));
      }
    }
    return true;
  }

  bool scalar(const YAML::Node& node, std::string_view what, std::string& out) {
    if (!node.IsScalar()) {
      error(node, std::string(what) + " must be a single value");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  template <typename Enum>
  bool word(const YAML::Node& node, std::string_view what,
            const std::vector<std::pair<std::string_view, Enum>>& choices, Enum& out) {
    std::string value;
    if (!scalar(node, what, value)) return false;
    std::vector<std::string_view> names;
    for (const auto& [name, e] : choices) {
      if (value == name) {
        out = e;
        return true;
      }
      names.push_back(name);
    }
    error(node, std::string(what) + " must be one of " + join(names) + ", not '" + value + "'" +
                    did_you_mean(value, names));
    return false;
  }

  void read_root(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      error_at(1, 1, "policy is empty; it needs at least 'version: 1'");
      return;
    }
    if (!check_keys(root, {"version", "mode", "rules"}, "the policy")) return;
    if (!root["version"]) {
      error(root, "missing 'version: 1'");
    } else {
      std::string version;
      if (scalar(root["version"], "version", version) && version != "1") {
        error(root["version"], "unsupported policy version '" + version + "'; this auditwall reads version 1");
      }
    }
    if (root["mode"]) {
      word(root["mode"], "mode", {{"enforce", Mode::enforce}, {"monitor", Mode::monitor}}, mode_);
    }
    if (root["rules"]) read_rules(root["rules"]);
  }

  void read_rules(const YAML::Node& rules) {
    if (rules.IsNull()) return;
    if (!rules.IsSequence()) {
      error(rules, "rules must be a list");
      return;
    }
    std::set<std::string> ids;
    for (const YAML::Node& node : rules) {
      if (!check_keys(node, {"id", "on", "action", "mode", "message"}, "a rule")) continue;
      Rule rule;
      rule.line = node.Mark().line + 1;
      if (!node["id"]) {
        error(node, "rule has no 'id'");
      } else if (scalar(node["id"], "id", rule.id)) {
        if (rule.id.empty()) {
          error(node["id"], "rule id must not be empty");
        } else if (!ids.insert(rule.id).second) {
          error(node["id"], "duplicate rule id '" + rule.id + "'");
        }
      }
      if (!node["on"]) {
        error(node, "rule '" + rule.id + "' has no 'on' (the events it applies to)");
      } else {
        read_on(node["on"], rule);
      }
      if (!node["action"]) {
        error(node, "rule '" + rule.id + "' has no 'action'");
      } else {
        word(node["action"], "action",
             {{"allow", Action::allow}, {"deny", Action::deny}, {"log", Action::log},
              {"kill", Action::kill}},
             rule.action);
      }
      if (node["mode"]) {
        rule.has_mode = word(node["mode"], "mode",
                             {{"enforce", Mode::enforce}, {"monitor", Mode::monitor}}, rule.mode);
      }
      if (node["message"]) scalar(node["message"], "message", rule.message);
      rules_.push_back(std::move(rule));
    }
  }

  void read_on(const YAML::Node& on, Rule& rule) {
    auto add = [&](const YAML::Node& item) {
      std::string name;
      if (!scalar(item, "an event name", name)) return;
      if (name.empty()) {
        error(item, "event name must not be empty");
        return;
      }
      rule.on.push_back(std::move(name));
    };
    if (on.IsSequence()) {
      if (on.size() == 0) error(on, "'on' must name at least one event");
      for (const YAML::Node& item : on) add(item);
    } else {
      add(on);
    }
  }

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<Rule> rules_;
  Mode mode_ = Mode::enforce;
};

}  // namespace

LoadResult load_string(std::string_view text, const std::string& name) {
  try {
    return Loader(name).load(text);
  } catch (const std::exception& e) {
    // yaml-cpp may throw from places other than the parser (conversions, bad allocation);
    // the caller still gets a diagnostic, never an exception.
    LoadResult result;
    result.diagnostics.push_back({name, 0, 0, Severity::error, std::string("cannot load policy: ") + e.what()});
    return result;
  }
}

LoadResult load_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.diagnostics.push_back({path, 0, 0, Severity::error,
                                  std::string("cannot read policy file: ") +
                                      (errno != 0 ? std::strerror(errno) : "unknown error")});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    LoadResult result;
    result.diagnostics.push_back({path, 0, 0, Severity::error, "error while reading policy file"});
    return result;
  }
  return load_string(text.str(), path);
}

}  // namespace auditwall::policy
