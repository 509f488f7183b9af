/* A minimal host for CPython, built and run by bench/startup_phases.py: it loads libpython
 * itself, as the `auditwall` command does in its own process, and takes one step of arming at a
 * time, so that each step's cost can be told apart from the others. Nothing here is part of
 * auditwall; it finds nothing and hands nothing down.
 *
 * Set by the environment:
 *   AUDITWALL_HOST_LIBPYTHON  the interpreter's libpython (required)
 *   AUDITWALL_HOST_PROGRAM    the interpreter's path, its argv[0] (required)
 *   AUDITWALL_HOST_CORE       a library loaded before the interpreter starts: auditwall's _core
 *                             extension, or an empty library (what loading any engine costs)
 *   AUDITWALL_HOST_ARM        "1": arm auditwall with it, from AUDITWALL_POLICY
 *   AUDITWALL_HOST_SHIM       the shim's path, named in LD_PRELOAD once armed, as the command
 *                             hands it down (so that auditwall's .pth file imports nothing)
 *   AUDITWALL_HOST_HOOK       "1": add an empty C audit hook (CPython's own cost of any hook)
 *   AUDITWALL_HOST_PAGES      N: write to N fresh pages of memory, kept to the end
 *   AUDITWALL_HOST_TIMES      a file to append this start's time stamps to, in microseconds:
 *                             loading the library, arming, and the interpreter (Py_BytesMain)
 *
 * libpython is loaded as the command loads it when nothing is preloaded: global, and bound to
 * itself first (RTLD_DEEPBIND). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*main_fn)(int, char **);
typedef int (*hook_fn)(const char *, void *, void *);
typedef int (*add_hook_fn)(hook_fn, void *);
typedef int (*arm_fn)(char *, unsigned long);

static int empty_hook(const char *event, void *args, void *data) {
  (void)event;
  (void)args;
  (void)data;
  return 0;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void *load(const char *path, int flags) {
  void *handle = dlopen(path, flags);
  if (handle == NULL) {
    fprintf(stderr, "startup_host: %s\n", dlerror());
    exit(70);
  }
  return handle;
}

static const char *required(const char *name) {
  const char *value = getenv(name);
  if (value == NULL || *value == '\0') {
    fprintf(stderr, "startup_host: %s is not set\n", name);
    exit(64);
  }
  return value;
}

static int is_set(const char *name) {
  const char *value = getenv(name);
  return value != NULL && strcmp(value, "1") == 0;
}

int main(int argc, char **argv) {
  const char *program = required("AUDITWALL_HOST_PROGRAM");
  void *libpython = load(required("AUDITWALL_HOST_LIBPYTHON"),
                         RTLD_LAZY | RTLD_GLOBAL | RTLD_DEEPBIND);
  main_fn python_main = (main_fn)dlsym(libpython, "Py_BytesMain");
  if (python_main == NULL) {
    fprintf(stderr, "startup_host: no Py_BytesMain in libpython\n");
    return 70;
  }

  const char *core = getenv("AUDITWALL_HOST_CORE");
  const double start = now_us();
  void *extension = core != NULL && *core != '\0' ? load(core, RTLD_LAZY | RTLD_LOCAL) : NULL;
  const double loaded = now_us();
  if (extension != NULL && is_set("AUDITWALL_HOST_ARM")) {
    arm_fn arm = (arm_fn)dlsym(extension, "auditwall_preinit_arm");
    static char error[8192];
    if (arm == NULL || arm(error, sizeof error) != 0) {
      fprintf(stderr, "startup_host: cannot arm: %s\n", arm == NULL ? "no entry point" : error);
      return 78;
    }
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("AUDITWALL_ARMED", pid, 1);
    const char *shim = getenv("AUDITWALL_HOST_SHIM");
    if (shim != NULL) setenv("LD_PRELOAD", shim, 1);
  } else {
    /* Unarmed, auditwall's .pth file would arm from the policy while the interpreter starts. */
    unsetenv("AUDITWALL_POLICY");
  }
  const double armed = now_us();

  if (is_set("AUDITWALL_HOST_HOOK")) {
    add_hook_fn add = (add_hook_fn)dlsym(libpython, "PySys_AddAuditHook");
    if (add == NULL || add(empty_hook, NULL) != 0) {
      fprintf(stderr, "startup_host: cannot add the empty hook\n");
      return 70;
    }
  }
  const char *pages = getenv("AUDITWALL_HOST_PAGES");
  if (pages != NULL && atol(pages) > 0) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t size = (size_t)atol(pages) * page;
    char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 71;
    for (size_t offset = 0; offset < size; offset += page) memory[offset] = 1;
  }

  argv[0] = (char *)program;
  const double before = now_us();
  const int status = python_main(argc, argv);
  const double after = now_us();
  const char *times = getenv("AUDITWALL_HOST_TIMES");
  if (times != NULL) {
    FILE *out = fopen(times, "a");
    if (out != NULL) {
      fprintf(out, "%.1f %.1f %.1f\n", loaded - start, armed - loaded, after - before);
      fclose(out);
    }
  }
  return status;
}
