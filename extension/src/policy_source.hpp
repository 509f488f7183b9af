// Where the armed policy comes from: the compiled form a front end handed down, or the YAML.
#pragma once

#include <memory>
#include <string>

#include "auditwall/policy.hpp"

namespace auditwall::policy_source {

/// A policy loaded from YAML.
struct Loaded {
  std::shared_ptr<const policy::Policy> policy;  ///< null when the policy has errors
  std::string report;                            ///< every diagnostic, one per line
};

/// Loads `ref` (a path or "builtin:NAME"): with the fast reader when it reads the whole policy
/// and the loader has nothing to say of it, otherwise with the YAML loader,
/// libauditwall-loader.so from this extension's directory, loaded on first use. Returns false,
/// with the reason in `error`, when the loader library is needed and cannot be used; true
/// otherwise (`out.policy` null when the policy has errors, with them in `out.report`). Never
/// throws except std::bad_alloc.
bool load(const std::string& ref, Loaded& out, std::string& error);

/// The policy compiled in AUDITWALL_COMPILED, when there is one, it is intact, it was loaded
/// from `ref`, and `ref` still holds the same text; null otherwise (the caller then loads
/// `ref` itself, so a stale or damaged copy never stands for the file). Never throws except
/// std::bad_alloc.
std::shared_ptr<const policy::Policy> inherited(const std::string& ref);

}  // namespace auditwall::policy_source
