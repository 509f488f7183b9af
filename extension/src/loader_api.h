/* The C interface of libauditwall-loader.so (see loader_api.cpp). */
#pragma once

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

#ifdef __cplusplus
}
#endif
