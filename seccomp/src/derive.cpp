// From a policy to the two filters: the baseline, the policy's own list, derived rules.
#include <fnmatch.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "auditwall/seccomp.hpp"

namespace auditwall::seccomp {
namespace {

using policy::Action;
using policy::Decision;
using policy::Event;

constexpr const char* kBaselineRule = "seccomp-baseline";
constexpr const char* kPolicyRule = "seccomp-policy";
constexpr const char* kProcessRule = "seccomp-derived-process";
constexpr const char* kNetworkRule = "seccomp-derived-network";
constexpr const char* kUnauditedRule = "seccomp-unaudited";

// CPython's audit events that create a process, by what they need from the kernel.
const char* const kExecEvents[] = {"os.system", "os.exec",          "os.posix_spawn",
                                   "os.spawn",  "subprocess.Popen", "pty.spawn"};
const char* const kForkEvents[] = {"os.fork", "os.forkpty"};
const char* const kConnectEvents[] = {"socket.connect"};

// The family and sub-family ("process.exec") that a group of probes belongs to.
struct Group {
  std::string_view family;
  std::string_view subfamily;
};

// Does the rule name this event, by name, family, sub-family or glob? Erring towards yes only
// makes auditwall derive less.
bool mentions(const policy::Rule& rule, std::string_view event, const Group& group) {
  for (const std::string& on : rule.on) {
    if (on == event || on == group.family || on == group.subfamily) return true;
    if (fnmatch(on.c_str(), std::string(event).c_str(), 0) == 0) return true;
  }
  return false;
}

// Whether every probe of these events is denied (or killed), and none is allowed or logged
// by any rule. `verdict` becomes kill only when every decision is kill, log when any
// decision is in monitor mode.
bool all_denied(const policy::Policy& policy, const std::vector<Event>& probes,
                const Group& group, Verdict& verdict) {
  bool all_kill = true;
  bool any_monitor = false;
  for (const Event& probe : probes) {
    Decision d = policy.evaluate(probe);
    if (d.action != Action::deny && d.action != Action::kill) return false;
    all_kill = all_kill && d.action == Action::kill;
    any_monitor = any_monitor || d.mode == policy::Mode::monitor;
    for (const policy::Rule& rule : policy.rules()) {
      if ((rule.action == Action::allow || rule.action == Action::log) &&
          mentions(rule, probe.name, group)) {
        return false;
      }
    }
  }
  verdict = any_monitor ? Verdict::log : all_kill ? Verdict::kill : Verdict::deny;
  return true;
}

// Representative events: a rule that lets any of them through keeps the kernel open.
struct Probes {
  std::vector<std::string_view> argvs[3] = {
      {"/bin/sh", "-c", "true"}, {"/usr/bin/python3", "-c", "pass"}, {"/bin/true"}};
  const char* executables[3] = {"/bin/sh", "/usr/bin/python3", "/bin/true"};

  std::vector<Event> process(const char* const* names, std::size_t count) const {
    std::vector<Event> out;
    for (std::size_t n = 0; n < count; ++n) {
      for (std::size_t i = 0; i < 3; ++i) {
        Event e;
        e.name = names[n];
        e.executable = executables[i];
        e.argv = argvs[i].data();
        e.argc = argvs[i].size();
        e.command = i == 0 ? "true" : executables[i];
        out.push_back(e);
      }
    }
    return out;
  }

  std::vector<Event> connect() const {
    struct Address {
      const char* host;
      int family;
      int port;
    };
    static const Address kAddresses[] = {{"127.0.0.1", AF_INET, 80},
                                         {"93.184.216.34", AF_INET, 443},
                                         {"169.254.169.254", AF_INET, 80},
                                         {"::1", AF_INET6, 80},
                                         {"2606:2800:220:1::", AF_INET6, 443}};
    std::vector<Event> out;
    for (const char* name : kConnectEvents) {
      for (const Address& a : kAddresses) {
        Event e;
        e.name = name;
        e.host = a.host;
        e.address_family = a.family;
        e.port = a.port;
        out.push_back(e);
      }
    }
    return out;
  }
};

void add(std::vector<SyscallRule>& rules, const std::string& name, Verdict verdict,
         const std::string& rule, std::vector<ArgTest> when = {}) {
  if (when.empty()) {
    // One unconditional rule per syscall: the strongest wins, and it replaces conditional
    // ones (libseccomp refuses two rules with different actions for one syscall).
    auto strength = [](Verdict v) { return v == Verdict::kill ? 3 : v == Verdict::deny ? 2 : 1; };
    for (SyscallRule& existing : rules) {
      if (existing.syscall == name && existing.when.empty()) {
        if (strength(verdict) > strength(existing.verdict)) {
          existing.verdict = verdict;
          existing.rule = rule;
        }
        return;
      }
    }
    rules.erase(std::remove_if(rules.begin(), rules.end(),
                               [&](const SyscallRule& r) { return r.syscall == name; }),
                rules.end());
  } else {
    for (const SyscallRule& existing : rules) {
      if (existing.syscall == name && existing.when.empty()) return;
    }
  }
  rules.push_back(SyscallRule{name, verdict, std::move(when), rule});
}

}  // namespace

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::deny: return "deny";
    case Verdict::kill: return "kill";
    case Verdict::log: return "log";
    case Verdict::enosys: return "enosys";
  }
  return "?";
}

const std::vector<std::string>& baseline() {
  // Debugging and other processes' memory; kernel extension and configuration; mounts and
  // namespaces (container escapes); io_uring, whose requests run syscalls no filter sees.
  static const std::vector<std::string> names = {
      "ptrace",         "process_vm_readv", "process_vm_writev", "pidfd_getfd",
      "bpf",            "perf_event_open",  "userfaultfd",       "kexec_load",
      "kexec_file_load", "init_module",     "finit_module",      "delete_module",
      "mount",          "umount2",          "pivot_root",        "fsopen",
      "fsconfig",       "fsmount",          "fspick",            "move_mount",
      "open_tree",      "mount_setattr",    "open_by_handle_at", "unshare",
      "setns",          "keyctl",           "add_key",           "request_key",
      "swapon",         "swapoff",          "reboot",            "acct",
      "quotactl",       "iopl",             "ioperm",            "syslog",
      "settimeofday",   "clock_settime",    "clock_adjtime",     "sethostname",
      "setdomainname",  "lookup_dcookie",   "vhangup",           "uselib",
      "io_uring_setup", "io_uring_enter",   "io_uring_register",
  };
  return names;
}

Derived derive(const policy::Policy& policy) {
  Derived out;
  Probes probes;
  Verdict exec_verdict = Verdict::deny;
  Verdict fork_verdict = Verdict::deny;
  Verdict net_verdict = Verdict::deny;
  out.no_exec = all_denied(policy, probes.process(kExecEvents, std::size(kExecEvents)),
                           {"process", "process.exec"}, exec_verdict);
  out.no_fork = out.no_exec &&
                all_denied(policy, probes.process(kForkEvents, std::size(kForkEvents)),
                           {"process", "process.fork"}, fork_verdict);
  out.exec_verdict = exec_verdict;
  out.fork_verdict = fork_verdict;
  out.no_inet = all_denied(policy, probes.connect(), {"network", "network.connect"}, net_verdict);
  out.inet_verdict = net_verdict;
  return out;
}

Filter build(Stage stage, const policy::Policy* policy, policy::Mode mode) {
  Filter filter;
  filter.stage = stage;
  const bool monitor = mode == policy::Mode::monitor;
  auto verdict = [monitor](Verdict v) {
    return monitor && (v == Verdict::deny || v == Verdict::kill) ? Verdict::log : v;
  };
  filter.foreign_abi = verdict(Verdict::kill);
  for (const std::string& name : baseline()) {
    add(filter.rules, name, verdict(Verdict::deny), kBaselineRule);
  }
  if (policy != nullptr) {
    // The policy's own `seccomp.deny`, with its `action`. execve and execveat wait for the
    // armed stage: the launcher must still exec the program.
    const policy::SeccompConfig& own = policy->seccomp();
    const Verdict v = own.action == policy::SeccompAction::kill  ? Verdict::kill
                      : own.action == policy::SeccompAction::log ? Verdict::log
                                                                 : Verdict::deny;
    for (const std::string& name : own.deny) {
      if (stage == Stage::pre_exec && (name == "execve" || name == "execveat")) continue;
      add(filter.rules, name, verdict(v), kPolicyRule);
    }
  }
  if (stage == Stage::pre_exec) return filter;

  // Syscalls that reach what the hook guards without any audit event: os.mknod creates
  // files (device nodes too, with the capability), signal.pidfd_send_signal signals other
  // processes unseen. FIFOs stay allowed: os.mkfifo is an ordinary use of mknodat.
  for (unsigned type : {0U, unsigned{S_IFREG}, unsigned{S_IFCHR}, unsigned{S_IFBLK},
                        unsigned{S_IFSOCK}}) {
    add(filter.rules, "mknod", verdict(Verdict::deny), kUnauditedRule, {{1, S_IFMT, type}});
    add(filter.rules, "mknodat", verdict(Verdict::deny), kUnauditedRule, {{2, S_IFMT, type}});
  }
  add(filter.rules, "pidfd_send_signal", verdict(Verdict::deny), kUnauditedRule);

  if (policy == nullptr || !policy->seccomp().derive) return filter;
  const Derived d = derive(*policy);
  if (d.no_exec) {
    for (const char* name : {"execve", "execveat"}) {
      add(filter.rules, name, verdict(d.exec_verdict), kProcessRule);
    }
  }
  if (d.no_fork) {
    for (const char* name : {"fork", "vfork"}) {
      add(filter.rules, name, verdict(d.fork_verdict), kProcessRule);
    }
    // Threads are clone with CLONE_THREAD; anything else is a new process.
    add(filter.rules, "clone", verdict(d.fork_verdict), kProcessRule, {{0, CLONE_THREAD, 0}});
    // clone3 passes its flags in memory, out of the filter's sight: ENOSYS makes libc fall
    // back to clone, whose flags the rule above can see. In monitor mode it stays open.
    if (!monitor && d.fork_verdict != Verdict::log) {
      add(filter.rules, "clone3", Verdict::enosys, kProcessRule);
    }
  }
  if (d.no_inet) {
    // connect(2)'s address is in memory the filter cannot read, so the kernel layer stops
    // creating internet sockets instead. The domain is an int: compare its low 32 bits only,
    // or a caller could set the high bits, which the kernel ignores, to slip past.
    for (unsigned family : {unsigned{AF_INET}, unsigned{AF_INET6}}) {
      add(filter.rules, "socket", verdict(d.inet_verdict), kNetworkRule,
          {{0, 0xFFFFFFFFU, family}});
    }
  }
  return filter;
}

std::vector<std::string> contradictions(const policy::Policy& policy) {
  std::vector<std::string> out;
  const Derived d = derive(policy);
  const std::vector<std::string>& own = policy.seccomp().deny;
  auto denies = [&own](const char* name) {
    return std::find(own.begin(), own.end(), name) != own.end();
  };
  for (const char* name : {"execve", "execveat"}) {
    if (denies(name) && !d.no_exec) {
      out.push_back(std::string("seccomp.deny has ") + name +
                    ", but the audit rules allow running some programs: the kernel stops "
                    "every one of them");
    }
  }
  for (const char* name : {"fork", "vfork"}) {
    if (denies(name) && !d.no_fork) {
      out.push_back(std::string("seccomp.deny has ") + name +
                    ", but the audit rules allow some processes to start: the kernel stops "
                    "the forks they need");
    }
  }
  if (denies("clone")) {
    out.push_back(
        "seccomp.deny has clone, which also creates threads: no thread can start (with "
        "derive: true auditwall denies only clone without CLONE_THREAD)");
  }
  if (denies("clone3")) {
    out.push_back(
        "seccomp.deny has clone3, which libc does not retry with clone when it fails with "
        "EPERM: no thread can start (with derive: true auditwall answers clone3 with ENOSYS)");
  }
  for (const char* name : {"connect", "socket"}) {
    if (denies(name) && !d.no_inet) {
      out.push_back(std::string("seccomp.deny has ") + name +
                    ", but the audit rules allow some connections: the kernel stops every "
                    "one of them, Unix sockets included");
    }
  }
  if (d.no_inet && policy.seccomp().derive) {
    Event bind;
    bind.name = "socket.bind";
    bind.host = "127.0.0.1";
    bind.port = 8080;
    bind.address_family = AF_INET;
    Decision decision = policy.evaluate(bind);
    if (decision.action != Action::deny && decision.action != Action::kill) {
      out.push_back(
          "every connection is denied, so the kernel layer stops creating internet sockets; "
          "socket.bind is allowed by the audit rules but a listening internet socket cannot "
          "be created under auditwall-launch");
    }
  }
  return out;
}

std::string describe(const Filter& filter) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "# auditwall %s filter: other syscalls are allowed\n",
                filter.stage == Stage::armed ? "armed-stage" : "pre-exec");
  out += line;
  std::snprintf(line, sizeof line, "%-7s %-20s %s\n", to_string(filter.foreign_abi).data(),
                "(foreign ABIs)", "x32, i386");
  out += line;
  for (const SyscallRule& rule : filter.rules) {
    std::string when;
    for (const ArgTest& t : rule.when) {
      char test[96];
      std::snprintf(test, sizeof test, " if (arg%u & %#llx) == %#llx", t.index,
                    static_cast<unsigned long long>(t.mask),
                    static_cast<unsigned long long>(t.value));
      when += test;
    }
    std::snprintf(line, sizeof line, "%-7s %-20s %s%s\n", to_string(rule.verdict).data(),
                  rule.syscall.c_str(), rule.rule.c_str(), when.c_str());
    out += line;
  }
  return out;
}

}  // namespace auditwall::seccomp
