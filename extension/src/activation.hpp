// Arming from a policy reference and a mode, as given on a command line or in the environment.
#pragma once

#include <string>

#include "hook.hpp"

namespace auditwall::activation {

/// Exit status of a process that refuses to start because its policy is unusable (EX_CONFIG).
inline constexpr int kExitPolicyError = 78;
/// Exit status of a process that refuses to start because the policy cannot be checked: the
/// full loader (libauditwall-loader.so) that its text needs cannot be loaded.
inline constexpr int kExitCannotRun = 127;

/// Loads the policy named by `policy_ref` (a path), applies `mode` ("", "enforce" or
/// "monitor") and arms the hook. The compiled form handed down in AUDITWALL_COMPILED is used
/// when it is usable; otherwise the file is read. Returns 0 when armed; otherwise
/// kExitPolicyError, with every diagnostic in `error`, or kExitCannotRun, with the reason,
/// when the loader library is needed and cannot be used. When the policy was read from its
/// file, `*read_file` is set (when given), and its warnings are put in `warnings` (when given).
int arm(const std::string& policy_ref, const std::string& mode, hook::How how,
         std::string& error, std::string* warnings = nullptr, bool* read_file = nullptr);

/// The compiled form (policy::serialise) of the policy arm() armed, as loaded, before `mode`
/// applied; "" before arming. Auto-load hands it to the children, as the front ends do.
std::string compiled_form();

}  // namespace auditwall::activation

extern "C" {
/// Called before the interpreter starts, by the pre-init shim (libauditwall-preload.so) in
/// every process of a protected tree and by the auditwall command in its own process: arms
/// the hook from AUDITWALL_POLICY and AUDITWALL_MODE, from the compiled form handed down when
/// it is usable, else from the file. Whoever reads the file prints its warnings on stderr and
/// sets its compiled form in AUDITWALL_COMPILED for the program's children (the auditwall
/// command hands down none, so the policy is read and compiled once, by the code that
/// evaluates it). Returns 0 when armed, otherwise an exit status for the process, with the
/// reason in `error` (NUL-terminated, cut to `size`).
__attribute__((visibility("default"))) int auditwall_preinit_arm(char* error, unsigned long size);
}
