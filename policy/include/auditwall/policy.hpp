// The auditwall policy: loading a YAML policy, validating it, and deciding on events.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace auditwall::policy {

/// auditwall's own event, raised once when the hook is armed to prove it is registered. Every
/// policy has a plan for it (with no rules), so it always reaches the hook's slow path.
inline constexpr const char* kSelfTestEvent = "auditwall.selftest";

/// What a rule, or the policy's default, does with an event it decides on.
enum class Action : std::uint8_t { allow, deny, log, kill };

/// enforce: deny and kill take effect. monitor: they are only recorded ("would deny").
enum class Mode : std::uint8_t { enforce, monitor };

std::string_view to_string(Action action) noexcept;
std::string_view to_string(Mode mode) noexcept;

enum class Severity : std::uint8_t { error, warning };

/// One problem found while loading a policy, with the place it was found.
struct Diagnostic {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the problem has no place in the file (unreadable file)
  int column = 0;  ///< 1-based; 0 as for line
  Severity severity = Severity::error;
  std::string message;

  /// "FILE:LINE:COL: error: MESSAGE", the form compilers and editors understand.
  std::string format() const;
};

/// One rule of the policy, as written, after validation.
struct Rule {
  std::string id;
  std::vector<std::string> on;  ///< CPython event names the rule applies to
  Action action = Action::deny;
  bool has_mode = false;        ///< true when the rule sets its own mode
  Mode mode = Mode::enforce;    ///< the rule's own mode, when has_mode
  std::string message;          ///< optional text for the person who hits the rule
  int line = 0;                 ///< where the rule starts in the policy file
};

/// One audit event, reduced to what the policy needs. Views point into the caller's data and
/// must outlive the evaluate() call.
struct Event {
  std::string_view name;  ///< the CPython event name, e.g. "os.system"
};

/// The verdict for one event.
struct Decision {
  Action action = Action::allow;
  Mode mode = Mode::enforce;
  const Rule* rule = nullptr;  ///< the rule that decided, or nullptr for the policy default

  /// True when the operation must be stopped: deny or kill, in enforce mode.
  bool blocks() const noexcept {
    return mode == Mode::enforce && (action == Action::deny || action == Action::kill);
  }
};

/// The rules that can apply to one event name, in policy order. Opaque to callers.
struct EventPlan;

/// A validated, compiled, immutable policy. Safe to share between threads.
class Policy {
 public:
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;
  ~Policy();

  /// The plan for an event name, or nullptr when no rule can apply to it: the caller may then
  /// skip the event at once. Never throws, never allocates.
  const EventPlan* lookup(std::string_view event_name) const noexcept;

  /// Decides on an event. Never throws, never allocates. `plan` must come from lookup() on
  /// this policy for the event's name; evaluate(event) looks it up itself.
  Decision evaluate(const Event& event, const EventPlan* plan) const noexcept;
  Decision evaluate(const Event& event) const noexcept;

  Mode mode() const noexcept { return mode_; }
  const std::vector<Rule>& rules() const noexcept { return rules_; }
  /// Where the policy came from: a file path or "builtin:NAME".
  const std::string& source() const noexcept { return source_; }
  /// A short hex digest of the policy text, for logs.
  const std::string& hash() const noexcept { return hash_; }

  /// A copy of this policy with a different global mode (AUDITWALL_MODE, --mode).
  std::shared_ptr<const Policy> with_mode(Mode mode) const;

 private:
  friend class Compiler;
  Policy();

  Mode mode_ = Mode::enforce;
  std::vector<Rule> rules_;
  std::string source_;
  std::string hash_;
  struct Index;
  std::unique_ptr<Index> index_;
};

/// The outcome of loading: a policy when there was no error, and every diagnostic found.
struct LoadResult {
  std::shared_ptr<const Policy> policy;  ///< null when any diagnostic is an error
  std::vector<Diagnostic> diagnostics;

  bool ok() const noexcept { return policy != nullptr; }
  /// Every diagnostic, formatted, one per line.
  std::string report() const;
};

/// Loads a policy file. Never throws: every problem, including an unreadable file, becomes a
/// diagnostic.
LoadResult load_file(const std::string& path);

/// Loads a policy from text; `name` stands for the file in diagnostics.
LoadResult load_string(std::string_view text, const std::string& name);

}  // namespace auditwall::policy
