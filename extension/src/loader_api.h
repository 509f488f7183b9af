/* The C interface of libauditwall-loader.so (see loader_api.cpp). */
#pragma once

#include <dlfcn.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Loads the policy `ref` (a path or "builtin:NAME") with the full YAML loader. Returns 1 when
 * it loads, with its compiled form (auditwall::policy::serialise) in `*compiled`; 0 when it
 * does not, with `*compiled` null; -1 when out of memory or on an internal error, both null.
 * `*report` holds every diagnostic, one per line (empty when none), on 1 and 0. Free both
 * with auditwall_loader_free. Never throws. */
__attribute__((visibility("default"))) int auditwall_loader_load(const char* ref, char** compiled,
                                                                 char** report);
__attribute__((visibility("default"))) void auditwall_loader_free(char* text);

typedef int (*auditwall_loader_load_fn)(const char*, char**, char**);
typedef void (*auditwall_loader_free_fn)(char*);

/** Loads the library at `path` and finds its two entry points. RTLD_LOCAL: its C++ runtime
 * (the shared libstdc++) and its copy of the policy library stay out of the global scope; only
 * the two C functions are used. RTLD_LAZY: binding every function of libstdc++ and yaml-cpp
 * up front costs 1.3 M instructions; missing libraries still fail here, and a symbol missing
 * from an installed library (a broken installation) ends the process, with the dynamic
 * loader's message, when first called. Returns NULL when both are found, else what is wrong
 * (valid until the next dlerror()). */
static inline const char* auditwall_loader_open(const char* path, auditwall_loader_load_fn* load,
                                                auditwall_loader_free_fn* release) {
  void* handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
  if (handle == NULL) {
    const char* why = dlerror();
    return why != NULL ? why : "unknown error";
  }
  *load = (auditwall_loader_load_fn)dlsym(handle, "auditwall_loader_load");
  *release = (auditwall_loader_free_fn)dlsym(handle, "auditwall_loader_free");
  if (*load == NULL || *release == NULL) return "it lacks its entry points";
  return NULL;
}

#ifdef __cplusplus
}
#endif
