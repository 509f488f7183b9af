/* The auditwall command. `auditwall run` is native: it runs the environment's Python on the
 * program in its own process (a shared-libpython interpreter), armed by the extension, which
 * reads and checks the policy; or it hands the policy and the pre-init shim down and execs the
 * interpreter, whose shim arms it the same way before it starts. Starting a protected program
 * costs no second interpreter, and the command itself is C and libc: no C++ runtime to load
 * and start. Every other command is the Python command line (auditwall/cli.py), run by that
 * Python with -S: no .pth file of the environment runs in a process that acts for auditwall. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front_end.h"
#include "in_process.h"

/* The same text as auditwall/cli.py's USAGE. */
static const char kUsage[] =
    "usage: auditwall run [--policy PATH|builtin:NAME] [--mode enforce|monitor] [--log SINK] "
    "[--] (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n"
    "       auditwall policy check FILE...\n"
    "       auditwall policy explain FILE --event NAME [ARG...]\n"
    "       auditwall policy generate LOG... -o POLICY.yaml\n"
    "       auditwall report [--examples N] LOG...\n"
    "       auditwall --version\n";

static int fail_usage(const char *message, const char *detail) {
  fprintf(stderr, "auditwall: %s%s\n%s", detail != NULL ? detail : "", message, kUsage);
  return AUDITWALL_EXIT_USAGE;
}

/* This environment's Python, into PYTHON: the one beside this program (a venv's bin/), else
 * the interpreter of the version auditwall was built for, found on PATH. */
static void find_python(char python[PATH_MAX]) {
  char here[PATH_MAX];
  if (auditwall_program_dir(here)) {
    static const char *const names[] = {AUDITWALL_PYTHON_NAME, "python3", "python"};
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
      const int n = snprintf(python, PATH_MAX, "%s/%s", here, names[i]);
      if (n > 0 && n < PATH_MAX && access(python, X_OK) == 0) return;
    }
  }
  snprintf(python, PATH_MAX, "%s", AUDITWALL_PYTHON_NAME);
}

/* Execs `PYTHON ARGS...` (ARGC arguments, then those of MORE). */
__attribute__((noreturn)) static void exec_python(const char *python, int argc,
                                                  const char **args, int more_count,
                                                  char **more) {
  char **argv = malloc(((size_t)argc + (size_t)more_count + 2) * sizeof *argv);
  if (argv == NULL) {
    fprintf(stderr, "auditwall: out of memory\n");
    exit(AUDITWALL_EXIT_SOFTWARE);
  }
  argv[0] = (char *)python;
  memcpy(argv + 1, args, (size_t)argc * sizeof *argv);
  memcpy(argv + 1 + argc, more, (size_t)more_count * sizeof *argv);
  argv[1 + argc + more_count] = NULL;
  fflush(stdout);
  fflush(stderr);
  execvp(python, argv);
  fprintf(stderr, "auditwall: cannot run %s: %s\n", python, strerror(errno));
  exit(AUDITWALL_EXIT_CANNOT_RUN);
}

/* The value of option NAME (--policy, --mode, --log) at argv[*i], as `--name=VALUE` or
 * `--name VALUE` (advancing *i); NULL when argv[*i] is not that option. Sets *missing when it
 * is, without a value. */
static const char *option(const char *name, int argc, char **argv, int *i, int *missing) {
  const size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

/* Sets AUDITWALL_LOG to the sink LOG (docs/log-schema.md says what it can be), with a file
 * sink's path made absolute: the program may change directory before it logs. 0, having said
 * why, when the path is too long. Not inlined into prepare(): its buffers are needed only with
 * --log. */
__attribute__((noinline)) static int hand_down_log(const char *log) {
  char spec[PATH_MAX + 64];
  if (strncmp(log, "file:", 5) == 0) {
    const char *comma = strchr(log, ',');
    char path[PATH_MAX];
    char absolute[PATH_MAX];
    const int length = comma != NULL ? (int)(comma - log - 5) : (int)strlen(log + 5);
    const int n = snprintf(path, sizeof path, "%.*s", length, log + 5);
    if (n < 0 || n >= (int)sizeof path || !auditwall_absolute(path, absolute) ||
        snprintf(spec, sizeof spec, "file:%s%s", absolute, comma != NULL ? comma : "") >=
            (int)sizeof spec) {
      fprintf(stderr, "auditwall: refusing to start: path too long: %s\n", log);
      return 0;
    }
    log = spec;
  }
  setenv("AUDITWALL_LOG", log, 1);
  return 1;
}

/* What `auditwall run` starts, once the policy and the shim are handed down. */
struct start {
  int first;                  /* where the program's arguments start in argv */
  auditwall_python_main main; /* the interpreter's main(), loaded in this process; NULL: exec */
  char *python;               /* the interpreter's path */
  char *preload;              /* the shim's path */
};

/* Reads `auditwall run`'s options, hands the policy and the shim down, and finds the
 * interpreter, into START: 0 when the program is to be started, else the exit status. Its path
 * buffers are in its own stack frame, which is gone when the program runs: the interpreter's
 * stack starts about where a plain start's does, not 24 KB deeper, in pages faulted in for that
 * alone. */
__attribute__((noinline)) static int prepare(int argc, char **argv, struct start *start) {
  const char *policy = getenv("AUDITWALL_POLICY");
  const char *mode = getenv("AUDITWALL_MODE");
  const char *log = getenv("AUDITWALL_LOG");
  int i = 0;
  for (; i < argc; ++i) {
    if (strcmp(argv[i], "--") == 0) {
      ++i;
      break;
    }
    int missing = 0;
    const char *value;
    if ((value = option("--policy", argc, argv, &i, &missing)) != NULL) {
      policy = value;
    } else if ((value = option("--mode", argc, argv, &i, &missing)) != NULL) {
      mode = value;
    } else if ((value = option("--log", argc, argv, &i, &missing)) != NULL) {
      log = value;
    } else if (missing) {
      return fail_usage(" needs a value", argv[i]);
    } else {
      break;
    }
  }
  if (i >= argc) return fail_usage("run needs a program: SCRIPT, -m MODULE or -c CODE", NULL);
  if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 >= argc) {
    return fail_usage(" needs an argument", argv[i]);
  }
  if (policy == NULL || *policy == '\0') {
    return fail_usage("run needs --policy (or AUDITWALL_POLICY)", NULL);
  }
  if (mode != NULL && *mode != '\0' && strcmp(mode, "enforce") != 0 &&
      strcmp(mode, "monitor") != 0) {
    fprintf(stderr, "auditwall: unknown mode '%s'; use enforce or monitor\n%s", mode, kUsage);
    return AUDITWALL_EXIT_USAGE;
  }

  char policy_ref[PATH_MAX];
  char preload[PATH_MAX];
  if (!auditwall_absolute(policy, policy_ref)) {
    fprintf(stderr, "auditwall: refusing to start: path too long: %s\n", policy);
    return AUDITWALL_EXIT_CANNOT_RUN;
  }
  if (!auditwall_find_preload("auditwall", preload)) return AUDITWALL_EXIT_CANNOT_RUN;
  if (log != NULL && *log != '\0' && !hand_down_log(log)) return AUDITWALL_EXIT_CANNOT_RUN;
  /* In this process, or exec'd, never a child: the program keeps this process's pid, stdin,
   * signals and exit status. Either way the extension reads and checks the policy as it arms,
   * before the program starts, and hands its compiled form down; a policy it cannot use ends
   * the process with every diagnostic (FILE:LINE:COL) before any of the program runs. */
  if (!auditwall_hand_down(policy_ref, NULL, mode, preload)) {
    fprintf(stderr, "auditwall: refusing to start: cannot set the environment: %s\n",
            strerror(errno));
    return AUDITWALL_EXIT_SOFTWARE;
  }
  char python[PATH_MAX];
  find_python(python);
  start->first = i;
  start->main = NULL;
  const char *in_process = getenv("AUDITWALL_IN_PROCESS");
  if (in_process == NULL || strcmp(in_process, "0") != 0) {
    start->main = auditwall_load_interpreter(python);
  }
  start->python = strdup(python);
  start->preload = strdup(preload);
  if (start->python == NULL || start->preload == NULL) {
    fprintf(stderr, "auditwall: out of memory\n");
    return AUDITWALL_EXIT_SOFTWARE;
  }
  return 0;
}

static int run(int argc, char **argv) {
  struct start start;
  const int status = prepare(argc, argv, &start);
  if (status != 0) return status;
  if (start.main != NULL) {
    return auditwall_run_in_process(start.main, start.python, start.preload,
                                    argc - start.first, argv + start.first);
  }
  exec_python(start.python, 0, NULL, argc - start.first, argv + start.first);
}

/* Everything but `run`: the Python command line, found beside the shim, run without site. */
__attribute__((noreturn, noinline)) static void python_command(int argc, char **argv) {
  char preload[PATH_MAX];
  char parent[PATH_MAX];
  if (!auditwall_find_preload("", preload)) {
    fprintf(stderr, "auditwall: cannot find the auditwall package; reinstall auditwall\n");
    exit(AUDITWALL_EXIT_CANNOT_RUN);
  }
  auditwall_dir_of(preload, parent);
  auditwall_dir_of(parent, parent);
  const char *args[] = {"-S", "-c",
                        "import sys; sys.path.append(sys.argv.pop(1)); "
                        "from auditwall.cli import main; sys.exit(main())",
                        parent};
  char python[PATH_MAX];
  find_python(python);
  exec_python(python, 4, args, argc, argv);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return run(argc - 2, argv + 2);
  python_command(argc - 1, argv + 1);
}
