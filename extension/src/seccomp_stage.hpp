// The armed-stage seccomp filter, stacked by each Python process that auditwall-launch runs.
#pragma once

#include <string>

#include "auditwall/policy.hpp"

namespace auditwall::seccomp_stage {

/// Exit status of a process that refuses to start because its filter cannot be installed.
inline constexpr int kExitNoSeccomp = 71;  // EX_OSERR

/// After the hook is armed with `policy`, and only when AUDITWALL_SECCOMP is "on" (set by
/// auditwall-launch): installs the filter derived from the policy, with the SIGSYS reporter.
/// Returns true when installed or not asked for; false with the reason in `error`.
bool install(const policy::Policy& policy, std::string& error);

}  // namespace auditwall::seccomp_stage
