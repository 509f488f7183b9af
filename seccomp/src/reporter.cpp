// The SIGSYS reporter: names each syscall the armed filter traps, then denies or kills.
//
// Why SCMP_ACT_TRAP and a handler, rather than SCMP_ACT_ERRNO or a user-notification
// supervisor for everything: ERRNO leaves no trace in auditwall's log, and a supervisor is a
// thread that no forked child has (and that makes CPython 3.12+ warn on every os.fork). With
// TRAP the kernel never runs the syscall; it delivers SIGSYS to the calling thread, whose
// handler writes one line with the syscall's name and sets the return value. If a program
// replaces or blocks the handler, the syscall still does not run: the kernel forces SIGSYS
// (killing the process) when it is blocked, and a foreign handler only changes what the
// failed call returns.
//
// The exception is process creation. libc's posix_spawn and system() and CPython's
// _posixsubprocess block every signal around clone and vfork, so a trap there would kill the
// process. Those rules exist only when the policy denies every fork; they use a user
// notification answered by a supervisor thread, which reports the same way and answers EPERM.
//
// Monitor mode uses the supervisor for every rule: a trapped call cannot be let through
// (the handler would have to make it again, past the filter), whereas a supervisor answers
// "continue" and the kernel runs the call as it was made. It works where a trap cannot: with
// signals blocked, in a vfork child whose handlers are reset, in a program that is not Python.
//
// Reports go to the ReportFn given to install(), which must be async-signal-safe.
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstring>

#include "internal.hpp"

namespace auditwall::seccomp {
namespace {

#ifndef SYS_SECCOMP
constexpr int SYS_SECCOMP = 1;  // si_code of a seccomp SIGSYS
#endif
// SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5), which libseccomp 2.5's header may lack.
constexpr std::uint32_t kContinue = 1;

struct Entry {
  int nr;
  Verdict verdict;
  char name[32];
  char rule[48];
};

// Written once, before the filter is loaded; read by the handler and the supervisor only.
// Fixed-size, so that reporting allocates nothing.
constexpr std::size_t kMaxEntries = 256;
Entry g_entries[kMaxEntries];
std::size_t g_count = 0;
ReportFn g_report = nullptr;

void copy_cut(char* dst, std::size_t size, const std::string& src) {
  std::size_t n = std::min(size - 1, src.size());
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

struct Line {
  char text[400];
  std::size_t len = 0;
  void add(const char* s) {
    while (*s != '\0' && len < sizeof text - 1) text[len++] = *s++;
  }
  void add_number(long v) {
    char digits[24];
    int n = 0;
    unsigned long u = v < 0 ? static_cast<unsigned long>(-v) : static_cast<unsigned long>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0 && n < 23);
    if (v < 0) add("-");
    while (n > 0 && len < sizeof text - 1) text[len++] = digits[--n];
  }
};

// The report when no ReportFn was given: one line on stderr. Async-signal-safe.
void report_line(const Report& report) noexcept {
  Line line;
  line.add("auditwall: ");
  line.add(report.verdict == Verdict::kill  ? "kill"
           : report.verdict == Verdict::log ? "would-deny"
                                            : "deny");
  line.add(" syscall ");
  if (*report.syscall != '\0') {
    line.add(report.syscall);
  } else {
    line.add("#");
    line.add_number(report.nr);
  }
  line.add(" rule=");
  line.add(report.rule);
  line.add(" pid=");
  line.add_number(report.pid);
  line.add(" tid=");
  line.add_number(report.tid);
  line.add("\n");
  ssize_t ignored = write(STDERR_FILENO, line.text, line.len);
  (void)ignored;
}

void set_return(void* context, long value) {
  auto* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_RAX] = value;
#elif defined(__aarch64__)
  uc->uc_mcontext.regs[0] = static_cast<unsigned long>(value);
#else
#error "auditwall's seccomp reporter supports x86_64 and aarch64"
#endif
}

void arguments_of(const void* context, std::uint64_t (&args)[6]) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  const int regs[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};
  for (int i = 0; i < 6; ++i) args[i] = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[regs[i]]);
#elif defined(__aarch64__)
  for (int i = 0; i < 6; ++i) args[i] = uc->uc_mcontext.regs[i];
#endif
}

// Reports syscall `nr` made by thread `tid` of process `pid`, with verdict `fallback` when no
// rule names it, and returns the verdict. Async-signal-safe.
Verdict report(int nr, long pid, long tid, const std::uint64_t (&args)[6], Verdict fallback) {
  const Entry* entry = nullptr;
  for (std::size_t i = 0; i < g_count; ++i) {
    if (g_entries[i].nr == nr) {
      entry = &g_entries[i];
      break;
    }
  }
  Report r;
  r.nr = nr;
  r.syscall = entry != nullptr ? entry->name : "";
  r.rule = entry != nullptr ? entry->rule : "seccomp";
  r.verdict = entry != nullptr ? entry->verdict : fallback;
  r.pid = pid;
  r.tid = tid;
  for (int i = 0; i < 6; ++i) r.args[i] = args[i];
  (g_report != nullptr ? g_report : report_line)(r);
  return r.verdict;
}

void on_sigsys(int, siginfo_t* info, void* context) {
  if (info->si_code != SYS_SECCOMP) return;  // sent by kill(), not by the filter
  const int saved_errno = errno;
  const long pid = syscall(SYS_getpid);
  std::uint64_t args[6] = {};
  arguments_of(context, args);
  // Only deny and kill rules trap: a log rule goes to the supervisor, since a trapped call
  // cannot be let through.
  if (report(info->si_syscall, pid, syscall(SYS_gettid), args, Verdict::deny) == Verdict::kill) {
    syscall(SYS_kill, pid, SIGKILL);
  }
  set_return(context, -EPERM);
  errno = saved_errno;
}

// The tgid of thread `tid`, from /proc (the notification gives the thread's id only). No
// stdio and no malloc: the thread that waits for the answer may be inside fork(), which holds
// libc's stdio and malloc locks until the kernel answers.
long process_of(long tid) {
  Line path;
  path.add("/proc/");
  path.add_number(tid);
  path.add("/status");
  path.text[path.len] = '\0';
  int fd = open(path.text, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  char text[1024];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return tid;
  text[n] = '\0';
  const char* at = std::strstr(text, "\nTgid:");
  if (at == nullptr) return tid;
  at += 6;
  while (*at == ' ' || *at == '\t') ++at;
  long tgid = 0;
  while (*at >= '0' && *at <= '9') tgid = tgid * 10 + (*at++ - '0');
  return tgid > 0 ? tgid : tid;
}

// Answers each notification; like the SIGSYS handler it allocates nothing once started.
// Notifications come from this process and from every process below it that shares the
// filter (forked children, programs they run), for as long as this thread runs.
void* supervise(void* arg) {
  const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  if (seccomp_notify_alloc(&req, &resp) != 0) return nullptr;
  for (;;) {
    std::memset(req, 0, sizeof *req);
    int rc = seccomp_notify_receive(fd, req);
    if (rc == -EINTR || rc == -ENOENT) continue;
    if (rc != 0) break;  // the listener is gone: nothing more can arrive
    const long tid = static_cast<long>(req->pid);
    const long pid = process_of(tid);
    std::uint64_t args[6];
    for (int i = 0; i < 6; ++i) args[i] = req->data.args[i];
    const Verdict verdict = report(req->data.nr, pid, tid, args, Verdict::deny);
    if (verdict == Verdict::kill) kill(static_cast<pid_t>(pid), SIGKILL);
    std::memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    if (verdict == Verdict::log) {
      // Monitor mode: the call runs as made. (The caller's memory could change between the
      // report and the call; that only matters to a filter that decides, and this one
      // watches.)
      resp->flags = kContinue;
    } else {
      resp->error = -EPERM;
    }
    seccomp_notify_respond(fd, resp);  // fails only when the caller is gone
  }
  seccomp_notify_free(req, resp);
  return nullptr;
}

}  // namespace

int start_supervisor(int fd, std::string& error) {
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // Signals stay with the program's threads: the supervisor blocks them all.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&thread, &attr,
                          supervise, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    error = std::string("cannot start the seccomp supervisor thread: ") + std::strerror(rc);
    return -rc;
  }
  pthread_setname_np(thread, "auditwall-sc");
  return 0;
}

bool can_continue() noexcept {
  if (seccomp_api_get() < 5) return false;  // no user notifications in libseccomp
  utsname u{};
  if (uname(&u) != 0) return false;
  unsigned major = 0, minor = 0;
  const char* at = u.release;
  while (*at >= '0' && *at <= '9') major = major * 10 + static_cast<unsigned>(*at++ - '0');
  if (*at == '.') ++at;
  while (*at >= '0' && *at <= '9') minor = minor * 10 + static_cast<unsigned>(*at++ - '0');
  return major > 5 || (major == 5 && minor >= 5);
}

int install_reporter(const Filter& filter, ReportFn report_fn, std::string& error) {
  g_count = 0;
  g_report = report_fn;
  for (const SyscallRule& rule : filter.rules) {
    if (rule.verdict == Verdict::enosys) continue;
    int nr = native_number(rule.syscall);
    if (nr < 0) continue;
    auto* end = g_entries + g_count;
    if (std::find_if(g_entries, end, [nr](const Entry& e) { return e.nr == nr; }) != end) continue;
    if (g_count == kMaxEntries) {
      error = "too many syscall rules for the reporter";
      return -E2BIG;
    }
    Entry& e = g_entries[g_count++];
    e.nr = nr;
    e.verdict = rule.verdict;
    copy_cut(e.name, sizeof e.name, rule.syscall);
    copy_cut(e.rule, sizeof e.rule, rule.rule);
  }
  struct sigaction action {};
  action.sa_sigaction = on_sigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSYS, &action, nullptr) != 0) {
    int err = errno;
    error = std::string("cannot install the SIGSYS handler: ") + std::strerror(err);
    return -err;
  }
  return 0;
}

}  // namespace auditwall::seccomp
