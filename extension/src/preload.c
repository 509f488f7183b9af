/* libauditwall-preload.so: arms auditwall's audit hook before a Python interpreter starts.
 *
 * Loaded with LD_PRELOAD into every process of a protected tree. In a process that is not
 * Python it does nothing. In a Python process it loads the auditwall._core extension built
 * for that interpreter's version (from this library's own directory) and arms the hook from
 * AUDITWALL_POLICY before main() runs, so site, .pth files and sitecustomize run under the
 * policy. If arming fails, the process exits before any Python code runs: fail closed.
 * Only libc is used here, since this runs inside arbitrary programs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*arm_fn)(char *error, unsigned long size);
typedef const char *(*version_fn)(void);

static void refuse(int status, const char *what, const char *detail) {
  fprintf(stderr, "auditwall: refusing to start: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  fflush(stderr);
  _exit(status);
}

__attribute__((constructor)) static void auditwall_preload(void) {
  const char *policy = getenv("AUDITWALL_POLICY");
  if (policy == NULL || *policy == '\0') return;
  /* Only a process with an embedded CPython has this symbol. */
  if (dlsym(RTLD_DEFAULT, "PySys_AddAuditHook") == NULL) return;

  version_fn get_version = (version_fn)dlsym(RTLD_DEFAULT, "Py_GetVersion");
  int major = 0, minor = 0;
  if (get_version == NULL || sscanf(get_version(), "%d.%d", &major, &minor) != 2) {
    refuse(70, "cannot tell this interpreter's version", NULL);
  }

  Dl_info self;
  if (dladdr((void *)&auditwall_preload, &self) == 0 || self.dli_fname == NULL) {
    refuse(70, "cannot locate libauditwall-preload.so", NULL);
  }
  char pattern[4096];
  const char *slash = strrchr(self.dli_fname, '/');
  int dir_len = slash ? (int)(slash - self.dli_fname) : 1;
  const char *dir = slash ? self.dli_fname : ".";
  if (snprintf(pattern, sizeof pattern, "%.*s/_core.cpython-%d%d*.so", dir_len, dir, major,
               minor) >= (int)sizeof pattern) {
    refuse(70, "path too long", self.dli_fname);
  }
  glob_t found;
  if (glob(pattern, 0, NULL, &found) != 0 || found.gl_pathc == 0) {
    char detail[4200];
    snprintf(detail, sizeof detail, "no auditwall extension for Python %d.%d (looked for %s)",
             major, minor, pattern);
    refuse(78, "auditwall is not installed for this interpreter", detail);
  }
  /* Lazy binding: functions the start-up never calls are not resolved at every start-up. */
  void *core = dlopen(found.gl_pathv[0], RTLD_LAZY | RTLD_LOCAL);
  if (core == NULL) refuse(70, "cannot load the auditwall extension", dlerror());
  globfree(&found);
  arm_fn arm = (arm_fn)dlsym(core, "auditwall_preinit_arm");
  if (arm == NULL) refuse(70, "the auditwall extension has no pre-init entry point", NULL);
  char error[8192];
  error[0] = '\0';
  int status = arm(error, sizeof error);
  if (status != 0) {
    fprintf(stderr, "%s%s", error, (*error && error[strlen(error) - 1] == '\n') ? "" : "\n");
    refuse(status, "the policy cannot be used", policy);
  }
  /* Tells the auto-load .pth of this very process that the hook is armed, so that it imports
   * nothing. The pid ties it to this process: an exec'd program keeps the pid but reruns this
   * constructor when LD_PRELOAD is kept, and the .pth also requires LD_PRELOAD to name us. */
  char pid[32];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("AUDITWALL_ARMED", pid, 1);
}
