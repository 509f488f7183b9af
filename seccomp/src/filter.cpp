// The one place that speaks libseccomp: Filter -> loaded BPF, pseudo filter code for review.
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "auditwall/seccomp.hpp"
#include "internal.hpp"

namespace auditwall::seccomp {
namespace {

struct CtxRelease {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxRelease>;

// Syscalls that libc and CPython make with every signal blocked (posix_spawn, system() and
// _posixsubprocess block them around clone and vfork). A trap there cannot reach the
// reporter's handler: the kernel would kill the process instead. They go to the supervisor
// thread through a user notification. So does every watched call in monitor mode: the
// supervisor reports it and lets it run (reporter.cpp says why).
bool through_supervisor(const Filter& filter, const SyscallRule& rule) {
  if (filter.stage != Stage::armed) return false;
  if (rule.verdict == Verdict::log) return true;
  if (rule.verdict != Verdict::deny && rule.verdict != Verdict::kill) return false;
  return rule.syscall == "fork" || rule.syscall == "vfork" || rule.syscall == "clone";
}

std::uint32_t action_for(Stage stage, Verdict verdict) {
  switch (verdict) {
    case Verdict::log: return SCMP_ACT_LOG;
    case Verdict::enosys: return SCMP_ACT_ERRNO(ENOSYS);
    case Verdict::deny:
      // After exec of python the reporter's SIGSYS handler names the syscall and returns
      // EPERM; before it, and in programs without the reporter, the kernel returns EPERM.
      return stage == Stage::armed ? SCMP_ACT_TRAP : SCMP_ACT_ERRNO(EPERM);
    case Verdict::kill:
      return stage == Stage::armed ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
  }
  return SCMP_ACT_KILL_PROCESS;
}

std::string fail(const char* what, int rc) {
  return std::string(what) + ": " + std::strerror(-rc);
}

// Builds the libseccomp context for `filter`, native architecture only: every other ABI the
// kernel accepts from this process (x32, i386 through int 0x80) goes to the bad-arch action,
// so a filter cannot be sidestepped by switching ABI.
Ctx make_context(const Filter& filter, bool notify, std::string& error) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) {
    error = "libseccomp cannot create a filter";
    return nullptr;
  }
  std::uint32_t bad_arch = filter.foreign_abi == Verdict::log ? SCMP_ACT_LOG
                                                                : SCMP_ACT_KILL_PROCESS;
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, bad_arch);
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 1);
  // The armed filter is loaded by a running interpreter: make every thread take it. (With a
  // listener it is loaded before Py_Initialize, when there is only one thread.)
  if (rc == 0 && filter.stage == Stage::armed && !notify) {
    rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  }
  if (rc != 0) {
    error = fail("cannot set the filter's attributes", rc);
    return nullptr;
  }
  for (const SyscallRule& rule : filter.rules) {
    int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) {
      error = "unknown syscall '" + rule.syscall + "'";
      return nullptr;
    }
    if (native_number(rule.syscall) < 0) continue;  // not on this architecture: cannot be called
    std::vector<scmp_arg_cmp> tests;
    for (const ArgTest& t : rule.when) {
      tests.push_back(scmp_arg_cmp{t.index, SCMP_CMP_MASKED_EQ, t.mask, t.value});
    }
    std::uint32_t action = action_for(filter.stage, rule.verdict);
    if (through_supervisor(filter, rule)) {
      // Without a listener, or (for a watched call) without "continue": still denied, or
      // still logged by the kernel, but not reported here.
      const bool reported = notify && (rule.verdict != Verdict::log || can_continue());
      action = reported ? SCMP_ACT_NOTIFY : action_for(Stage::pre_exec, rule.verdict);
    }
    rc = seccomp_rule_add_array(ctx.get(), action, nr,
                                static_cast<unsigned>(tests.size()),
                                tests.empty() ? nullptr : tests.data());
    if (rc != 0) {
      error = fail(("cannot add the rule for " + rule.syscall).c_str(), rc);
      return nullptr;
    }
  }
  return ctx;
}

}  // namespace

int native_number(const std::string& name) noexcept {
  return seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name.c_str());
}

bool is_syscall_name(std::string_view name) noexcept {
  try {
    return seccomp_syscall_resolve_name(std::string(name).c_str()) != __NR_SCMP_ERROR;
  } catch (...) {
    return false;
  }
}

bool available(std::string& why) {
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
    why = "this kernel has no seccomp support (CONFIG_SECCOMP)";
    return false;
  }
  // Level 3: SECCOMP_RET_LOG (monitor mode) and SECCOMP_RET_KILL_PROCESS, Linux 4.14.
  unsigned level = seccomp_api_get();
  if (level < 3) {
    why = "this kernel or libseccomp lacks seccomp filter features auditwall needs (API level " +
          std::to_string(level) + ", needs 3: Linux 4.14 or newer)";
    return false;
  }
  return true;
}

int install(const Filter& filter, std::string& error, ReportFn report) {
  bool notify = false;
  for (const SyscallRule& rule : filter.rules) notify = notify || through_supervisor(filter, rule);
  // Without "continue" a supervisor cannot let a watched call run: monitor rules then go to
  // the kernel's audit log (SCMP_ACT_LOG), unreported here.
  if (!can_continue()) {
    notify = false;
    for (const SyscallRule& rule : filter.rules) {
      notify = notify || (through_supervisor(filter, rule) && rule.verdict != Verdict::log);
    }
  }
  Ctx ctx = make_context(filter, notify, error);
  if (!ctx) return -EINVAL;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    int err = errno;
    error = std::string("cannot set no_new_privs: ") + std::strerror(err);
    return -err;
  }
  if (filter.stage == Stage::armed) {
    // The handler must be in place before the first trap can fire.
    if (int rc = install_reporter(filter, report, error); rc != 0) return rc;
  }
  int rc = seccomp_load(ctx.get());
  if (rc != 0 && notify) {
    // A filter of this process's chain already has a listener (an ancestor's supervisor) and
    // the kernel allows only one (EBUSY, which libseccomp reports as ECANCELED). Deny those
    // calls with a plain EPERM in this process (in monitor mode, SCMP_ACT_LOG): still denied,
    // but not reported by this process. The ancestor's listener still receives them. Any other
    // failure recurs below and is reported.
    notify = false;
    ctx = make_context(filter, notify, error);
    if (!ctx) return -EINVAL;
    rc = seccomp_load(ctx.get());
  }
  if (rc != 0) {
    error = fail("the kernel refused the seccomp filter", rc);
    return rc < 0 ? rc : -EINVAL;
  }
  if (notify) {
    int fd = seccomp_notify_fd(ctx.get());
    if (fd < 0) {
      error = fail("cannot get the seccomp listener", fd);
      return fd;
    }
    // The filter is in place whatever happens now: without a supervisor, a listener that
    // nobody reads would hang the caller, so failing here must stop the process.
    if (int err = start_supervisor(fd, error); err != 0) return err;
  }
  return 0;
}

bool export_pfc(const Filter& filter, std::string& out, std::string& error) {
  Ctx ctx = make_context(filter, true, error);
  if (!ctx) return false;
  int fd = memfd_create("auditwall-filter", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot create a memory file: ") + std::strerror(errno);
    return false;
  }
  int rc = seccomp_export_pfc(ctx.get(), fd);
  if (rc != 0) {
    close(fd);
    error = fail("cannot export the filter", rc);
    return false;
  }
  out.clear();
  char buf[4096];
  ssize_t n = 0;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  return true;
}

}  // namespace auditwall::seccomp
