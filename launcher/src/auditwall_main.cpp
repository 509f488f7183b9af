// The auditwall command. `auditwall run` is native: it runs the environment's Python on the
// program in its own process (a shared-libpython interpreter), armed by the extension, which
// reads and checks the policy; or it checks the policy, hands down its compiled form and the
// pre-init shim, and execs it. Starting a protected program costs no second interpreter.
// Every other command is the Python command line (auditwall/cli.py), run by that Python with
// -S: no .pth file of the environment runs in a process that acts for auditwall.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"
#include "front_end.hpp"
#include "in_process.hpp"
#include "loader_api.h"

namespace {

using auditwall::front_end::kExitCannotRun;
using auditwall::front_end::kExitPolicyError;
using auditwall::front_end::kExitUsage;
constexpr int kExitSoftware = 70;  // EX_SOFTWARE

// The same text as auditwall/cli.py's USAGE.
const char kUsage[] =
    "usage: auditwall run [--policy PATH|builtin:NAME] [--mode enforce|monitor] [--log SINK] "
    "[--] (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n"
    "       auditwall policy check FILE...\n"
    "       auditwall policy explain FILE --event NAME [ARG...]\n"
    "       auditwall policy generate LOG... -o POLICY.yaml\n"
    "       auditwall report [--examples N] LOG...\n"
    "       auditwall --version\n";

int fail_usage(const std::string& message) {
  std::fprintf(stderr, "auditwall: %s\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// This environment's Python: the one beside this program (a venv's bin/), else the
// interpreter of the version auditwall was built for, found on PATH.
std::string find_python() {
  if (const std::string here = auditwall::front_end::program_dir(); !here.empty()) {
    for (const char* name : {AUDITWALL_PYTHON_NAME, "python3", "python"}) {
      const std::string candidate = here + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return AUDITWALL_PYTHON_NAME;
}

// The policy's compiled form, to hand down: `compiled`, and 0; else the exit status, after
// printing every diagnostic (FILE:LINE:COL) and refusing. The fast reader reads the policies
// people write without a YAML parser in this program. Any other text, and every policy with
// something to report, is read by the full loader, libauditwall-loader.so beside the shim
// (yaml-cpp), so that every diagnostic is the one every other auditwall tool gives.
int load_compiled(const std::string& ref, const std::string& preload, std::string& compiled) {
  if (auto fast = auditwall::policy::load_file_for_hand_down_fast(ref)) {
    compiled = std::move(fast->compiled);
    return 0;
  }
  const std::string library = auditwall::front_end::dir_of(preload) + "/libauditwall-loader.so";
  auditwall_loader_load_fn load = nullptr;
  auditwall_loader_free_fn release = nullptr;
  if (const char* why = auditwall_loader_open(library.c_str(), &load, &release)) {
    std::fprintf(stderr, "auditwall: refusing to start: cannot load the policy loader %s: %s\n",
                 library.c_str(), why);
    return kExitCannotRun;
  }
  char* text = nullptr;
  char* report = nullptr;
  const int status = load(ref.c_str(), &text, &report);
  if (report != nullptr) std::fputs(report, stderr);
  compiled = status == 1 && text != nullptr ? text : "";
  release(text);
  release(report);
  if (status < 0) {
    std::fprintf(stderr, "auditwall: refusing to start: internal error in the policy loader\n");
    return kExitSoftware;
  }
  if (compiled.empty()) {
    std::fprintf(stderr, "auditwall: refusing to start: the policy cannot be used\n");
    return kExitPolicyError;
  }
  return 0;
}

[[noreturn]] void exec_python(std::vector<std::string> args) {
  const std::string python = find_python();
  args.insert(args.begin(), python);
  std::vector<char*> argv = auditwall::front_end::argv_of(args);
  std::fflush(stdout);
  std::fflush(stderr);
  execvp(python.c_str(), argv.data());
  std::fprintf(stderr, "auditwall: cannot run %s: %s\n", python.c_str(), std::strerror(errno));
  std::exit(kExitCannotRun);
}

int run(int argc, char** argv) {
  std::string policy_ref = env_or_empty("AUDITWALL_POLICY");
  std::string mode = env_or_empty("AUDITWALL_MODE");
  std::string log = env_or_empty("AUDITWALL_LOG");
  int i = 0;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    std::string* option = name == "--policy" ? &policy_ref
                          : name == "--mode" ? &mode
                          : name == "--log"  ? &log
                                             : nullptr;
    if (option == nullptr) break;
    if (eq != std::string::npos) {
      *option = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      *option = argv[++i];
    } else {
      return fail_usage(arg + " needs a value");
    }
  }
  if (i >= argc) return fail_usage("run needs a program: SCRIPT, -m MODULE or -c CODE");
  const std::string first = argv[i];
  if ((first == "-m" || first == "-c") && i + 1 >= argc) {
    return fail_usage(first + " needs an argument");
  }
  if (policy_ref.empty()) return fail_usage("run needs --policy (or AUDITWALL_POLICY)");
  if (!mode.empty() && mode != "enforce" && mode != "monitor") {
    return fail_usage("unknown mode '" + mode + "'; use enforce or monitor");
  }

  policy_ref = auditwall::front_end::absolute(policy_ref);
  const std::string preload = auditwall::front_end::find_preload("auditwall");
  if (preload.empty()) return kExitCannotRun;
  if (!log.empty()) {
    if (log.rfind("file:", 0) == 0) {  // the program may change directory before it logs
      const auto comma = log.find(',');
      const std::string path = log.substr(5, comma == std::string::npos ? std::string::npos
                                                                         : comma - 5);
      log = "file:" + auditwall::front_end::absolute(path) +
            (comma == std::string::npos ? "" : log.substr(comma));
    }
    setenv("AUDITWALL_LOG", log.c_str(), 1);  // docs/log-schema.md says what SPEC can be
  }
  // In this process, or exec'd, never a child: the program keeps this process's pid, stdin,
  // signals and exit status. In this process, the extension reads and checks the policy as it
  // arms, before the program starts, and hands its compiled form down.
  const std::vector<std::string> program(argv + i, argv + argc);
  if (env_or_empty("AUDITWALL_IN_PROCESS") != "0") {
    if (const auto interpreter = auditwall::front_end::load_interpreter(find_python())) {
      auditwall::front_end::hand_down(policy_ref, "", mode, preload);
      return auditwall::front_end::run_in_process(*interpreter, preload, program);
    }
  }
  // Exec'd: checked here, so that a broken policy is reported before the program starts.
  std::string compiled;
  if (const int status = load_compiled(policy_ref, preload, compiled); status != 0) return status;
  auditwall::front_end::hand_down(policy_ref, compiled, mode, preload);
  exec_python(program);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) return run(argc - 2, argv + 2);
  // Everything else is the Python command line, found beside the shim without site.
  const std::string parent =
      auditwall::front_end::package_parent(auditwall::front_end::find_preload(""));
  if (parent.empty()) {
    std::fprintf(stderr, "auditwall: cannot find the auditwall package; reinstall auditwall\n");
    return kExitCannotRun;
  }
  std::vector<std::string> args = {
      "-S", "-c",
      "import sys; sys.path.append(sys.argv.pop(1)); from auditwall.cli import main; "
      "sys.exit(main())",
      parent};
  args.insert(args.end(), argv + 1, argv + argc);
  exec_python(std::move(args));
}
