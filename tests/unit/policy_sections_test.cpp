// The catalogue of families, the default action, and the log and seccomp sections.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "auditwall/policy.hpp"

namespace auditwall::policy {
namespace {

LoadResult load(const char* text) { return load_string(text, "test.yaml"); }

Decision decide(const Policy& p, Event e) { return p.evaluate(e); }

Event named(const char* name) {
  Event e;
  e.name = name;
  return e;
}

TEST(Catalogue, MapsEventNamesToFamilies) {
  EXPECT_EQ(family_of("os.system"), Family::process);
  EXPECT_EQ(family_of("subprocess.Popen"), Family::process);
  EXPECT_EQ(family_of("socket.connect"), Family::network);
  EXPECT_EQ(family_of("urllib.Request"), Family::network);
  EXPECT_EQ(family_of("open"), Family::file);
  EXPECT_EQ(family_of("os.remove"), Family::file);
  EXPECT_EQ(family_of("pickle.find_class"), Family::deserialize);
  EXPECT_EQ(family_of("marshal.loads"), Family::deserialize);
  EXPECT_EQ(family_of("exec"), Family::code);
  EXPECT_EQ(family_of("compile"), Family::code);
  EXPECT_EQ(family_of("import"), Family::import);
  EXPECT_EQ(family_of("ctypes.dlopen"), Family::native);
  EXPECT_EQ(family_of("sys.addaudithook"), Family::tamper);
  EXPECT_EQ(family_of("os.putenv"), Family::env);
  EXPECT_EQ(family_of("sys._getframe"), Family::other);
  EXPECT_EQ(family_of(""), Family::other);
  EXPECT_EQ(family_of(kSelfTestEvent), Family::other);
  EXPECT_EQ(to_string(Family::network), "network");
  EXPECT_EQ(to_string(Family::other), "other");
}

TEST(Catalogue, IsSortedAndUnique) {
  const auto& names = catalogue();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (auto name : names) EXPECT_NE(family_of(name), Family::other) << name;
}

TEST(AccessKinds, FromModeStringAndFromFlags) {
  Event e = named("open");
  e.open_mode = "rb";
  EXPECT_EQ(access_of(e), unsigned{kAccessRead});
  e.open_mode = "w";
  EXPECT_EQ(access_of(e), unsigned{kAccessWrite | kAccessCreate | kAccessTruncate});
  e.open_mode = "a+";
  EXPECT_EQ(access_of(e), unsigned{kAccessRead | kAccessWrite | kAccessCreate | kAccessAppend});
  e.open_mode = "xb";
  EXPECT_EQ(access_of(e), unsigned{kAccessWrite | kAccessCreate});
  Event f = named("open");  // os.open: no mode string, flags decide
  f.open_flags = 0;         // O_RDONLY
  EXPECT_EQ(access_of(f), unsigned{kAccessRead});
  f.open_flags = 01 | 0100 | 01000;  // O_WRONLY | O_CREAT | O_TRUNC
  EXPECT_EQ(access_of(f), unsigned{kAccessWrite | kAccessCreate | kAccessTruncate});
  f.open_flags = 02 | 02000;  // O_RDWR | O_APPEND
  EXPECT_EQ(access_of(f), unsigned{kAccessRead | kAccessWrite | kAccessAppend});
  EXPECT_EQ(access_of(named("open")), 0u);
}

TEST(PolicyDefault, DenyCoversTheEventsRulesSelect) {
  auto p = load(R"YAML(version: 1
default: deny
rules:
  - {id: shells-ok, on: os.system, action: allow, mode: monitor}
  - {id: log-connect, on: network.connect, action: log}
)YAML").policy;
  ASSERT_TRUE(p);
  EXPECT_EQ(p->default_action(), Action::deny);
  // selected by a rule, and the rule decides
  EXPECT_EQ(decide(*p, named("socket.connect")).rule->id, "log-connect");
  // selected by no rule: never reaches the policy
  EXPECT_EQ(p->lookup("os.exec"), nullptr);
  EXPECT_EQ(decide(*p, named("os.exec")).action, Action::allow);
}

TEST(LogSection, ParsesEveryKey) {
  LoadResult r = load(R"YAML(version: 1
log:
  sink: file:/var/log/app/auditwall.log
  format: text
  max_bytes: 1048576
  keep: 5
  redact_env: ["*TOKEN*", "AWS_*"]
  redact_patterns: ["password=[^&]*"]
  max_arg_chars: 120
  rate_limit: 10
  summary: true
)YAML");
  ASSERT_TRUE(r.ok()) << r.report();
  const LogConfig& log = r.policy->log();
  EXPECT_TRUE(log.present);
  EXPECT_EQ(log.sink, LogSink::file);
  EXPECT_EQ(log.path, "/var/log/app/auditwall.log");
  EXPECT_EQ(log.format, LogFormat::text);
  EXPECT_EQ(log.max_bytes, 1048576u);
  EXPECT_EQ(log.keep, 5u);
  EXPECT_EQ(log.redact_env, (std::vector<std::string>{"*TOKEN*", "AWS_*"}));
  EXPECT_EQ(log.redact_patterns, std::vector<std::string>{"password=[^&]*"});
  EXPECT_EQ(log.max_arg_chars, 120u);
  EXPECT_EQ(log.rate_limit, 10u);
  EXPECT_TRUE(log.summary);
}

TEST(LogSection, DefaultsWhenAbsent) {
  LoadResult r = load("version: 1\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.policy->log().present);
  EXPECT_EQ(r.policy->log().sink, LogSink::standard_error);
  EXPECT_EQ(r.policy->log().format, LogFormat::json);
  EXPECT_EQ(load("version: 1\nlog: {sink: syslog}\n").policy->log().sink, LogSink::syslog);
}

TEST(LogSection, Errors) {
  EXPECT_EQ(load("version: 1\nlog:\n  sink: stdrr\n  format: xml\n  keep: -1\n").report(),
            "test.yaml:3:9: error: log sink must be stderr, syslog or file:PATH, not 'stdrr' "
            "(did you mean 'stderr'?)\n"
            "test.yaml:4:11: error: log format must be one of json, text, not 'xml'\n"
            "test.yaml:5:9: error: keep must be a whole number from 0 to 100, not '-1'\n");
  EXPECT_EQ(load("version: 1\nlog:\n  redact_patterns: ['a(b']\n").report(),
            "test.yaml:3:21: error: bad regular expression 'a(b': " +
                std::string(std::regex_error(std::regex_constants::error_paren).what()) + "\n");
}

TEST(SeccompSection, ParsesDenyDeriveAndAction) {
  LoadResult r = load(R"YAML(version: 1
seccomp:
  deny: [ptrace, process_vm_writev, bpf, mount, ptrace]
  derive: true
  action: kill
)YAML");
  ASSERT_TRUE(r.ok()) << r.report();
  const SeccompConfig& s = r.policy->seccomp();
  EXPECT_TRUE(s.present);
  EXPECT_EQ(s.deny, (std::vector<std::string>{"ptrace", "process_vm_writev", "bpf", "mount"}));
  EXPECT_TRUE(s.derive);
  EXPECT_EQ(s.action, SeccompAction::kill);
  LoadResult none = load("version: 1\n");
  EXPECT_FALSE(none.policy->seccomp().present);
  EXPECT_EQ(none.policy->seccomp().action, SeccompAction::eperm);
}

TEST(SeccompSection, UnknownSyscallIsAnErrorWithSuggestion) {
  EXPECT_EQ(load("version: 1\nseccomp:\n  deny: [ptrace, ptrcae, nosuchcall]\n  action: errrno\n")
                .report(),
            "test.yaml:3:18: error: unknown syscall 'ptrcae' (did you mean 'ptrace'?)\n"
            "test.yaml:3:26: error: unknown syscall 'nosuchcall'\n"
            "test.yaml:4:11: error: seccomp action must be one of errno, kill, log, not "
            "'errrno' (did you mean 'errno'?)\n");
  EXPECT_EQ(load("version: 1\nseccomp:\n  deny: ptrace\n  derive: yes\n").report(),
            "test.yaml:3:9: error: seccomp deny must be a list of syscall names\n"
            "test.yaml:4:11: error: derive must be true or false, not 'yes'\n");
}

TEST(PolicyCaller, NoCallerMatcherNoCaller) {
  auto p = load("version: 1\nrules:\n  - {id: r, on: network, action: log}\n").policy;
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->needs_caller(p->lookup("socket.connect")));
  EXPECT_FALSE(p->needs_caller(nullptr));
}

}  // namespace
}  // namespace auditwall::policy
