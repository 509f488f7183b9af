// auditwall's kernel layer: the two seccomp filters built from a policy, and their reporting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::seccomp {

/// What the kernel does with a syscall a rule matches.
enum class Verdict : std::uint8_t {
  deny,    ///< fails with EPERM (reported by name in a process with the reporter)
  kill,    ///< kills the whole process (reported by name first where the reporter runs)
  log,     ///< runs, and is reported (monitor mode; docs/seccomp.md says how)
  enosys,  ///< fails with ENOSYS, unreported: clone3, so that libc falls back to clone
};

std::string_view to_string(Verdict verdict) noexcept;

/// `(argument[index] & mask) == value`. A rule applies only when all its tests hold.
struct ArgTest {
  unsigned index = 0;
  std::uint64_t mask = 0;
  std::uint64_t value = 0;
};

/// One syscall rule of a filter.
struct SyscallRule {
  std::string syscall;        ///< libseccomp's name for it, e.g. "execve"
  Verdict verdict = Verdict::deny;
  std::vector<ArgTest> when;  ///< empty: every call
  std::string rule;           ///< why it is there, e.g. "seccomp-baseline", for logs and review
};

/// Which of the two stacked filters.
enum class Stage : std::uint8_t {
  /// Installed by auditwall-launch before exec: what no Python program needs, foreign ABIs
  /// closed. deny is EPERM, kill kills: any program of the tree, Python or not, can run it.
  pre_exec,
  /// Installed by the extension once the hook is armed: the pre-exec rules again plus those
  /// derived from the policy. deny and kill go through SIGSYS to the reporter, which logs
  /// the syscall by name and makes it fail with EPERM (or kills); log goes to the
  /// supervisor thread, which reports it and lets it run.
  armed,
};

struct Filter {
  Stage stage = Stage::pre_exec;
  /// What a syscall made through another ABI than the native one (x32, i386) gets: kill, or
  /// log in monitor mode. Python never makes one; an exploit that does is trying to get past
  /// the rules below, which are written for the native ABI.
  Verdict foreign_abi = Verdict::kill;
  std::vector<SyscallRule> rules;
};

/// The syscalls no Python program needs; denied in both filters whatever the policy says.
const std::vector<std::string>& baseline();

/// True when libseccomp knows `name` as a syscall (on any architecture it supports).
bool is_syscall_name(std::string_view name) noexcept;

/// What the policy's audit rules imply for the kernel.
struct Derived {
  bool no_exec = false;    ///< every way to run a program is denied
  bool no_fork = false;    ///< every fork is denied too (implies no_exec)
  bool no_inet = false;    ///< every connection is denied
  Verdict exec_verdict = Verdict::deny;  ///< kill when every exec probe is killed, log when
  Verdict fork_verdict = Verdict::deny;  ///< any is in monitor mode, otherwise deny
  Verdict inet_verdict = Verdict::deny;
};

/// Reads the policy's audit rules for what the kernel may also stop. Conservative: a family
/// counts as denied only when every probe event of it is denied and no rule allows or logs
/// any of its events.
Derived derive(const policy::Policy& policy);

/// The filter for `stage`, from the baseline and, when given, the policy. In monitor mode
/// every deny and kill becomes log. Never throws except std::bad_alloc.
Filter build(Stage stage, const policy::Policy* policy, policy::Mode mode);

/// Places where the policy's audit rules and its kernel rules disagree, one readable
/// sentence each (empty when they agree). `policy check` shows them.
std::vector<std::string> contradictions(const policy::Policy& policy);

/// Whether this kernel and libseccomp can install auditwall's filters; when not, `why` says
/// what is missing.
bool available(std::string& why);

/// One syscall that the armed filter stopped, or watched in monitor mode, as the reporter saw
/// it.
struct Report {
  int nr = -1;                 ///< the syscall's number on this architecture
  const char* syscall = "";    ///< its name, or "" when no rule of the filter names it
  const char* rule = "";       ///< the rule that stopped it, e.g. "seccomp-baseline"
  Verdict verdict = Verdict::deny;  ///< deny or kill (it did not run), log (it ran)
  long pid = 0;                ///< the process that made the call
  long tid = 0;                ///< and its thread
  std::uint64_t args[6] = {};  ///< the call's arguments, as the kernel saw them
};

/// Receives each report. It is called from the SIGSYS handler or from the supervisor thread,
/// possibly while the calling thread is inside fork() holding libc's locks: it must be
/// async-signal-safe (no malloc, no lock, no stdio) and must not throw.
using ReportFn = void (*)(const Report& report) noexcept;

/// Sets no_new_privs and loads `filter` into this process (all its threads). Returns 0, or
/// -errno with the reason in `error`. For Stage::armed, installs the SIGSYS reporter first,
/// which passes each report to `report` (nullptr: one line on stderr, "auditwall: deny
/// syscall NAME rule=RULE pid=N tid=N").
int install(const Filter& filter, std::string& error, ReportFn report = nullptr);

/// The filter as libseccomp's pseudo filter code (readable BPF), for review. Returns false
/// with the reason in `error` when it cannot be rendered.
bool export_pfc(const Filter& filter, std::string& out, std::string& error);

/// The filter as one line per rule: "deny execve  (rule)" and so on.
std::string describe(const Filter& filter);

}  // namespace auditwall::seccomp
