// The armed-stage seccomp filter: built from the armed policy, installed before Python runs.
#include "seccomp_stage.hpp"

#include <cstdlib>
#include <cstring>

#include "auditwall/seccomp.hpp"
#include "recorder.hpp"
#include "syscall_log.hpp"

namespace auditwall::seccomp_stage {
namespace {

// Set before the filter is loaded; read by to_log().
bool g_enforce = true;       // the policy's mode
bool g_policy_logs = false;  // its own seccomp section says `action: log`

// From the reporter (SIGSYS handler or supervisor thread) to the event log. Async-signal-safe.
void to_log(const seccomp::Report& report) noexcept {
  syscall_log::Syscall call;
  call.name = report.syscall;
  call.nr = report.nr;
  call.rule = report.rule;
  // A log verdict ran the call. It is `log` when the policy's own seccomp section asks for
  // it in enforce mode, otherwise a deny or kill that monitor mode (global or a rule's own)
  // turned into a watch.
  const bool ran = report.verdict == seccomp::Verdict::log;
  const bool asked = ran && g_enforce && g_policy_logs &&
                     std::strcmp(report.rule, "seccomp-policy") == 0;
  call.word = asked ? log::Word::log
              : ran ? log::Word::would_deny
              : report.verdict == seccomp::Verdict::kill ? log::Word::kill
                                                          : log::Word::deny;
  call.mode = ran && !asked ? policy::Mode::monitor : policy::Mode::enforce;
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
  g_enforce = policy.mode() == policy::Mode::enforce;
  g_policy_logs = policy.seccomp().action == policy::SeccompAction::log;
  if (seccomp::install(filter, error, to_log) != 0) {
    error = "cannot install the armed seccomp filter: " + error;
    return false;
  }
  return true;
}

}  // namespace auditwall::seccomp_stage
