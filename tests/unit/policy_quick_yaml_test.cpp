// The fast policy reader against yaml-cpp: every policy that ships is read by the fast reader,
// into the tree yaml-cpp reads, and loads into the same policy; what it does not know exactly,
// it declines.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"
#include "internal.hpp"
#include "quick_yaml.hpp"
#include "yaml_difference.hpp"

namespace auditwall::policy {
namespace {

using testing::check_against_yaml_cpp;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The policies that ship: the built-in ones, the examples and the test fixture.
std::vector<std::pair<std::string, std::string>> shipped() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto name : builtin_names()) {
    out.emplace_back("builtin:" + std::string(name), std::string(builtin_text(name)));
  }
  for (const char* file : {"examples/policies/web-service.yaml", "examples/policies/strict.yaml",
                           "examples/policies/web-service-monitor.yaml",
                           "examples/policies/every-key.yaml", "tests/fixtures/deny-system.yaml"}) {
    const std::string path = std::string(AUDITWALL_SOURCE_DIR "/") + file;
    out.emplace_back(path, read(path));
    EXPECT_FALSE(out.back().second.empty()) << path;
  }
  return out;
}

TEST(QuickYaml, ReadsEveryShippedPolicyAsYamlCppDoes) {
  for (const auto& [name, text] : shipped()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(quick::parse(text).has_value()) << "the fast reader declines it";
    EXPECT_EQ(check_against_yaml_cpp(text), "");
  }
}

TEST(QuickYaml, LoadsEveryShippedPolicyAsYamlCppDoes) {
  for (const auto& [name, text] : shipped()) {
    SCOPED_TRACE(name);
    LoadResult fast = load_string(text, name);
    LoadResult reference = load_string_with_yaml_cpp(text, name);
    ASSERT_TRUE(reference.ok()) << reference.report();
    ASSERT_TRUE(fast.ok()) << fast.report();
    EXPECT_EQ(fast.report(), reference.report());
    EXPECT_EQ(serialise(*fast.policy), serialise(*reference.policy));
    EXPECT_EQ(fast.policy->hash(), reference.policy->hash());
  }
}

// Texts in the subset, each with something a reader could get wrong.
TEST(QuickYaml, ReadsTheSubsetAsYamlCppDoes) {
  const std::vector<std::string> texts = {
      "version: 1\n",
      "version: 1",
      "# comment\n\nversion: 1   # trailing\nmode:    monitor  \n",
      "a:\n  b:\n    c: d\n  e: f\ng: h\n",
      "rules:\n- id: a\n  on: x\n- id: b\n  on: y\nmode: enforce\n",
      "rules:\n  - id: a\n    on: [x, y,\n         z]\n  -   id: b\n      on: x\n",
      "rules:\n  -\n    id: a\n  - id: b\n",
      "a: [x, 'y z', \"w\", 'it''s', '', \"\"]\n",
      "a: {all: [{caller: [types]}, {caller: [stdlib]}]}\n",
      "a: {b: c,\n    d: [e, f]}   # comment\n",
      "a: [ ]\nb: { }\nc: []\n",
      "a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: 'null'\ng: nulls\n",
      "a: x#y\nb: x # y\nc: 'x' # y\n",
      "a: see [docs], {x}, \"q\" and 'q'\n",
      "a: http://example.com:80/x\nb: [fd00::1, 'fe80::/10']\n",
      "a: 1.5\nb: 0x10\nc: true\nd: on\n",
      "a:\n  - b\n  - c\n",
      "a:\n  - [b, c]\n  - {d: e}\n  - 'f'\n",
      "k1: v\nk1: w\n",
      "a:\n    b: c\n    # comment at another indentation\n  # and another\n    d: e\n",
      "a: b\n\n\n# end\n",
      "a: [x, # comment\n    y]\n",
      "a: b  \n",
      "a: x.y-z_w\n",
      "a: ' leading and trailing '\n",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(quick::parse(text).has_value()) << "the fast reader declines it";
    EXPECT_EQ(check_against_yaml_cpp(text), "");
  }
}

// Texts outside the subset: yaml-cpp reads them (or refuses them with its own message).
TEST(QuickYaml, DeclinesWhatItDoesNotReadExactly) {
  const std::vector<std::string> texts = {
      "",
      "# only a comment\n",
      "- a\n- b\n",
      "  a: b\n",
      "---\na: b\n",
      "a: b\n...\n",
      "%YAML 1.2\n---\na: b\n",
      "a: &x b\nc: *x\n",
      "a: !!str b\n",
      "a: |\n  text\n",
      "a: >\n  text\n",
      "a: multi\n  line\n",
      "a: [multi\n    line]\n",
      "a: 'multi\n  line'\n",
      "a: \"esc\\\"ape\"\n",
      "a:\tb\n",
      "a: b\r\n",
      "a: caf\xc3\xa9\n",
      "\xef\xbb\xbf" "a: b\n",
      "a: b: c\n",
      "a: b:\n",
      "? a\n: b\n",
      "'a': b\n",
      "a:\n  text on its own line\n",
      "a:\n  [x]\n",
      "a: [x,]\n",
      "a: [x, , y]\n",
      "a: {b}\n",
      "a: {b:c}\n",
      "a: [x?y]\n",
      "a: [x#y]\n",
      "a: [b: c]\n",
      "a: - b\n",
      "a:\n  - - b\n",
      "a:\n  -\n",
      "a: b\n c: d\n",
      "a:\n    b: c\n  d: e\n",
      "a: [x,\ny]\n",
      "a: [x\n",
      "a: 'x\n",
      "a: -x\n",
      "a: @x\n",
      "a: `x\n",
      "a: %x\n",
      "a: 'x'y\n",
      "a: [x]y\n",
      "a: 'x'#y\n",
      "a: " + std::string(100, '[') + std::string(100, ']') + "\n",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(quick::parse(text).has_value());
  }
}

// A policy with a warning or an error is read by yaml-cpp: its diagnostics, positions
// included, are yaml-cpp's whichever reader could read the text.
TEST(QuickYaml, DiagnosticsComeFromYamlCpp) {
  const std::vector<std::string> texts = {
      "version: 1\nrules:\n  - id: a\n    on: process\n    action: deny\n"
      "  - id: b\n    on: process.exec\n    action: allow\n",
      "version: 1\nrules:\n  - id: a\n    on: [procss]\n    action: deny\n",
      "version: 1\nmode: enforced\n",
      "version: 1\nmode:\n",
      "version: 2\n",
      "version: 1\nversion: 1\n",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(quick::parse(text).has_value());
    LoadResult fast = load_string(text, "p.yaml");
    LoadResult reference = load_string_with_yaml_cpp(text, "p.yaml");
    ASSERT_FALSE(reference.diagnostics.empty());
    EXPECT_EQ(fast.report(), reference.report());
    EXPECT_EQ(fast.ok(), reference.ok());
  }
}

}  // namespace
}  // namespace auditwall::policy
