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
#include <stdlib.h>
#include <string.h>

#include "arm_interpreter.h"

__attribute__((constructor)) static void auditwall_preload(void) {
  const char *policy = getenv("AUDITWALL_POLICY");
  if (policy == NULL || *policy == '\0') return;
  /* Only a process with an embedded CPython has this symbol. */
  if (dlsym(RTLD_DEFAULT, "PySys_AddAuditHook") == NULL) return;

  Dl_info self;
  if (dladdr((void *)&auditwall_preload, &self) == 0 || self.dli_fname == NULL) {
    auditwall_refuse(70, "cannot locate libauditwall-preload.so", NULL);
  }
  char dir[4096];
  const char *slash = strrchr(self.dli_fname, '/');
  size_t dir_len = slash ? (size_t)(slash - self.dli_fname) : 1;
  if (dir_len >= sizeof dir) auditwall_refuse(70, "path too long", self.dli_fname);
  memcpy(dir, slash ? self.dli_fname : ".", dir_len);
  dir[dir_len] = '\0';
  auditwall_arm_interpreter(dir);
}
