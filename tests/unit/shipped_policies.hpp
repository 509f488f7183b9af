// The policies auditwall ships, by the reference a user gives: the examples and the built-ins.
#pragma once

#include <string>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::policy {

inline std::vector<std::string> shipped_policies() {
  std::vector<std::string> paths = {AUDITWALL_FIXTURES "/deny-system.yaml",
                                    AUDITWALL_SOURCE_DIR "/examples/policies/web-service.yaml",
                                    AUDITWALL_SOURCE_DIR "/examples/policies/every-key.yaml",
                                    AUDITWALL_SOURCE_DIR "/examples/policies/strict.yaml"};
  for (auto name : builtin_names()) paths.push_back("builtin:" + std::string(name));
  return paths;
}

}  // namespace auditwall::policy
