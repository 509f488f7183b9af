// The armed-stage seccomp filter: built from the armed policy, installed before Python runs.
#include "seccomp_stage.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "auditwall/seccomp.hpp"

namespace auditwall::seccomp_stage {

bool install(const policy::Policy& policy, std::string& error) {
  const char* wanted = std::getenv("AUDITWALL_SECCOMP");
  if (wanted == nullptr || std::strcmp(wanted, "on") != 0) return true;
  seccomp::Filter filter = seccomp::build(seccomp::Stage::armed, &policy, policy.mode());
  const std::string suffix = " mode=" + std::string(policy::to_string(policy.mode())) +
                             " policy=" + policy.hash();
  if (seccomp::install(filter, error, suffix) != 0) {
    error = "cannot install the armed seccomp filter: " + error;
    return false;
  }
  if (policy.mode() == policy::Mode::monitor) {
    // SCMP_ACT_LOG calls are recorded by the kernel's audit log (by number, with the pid),
    // not here: say once, by name, what it will record.
    std::string names;
    for (const seccomp::SyscallRule& rule : filter.rules) {
      if (rule.verdict != seccomp::Verdict::log || names.find(" " + rule.syscall + ",") !=
                                                       std::string::npos) {
        continue;
      }
      names += " " + rule.syscall + ",";
    }
    if (!names.empty()) names.pop_back();
    std::fprintf(stderr,
                 "auditwall: monitor seccomp: the kernel audit log records, without stopping, "
                 "the syscalls%s%s\n",
                 names.c_str(), suffix.c_str());
  }
  return true;
}

}  // namespace auditwall::seccomp_stage
