// auditwall-launch: runs a program under seccomp with auditwall's hook armed before it starts.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "auditwall/policy.hpp"
#include "auditwall/seccomp.hpp"
#include "front_end.h"

static_assert(std::string_view(AUDITWALL_COMPILED_VARIABLE) ==
              auditwall::policy::kCompiledVariable);

namespace {

constexpr int kExitUsage = AUDITWALL_EXIT_USAGE;
constexpr int kExitPolicyError = AUDITWALL_EXIT_POLICY;
constexpr int kExitCannotRun = AUDITWALL_EXIT_CANNOT_RUN;
constexpr int kExitNoSeccomp = 71;  // EX_OSERR

const char kUsage[] =
    "usage: auditwall-launch [--policy PATH|builtin:NAME] [--mode enforce|monitor]\n"
    "                        [--no-seccomp] [--] PROGRAM [ARGS...]\n"
    "       auditwall-launch [--policy PATH|builtin:NAME] [--mode enforce|monitor] "
    "--print-filter\n";

// Prints both filters: a summary a reviewer can read, then libseccomp's pseudo filter code.
bool print_filters(const auditwall::policy::Policy& policy, auditwall::policy::Mode mode) {
  using namespace auditwall::seccomp;
  for (Stage stage : {Stage::pre_exec, Stage::armed}) {
    Filter filter = build(stage, &policy, mode);
    std::string pfc;
    std::string error;
    if (!export_pfc(filter, pfc, error)) {
      std::fprintf(stderr, "auditwall-launch: %s\n", error.c_str());
      return false;
    }
    std::printf("%s\n%s\n", describe(filter).c_str(), pfc.c_str());
  }
  return true;
}

// Loads the policy, printing every diagnostic to stderr as FILE:LINE:COL; null, after saying
// that auditwall-launch refuses to start, when it cannot be used.
std::shared_ptr<const auditwall::policy::Policy> load_policy(const std::string& ref) {
  const auditwall::policy::LoadResult loaded = auditwall::policy::load_file(ref);
  std::fputs(loaded.report().c_str(), stderr);
  if (loaded.ok()) return loaded.policy;
  std::fprintf(stderr, "auditwall-launch: refusing to start: the policy cannot be used\n");
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::string policy_ref = std::getenv("AUDITWALL_POLICY") ? std::getenv("AUDITWALL_POLICY") : "";
  std::string mode = std::getenv("AUDITWALL_MODE") ? std::getenv("AUDITWALL_MODE") : "";
  bool print_filter = false;
  bool no_seccomp = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--version") {
      std::printf("auditwall-launch %s\n", AUDITWALL_VERSION);
      return 0;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--print-filter") {
      print_filter = true;
      continue;
    }
    if (arg == "--no-seccomp") {
      no_seccomp = true;
      continue;
    }
    if ((arg == "--policy" || arg == "--mode") && i + 1 < argc) {
      (arg == "--policy" ? policy_ref : mode) = argv[++i];
    } else if (arg.rfind("--policy=", 0) == 0) {
      policy_ref = arg.substr(9);
    } else if (arg.rfind("--mode=", 0) == 0) {
      mode = arg.substr(7);
    } else if (arg.rfind("-", 0) == 0) {
      std::fprintf(stderr, "auditwall-launch: unknown option '%s'\n%s", arg.c_str(), kUsage);
      return kExitUsage;
    } else {
      break;
    }
  }
  if (i >= argc && !print_filter) {
    std::fprintf(stderr, "auditwall-launch: no program to run\n%s", kUsage);
    return kExitUsage;
  }
  if (policy_ref.empty()) {
    std::fprintf(stderr, "auditwall-launch: no policy: give --policy or set AUDITWALL_POLICY\n");
    return kExitUsage;
  }
  if (!mode.empty() && mode != "enforce" && mode != "monitor") {
    std::fprintf(stderr, "auditwall-launch: unknown mode '%s'; use enforce or monitor\n",
                 mode.c_str());
    return kExitUsage;
  }

  char absolute[PATH_MAX];
  if (!auditwall_absolute(policy_ref.c_str(), absolute)) {
    std::fprintf(stderr, "auditwall-launch: refusing to start: path too long: %s\n",
                 policy_ref.c_str());
    return kExitCannotRun;
  }
  policy_ref = absolute;
  const std::shared_ptr<const auditwall::policy::Policy> policy = load_policy(policy_ref);
  if (policy == nullptr) return kExitPolicyError;
  auditwall::policy::Mode effective = policy->mode();
  if (!mode.empty()) {
    effective = mode == "monitor" ? auditwall::policy::Mode::monitor
                                  : auditwall::policy::Mode::enforce;
  }
  if (print_filter) return print_filters(*policy, effective) ? 0 : kExitNoSeccomp;
  if (!no_seccomp) {
    for (const std::string& note : auditwall::seccomp::contradictions(*policy)) {
      std::fprintf(stderr, "auditwall-launch: warning: seccomp: %s\n", note.c_str());
    }
  }

  std::string why;
  if (no_seccomp) {
    std::fprintf(stderr,
                 "auditwall-launch: WARNING: --no-seccomp: running WITHOUT the seccomp layer; "
                 "only the audit hook protects %s, and what it cannot see (ctypes, "
                 "_posixsubprocess, raw syscalls) is not stopped\n",
                 argv[i]);
  } else if (!auditwall::seccomp::available(why)) {
    std::fprintf(stderr,
                 "auditwall-launch: refusing to start: seccomp is unavailable: %s\n"
                 "auditwall-launch: pass --no-seccomp to run with the audit hook only\n",
                 why.c_str());
    return kExitNoSeccomp;
  }

  char preload[PATH_MAX];
  if (!auditwall_find_preload("auditwall-launch", preload)) return kExitCannotRun;
  if (!auditwall_hand_down(policy_ref.c_str(), auditwall::policy::serialise(*policy).c_str(),
                           mode.c_str(), preload)) {
    std::fprintf(stderr, "auditwall-launch: refusing to start: cannot set the environment: %s\n",
                 std::strerror(errno));
    return AUDITWALL_EXIT_SOFTWARE;
  }
  // Tells the extension in each Python process of the tree to stack the armed-stage filter.
  setenv("AUDITWALL_SECCOMP", no_seccomp ? "off" : "on", 1);

  if (!no_seccomp) {
    // Last before exec, so that nothing the launcher still does runs under the filter; the
    // filter stays across exec (no_new_privs keeps setuid programs from dropping it).
    auditwall::seccomp::Filter filter =
        auditwall::seccomp::build(auditwall::seccomp::Stage::pre_exec, policy.get(),
                                  effective);
    std::string error;
    if (auditwall::seccomp::install(filter, error) != 0) {
      std::fprintf(stderr, "auditwall-launch: refusing to start: %s\n", error.c_str());
      return kExitNoSeccomp;
    }
  }

  execvp(argv[i], argv + i);
  std::fprintf(stderr, "auditwall-launch: cannot run %s: %s\n", argv[i], std::strerror(errno));
  return kExitCannotRun;
}
