// The loader built with the fast reader alone (auditwall::policy_fast), as the extension links
// it: it loads every policy the fast reader reads whole with nothing to say, and declines every
// other one, which the full loader (libauditwall-loader.so) reads.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"
#include "shipped_policies.hpp"

namespace auditwall::policy {
namespace {

TEST(FastOnly, LoadsWhatTheFastReaderReads) {
  for (const std::string& path : shipped_policies()) {
    SCOPED_TRACE(path);
    // Redaction patterns are regular expressions, which only the full loader checks.
    if (path.find("every-key") != std::string::npos) continue;
    std::optional<LoadResult> loaded = load_file_fast(path);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_TRUE(loaded->diagnostics.empty());
    ASSERT_NE(loaded->policy, nullptr);
    EXPECT_EQ(loaded->policy->source(), path);
    // Its compiled form is what a child process rebuilds it from: the same policy.
    std::string why;
    std::shared_ptr<const Policy> policy = deserialise(serialise(*loaded->policy), why);
    ASSERT_NE(policy, nullptr) << why;
    EXPECT_EQ(policy->source(), path);
    EXPECT_TRUE(source_unchanged(*policy));
    EXPECT_EQ(serialise(*policy), serialise(*loaded->policy));
  }
}

TEST(FastOnly, DeclinesEverythingElse) {
  const std::string dir = ::testing::TempDir();
  const std::string broken = dir + "/fast-only-broken.yaml";
  const std::string anchored = dir + "/fast-only-anchored.yaml";
  {
    std::ofstream(broken) << "version: 1\nrules:\n  - id: a\n    on: procss\n    action: deny\n";
    std::ofstream(anchored) << "version: 1\nrules:\n  - id: &a a\n    on: os.system\n"
                               "    action: deny\n";
  }
  for (const std::string& path :
       {broken, anchored, dir + "/fast-only-missing.yaml", std::string("builtin:nope"),
        std::string(AUDITWALL_SOURCE_DIR "/examples/policies/every-key.yaml")}) {
    SCOPED_TRACE(path);
    EXPECT_FALSE(load_file_fast(path).has_value());
  }
}

}  // namespace
}  // namespace auditwall::policy
