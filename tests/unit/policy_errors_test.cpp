// Every load error and warning of the language, with its line and column; hostile files.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "auditwall/policy.hpp"

namespace auditwall::policy {
namespace {

std::string report(const std::string& text) { return load_string(text, "test.yaml").report(); }

TEST(LoadErrors, TopLevelValues) {
  EXPECT_EQ(report("version: 1\ndefault: maybe\nextends: builtin:strct\n"),
            "test.yaml:2:10: error: default must be one of allow, deny, not 'maybe'\n"
            "test.yaml:3:10: error: extends must name a built-in policy (builtin:strict, "
            "builtin:web-service, builtin:monitor-all), not 'builtin:strct' (did you mean "
            "'builtin:strict'?)\n");
}

TEST(LoadErrors, OnFamiliesNamesAndGlobs) {
  EXPECT_EQ(report(R"YAML(version: 1
rules:
  - id: a
    on: [proces, network.conect, os.sytem, "ctypes.[x", file, "nomatch.*"]
    action: deny
)YAML"),
            "test.yaml:4:10: error: unknown family or event 'proces' (did you mean 'process'?); "
            "families: code, deserialize, process, network, file, import, native, tamper, env\n"
            "test.yaml:4:18: error: unknown sub-family 'network.conect' (did you mean "
            "'network.connect'?); known: network.bind, network.connect, network.resolve, "
            "network.send, network.socket, network.url\n"
            "test.yaml:4:34: warning: 'os.sytem' is not a CPython event auditwall knows (did "
            "you mean 'os.system'?)\n"
            "test.yaml:4:44: error: bad glob 'ctypes.[x': '[' at offset 7 has no closing ']'\n"
            "test.yaml:4:63: warning: 'nomatch.*' matches no CPython event auditwall knows; it "
            "applies only to events a program raises itself\n");
}

TEST(LoadErrors, EveryMatcher) {
  EXPECT_EQ(report(R"YAML(version: 1
rules:
  - id: a
    on: [process]
    match:
      path: [relative/x, "/ok/**"]
      address: [10.0.0.0/33, 1.2.3, "::1/129"]
      port: [70000, "90-80", http]
      host: [10.0.0.1, "bad host"]
      shell: maybe
      origin: static
      access: [read, exec]
      exe: [x]
      unix: [relative.sock]
      global: ["a[b"]
      caller: []
      not: {}
      any: {path: /x}
    action: deny
)YAML"),
            "test.yaml:6:14: error: path pattern 'relative/x' must be absolute, or start with ~ "
            "or ** (for any directory: **/relative/x)\n"
            "test.yaml:7:17: error: bad address or network '10.0.0.0/33'; write an IPv4 or IPv6 "
            "address, optionally with /PREFIX (10.0.0.0/8, fd00::/8)\n"
            "test.yaml:7:30: error: bad address or network '1.2.3'; write an IPv4 or IPv6 "
            "address, optionally with /PREFIX (10.0.0.0/8, fd00::/8)\n"
            "test.yaml:7:37: error: bad address or network '::1/129'; write an IPv4 or IPv6 "
            "address, optionally with /PREFIX (10.0.0.0/8, fd00::/8)\n"
            "test.yaml:8:14: error: bad port '70000'; write a number from 0 to 65535 or a range "
            "such as 8000-8100\n"
            "test.yaml:8:21: error: bad port '90-80'; write a number from 0 to 65535 or a range "
            "such as 8000-8100\n"
            "test.yaml:8:30: error: bad port 'http'; write a number from 0 to 65535 or a range "
            "such as 8000-8100\n"
            "test.yaml:9:14: error: '10.0.0.1' is a numeric address; use 'address' for "
            "addresses, which also matches their other spellings\n"
            "test.yaml:9:24: error: bad host name 'bad host'; write a name such as "
            "api.example.com or *.example.com\n"
            "test.yaml:10:14: error: shell must be true or false, not 'maybe'\n"
            "test.yaml:11:15: error: origin must be one of dynamic, module, not 'static'\n"
            "test.yaml:12:22: error: access must be one of read, write, create, truncate, "
            "append, not 'exec'\n"
            "test.yaml:13:7: error: unknown key 'exe' in match (did you mean 'executable'?); "
            "known keys: path, access, executable, argv, command, shell, address, host, port, "
            "unix, global, module, caller, origin, env, attribute, not, any, all\n"
            "test.yaml:14:14: error: path pattern 'relative.sock' must be absolute, or start "
            "with ~ or ** (for any directory: **/relative.sock)\n"
            "test.yaml:15:16: error: bad glob 'a[b': '[' at offset 1 has no closing ']'\n"
            "test.yaml:16:15: error: 'caller' must list at least one value\n"
            "test.yaml:17:12: error: match must name at least one matcher\n"
            "test.yaml:18:12: error: 'any' must be a list of matches\n");
}

TEST(LoadErrors, RuleShape) {
  EXPECT_EQ(report(R"YAML(version: 1
rules:
  - id: b
    on: file.write
    action: deny
    action: allow
  - id: ""
    on: []
    action: deny
  - "just a string"
  - id: c
    action: deny
)YAML"),
            "test.yaml:6:5: error: duplicate key 'action' in a rule\n"
            "test.yaml:7:9: error: rule id must not be empty\n"
            "test.yaml:8:9: error: 'on' must name at least one event\n"
            "test.yaml:10:5: error: a rule must be a mapping\n"
            "test.yaml:11:5: error: rule 'c' has no 'on' (the events it applies to)\n");
}

TEST(Extends, OwnRulesFirstThenTheBase) {
  LoadResult r = load_string(R"YAML(version: 1
extends: builtin:web-service
mode: monitor
seccomp: {deny: [chroot]}
rules:
  - id: db
    on: network.connect
    match: {address: 10.1.2.3}
    action: allow
)YAML", "test.yaml");
  ASSERT_TRUE(r.ok()) << r.report();
  const Policy& p = *r.policy;
  EXPECT_EQ(p.rules().front().id, "db");
  EXPECT_EQ(p.rules().front().origin, "");
  EXPECT_EQ(p.rules().back().origin, "builtin:web-service");
  EXPECT_EQ(p.mode(), Mode::monitor);
  EXPECT_EQ(p.seccomp().deny.back(), "chroot");
  EXPECT_EQ(p.seccomp().deny.front(), "ptrace");
  Event e;
  e.name = "socket.connect";
  e.host = "10.1.2.3";
  e.port = 5432;
  EXPECT_EQ(p.evaluate(e).rule->id, "db");
  e.host = "10.1.2.4";
  EXPECT_EQ(p.evaluate(e).rule->id, "web-private-ranges");
}

TEST(Extends, DuplicateIdAndUnknownBuiltin) {
  EXPECT_EQ(report("version: 1\nextends: builtin:strict\nrules:\n"
                   "  - {id: strict-no-network, on: os.system, action: deny}\n"),
            "test.yaml:4:5: error: duplicate rule id 'strict-no-network': builtin:strict has a "
            "rule of that name\n");
  EXPECT_EQ(load_file("builtin:nope").report(),
            "builtin:nope: error: no built-in policy 'builtin:nope'; there are builtin:strict, "
            "builtin:web-service, builtin:monitor-all\n");
}

TEST(Warnings, ShadowedRules) {
  LoadResult r = load_string(R"YAML(version: 1
extends: builtin:web-service
rules:
  - id: all-net
    on: network
    action: log
  - id: hidden
    on: socket.connect
    match: {port: 80}
    action: deny
  - id: reads
    on: file.read
    action: allow
  - id: hidden-read
    on: file.read
    match: {path: /etc/x}
    action: deny
  - id: writes-still-reachable
    on: open
    match: {path: /etc/x}
    action: deny
)YAML", "test.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.report(),
            "test.yaml:4:5: warning: rule 'all-net' decides every event that rule "
            "'web-cloud-metadata' of builtin:web-service applies to; that rule can never match\n"
            "test.yaml:4:5: warning: rule 'all-net' decides every event that rule "
            "'web-cloud-metadata-names' of builtin:web-service applies to; that rule can never "
            "match\n"
            "test.yaml:4:5: warning: rule 'all-net' decides every event that rule "
            "'web-private-ranges' of builtin:web-service applies to; that rule can never match\n"
            "test.yaml:7:5: warning: rule 'hidden' can never match: rule 'all-net' (line 4) "
            "comes first and decides every event it applies to\n"
            "test.yaml:14:5: warning: rule 'hidden-read' can never match: rule 'reads' (line "
            "11) comes first and decides every event it applies to\n");
}

TEST(Hostile, AliasBombEndsInAnError) {
  std::string text = "version: 1\nrules:\n  - id: bomb\n    on: process\n    action: deny\n"
                     "    match:\n      any:\n        - &m0 {shell: true}\n";
  for (int i = 1; i < 10; ++i) {
    text += "        - &m" + std::to_string(i) + " {any: [";
    for (int j = 0; j < 10; ++j) text += (j ? ",*m" : "*m") + std::to_string(i - 1);
    text += "]}\n";
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(report(text),
            "test.yaml:8:16: error: policy is too large: more than 100000 values (are YAML "
            "aliases repeating a large part?)\n");
  // Seconds at most even under sanitizers on a loaded machine; without the limit, hours.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

TEST(Hostile, DeepNesting) {
  // yaml-cpp gives up at its own depth limit; where it says it stopped differs by version.
  LoadResult r = load_string("version: 1\nrules: " + std::string(3000, '[') + std::string(3000, ']'),
                             "test.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_EQ(r.diagnostics[0].message.rfind("invalid YAML: nested more than ", 0), 0u)
      << r.report();
  std::string deep_match = "version: 1\nrules:\n  - id: x\n    on: process\n    action: deny\n"
                           "    match: ";
  for (int i = 0; i < 40; ++i) deep_match += "{not: ";
  deep_match += "{shell: true}" + std::string(40, '}') + "\n";
  EXPECT_EQ(report(deep_match), "test.yaml:6:114: error: match is nested more than 16 levels deep\n");
}

TEST(Builtins, LoadCleanly) {
  for (auto name : builtin_names()) {
    LoadResult r = load_file("builtin:" + std::string(name));
    EXPECT_TRUE(r.ok()) << name << "\n" << r.report();
    EXPECT_TRUE(r.diagnostics.empty()) << name << "\n" << r.report();
    EXPECT_EQ(r.policy->source(), "builtin:" + std::string(name));
  }
}

}  // namespace
}  // namespace auditwall::policy
