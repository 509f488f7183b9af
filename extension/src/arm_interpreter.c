/* Arming a CPython that is loaded but not started (arm_interpreter.h). */
#define _GNU_SOURCE
#include "arm_interpreter.h"

#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

typedef int (*arm_fn)(char *error, unsigned long size);
typedef const char *(*version_fn)(void);

#ifdef __GLIBC__
/* Free space left at the top of the heap after arming (see auditwall_arm_interpreter). */
enum { kHeapTopLeft = 64 * 1024 };
#endif

void auditwall_refuse(int status, const char *what, const char *detail) {
  fprintf(stderr, "auditwall: refusing to start: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  fflush(stderr);
  _exit(status);
}

/* The running interpreter's version: Py_Version (3.11 and later) is a number; before it there
 * is only Py_GetVersion's text, whose formatting is the slower way. */
static int interpreter_version(int *major, int *minor) {
  const unsigned long *hex = (const unsigned long *)dlsym(RTLD_DEFAULT, "Py_Version");
  if (hex != NULL) {
    *major = (int)((*hex >> 24) & 0xff);
    *minor = (int)((*hex >> 16) & 0xff);
    return 1;
  }
  version_fn get_version = (version_fn)dlsym(RTLD_DEFAULT, "Py_GetVersion");
  return get_version != NULL && sscanf(get_version(), "%d.%d", major, minor) == 2;
}

/* DIR/_core.cpython-XY*.so, in PATH. The extension this was built beside is tried by name
 * first; any other version's is looked for. */
static void find_core(const char *dir, int major, int minor, char *path, size_t size) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "_core.cpython-%d%d", major, minor);
#ifdef AUDITWALL_CORE_FILE
  const size_t n = strlen(prefix);
  if (strncmp(AUDITWALL_CORE_FILE, prefix, n) == 0 && AUDITWALL_CORE_FILE[n] == '-') {
    if ((size_t)snprintf(path, size, "%s/%s", dir, AUDITWALL_CORE_FILE) >= size) {
      auditwall_refuse(70, "path too long", dir);
    }
    if (access(path, F_OK) == 0) return;
  }
#endif
  char pattern[4096];
  if ((size_t)snprintf(pattern, sizeof pattern, "%s/%s*.so", dir, prefix) >= sizeof pattern) {
    auditwall_refuse(70, "path too long", dir);
  }
  glob_t found;
  if (glob(pattern, 0, NULL, &found) != 0 || found.gl_pathc == 0) {
    char detail[4200];
    snprintf(detail, sizeof detail, "no auditwall extension for Python %d.%d (looked for %s)",
             major, minor, pattern);
    auditwall_refuse(78, "auditwall is not installed for this interpreter", detail);
  }
  if ((size_t)snprintf(path, size, "%s", found.gl_pathv[0]) >= size) {
    auditwall_refuse(70, "path too long", found.gl_pathv[0]);
  }
  globfree(&found);
}

void auditwall_arm_interpreter(const char *dir) {
  int major = 0, minor = 0;
  if (!interpreter_version(&major, &minor)) {
    auditwall_refuse(70, "cannot tell this interpreter's version", NULL);
  }
  char path[4096];
  find_core(dir, major, minor, path, sizeof path);
  /* Lazy binding: functions the start-up never calls are not resolved at every start-up. */
  void *core = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
  if (core == NULL) auditwall_refuse(70, "cannot load the auditwall extension", dlerror());
  arm_fn arm = (arm_fn)dlsym(core, "auditwall_preinit_arm");
  if (arm == NULL) {
    auditwall_refuse(70, "the auditwall extension has no pre-init entry point", NULL);
  }
  /* On the heap: on the stack, it would put all that arming calls 8 KB deeper, in pages faulted
   * in for that alone. */
  enum { kErrorSize = 8192 };
  char *error = malloc(kErrorSize);
  if (error == NULL) auditwall_refuse(70, "out of memory", NULL);
  error[0] = '\0';
  int status = arm(error, kErrorSize);
  /* The policy needs the full loader, which cannot be loaded: the error says which and why. */
  if (status == 127) auditwall_refuse(status, error, NULL);
  if (status != 0) {
    fprintf(stderr, "%s%s", error, (*error && error[strlen(error) - 1] == '\n') ? "" : "\n");
    auditwall_refuse(status, "the policy cannot be used", getenv("AUDITWALL_POLICY"));
  }
  free(error);
#ifdef __GLIBC__
  /* The interpreter's first object makes pymalloc calloc() a 128 KB node of its address map,
   * most of which is never touched. In a plain start the heap's top is smaller than that, and
   * the node comes from mmap: fresh zero pages, faulted in only where used. After arming, the
   * top is whatever loading the extension and arming left (its C++ runtime alone grows the
   * heap with 128 KB of padding), and when the node fits in it, calloc() clears it all, page
   * by page: 31 page faults that a plain start does not have. So the top is set to a known
   * size, room for the interpreter's first raw allocations and too small for the node: made
   * at least that big, then trimmed to it. */
  void *volatile room = malloc(kHeapTopLeft); /* volatile: not optimised away with the free */
  free(room);
  malloc_trim(kHeapTopLeft);
#endif
  /* Tells the auto-load .pth of this very process that the hook is armed, so that it imports
   * nothing. The pid ties it to this process: an exec'd program keeps the pid but reruns the
   * shim when LD_PRELOAD is kept, and the .pth also requires LD_PRELOAD to name the shim. */
  char pid[32];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("AUDITWALL_ARMED", pid, 1);
}
