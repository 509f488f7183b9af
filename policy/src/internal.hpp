// Declarations shared by the policy library's sources; not part of the public API.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::policy {

/// Builds the immutable Policy and its index from validated rules.
class Compiler {
 public:
  static std::shared_ptr<const Policy> compile(std::vector<Rule> rules, Mode mode,
                                               std::string source, std::string hash);
};

/// A short hex digest of a policy's text.
std::string digest(std::string_view text);

}  // namespace auditwall::policy
