// Reads a YAML policy, validates it, and collects every problem with its line and column.
//
// Built twice: in full (auditwall::policy), and with AUDITWALL_FAST_READER_ONLY defined
// (auditwall::policy_fast), the fast reader's half alone, without yaml-cpp, for a program
// that hands policies down and leaves every other text to libauditwall-loader.so.
#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>
#ifndef AUDITWALL_FAST_READER_ONLY
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <optional>
#ifndef AUDITWALL_FAST_READER_ONLY
#include <regex>
#endif
#include <set>
#include <type_traits>

#include "auditwall/policy.hpp"
#include "glob.hpp"
#include "internal.hpp"
#include "matcher.hpp"
#include "quick_yaml.hpp"

namespace auditwall::policy {
namespace {

// Policies are small; a larger file is a mistake or an attack on the loader.
constexpr std::size_t kMaxPolicyBytes = 1 << 20;
// Values visited while reading (aliases count each time they are used), and match nesting.
constexpr std::size_t kMaxNodes = 100000;
constexpr int kMaxMatchDepth = 16;

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
  // An abbreviation ("exe" for "executable") is the likeliest intent.
  if (word.size() >= 3) {
    for (auto candidate : candidates) {
      if (candidate.size() > word.size() && candidate.substr(0, word.size()) == word) {
        return " (did you mean '" + std::string(candidate) + "'?)";
      }
    }
  }
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

// The items of a map, in order, to `visit(key, value)` until it returns false.
#ifndef AUDITWALL_FAST_READER_ONLY
template <typename Visit>
void for_each_entry(const YAML::Node& map, Visit visit) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}
#endif

template <typename Visit>
void for_each_entry(const quick::Node& map, Visit visit) {
  for (std::size_t i = 0; i < map.keys.size(); ++i) {
    if (!visit(map.keys[i], map.items[i])) return;
  }
}

// Reads a policy whose YAML has been parsed into N: a yaml-cpp YAML::Node, or a quick::Node
// from the fast reader.
template <typename N>
class Loader {
  // A value kept while reading: a yaml-cpp node is a handle, a fast reader's node is kept by
  // reference (the tree outlives the reading).
  using Held = std::conditional_t<std::is_same_v<N, quick::Node>, std::reference_wrapper<const N>, N>;

 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  LoadResult load(std::string_view text) { return finish(text, parse(text)); }

  // The result of parse(text): the compiled policy when `ok`, and the diagnostics.
  LoadResult finish(std::string_view text, bool ok) {
    LoadResult result;
    if (ok) result.policy = Compiler::compile(complete(text));
    result.diagnostics = std::move(diagnostics_);
    return result;
  }

  // The same for handing the policy down: its compiled form, with no evaluation index built.
  HandDown hand_down(std::string_view text, bool ok) {
    HandDown result;
    if (ok) result.compiled = serialise(complete(text));
    result.diagnostics = std::move(diagnostics_);
    return result;
  }

  // Reads and validates the text into doc_; false when there is an error.
  bool parse(std::string_view text) {
    hashed_ = std::string(text);
    if (text.size() > kMaxPolicyBytes) {
      error_at(0, 0, "policy is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(kMaxPolicyBytes));
      return false;
    }
    N root;
    if constexpr (std::is_same_v<N, quick::Node>) {
      std::optional<quick::Node> tree = quick::parse(text);
      if (!tree) {
        error_at(0, 0, "outside the fast reader's subset of YAML");
        return false;
      }
      root = std::move(*tree);
    }
#ifndef AUDITWALL_FAST_READER_ONLY
    else {
      try {
        root = YAML::Load(std::string(text));
      } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp stops at a fixed depth (500) and calls it "bad file"; say what it means.
        error_at(e.mark.line + 1, e.mark.column + 1,
                 "invalid YAML: nested more than " + std::to_string(e.depth()) + " levels deep");
        return false;
      } catch (const YAML::Exception& e) {
        error_at(e.mark.line + 1, e.mark.column + 1, "invalid YAML: " + e.msg);
        return false;
      }
    }
#endif
    read_root(root);
    if (!has_errors()) warn_shadowed();
    // Report in file order, whatever order the sections were read in.
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return a.line != b.line ? a.line < b.line : a.column < b.column;
                     });
    doc_.hash = digest(hashed_);
    return !has_errors();
  }

  Document& document() { return doc_; }

  // The document of a parse() without errors, with its source.
  Document complete(std::string_view text) {
    doc_.source = file_;
    // Without a base policy the hash covers the source text alone.
    doc_.source_hash = hashed_ == text ? doc_.hash : digest(text);
    return std::move(doc_);
  }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  void error_at(int line, int column, std::string message) {
    diagnostics_.push_back({file_, line, column, Severity::error, std::move(message)});
  }

 private:
  void error(const N& node, std::string message) {
    const auto mark = node.Mark();
    error_at(mark.line + 1, mark.column + 1, std::move(message));
  }

  bool has_errors() const {
    return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
  }

  // Reports keys of `map` that are not in `known`; returns false when `map` is not a map.
  bool check_keys(const N& map, const std::vector<std::string_view>& known,
                  std::string_view what) {
    if (!map.IsMap()) {
      error(map, std::string(what) + " must be a mapping");
      return false;
    }
    std::vector<std::string_view> seen;  // a map has a few keys
    bool within_budget = true;
    for_each_entry(map, [&](const N& name, const N&) {
      if (!spend(name)) return within_budget = false;
      if (!name.IsScalar()) {
        error(name, "keys of " + std::string(what) + " must be plain words");
        return true;
      }
      const std::string& key = name.Scalar();
      // yaml-cpp keeps the first of two equal keys; a reader may believe the second.
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        error(name, "duplicate key '" + key + "' in " + std::string(what));
        return true;
      }
      seen.push_back(key);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(name, "unknown key '" + key + "' in " + std::string(what) +
                        did_you_mean(key, known) + "; known keys: " + join(known));
      }
      return true;
    });
    return within_budget;
  }

  bool scalar(const N& node, std::string_view what, std::string& out) {
    if (!node.IsScalar()) {
      error(node, std::string(what) + " must be a single value");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  template <typename Enum>
  bool word(const N& node, std::string_view what,
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

  void read_root(const N& root) {
    if (!root.IsDefined() || root.IsNull()) {
      error_at(1, 1, "policy is empty; it needs at least 'version: 1'");
      return;
    }
    if (!check_keys(root, {"version", "mode", "default", "extends", "log", "rules", "seccomp"},
                    "the policy")) {
      return;
    }
    if (!root["version"]) {
      error(root, "missing 'version: 1'");
    } else {
      std::string version;
      if (scalar(root["version"], "version", version) && version != "1") {
        error(root["version"], "unsupported policy version '" + version + "'; this auditwall reads version 1");
      }
    }
    if (root["mode"]) {
      word(root["mode"], "mode", {{"enforce", Mode::enforce}, {"monitor", Mode::monitor}},
           doc_.mode);
    }
    if (root["default"]) {
      word(root["default"], "default", {{"allow", Action::allow}, {"deny", Action::deny}},
           doc_.default_action);
    }
    if (root["log"]) read_log(root["log"]);
    if (root["seccomp"]) read_seccomp(root["seccomp"]);
    if (root["rules"]) read_rules(root["rules"]);
    if (root["extends"]) {
      read_extends(root["extends"], static_cast<bool>(root["mode"]),
                   static_cast<bool>(root["default"]));
    }
  }

  // `extends: builtin:NAME`: this policy's rules come first, so that they can allow what the
  // base would deny; its settings override the base's; seccomp denials add up.
  void read_extends(const N& node, bool has_mode, bool has_default) {
    std::string ref;
    if (!scalar(node, "extends", ref)) return;
    const std::vector<std::string_view> names = builtin_names();
    std::vector<std::string_view> refs;
    std::vector<std::string> storage;
    for (auto n : names) storage.push_back("builtin:" + std::string(n));
    for (const auto& r : storage) refs.push_back(r);
    if (ref.rfind("builtin:", 0) != 0 || builtin_text(ref.substr(8)).empty()) {
      error(node, "extends must name a built-in policy (" + join(refs) + "), not '" + ref + "'" +
                      did_you_mean(ref, refs));
      return;
    }
    Loader base(ref);
    if (!base.parse(builtin_text(ref.substr(8)))) {
      for (Diagnostic& d : base.diagnostics()) diagnostics_.push_back(std::move(d));
      return;
    }
    Document& b = base.document();
    hashed_ += b.hash;
    if (!has_mode) doc_.mode = b.mode;
    if (!has_default) doc_.default_action = b.default_action;
    if (!doc_.log.present) doc_.log = b.log;
    if (b.seccomp.present) {
      SeccompConfig merged = b.seccomp;
      if (doc_.seccomp.present) {
        for (const std::string& name : doc_.seccomp.deny) {
          if (std::find(merged.deny.begin(), merged.deny.end(), name) == merged.deny.end()) {
            merged.deny.push_back(name);
          }
        }
        merged.derive = seccomp_derive_set_ ? doc_.seccomp.derive : b.seccomp.derive;
        merged.action = seccomp_action_set_ ? doc_.seccomp.action : b.seccomp.action;
      }
      doc_.seccomp = std::move(merged);
    }
    for (Rule& rule : b.rules) {
      auto same = std::find_if(doc_.rules.begin(), doc_.rules.end(),
                               [&](const Rule& r) { return r.id == rule.id; });
      if (same != doc_.rules.end()) {
        error_at(same->line, same->column,
                 "duplicate rule id '" + rule.id + "': " + ref + " has a rule of that name");
        continue;
      }
      rule.origin = ref;
      doc_.rules.push_back(std::move(rule));
    }
  }

  // A rule that an earlier rule without `match` always pre-empts can never decide: warn.
  void warn_shadowed() {
    for (const Shadow& s : find_shadowed(doc_.rules)) {
      const Rule& hidden = doc_.rules[s.hidden];
      const Rule& by = doc_.rules[s.by];
      if (hidden.origin.empty()) {
        diagnostics_.push_back({file_, hidden.line, hidden.column, Severity::warning,
                                "rule '" + hidden.id + "' can never match: rule '" + by.id +
                                    "' (line " + std::to_string(by.line) +
                                    ") comes first and decides every event it applies to"});
      } else if (by.origin.empty()) {
        diagnostics_.push_back({file_, by.line, by.column, Severity::warning,
                                "rule '" + by.id + "' decides every event that rule '" +
                                    hidden.id + "' of " + hidden.origin +
                                    " applies to; that rule can never match"});
      }
    }
  }

  bool boolean(const N& node, std::string_view what, bool& out) {
    std::string value;
    if (!scalar(node, what, value)) return false;
    if (value == "true") {
      out = true;
    } else if (value == "false") {
      out = false;
    } else {
      error(node, std::string(what) + " must be true or false, not '" + value + "'");
      return false;
    }
    return true;
  }

  bool number(const N& node, std::string_view what, std::uint64_t max,
              std::uint64_t& out) {
    std::string value;
    if (!scalar(node, what, value)) return false;
    const bool digits = !value.empty() && value.size() <= 19 &&
                        std::all_of(value.begin(), value.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoull(value) > max) {
      error(node, std::string(what) + " must be a whole number from 0 to " +
                      std::to_string(max) + ", not '" + value + "'");
      return false;
    }
    out = std::stoull(value);
    return true;
  }

  // A list of non-empty strings; a single value stands for a list of one.
  bool strings(const N& node, std::string_view what, std::vector<std::string>& out) {
    auto add = [&](const N& item) {
      std::string value;
      if (!scalar(item, what, value)) return false;
      if (value.empty()) {
        error(item, std::string(what) + " must not be empty");
        return false;
      }
      out.push_back(std::move(value));
      return true;
    };
    if (!node.IsSequence()) return add(node);
    bool ok = true;
    for (const N& item : node) ok = add(item) && ok;
    return ok;
  }

  void read_log(const N& node) {
    if (!check_keys(node, {"sink", "format", "max_bytes", "keep", "redact_env",
                           "redact_patterns", "max_arg_chars", "rate_limit", "summary"},
                    "log")) {
      return;
    }
    LogConfig& log = doc_.log;
    log.present = true;
    if (node["sink"]) {
      std::string sink;
      if (scalar(node["sink"], "log sink", sink)) {
        if (sink == "stderr") {
          log.sink = LogSink::standard_error;
        } else if (sink == "syslog") {
          log.sink = LogSink::syslog;
        } else if (sink.rfind("file:", 0) == 0 && sink.size() > 5) {
          log.sink = LogSink::file;
          log.path = sink.substr(5);
        } else {
          error(node["sink"], "log sink must be stderr, syslog or file:PATH, not '" + sink +
                                  "'" + did_you_mean(sink, {"stderr", "syslog", "file:"}));
        }
      }
    }
    if (node["format"]) {
      word(node["format"], "log format", {{"json", LogFormat::json}, {"text", LogFormat::text}},
           log.format);
    }
    std::uint64_t n = 0;
    if (node["max_bytes"] && number(node["max_bytes"], "max_bytes", 1ull << 40, n)) {
      log.max_bytes = n;
    }
    if (node["keep"] && number(node["keep"], "keep", 100, n)) log.keep = static_cast<unsigned>(n);
    if (node["max_arg_chars"] && number(node["max_arg_chars"], "max_arg_chars", 1 << 20, n)) {
      log.max_arg_chars = static_cast<unsigned>(n);
    }
    if (node["rate_limit"] && number(node["rate_limit"], "rate_limit", 1 << 20, n)) {
      log.rate_limit = static_cast<unsigned>(n);
    }
    if (node["summary"]) boolean(node["summary"], "summary", log.summary);
    if (node["redact_env"]) {
      std::vector<std::string> globs;
      strings(node["redact_env"], "an environment variable name glob", globs);
      for (std::size_t i = 0; i < globs.size(); ++i) {
        if (std::string why = glob_error(globs[i]); !why.empty()) {
          error(node["redact_env"].IsSequence() ? node["redact_env"][i] : node["redact_env"],
                "bad glob '" + globs[i] + "': " + why);
        }
      }
      log.redact_env = std::move(globs);
    }
    if (node["redact_patterns"]) {
      std::vector<std::string> patterns;
      const N& list = node["redact_patterns"];
      strings(list, "a redaction pattern", patterns);
#ifdef AUDITWALL_FAST_READER_ONLY
      // Checking them takes std::regex, and the C++ locales it brings: that stays with the
      // full loader, which reads every policy this one declines.
      error(list, "redaction patterns are checked by the full loader");
#else
      for (std::size_t i = 0; i < patterns.size(); ++i) {
        try {
          std::regex check(patterns[i], std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          error(list.IsSequence() ? list[i] : list,
                "bad regular expression '" + patterns[i] + "': " + e.what());
        }
      }
#endif
      log.redact_patterns = std::move(patterns);
    }
  }

  void read_seccomp(const N& node) {
    if (!check_keys(node, {"deny", "derive", "action"}, "seccomp")) return;
    SeccompConfig& seccomp = doc_.seccomp;
    seccomp.present = true;
    if (node["derive"]) seccomp_derive_set_ = boolean(node["derive"], "derive", seccomp.derive);
    seccomp_action_set_ = static_cast<bool>(node["action"]);
    if (node["action"]) {
      word(node["action"], "seccomp action",
           {{"errno", SeccompAction::eperm}, {"kill", SeccompAction::kill},
            {"log", SeccompAction::log}},
           seccomp.action);
    }
    if (!node["deny"]) return;
    const N& deny = node["deny"];
    if (!deny.IsSequence()) {
      error(deny, "seccomp deny must be a list of syscall names");
      return;
    }
    for (const N& item : deny) {
      std::string name;
      if (!scalar(item, "a syscall name", name)) continue;
      if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
        error(item, "unknown syscall '" + name + "'" + did_you_mean(name, syscall_names()));
        continue;
      }
      if (std::find(seccomp.deny.begin(), seccomp.deny.end(), name) == seccomp.deny.end()) {
        seccomp.deny.push_back(std::move(name));
      }
    }
  }

  // The names of the native architecture's syscalls, for suggestions; read only on an error.
  const std::vector<std::string_view>& syscall_names() {
    if (syscall_names_.empty()) {
      for (int nr = 0; nr < 1024; ++nr) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (name == nullptr) continue;
        syscall_storage_.emplace_back(name);
        std::free(name);
      }
      for (const std::string& s : syscall_storage_) syscall_names_.push_back(s);
    }
    return syscall_names_;
  }

  void read_rules(const N& rules) {
    if (rules.IsNull()) return;
    if (!rules.IsSequence()) {
      error(rules, "rules must be a list");
      return;
    }
    std::set<std::string> ids;
    for (const N& node : rules) {
      if (!spend(node)) return;
      if (!check_keys(node, {"id", "on", "match", "action", "mode", "message"}, "a rule")) {
        continue;
      }
      Rule rule;
      rule.line = node.Mark().line + 1;
      rule.column = node.Mark().column + 1;
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
      if (node["match"]) read_match(node["match"], rule);
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
      doc_.rules.push_back(std::move(rule));
    }
  }

  void read_match(const N& node, Rule& rule) {
    auto matcher = std::make_shared<Matcher>();
    if (read_matcher(node, *matcher, 0)) rule.match = std::move(matcher);
  }

  // Counts the nodes the loader visits, so that YAML aliases that multiply a small file into
  // a huge tree (billion laughs) end in an error instead of hours of work.
  bool spend(const N& node) {
    if (++visited_ <= kMaxNodes) return true;
    if (!budget_reported_) {
      budget_reported_ = true;
      error(node, "policy is too large: more than " + std::to_string(kMaxNodes) +
                      " values (are YAML aliases repeating a large part?)");
    }
    return false;
  }

  // A mapping of matchers, all of which must hold.
  bool read_matcher(const N& node, Matcher& out, int depth) {
    if (!spend(node)) return false;
    if (depth > kMaxMatchDepth) {
      error(node, "match is nested more than " + std::to_string(kMaxMatchDepth) + " levels deep");
      return false;
    }
    static const std::vector<std::string_view> keys = {
        "path", "access", "executable", "argv", "command", "shell", "address", "host", "port",
        "unix", "global", "module", "caller", "origin", "env", "attribute", "not", "any", "all"};
    if (!check_keys(node, keys, "match")) return false;
    if (node.size() == 0) {
      error(node, "match must name at least one matcher");
      return false;
    }
    out.kind = Matcher::Kind::all;
    bool ok = true;
    for_each_entry(node, [&](const N& key, const N& value) {
      if (!key.IsScalar()) return true;
      Matcher child;
      if (read_leaf(key.Scalar(), value, child, depth)) {
        out.fields |= child.fields;
        out.children.push_back(std::move(child));
      } else {
        ok = false;
      }
      return true;
    });
    return ok;
  }

  bool read_leaf(const std::string& key, const N& value, Matcher& m, int depth) {
    using Kind = Matcher::Kind;
    if (key == "not") {
      m.kind = Kind::negate;
      m.children.emplace_back();
      if (!read_matcher(value, m.children[0], depth + 1)) return false;
      m.fields = m.children[0].fields;
      return true;
    }
    if (key == "any" || key == "all") {
      m.kind = key == "any" ? Kind::any : Kind::all;
      if (!value.IsSequence() || value.size() == 0) {
        error(value, "'" + key + "' must be a list of matches");
        return false;
      }
      bool ok = true;
      for (const N& item : value) {
        Matcher child;
        if (read_matcher(item, child, depth + 1)) {
          m.fields |= child.fields;
          m.children.push_back(std::move(child));
        } else {
          ok = false;
        }
      }
      return ok;
    }
    if (key == "shell") {
      m.kind = Kind::shell;
      m.fields = kFieldProcess;
      return boolean(value, "shell", m.flag);
    }
    if (key == "origin") {
      m.kind = Kind::origin;
      m.fields = kFieldOrigin;
      return word(value, "origin", {{"dynamic", CodeOrigin::dynamic}, {"module", CodeOrigin::module}},
                  m.origin);
    }
    std::vector<std::pair<std::string, Held>> items;
    if (!list_items(value, key, items)) return false;
    bool ok = true;
    if (key == "path" || key == "unix") {
      m.kind = key == "path" ? Kind::path : Kind::unix_path;
      m.fields = key == "path" ? kFieldPath : kFieldUnix;
      for (auto& [text, node] : items) {
        std::string pattern;
        if (key == "unix" && text[0] == '@') {
          pattern = text;  // an abstract socket name
        } else if (!path_pattern(text, node, pattern)) {
          ok = false;
          continue;
        }
        m.patterns.push_back(std::move(pattern));
      }
    } else if (key == "access") {
      m.kind = Kind::access;
      m.fields = kFieldAccess;
      for (auto& [text, node] : items) {
        unsigned bit = 0;
        ok = word(node, "access", {{"read", unsigned{kAccessRead}}, {"write", unsigned{kAccessWrite}},
                                   {"create", unsigned{kAccessCreate}},
                                   {"truncate", unsigned{kAccessTruncate}},
                                   {"append", unsigned{kAccessAppend}}},
                  bit) && ok;
        m.access |= bit;
      }
    } else if (key == "address") {
      m.kind = Kind::address;
      m.fields = kFieldAddress;
      for (auto& [text, node] : items) {
        Cidr cidr;
        if (parse_cidr(text, cidr)) {
          m.cidrs.push_back(cidr);
        } else {
          error(node, "bad address or network '" + text +
                          "'; write an IPv4 or IPv6 address, optionally with /PREFIX "
                          "(10.0.0.0/8, fd00::/8)");
          ok = false;
        }
      }
    } else if (key == "port") {
      m.kind = Kind::port;
      m.fields = kFieldPort;
      for (auto& [text, node] : items) {
        PortRange range;
        if (parse_port_range(text, range)) {
          m.ports.push_back(range);
        } else {
          error(node, "bad port '" + text + "'; write a number from 0 to 65535 or a range "
                      "such as 8000-8100");
          ok = false;
        }
      }
    } else if (key == "host") {
      m.kind = Kind::host;
      m.fields = kFieldHost;
      for (auto& [text, node] : items) {
        std::string host;
        for (char c : text) host += lower(c);
        if (!host.empty() && host.back() == '.') host.pop_back();
        std::array<std::uint8_t, 16> numeric;
        if (parse_address(host, numeric)) {
          error(node, "'" + text + "' is a numeric address; use 'address' for addresses, " +
                          "which also matches their other spellings");
          ok = false;
        } else if (host.empty() ||
                   host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-._*?") !=
                       std::string::npos) {
          error(node, "bad host name '" + text + "'; write a name such as api.example.com or "
                      "*.example.com");
          ok = false;
        } else {
          m.patterns.push_back(std::move(host));
        }
      }
    } else {
      static const std::vector<std::pair<std::string_view, std::pair<Kind, unsigned>>> globs = {
          {"executable", {Kind::executable, kFieldExecutable}},
          {"argv", {Kind::argv, kFieldArgv}},
          {"command", {Kind::command, kFieldCommand}},
          {"global", {Kind::global, kFieldGlobal}},
          {"module", {Kind::module, kFieldModule}},
          {"caller", {Kind::caller, kFieldCaller}},
          {"env", {Kind::env, kFieldEnv}},
          {"attribute", {Kind::attribute, kFieldAttribute}},
      };
      for (const auto& [name, kind] : globs) {
        if (name == key) {
          m.kind = kind.first;
          m.fields = kind.second;
        }
      }
      for (auto& [text, node] : items) {
        if (std::string why = glob_error(text); !why.empty()) {
          error(node, "bad glob '" + text + "': " + why);
          ok = false;
          continue;
        }
        if (m.kind == Kind::caller && text == "stdlib") {
          m.flag = true;
          continue;
        }
        std::string pattern = text;
        if (m.kind == Kind::executable && pattern.find('/') != std::string::npos &&
            pattern[0] == '/') {
          char buffer[4096];
          std::string_view normal;
          if (normalise_path(pattern, std::string_view(), buffer, sizeof buffer, normal)) {
            pattern.assign(normal);
          }
        }
        m.patterns.push_back(std::move(pattern));
      }
    }
    return ok;
  }

  // The items of a matcher's list (a single value stands for a list of one), as text.
  bool list_items(const N& value, const std::string& key,
                  std::vector<std::pair<std::string, Held>>& out) {
    auto add = [&](const N& item) {
      if (!spend(item)) return false;
      std::string text;
      // The name for the message is made only when there is one to give.
      if (!item.IsScalar()) return scalar(item, "a value of '" + key + "'", text);
      text = item.Scalar();
      if (text.empty()) {
        error(item, "a value of '" + key + "' must not be empty");
        return false;
      }
      out.emplace_back(std::move(text), item);
      return true;
    };
    if (!value.IsSequence()) return add(value);
    if (value.size() == 0) {
      error(value, "'" + key + "' must list at least one value");
      return false;
    }
    bool ok = true;
    for (const N& item : value) ok = add(item) && ok;
    return ok;
  }

  // A path glob, made absolute: "~" is the home directory, "**/x" matches at any depth.
  bool path_pattern(const std::string& text, const N& node, std::string& out) {
    if (std::string why = glob_error(text); !why.empty()) {
      error(node, "bad glob '" + text + "': " + why);
      return false;
    }
    std::string pattern = text;
    if (pattern == "~" || pattern.rfind("~/", 0) == 0) {
      const char* home = std::getenv("HOME");
      if (home == nullptr || home[0] != '/') {
        error(node, "'" + text + "' needs the home directory, but HOME is not set");
        return false;
      }
      pattern = home + pattern.substr(1);
    } else if (pattern.rfind("**", 0) == 0) {
      pattern = "/" + pattern;
    } else if (pattern[0] != '/') {
      error(node, "path pattern '" + text + "' must be absolute, or start with ~ or **" +
                      " (for any directory: **/" + text + ")");
      return false;
    }
    char buffer[4096];
    std::string_view normal;
    if (!normalise_path(pattern, std::string_view(), buffer, sizeof buffer, normal)) {
      error(node, "path pattern '" + text + "' is too long");
      return false;
    }
    out.assign(normal);
    return true;
  }

  static bool parse_port_range(const std::string& text, PortRange& out) {
    auto number = [](std::string_view s, int& v) {
      if (s.empty() || s.size() > 5) return false;
      v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
      }
      return v <= 65535;
    };
    std::size_t dash = text.find('-');
    if (dash == std::string::npos) {
      if (!number(text, out.low)) return false;
      out.high = out.low;
      return true;
    }
    return number(std::string_view(text).substr(0, dash), out.low) &&
           number(std::string_view(text).substr(dash + 1), out.high) && out.low <= out.high;
  }

  // Families, family.sub, event names and globs. Unknown families and sub-families are
  // errors; an event name outside the catalogue is allowed (programs raise their own events
  // with sys.audit) but warned about when it looks like a misspelt catalogue name.
  void read_on_item(const N& item, Rule& rule) {
    std::string name;
    if (!scalar(item, "an event name", name)) return;
    if (name.empty()) {
      error(item, "event name must not be empty");
      return;
    }
    Family family;
    const std::size_t dot = name.find('.');
    if (has_glob_chars(name)) {
      if (std::string why = glob_error(name); !why.empty()) {
        error(item, "bad glob '" + name + "': " + why);
        return;
      }
      const auto& names = catalogue();
      if (std::none_of(names.begin(), names.end(),
                       [&](std::string_view n) { return glob_match(name, n); })) {
        warning(item, "'" + name + "' matches no CPython event auditwall knows; it applies " +
                          "only to events a program raises itself");
      }
    } else if (family_from_string(name, family) || family_of(name) != Family::other ||
               name == kSelfTestEvent) {
      // a family, or a catalogue event name
    } else if (dot != std::string::npos && family_from_string(name.substr(0, dot), family)) {
      const std::string sub = name.substr(dot + 1);
      const std::vector<std::string_view>& subs = sub_families(family);
      if (std::find(subs.begin(), subs.end(), sub) == subs.end()) {
        std::string known;
        for (auto s : subs) known += (known.empty() ? "" : ", ") + std::string(to_string(family)) + "." + std::string(s);
        std::vector<std::string> full;
        for (auto sf : subs) full.push_back(std::string(to_string(family)) + "." + std::string(sf));
        std::vector<std::string_view> full_views(full.begin(), full.end());
        error(item, "unknown sub-family '" + name + "'" + did_you_mean(name, full_views) +
                        (known.empty() ? "; family '" + std::string(to_string(family)) +
                                             "' has no sub-families"
                                       : "; known: " + known));
        return;
      }
    } else if (dot == std::string::npos) {
      std::vector<std::string_view> words = {"code", "deserialize", "process", "network",
                                             "file", "import", "native", "tamper", "env"};
      for (auto n : catalogue()) {
        if (n.find('.') == std::string_view::npos) words.push_back(n);
      }
      error(item, "unknown family or event '" + name + "'" + did_you_mean(name, words) +
                      "; families: code, deserialize, process, network, file, import, native, "
                      "tamper, env");
      return;
    } else {
      std::string hint = did_you_mean(name, catalogue());
      if (!hint.empty()) {
        warning(item, "'" + name + "' is not a CPython event auditwall knows" + hint);
      }
    }
    rule.on.push_back(std::move(name));
  }

  void read_on(const N& on, Rule& rule) {
    if (on.IsSequence()) {
      if (on.size() == 0) error(on, "'on' must name at least one event");
      for (const N& item : on) read_on_item(item, rule);
    } else {
      read_on_item(on, rule);
    }
  }

  void warning(const N& node, std::string message) {
    const auto mark = node.Mark();
    diagnostics_.push_back(
        {file_, mark.line + 1, mark.column + 1, Severity::warning, std::move(message)});
  }

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
  Document doc_;
  std::string hashed_;  // the text the policy's hash covers (with its base's hash)
  bool seccomp_derive_set_ = false;
  bool seccomp_action_set_ = false;
  std::size_t visited_ = 0;
  bool budget_reported_ = false;
  std::vector<std::string> syscall_storage_;
  std::vector<std::string_view> syscall_names_;
};

// Runs `load`. yaml-cpp may throw from places other than the parser (conversions, bad
// allocation); the caller still gets a diagnostic, never an exception.
template <typename Result, typename Load>
Result guarded(const std::string& name, Load load) {
  try {
    return load();
  } catch (const std::exception& e) {
    Result result;
    result.diagnostics.push_back({name, 0, 0, Severity::error, std::string("cannot load policy: ") + e.what()});
    return result;
  }
}

#ifndef AUDITWALL_FAST_READER_ONLY
// Reads `text` with the fast reader when it reads the whole policy and the loader has nothing
// to say of it. A text it declines, and every policy with an error or a warning, is read
// again with yaml-cpp: diagnostics always come from one reader, with yaml-cpp's positions.
// `finish(loader, ok)` makes the result of the loader that read it.
template <typename Result, typename Finish>
Result read(std::string_view text, const std::string& name, Finish finish) {
  return guarded<Result>(name, [&] {
    Loader<quick::Node> fast(name);
    if (fast.parse(text) && fast.diagnostics().empty()) return finish(fast, true);
    Loader<YAML::Node> reference(name);
    const bool ok = reference.parse(text);
    return finish(reference, ok);
  });
}
#endif

// The text of a policy file, or of the built-in policy "builtin:NAME", into `storage`; false,
// with the diagnostic, when there is none.
bool read_source(const std::string& path, std::string& storage, std::string_view& text,
                 std::vector<Diagnostic>& diagnostics) {
  if (path.rfind("builtin:", 0) == 0) {
    text = builtin_text(std::string_view(path).substr(8));
    if (!text.empty()) return true;
    std::string known;
    for (auto n : builtin_names()) known += (known.empty() ? "builtin:" : ", builtin:") + std::string(n);
    diagnostics.push_back(
        {path, 0, 0, Severity::error, "no built-in policy '" + path + "'; there are " + known});
    return false;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    diagnostics.push_back({path, 0, 0, Severity::error,
                           std::string("cannot read policy file: ") + std::strerror(errno)});
    return false;
  }
  storage.clear();
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      storage.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int error = errno;
      close(fd);
      diagnostics.push_back({path, 0, 0, Severity::error,
                             std::string("error while reading policy file: ") +
                                 std::strerror(error)});
      return false;
    }
  }
  close(fd);
  text = storage;
  return true;
}

// What `finish(loader, text)` makes of the policy `path` names when the fast reader reads it
// whole and the loader has nothing to say of it; nothing otherwise.
template <typename Result, typename Finish>
std::optional<Result> read_fast(const std::string& path, Finish finish) {
  try {
    std::vector<Diagnostic> diagnostics;
    std::string storage;
    std::string_view text;
    if (!read_source(path, storage, text, diagnostics)) return std::nullopt;
    Loader<quick::Node> fast(path);
    if (!fast.parse(text) || !fast.diagnostics().empty()) return std::nullopt;
    return finish(fast, text);
  } catch (const std::exception&) {
    return std::nullopt;  // the full loader says what went wrong
  }
}

}  // namespace

std::optional<LoadResult> load_file_fast(const std::string& path) {
  return read_fast<LoadResult>(path, [](auto& loader, std::string_view text) {
    return loader.finish(text, true);
  });
}

#ifndef AUDITWALL_FAST_READER_ONLY

LoadResult load_string(std::string_view text, const std::string& name) {
  return read<LoadResult>(text, name, [&](auto& loader, bool ok) { return loader.finish(text, ok); });
}

LoadResult load_string_with_yaml_cpp(std::string_view text, const std::string& name) {
  return guarded<LoadResult>(name, [&] { return Loader<YAML::Node>(name).load(text); });
}

LoadResult load_file(const std::string& path) {
  LoadResult result;
  std::string storage;
  std::string_view text;
  if (!read_source(path, storage, text, result.diagnostics)) return result;
  return load_string(text, path);
}

HandDown load_file_for_hand_down(const std::string& path) {
  HandDown result;
  std::string storage;
  std::string_view text;
  if (!read_source(path, storage, text, result.diagnostics)) return result;
  return read<HandDown>(text, path, [&](auto& loader, bool ok) { return loader.hand_down(text, ok); });
}
#endif

}  // namespace auditwall::policy
