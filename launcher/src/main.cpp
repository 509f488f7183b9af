// auditwall-launch: runs a program under seccomp with auditwall's hook armed before it starts.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"
#include "auditwall/seccomp.hpp"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitPolicyError = 78;  // EX_CONFIG
constexpr int kExitNoSeccomp = 71;  // EX_OSERR
constexpr int kExitCannotRun = 127;

const char kUsage[] =
    "usage: auditwall-launch [--policy PATH|builtin:NAME] [--mode enforce|monitor]\n"
    "                        [--no-seccomp] [--] PROGRAM [ARGS...]\n"
    "       auditwall-launch [--policy PATH|builtin:NAME] [--mode enforce|monitor] "
    "--print-filter\n";

bool is_file(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

#ifdef AUDITWALL_PYTHON_DIR
std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
#endif

// The shim that arms the hook in the new interpreter. An explicit AUDITWALL_PRELOAD wins;
// otherwise it is looked for in the site-packages of the environment this launcher is in.
std::string find_preload() {
  if (const char* explicit_path = std::getenv("AUDITWALL_PRELOAD")) return explicit_path;
  std::vector<std::string> candidates;
#ifdef AUDITWALL_PYTHON_DIR
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    const std::string prefix = dir_of(dir_of(self));
    for (const char* site : {"site-packages", "dist-packages"}) {
      candidates.push_back(prefix + "/lib/" AUDITWALL_PYTHON_DIR "/" + site +
                           "/auditwall/libauditwall-preload.so");
    }
  }
#endif
#ifdef AUDITWALL_BUILD_PRELOAD
  candidates.push_back(AUDITWALL_BUILD_PRELOAD);
#endif
  for (const auto& candidate : candidates) {
    if (is_file(candidate)) return candidate;
  }
  return {};
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  if (path.rfind("builtin:", 0) == 0) return path;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

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

  policy_ref = absolute(policy_ref);
  auditwall::policy::LoadResult loaded = auditwall::policy::load_file(policy_ref);
  std::fputs(loaded.report().c_str(), stderr);
  if (!loaded.ok()) {
    std::fprintf(stderr, "auditwall-launch: refusing to start: the policy cannot be used\n");
    return kExitPolicyError;
  }
  auditwall::policy::Mode effective = loaded.policy->mode();
  if (!mode.empty()) {
    effective = mode == "monitor" ? auditwall::policy::Mode::monitor
                                  : auditwall::policy::Mode::enforce;
  }
  if (print_filter) return print_filters(*loaded.policy, effective) ? 0 : kExitNoSeccomp;
  if (!no_seccomp) {
    for (const std::string& note : auditwall::seccomp::contradictions(*loaded.policy)) {
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

  const std::string preload = find_preload();
  if (preload.empty()) {
    std::fprintf(stderr,
                 "auditwall-launch: refusing to start: cannot find libauditwall-preload.so "
                 "(set AUDITWALL_PRELOAD)\n");
    return kExitCannotRun;
  }
  std::string ld_preload = preload;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing) {
    ld_preload += ' ';
    ld_preload += existing;
  }
  setenv("AUDITWALL_POLICY", policy_ref.c_str(), 1);
  // The program's interpreter arms from this, with no YAML parser at start-up (see
  // docs/activation.md); the policy mode is not in it, AUDITWALL_MODE still applies.
  setenv(auditwall::policy::kCompiledVariable,
         auditwall::policy::serialise(*loaded.policy).c_str(), 1);
  if (!mode.empty()) setenv("AUDITWALL_MODE", mode.c_str(), 1);
  setenv("LD_PRELOAD", ld_preload.c_str(), 1);
  // Tells the extension in each Python process of the tree to stack the armed-stage filter.
  setenv("AUDITWALL_SECCOMP", no_seccomp ? "off" : "on", 1);

  if (!no_seccomp) {
    // Last before exec, so that nothing the launcher still does runs under the filter; the
    // filter stays across exec (no_new_privs keeps setuid programs from dropping it).
    auditwall::seccomp::Filter filter =
        auditwall::seccomp::build(auditwall::seccomp::Stage::pre_exec, loaded.policy.get(),
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
