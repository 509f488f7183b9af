// Loading policies: accepted forms, and every error with its line and column.
#include <gtest/gtest.h>

#include "auditwall/policy.hpp"

namespace auditwall::policy {
namespace {

LoadResult load(const char* text) { return load_string(text, "test.yaml"); }

TEST(PolicyLoader, LoadsTheSkeletonPolicy) {
  LoadResult r = load(R"YAML(
version: 1
mode: enforce
rules:
  - id: no-system
    on: os.system
    action: deny
    message: shells are not allowed here
)YAML");
  ASSERT_TRUE(r.ok()) << r.report();
  EXPECT_TRUE(r.diagnostics.empty());
  ASSERT_EQ(r.policy->rules().size(), 1u);
  const Rule& rule = r.policy->rules()[0];
  EXPECT_EQ(rule.id, "no-system");
  EXPECT_EQ(rule.on, std::vector<std::string>{"os.system"});
  EXPECT_EQ(rule.action, Action::deny);
  EXPECT_EQ(rule.message, "shells are not allowed here");
  EXPECT_EQ(rule.line, 5);
  EXPECT_EQ(r.policy->mode(), Mode::enforce);
  EXPECT_EQ(r.policy->hash().size(), 16u);
}

TEST(PolicyLoader, LoadsTheFixtureFile) {
  LoadResult r = load_file(AUDITWALL_FIXTURES "/deny-system.yaml");
  ASSERT_TRUE(r.ok()) << r.report();
  EXPECT_EQ(r.policy->source(), AUDITWALL_FIXTURES "/deny-system.yaml");
}

TEST(PolicyLoader, UnreadableFileIsAnError) {
  LoadResult r = load_file("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].format(),
            "/nonexistent/policy.yaml: error: cannot read policy file: No such file or directory");
}

TEST(PolicyLoader, InvalidYamlReportsLineAndColumn) {
  LoadResult r = load("version: 1\nrules: [\n  - id: x\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, "test.yaml");
  EXPECT_GT(r.diagnostics[0].line, 1);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos);
}

TEST(PolicyLoader, CollectsEveryErrorWithPlaces) {
  LoadResult r = load(R"YAML(version: 1
mdoe: enforce
rules:
  - id: a
    on: os.system
    action: dney
  - id: a
    on: os.exec
    action: deny
  - on: os.system
    action: deny
)YAML");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 4u) << r.report();
  EXPECT_EQ(r.diagnostics[0].format(),
            "test.yaml:2:1: error: unknown key 'mdoe' in the policy (did you mean 'mode'?); "
            "known keys: version, mode, default, extends, log, rules, seccomp");
  EXPECT_EQ(r.diagnostics[1].format(),
            "test.yaml:6:13: error: action must be one of allow, deny, log, kill, not 'dney' "
            "(did you mean 'deny'?)");
  EXPECT_EQ(r.diagnostics[2].format(), "test.yaml:7:9: error: duplicate rule id 'a'");
  EXPECT_EQ(r.diagnostics[3].format(), "test.yaml:10:5: error: rule has no 'id'");
}

TEST(PolicyLoader, VersionIsRequiredAndMustBeOne) {
  EXPECT_EQ(load("mode: enforce\n").report(), "test.yaml:1:1: error: missing 'version: 1'\n");
  EXPECT_EQ(load("version: 2\n").report(),
            "test.yaml:1:10: error: unsupported policy version '2'; this auditwall reads "
            "version 1\n");
}

TEST(PolicyLoader, EmptyPolicyIsAnError) {
  EXPECT_FALSE(load("").ok());
  EXPECT_FALSE(load("# only a comment\n").ok());
}

TEST(PolicyLoader, OversizedPolicyIsRefused) {
  std::string huge = "version: 1\n# " + std::string(2 << 20, 'x') + "\n";
  LoadResult r = load_string(huge, "huge.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.report().find("the limit is"), std::string::npos);
}

}  // namespace
}  // namespace auditwall::policy
