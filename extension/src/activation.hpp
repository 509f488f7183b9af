// Arming from a policy reference and a mode, as given on a command line or in the environment.
#pragma once

#include <string>

#include "hook.hpp"

namespace auditwall::activation {

/// Exit status of a process that refuses to start because its policy is unusable (EX_CONFIG).
inline constexpr int kExitPolicyError = 78;

/// Loads the policy named by `policy_ref` (a path), applies `mode` ("", "enforce" or
/// "monitor") and arms the hook. On failure returns false with every diagnostic in `error`.
bool arm(const std::string& policy_ref, const std::string& mode, hook::How how,
         std::string& error);

/// The compiled form (policy::serialise) of the policy arm() armed, as loaded, before `mode`
/// applied; "" before arming. Auto-load hands it to the children, as the front ends do.
std::string compiled_form();

}  // namespace auditwall::activation

extern "C" {
/// Called by the pre-init shim (libauditwall-preload.so) before the interpreter starts: arms
/// the hook from AUDITWALL_POLICY and AUDITWALL_MODE. Returns 0 when armed, otherwise an exit
/// status for the process, with the reason in `error` (NUL-terminated, cut to `size`).
__attribute__((visibility("default"))) int auditwall_preinit_arm(char* error, unsigned long size);
}
