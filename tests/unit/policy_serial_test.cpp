// The compiled form of a policy (serialise/deserialise) and the freshness check on its source.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "auditwall/policy.hpp"
#include "shipped_policies.hpp"
#include "test_support.hpp"

namespace auditwall::policy {
namespace {

using testing::TestEvent;
using testing::verdict;

// Every matcher kind, every section and setting the language has, and a built-in base.
const char kRich[] = R"YAML(version: 1
mode: monitor
default: deny
extends: builtin:web-service
log:
  sink: file:/tmp/auditwall-serial.log
  format: text
  max_bytes: 1048576
  keep: 5
  redact_env: ["*TOKEN*"]
  redact_patterns: ["password=[^&]*"]
  max_arg_chars: 80
  rate_limit: 7
  summary: true
seccomp:
  deny: [ptrace, bpf]
  derive: true
  action: log
rules:
  - id: combo
    on: [process, "ctypes.*"]
    match:
      all:
        - any: [{executable: [curl]}, {executable: [wget]}]
        - not: {argv: ["--version"]}
    action: deny
    message: no downloads
  - {id: shells, on: process, match: {shell: true}, action: kill, mode: enforce}
  - {id: nets, on: network.connect, match: {address: [127.0.0.0/8, "::1"], port: [443, "8000-8100"]}, action: allow}
  - {id: hosts, on: network, match: {host: ["*.example.com"]}, action: log}
  - {id: sock, on: network.connect, match: {unix: ["/run/docker.sock"]}, action: deny}
  - {id: files, on: file, match: {path: ["/etc/**"], access: [write, truncate]}, action: deny}
  - {id: pickles, on: deserialize, match: {not: {global: ["collections.*"]}}, action: deny}
  - {id: callers, on: network.connect, match: {not: {caller: ["requests.*", stdlib]}}, action: deny}
  - {id: code, on: code, match: {origin: dynamic}, action: log}
  - {id: envs, on: env, match: {env: ["LD_*"]}, action: deny}
  - {id: tamper, on: tamper, match: {attribute: [__code__]}, action: deny}
  - {id: mods, on: import, match: {module: ["ctypes"]}, action: deny}
)YAML";

std::shared_ptr<const Policy> round_trip(const Policy& policy) {
  std::string error;
  auto back = deserialise(serialise(policy), error);
  EXPECT_NE(back, nullptr) << error;
  return back;
}

TEST(Serial, RoundTripKeepsEveryField) {
  auto p = testing::compile(kRich);
  ASSERT_NE(p, nullptr);
  auto back = round_trip(*p);
  ASSERT_NE(back, nullptr);
  // serialise() writes every field, so equal forms mean equal policies.
  EXPECT_EQ(serialise(*back), serialise(*p));
  EXPECT_EQ(back->source(), p->source());
  EXPECT_EQ(back->hash(), p->hash());
  EXPECT_EQ(back->source_hash(), p->source_hash());
  EXPECT_EQ(back->mode(), Mode::monitor);
  EXPECT_EQ(back->default_action(), Action::deny);
  EXPECT_EQ(back->rules().size(), p->rules().size());
  EXPECT_EQ(back->log().path, "/tmp/auditwall-serial.log");
  EXPECT_EQ(back->log().rate_limit, 7u);
  EXPECT_EQ(back->seccomp().action, SeccompAction::log);
  EXPECT_EQ(back->seccomp().deny, p->seccomp().deny);
}

TEST(Serial, RoundTripDecidesTheSame) {
  auto p = testing::compile(kRich);
  ASSERT_NE(p, nullptr);
  auto back = round_trip(*p);
  ASSERT_NE(back, nullptr);
  TestEvent wget("subprocess.Popen");
  wget.event.executable = "/usr/bin/wget";
  wget.argv({"wget", "http://x"});
  EXPECT_EQ(verdict(*back, wget.event), "combo:deny");
  wget.argv({"wget", "--version"});
  EXPECT_EQ(verdict(*back, wget.event), verdict(*p, wget.event));
  TestEvent connect("socket.connect");
  connect.event.host = "127.0.0.1";
  connect.event.port = 8050;
  connect.event.address_family = 2;
  EXPECT_EQ(verdict(*back, connect.event), "nets:allow");
  connect.event.port = 22;
  EXPECT_EQ(verdict(*back, connect.event), verdict(*p, connect.event));
  TestEvent write("open");
  write.event.path = "/etc/passwd";
  write.event.open_mode = "w";
  EXPECT_EQ(verdict(*back, write.event), "files:deny");
  EXPECT_EQ(back->lookup("os.system") != nullptr, p->lookup("os.system") != nullptr);
  EXPECT_EQ(back->lookup("no.such.event"), nullptr);
}

TEST(Serial, EveryBuiltinAndTheModeOverride) {
  for (auto name : builtin_names()) {
    LoadResult loaded = load_file("builtin:" + std::string(name));
    ASSERT_TRUE(loaded.ok()) << loaded.report();
    auto back = round_trip(*loaded.policy);
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(serialise(*back), serialise(*loaded.policy)) << name;
    auto monitor = round_trip(*loaded.policy->with_mode(Mode::monitor));
    ASSERT_NE(monitor, nullptr);
    EXPECT_EQ(monitor->mode(), Mode::monitor);
  }
}

TEST(Serial, IsPrintableForTheEnvironment) {
  auto p = testing::compile(kRich);
  ASSERT_NE(p, nullptr);
  const std::string text = serialise(*p);
  ASSERT_EQ(text.rfind("aw1.", 0), 0u);
  for (char c : text) EXPECT_TRUE(c > ' ' && c < 127 && c != '=') << int(c);
}

TEST(Serial, RefusesDamagedInput) {
  auto p = testing::compile(kRich);
  ASSERT_NE(p, nullptr);
  const std::string good = serialise(*p);
  std::string error;
  for (const std::string& bad :
       {std::string(), std::string("aw1."), std::string("aw2.") + good.substr(4),
        good.substr(0, good.size() / 2), good.substr(0, good.size() - 1), good + "AAAA",
        std::string("aw1.!!!!"), good.substr(0, 4) + std::string(good.size() - 4, 'A')}) {
    error.clear();
    EXPECT_EQ(deserialise(bad, error), nullptr) << bad.substr(0, 40);
    EXPECT_FALSE(error.empty());
  }
  // One flipped character anywhere in the payload is caught.
  for (std::size_t i = 4; i < good.size(); i += 7) {
    std::string flipped = good;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(deserialise(flipped, error), nullptr) << "at " << i;
  }
}

TEST(Serial, SourceUnchangedFollowsTheFile) {
  const std::string path = ::testing::TempDir() + "auditwall-serial-policy.yaml";
  {
    std::ofstream out(path);
    out << "version: 1\nrules:\n  - {id: a, on: os.system, action: deny}\n";
  }
  LoadResult loaded = load_file(path);
  ASSERT_TRUE(loaded.ok()) << loaded.report();
  auto back = round_trip(*loaded.policy);
  ASSERT_NE(back, nullptr);
  EXPECT_TRUE(source_unchanged(*back));
  {
    std::ofstream out(path);
    out << "version: 1\nrules:\n  - {id: a, on: os.system, action: allow}\n";
  }
  EXPECT_FALSE(source_unchanged(*back));
  std::remove(path.c_str());
  EXPECT_FALSE(source_unchanged(*back));

  LoadResult builtin = load_file("builtin:strict");
  ASSERT_TRUE(builtin.ok());
  EXPECT_TRUE(source_unchanged(*round_trip(*builtin.policy)));
  // A policy that extends a built-in: the check covers the file's own text.
  LoadResult inline_policy = load_string(kRich, "not-a-file.yaml");
  ASSERT_TRUE(inline_policy.ok());
  EXPECT_FALSE(source_unchanged(*inline_policy.policy));
}

}  // namespace
}  // namespace auditwall::policy

namespace auditwall::policy {
namespace {

// A front end that only hands the policy down gets, without compiling it, exactly what
// loading and serialising give: the same compiled form, the same diagnostics.
TEST(HandDown, GivesWhatLoadingAndSerialisingGive) {
  for (const std::string& path : shipped_policies()) {
    SCOPED_TRACE(path);
    LoadResult loaded = load_file(path);
    HandDown handed = load_file_for_hand_down(path);
    ASSERT_TRUE(loaded.ok()) << loaded.report();
    ASSERT_TRUE(handed.ok()) << handed.report();
    EXPECT_EQ(handed.compiled, serialise(*loaded.policy));
    EXPECT_EQ(handed.report(), loaded.report());
  }
}

TEST(HandDown, RefusesWhatLoadingRefuses) {
  const std::string dir = ::testing::TempDir();
  const std::string broken = dir + "/hand-down-broken.yaml";
  const std::string warned = dir + "/hand-down-warned.yaml";
  {
    std::ofstream(broken) << "version: 1\nrules:\n  - id: a\n    on: procss\n    action: deny\n";
    std::ofstream(warned) << "version: 1\nrules:\n  - {id: a, on: process, action: deny}\n"
                             "  - {id: b, on: process.exec, action: allow}\n";
  }
  for (const std::string& path : {broken, warned, dir + "/hand-down-missing.yaml",
                                  std::string("builtin:nope")}) {
    SCOPED_TRACE(path);
    LoadResult loaded = load_file(path);
    HandDown handed = load_file_for_hand_down(path);
    EXPECT_FALSE(loaded.report().empty());
    EXPECT_EQ(handed.report(), loaded.report());
    EXPECT_EQ(handed.ok(), loaded.ok());
    if (loaded.ok()) {
      EXPECT_EQ(handed.compiled, serialise(*loaded.policy));
    }
  }
}

// The fast reader gives the same compiled form for every policy it reads whole with nothing
// to say, and nothing for every other one, which the full loader then reads.
TEST(FastReader, GivesTheSameOrNothing) {
  for (const std::string& path : shipped_policies()) {
    SCOPED_TRACE(path);
    std::optional<LoadResult> fast = load_file_fast(path);
    ASSERT_TRUE(fast.has_value());
    EXPECT_TRUE(fast->diagnostics.empty());
    ASSERT_NE(fast->policy, nullptr);
    EXPECT_EQ(serialise(*fast->policy), load_file_for_hand_down(path).compiled);
  }
  const std::string dir = ::testing::TempDir();
  const std::string broken = dir + "/fast-broken.yaml";
  const std::string warned = dir + "/fast-warned.yaml";
  const std::string anchored = dir + "/fast-anchored.yaml";
  {
    std::ofstream(broken) << "version: 1\nrules:\n  - id: a\n    on: procss\n    action: deny\n";
    std::ofstream(warned) << "version: 1\nrules:\n  - {id: a, on: process, action: deny}\n"
                             "  - {id: b, on: process.exec, action: allow}\n";
    std::ofstream(anchored) << "version: 1\nrules:\n  - id: &a a\n    on: os.system\n"
                               "    action: deny\n";
  }
  ASSERT_TRUE(load_file(anchored).ok());
  for (const std::string& path : {broken, warned, anchored, dir + "/fast-missing.yaml", dir,
                                  std::string("builtin:nope")}) {
    SCOPED_TRACE(path);
    EXPECT_FALSE(load_file_fast(path).has_value());
  }
}

TEST(HandDown, ADirectoryIsNotAPolicy) {
  const LoadResult loaded = load_file(::testing::TempDir());
  EXPECT_FALSE(loaded.ok());
  EXPECT_NE(loaded.report().find("error: error while reading policy file: Is a directory"),
            std::string::npos)
      << loaded.report();
}

}  // namespace
}  // namespace auditwall::policy
