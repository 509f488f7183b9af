// The armed-stage seccomp filter: built from the armed policy, installed before Python runs.
#include "seccomp_stage.hpp"

#include <cstdlib>
#include <cstring>

#include "auditwall/seccomp.hpp"
#include "recorder.hpp"
#include "syscall_log.hpp"

namespace auditwall::seccomp_stage {
namespace {

// From the reporter (SIGSYS handler or supervisor thread) to the event log. Async-signal-safe.
void to_log(const seccomp::Report& report) noexcept {
  syscall_log::Syscall call;
  call.name = report.syscall;
  call.nr = report.nr;
  call.rule = report.rule;
  // A log verdict comes from monitor mode, global or a rule's own: the call ran.
  const bool watched = report.verdict == seccomp::Verdict::log;
  call.word = watched ? log::Word::would_deny
              : report.verdict == seccomp::Verdict::kill ? log::Word::kill
                                                          : log::Word::deny;
  call.mode = watched ? policy::Mode::monitor : policy::Mode::enforce;
  call.pid = report.pid;
  call.tid = report.tid;
  for (int i = 0; i < 6; ++i) call.args[i] = report.args[i];
  syscall_log::write(call);
}

}  // namespace

bool install(const policy::Policy& policy, std::string& error) {
  const char* wanted = std::getenv("AUDITWALL_SECCOMP");
  if (wanted == nullptr || std::strcmp(wanted, "on") != 0) return true;
  seccomp::Filter filter = seccomp::build(seccomp::Stage::armed, &policy, policy.mode());
  // Reports go to the event log's sink: open it now, while allocating is still safe.
  recorder::prepare(policy);
  syscall_log::set_policy(policy.hash());
  if (seccomp::install(filter, error, to_log) != 0) {
    error = "cannot install the armed seccomp filter: " + error;
    return false;
  }
  return true;
}

}  // namespace auditwall::seccomp_stage
