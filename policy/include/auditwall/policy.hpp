// The auditwall policy: loading a YAML policy, validating it, and deciding on events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

/// A compiled `match` tree. Opaque to callers.
struct Matcher;

/// One rule of the policy, as written, after validation.
struct Rule {
  std::string id;
  /// What the rule is on, as written: families ("process"), sub-families ("network.connect"),
  /// CPython event names ("os.system") and globs of them ("ctypes.*").
  std::vector<std::string> on;
  std::shared_ptr<const Matcher> match;  ///< null when the rule has no `match`
  Action action = Action::deny;
  bool has_mode = false;        ///< true when the rule sets its own mode
  Mode mode = Mode::enforce;    ///< the rule's own mode, when has_mode
  std::string message;          ///< optional text for the person who hits the rule
  int line = 0;                 ///< where the rule starts in the policy file
  int column = 0;
  /// Where the rule comes from: "" for the policy itself, "builtin:NAME" for a rule of the
  /// built-in policy it extends.
  std::string origin;
};

/// The families of the policy language. Each maps to the CPython events behind it
/// (docs/events.md).
enum class Family : std::uint8_t {
  other,  ///< an event outside every family
  code,
  deserialize,
  process,
  network,
  file,
  import,
  native,
  tamper,
  env,
};

/// "code", "network", ...; "other" for Family::other.
std::string_view to_string(Family family) noexcept;

/// The family of a CPython (3.10 to 3.13) audit event name, from auditwall's catalogue
/// (docs/policy.md lists it); Family::other for names outside it. Never throws, never allocates.
Family family_of(std::string_view event_name) noexcept;

/// Every event name of the catalogue, for tools and tests.
const std::vector<std::string_view>& catalogue() noexcept;

/// Kinds of file access, as a bit set: derived from open()'s mode string, or from os.open's
/// flags when there is no mode string.
enum Access : unsigned {
  kAccessRead = 1u << 0,
  kAccessWrite = 1u << 1,
  kAccessCreate = 1u << 2,
  kAccessTruncate = 1u << 3,
  kAccessAppend = 1u << 4,
};

/// Where code given to exec/eval/compile came from.
enum class CodeOrigin : std::uint8_t {
  unknown,  ///< the event does not say
  module,   ///< a module's code object (imports, runpy)
  dynamic,  ///< a string or bytes of source given at run time
};

/// One audit event, reduced to typed fields by the hook. A string field is absent when its
/// data() is nullptr (a default-constructed string_view); numbers use -1 for absent. Views
/// point into the caller's data and must outlive the evaluate() call.
///
/// A rule applies only to events that carry every field its match names: a path matcher never
/// applies to an event without a path.
struct Event {
  std::string_view name;           ///< the CPython event name, e.g. "os.system"

  // file (open, os.*, shutil.*) and native (ctypes.dlopen, extension modules)
  std::string_view path;           ///< as given by the program (decoded from bytes if needed)
  std::string_view open_mode;      ///< open()'s mode string, e.g. "rb"; absent for os.open
  std::int64_t open_flags = -1;    ///< os.open's flags (O_WRONLY|O_CREAT...); -1 when absent
  std::string_view cwd;            ///< the working directory, to resolve relative paths
  std::string_view path2;          ///< a second path (rename/link/copy destination)

  // process
  std::string_view executable;     ///< the program run (argv[0] when not given)
  const std::string_view* argv = nullptr;  ///< arguments, including argv[0]
  std::size_t argc = 0;
  std::string_view command;        ///< a shell command line (os.system, os.popen)

  // network
  std::string_view host;           ///< host name or numeric address, as given
  std::int64_t port = -1;
  int address_family = -1;         ///< AF_INET, AF_INET6, AF_UNIX; -1 when absent
  std::string_view url;            ///< urllib.Request and similar

  // deserialize: "module.name" of a pickle global
  std::string_view global;

  // import / native
  std::string_view module;         ///< module name

  // code
  CodeOrigin code_origin = CodeOrigin::unknown;

  // env
  std::string_view env_key;

  // tamper: the attribute set or deleted (object.__setattr__, object.__delattr__), e.g.
  // "__code__". The `tamper` family selects these two events only when this field names an
  // attribute that changes what a function runs (__code__, __globals__, __closure__,
  // __builtins__), so that ordinary attribute assignments (enum, dataclasses, namedtuple's
  // __defaults__) stay outside it; the hook fills it (and reads it for object.__getattr__).
  std::string_view attribute;

  // who made the call; filled only when Policy::needs_caller() says so
  std::string_view caller_module;  ///< "requests.sessions", or "" when unknown
  bool caller_in_stdlib = false;   ///< the caller's file is in the standard library directory
};

/// The access kinds of a file event (Access bits): from open_mode when present, else from
/// open_flags, else 0.
unsigned access_of(const Event& event) noexcept;

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

/// What the kernel does when a process makes a syscall that the seccomp section denies.
enum class SeccompAction : std::uint8_t {
  eperm,  ///< `action: errno` (the default): the syscall fails with EPERM
  kill,   ///< `action: kill`: the kernel kills the process
  log,    ///< `action: log`: the syscall runs and the kernel logs it
};

/// The policy's `seccomp` section, for auditwall-launch. Syscall names are checked at load
/// against libseccomp's table for the machine's architecture.
struct SeccompConfig {
  bool present = false;               ///< true when the policy has a seccomp section
  std::vector<std::string> deny;      ///< syscall names, in policy order, without duplicates
  bool derive = false;                ///< add kernel rules that mirror the audit rules
  SeccompAction action = SeccompAction::eperm;
};

/// Where the event log goes.
enum class LogSink : std::uint8_t { standard_error, file, syslog };
enum class LogFormat : std::uint8_t { json, text };

/// The policy's `log` section, for the recorder. Defaults apply to keys the policy omits.
struct LogConfig {
  bool present = false;                   ///< true when the policy has a log section
  LogSink sink = LogSink::standard_error;
  std::string path;                       ///< the file, for LogSink::file (`file:PATH`)
  LogFormat format = LogFormat::json;
  std::uint64_t max_bytes = 0;            ///< rotate the file at this size; 0: never
  unsigned keep = 3;                      ///< rotated files kept
  /// Environment variable name globs whose values are redacted, beyond the built-in ones.
  std::vector<std::string> redact_env;
  /// ECMAScript regular expressions; text they match in arguments is redacted. Checked at load.
  std::vector<std::string> redact_patterns;
  unsigned max_arg_chars = 200;           ///< longer argument values are cut
  unsigned rate_limit = 100;              ///< identical records per second; 0: unlimited
  bool summary = false;                   ///< print per-rule counters at exit
};

/// The rules that can apply to one event name, in policy order. Opaque to callers.
struct EventPlan;

/// What one rule made of an event, for Policy::explain().
struct ExplainStep {
  enum class Outcome : std::uint8_t {
    not_selected,    ///< the rule's `on` does not select the event
    missing_fields,  ///< the event lacks a field the rule's `match` names
    no_match,        ///< the rule applies, its `match` does not hold
    decided,         ///< the rule decides
  };
  const Rule* rule = nullptr;
  Outcome outcome = Outcome::not_selected;
  std::string detail;  ///< why, in words
};

/// The reasoning behind a decision: every rule up to the one that decides, and the verdict.
struct Explanation {
  std::vector<ExplainStep> steps;
  Decision decision;
  std::string summary;  ///< one line: which rule or default decides, and why
};

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

  /// Why evaluate() decides as it does on `event`, rule by rule; for tools such as
  /// `auditwall policy explain`. Allocates; never throws except std::bad_alloc.
  Explanation explain(const Event& event) const;

  /// True when a rule in the plan has a `caller` matcher: only then must the hook find the
  /// calling module (Event::caller_module, caller_in_stdlib). False for nullptr.
  bool needs_caller(const EventPlan* plan) const noexcept;

  Mode mode() const noexcept { return mode_; }
  /// What happens to an event that no rule matches (docs/policy.md says which events
  /// `default: deny` covers).
  Action default_action() const noexcept { return default_; }
  const SeccompConfig& seccomp() const noexcept { return seccomp_; }
  const LogConfig& log() const noexcept { return log_; }
  const std::vector<Rule>& rules() const noexcept { return rules_; }
  /// Where the policy came from: a file path or "builtin:NAME".
  const std::string& source() const noexcept { return source_; }
  /// A short hex digest of the policy text, for logs.
  const std::string& hash() const noexcept { return hash_; }
  /// A short hex digest of the source text alone, exactly as read (hash() also covers the
  /// built-in policy it extends): what source_unchanged() compares.
  const std::string& source_hash() const noexcept { return source_hash_; }

  /// A copy of this policy with a different global mode (AUDITWALL_MODE, --mode).
  std::shared_ptr<const Policy> with_mode(Mode mode) const;

 private:
  friend class Compiler;
  Policy();

  Mode mode_ = Mode::enforce;
  Action default_ = Action::allow;
  SeccompConfig seccomp_;
  LogConfig log_;
  std::vector<Rule> rules_;
  std::string source_;
  std::string hash_;
  std::string source_hash_;
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

/// Loads a policy file, or a built-in policy when `path` is "builtin:NAME". Never throws:
/// every problem, including an unreadable file, becomes a diagnostic.
LoadResult load_file(const std::string& path);

/// The names of the built-in policies ("strict", "web-service", "monitor-all").
std::vector<std::string_view> builtin_names();

/// The YAML text of a built-in policy, or an empty view when there is no such policy.
std::string_view builtin_text(std::string_view name) noexcept;

/// Loads a policy from text; `name` stands for the file in diagnostics.
LoadResult load_string(std::string_view text, const std::string& name);

/// The environment variable through which auditwall run and auditwall-launch hand the policy
/// they loaded, in its compiled form (serialise()), to the processes they start.
inline constexpr const char* kCompiledVariable = "AUDITWALL_COMPILED";

/// The compiled form of a loaded policy: printable ASCII (fits an environment variable), with
/// everything the policy decides with, its source and hash. Front ends, which load the YAML,
/// hand it to pre-init arming, which then needs no YAML parser. Allocates; never throws
/// except std::bad_alloc.
std::string serialise(const Policy& policy);

/// The outcome of loading a policy only to hand it down: its compiled form when there was no
/// error, and every diagnostic found.
struct HandDown {
  std::string compiled;  ///< serialise() of the policy; empty when any diagnostic is an error
  std::vector<Diagnostic> diagnostics;

  bool ok() const noexcept { return !compiled.empty(); }
  /// Every diagnostic, formatted, one per line.
  std::string report() const;
};

/// load_file() and serialise() for a front end that only hands the policy down: the same
/// diagnostics and the same compiled form, without building the policy's evaluation index,
/// which only the process that evaluates events needs. Never throws except std::bad_alloc.
HandDown load_file_for_hand_down(const std::string& path);

/// load_file() when the fast reader reads the whole policy and the loader has nothing to say
/// of it (no error, no warning); nothing otherwise: a text outside the fast reader's subset,
/// any diagnostic, a file that cannot be read. The same compiled policy, evaluation index
/// included. Needs no yaml-cpp: it is all a program linked with auditwall::policy_fast can
/// load, and such a program leaves every other policy to the full loader
/// (libauditwall-loader.so), which reports what is wrong. Never throws except std::bad_alloc.
std::optional<LoadResult> load_file_fast(const std::string& path);

/// Rebuilds the policy that serialise() was given, compiled the same way. Returns null, with
/// the reason in `error`, for input that serialise() did not make or that was damaged (a
/// checksum covers it). Never throws except std::bad_alloc.
std::shared_ptr<const Policy> deserialise(std::string_view text, std::string& error);

/// True when the policy's source still holds the text it was loaded from: the file source()
/// names, read again, or the built-in policy's text. A process that inherits a compiled
/// policy uses it only then, and otherwise loads the file afresh, as if it had none. Never
/// throws except std::bad_alloc.
bool source_unchanged(const Policy& policy);

}  // namespace auditwall::policy
