// Unit tests of auditwall::seccomp: names, the filters built from policies, and real loading
// (in a forked child, since a filter cannot be removed from a process).
#include <gtest/gtest.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "auditwall/seccomp.hpp"

namespace {

using auditwall::policy::Mode;
using namespace auditwall::seccomp;

std::shared_ptr<const auditwall::policy::Policy> load(const char* text) {
  auto loaded = auditwall::policy::load_string(text, "test.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.report();
  return loaded.policy;
}

const SyscallRule* find(const Filter& f, const std::string& name) {
  auto it = std::find_if(f.rules.begin(), f.rules.end(),
                         [&](const SyscallRule& r) { return r.syscall == name; });
  return it == f.rules.end() ? nullptr : &*it;
}

constexpr const char* kNoProcesses = R"YAML(
version: 1
rules:
  - id: no-processes
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn,
         os.fork, os.forkpty]
    action: deny
seccomp:
  derive: true
)YAML";

constexpr const char* kNoConnections = R"YAML(
version: 1
rules:
  - id: no-connections
    on: socket.connect
    action: deny
seccomp:
  derive: true
)YAML";

TEST(SeccompNames, EveryBaselineSyscallIsKnown) {
  for (const std::string& name : baseline()) EXPECT_TRUE(is_syscall_name(name)) << name;
}

TEST(SeccompNames, UnknownNamesAreRejected) {
  EXPECT_FALSE(is_syscall_name("ptrcae"));
  EXPECT_FALSE(is_syscall_name(""));
  EXPECT_FALSE(is_syscall_name("execve; mount"));
  EXPECT_TRUE(is_syscall_name("execve"));
}

TEST(SeccompBuild, PreExecDeniesTheBaselineOnly) {
  auto policy = load(kNoProcesses);
  Filter f = build(Stage::pre_exec, policy.get(), Mode::enforce);
  ASSERT_NE(find(f, "ptrace"), nullptr);
  EXPECT_EQ(find(f, "ptrace")->verdict, Verdict::deny);
  EXPECT_EQ(find(f, "ptrace")->rule, "seccomp-baseline");
  // The launcher must still exec the program: no process rule before exec.
  EXPECT_EQ(find(f, "execve"), nullptr);
  EXPECT_EQ(f.foreign_abi, Verdict::kill);
}

TEST(SeccompBuild, MonitorModeLogsInsteadOfDenying) {
  auto policy = load(kNoProcesses);
  Filter f = build(Stage::armed, policy.get(), Mode::monitor);
  for (const SyscallRule& r : f.rules) EXPECT_EQ(r.verdict, Verdict::log) << r.syscall;
  EXPECT_EQ(f.foreign_abi, Verdict::log);
  ASSERT_NE(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "clone3"), nullptr) << "clone3 must stay open when nothing is denied";
}

TEST(SeccompDerive, DenyingEveryProcessClosesExecAndFork) {
  auto policy = load(kNoProcesses);
  Derived d = derive(*policy);
  EXPECT_TRUE(d.no_exec);
  EXPECT_TRUE(d.no_fork);
  EXPECT_FALSE(d.no_inet);
  Filter f = build(Stage::armed, policy.get(), Mode::enforce);
  for (const char* name : {"execve", "execveat", "fork", "vfork"}) {
    ASSERT_NE(find(f, name), nullptr) << name;
    EXPECT_EQ(find(f, name)->verdict, Verdict::deny) << name;
    EXPECT_EQ(find(f, name)->rule, "seccomp-derived-process");
  }
  const SyscallRule* clone = find(f, "clone");
  ASSERT_NE(clone, nullptr);
  ASSERT_EQ(clone->when.size(), 1u);
  EXPECT_EQ(clone->when[0].mask, static_cast<std::uint64_t>(CLONE_THREAD));
  EXPECT_EQ(clone->when[0].value, 0u);
  ASSERT_NE(find(f, "clone3"), nullptr);
  EXPECT_EQ(find(f, "clone3")->verdict, Verdict::enosys);
  EXPECT_EQ(find(f, "socket"), nullptr);
}

TEST(SeccompDerive, DenyingOnlyOsSystemDerivesNothing) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: no-os-system
    on: os.system
    action: deny
)YAML");
  Derived d = derive(*policy);
  EXPECT_FALSE(d.no_exec);
  EXPECT_FALSE(d.no_fork);
  Filter f = build(Stage::armed, policy.get(), Mode::enforce);
  EXPECT_EQ(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "clone"), nullptr);
  // What the hook never sees is closed whatever the policy says.
  ASSERT_NE(find(f, "mknodat"), nullptr);
  ASSERT_NE(find(f, "pidfd_send_signal"), nullptr);
}

TEST(SeccompDerive, ExecDeniedButForkAllowedKeepsFork) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: no-programs
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn]
    action: deny
seccomp:
  derive: true
)YAML");
  Derived d = derive(*policy);
  EXPECT_TRUE(d.no_exec);
  EXPECT_FALSE(d.no_fork);
  Filter f = build(Stage::armed, policy.get(), Mode::enforce);
  EXPECT_NE(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "fork"), nullptr);
  EXPECT_EQ(find(f, "clone3"), nullptr);
}

TEST(SeccompDerive, AnAllowRuleForAProcessEventKeepsExecOpen) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: allow-git
    on: subprocess.Popen
    action: allow
  - id: no-processes
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn,
         os.fork, os.forkpty]
    action: deny
seccomp:
  derive: true
)YAML");
  EXPECT_FALSE(derive(*policy).no_exec);
}

TEST(SeccompDerive, KillRulesKillAndPerRuleMonitorLogs) {
  auto kill = load(R"YAML(
version: 1
rules:
  - id: no-processes
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn,
         os.fork, os.forkpty]
    action: kill
seccomp:
  derive: true
)YAML");
  Filter f = build(Stage::armed, kill.get(), Mode::enforce);
  ASSERT_NE(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "execve")->verdict, Verdict::kill);
  auto monitored = load(R"YAML(
version: 1
rules:
  - id: no-processes
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn,
         os.fork, os.forkpty]
    action: deny
    mode: monitor
seccomp:
  derive: true
)YAML");
  f = build(Stage::armed, monitored.get(), Mode::enforce);
  ASSERT_NE(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "execve")->verdict, Verdict::log);
  EXPECT_EQ(find(f, "ptrace")->verdict, Verdict::deny);
}

TEST(SeccompDerive, DenyingEveryConnectionClosesInternetSockets) {
  auto policy = load(kNoConnections);
  EXPECT_TRUE(derive(*policy).no_inet);
  Filter f = build(Stage::armed, policy.get(), Mode::enforce);
  int sockets = 0;
  for (const SyscallRule& r : f.rules) {
    if (r.syscall != "socket") continue;
    ++sockets;
    ASSERT_EQ(r.when.size(), 1u);
    EXPECT_EQ(r.when[0].index, 0u);
    EXPECT_EQ(r.when[0].mask, 0xFFFFFFFFu);
    EXPECT_TRUE(r.when[0].value == AF_INET || r.when[0].value == AF_INET6);
  }
  EXPECT_EQ(sockets, 2);
  auto notes = contradictions(*policy);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("socket.bind"), std::string::npos) << notes[0];
}

TEST(SeccompDerive, NothingIsDerivedWithoutDeriveTrue) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: no-processes
    on: process
    action: deny
)YAML");
  EXPECT_TRUE(derive(*policy).no_exec) << "the analysis itself does not depend on the flag";
  Filter f = build(Stage::armed, policy.get(), Mode::enforce);
  EXPECT_EQ(find(f, "execve"), nullptr);
  EXPECT_EQ(find(f, "clone3"), nullptr);
}

TEST(SeccompDerive, FamilyNamesCountLikeTheirEvents) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: allow-programs
    on: process.exec
    action: log
  - id: no-processes
    on: process
    action: deny
seccomp:
  derive: true
)YAML");
  Derived d = derive(*policy);
  EXPECT_FALSE(d.no_exec);
  EXPECT_FALSE(d.no_fork);
}

TEST(SeccompPolicy, TheOwnDenyListGoesInBothStagesWithItsAction) {
  auto policy = load(R"YAML(
version: 1
seccomp:
  deny: [getppid, execve]
  action: kill
)YAML");
  Filter pre = build(Stage::pre_exec, policy.get(), Mode::enforce);
  ASSERT_NE(find(pre, "getppid"), nullptr);
  EXPECT_EQ(find(pre, "getppid")->verdict, Verdict::kill);
  EXPECT_EQ(find(pre, "getppid")->rule, "seccomp-policy");
  EXPECT_EQ(find(pre, "execve"), nullptr) << "the launcher must still exec the program";
  Filter armed = build(Stage::armed, policy.get(), Mode::enforce);
  ASSERT_NE(find(armed, "execve"), nullptr);
  EXPECT_EQ(find(armed, "execve")->verdict, Verdict::kill);
  Filter monitored = build(Stage::armed, policy.get(), Mode::monitor);
  EXPECT_EQ(find(monitored, "getppid")->verdict, Verdict::log);
}

TEST(SeccompPolicy, BadSyscallNamesAreRejectedAtLoad) {
  auto loaded = auditwall::policy::load_string(R"YAML(
version: 1
seccomp:
  deny: [ptrace, ptrcae]
)YAML", "bad.yaml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.report().find("bad.yaml:4:18: error:"), std::string::npos)
      << loaded.report();
  EXPECT_NE(loaded.report().find("ptrcae"), std::string::npos) << loaded.report();
}

TEST(SeccompContradictions, KernelRulesThatStopWhatTheAuditRulesAllowAreFlagged) {
  auto policy = load(R"YAML(
version: 1
rules:
  - id: no-shells
    on: os.system
    action: deny
seccomp:
  deny: [execve, clone3, connect]
)YAML");
  auto notes = contradictions(*policy);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].find("seccomp.deny has execve, but the audit rules allow running some "
                          "programs"),
            std::string::npos)
      << notes[0];
  EXPECT_NE(notes[1].find("clone3"), std::string::npos) << notes[1];
  EXPECT_NE(notes[2].find("seccomp.deny has connect"), std::string::npos) << notes[2];
  auto agreeing = load(R"YAML(
version: 1
rules:
  - id: no-processes
    on: process
    action: deny
seccomp:
  deny: [execve, execveat, fork]
)YAML");
  EXPECT_TRUE(contradictions(*agreeing).empty());
}

TEST(SeccompExport, PseudoFilterCodeNamesTheSyscalls) {
  auto policy = load(kNoProcesses);
  std::string pfc, error;
  ASSERT_TRUE(export_pfc(build(Stage::armed, policy.get(), Mode::enforce), pfc, error)) << error;
  EXPECT_NE(pfc.find("\"ptrace\""), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("\"execve\""), std::string::npos) << pfc;
  std::string text = describe(build(Stage::armed, policy.get(), Mode::enforce));
  EXPECT_NE(text.find("deny    execve"), std::string::npos) << text;
}

TEST(SeccompInstall, AnUnknownSyscallIsAnErrorNotIgnored) {
  Filter f;
  f.rules.push_back(SyscallRule{"ptrcae", Verdict::deny, {}, "test"});
  std::string error;
  EXPECT_LT(install(f, error), 0);
  EXPECT_NE(error.find("unknown syscall 'ptrcae'"), std::string::npos) << error;
}

// Runs `body` in a forked child and returns its wait status; the child's stderr goes to
// `err` when given.
template <typename Body>
int in_child(Body body, std::string* err = nullptr) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    _exit(body());
  }
  close(fds[1]);
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) {
    if (err != nullptr) err->append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

int try_ptrace() {
  return syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0;
}

TEST(SeccompInstall, PreExecFilterFailsTheSyscallWithEperm) {
  std::string why;
  if (!available(why)) GTEST_SKIP() << why;
  int status = in_child([] { return try_ptrace(); });
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "ptrace(PTRACE_TRACEME) fails here without a filter";
  status = in_child([] {
    std::string error;
    if (install(build(Stage::pre_exec, nullptr, Mode::enforce), error) != 0) return 100;
    return try_ptrace();
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EPERM);
}

TEST(SeccompInstall, ArmedFilterReportsTheSyscallByName) {
  std::string why;
  if (!available(why)) GTEST_SKIP() << why;
  std::string err;
  int status = in_child(
      [] {
        std::string error;
        if (install(build(Stage::armed, nullptr, Mode::enforce), error) != 0) return 100;
        return try_ptrace();
      },
      &err);
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), EPERM) << err;
  EXPECT_NE(err.find("auditwall: deny syscall ptrace rule=seccomp-baseline pid="),
            std::string::npos)
      << err;
}

TEST(SeccompInstall, ProcessCreationWithSignalsBlockedIsAnsweredBySupervisor) {
  std::string why;
  if (!available(why)) GTEST_SKIP() << why;
  auto policy = load(kNoProcesses);
  std::string err;
  int status = in_child(
      [&policy] {
        std::string error;
        if (install(build(Stage::armed, policy.get(), Mode::enforce), error) != 0) return 100;
        // system() blocks every signal around clone: a trap would kill this process.
        int rc = std::system("true");
        return WIFEXITED(rc) && WEXITSTATUS(rc) == 127 ? 0 : 101;
      },
      &err);
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_NE(err.find("auditwall: deny syscall clone rule=seccomp-derived-process"),
            std::string::npos)
      << err;
}

TEST(SeccompInstall, KillRuleKillsAfterReporting) {
  std::string why;
  if (!available(why)) GTEST_SKIP() << why;
  std::string err;
  int status = in_child(
      [] {
        Filter f = build(Stage::armed, nullptr, Mode::enforce);
        for (SyscallRule& r : f.rules) {
          if (r.syscall == "ptrace") r.verdict = Verdict::kill;
        }
        std::string error;
        if (install(f, error) != 0) return 100;
        try_ptrace();
        return 0;
      },
      &err);
  ASSERT_TRUE(WIFSIGNALED(status)) << err;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_NE(err.find("auditwall: kill syscall ptrace"), std::string::npos) << err;
}

TEST(SeccompInstall, MonitorFilterLetsTheSyscallRunAndReportsItByName) {
  std::string why;
  if (!available(why)) GTEST_SKIP() << why;
  std::string err;
  int status = in_child(
      [] {
        std::string error;
        if (install(build(Stage::armed, nullptr, Mode::monitor), error) != 0) return 100;
        return try_ptrace();
      },
      &err);
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  // The supervisor thread reports it, then lets it run: ptrace(PTRACE_TRACEME) succeeded.
  EXPECT_NE(err.find("auditwall: would-deny syscall ptrace rule=seccomp-baseline pid="),
            std::string::npos)
      << err;
}

}  // namespace
