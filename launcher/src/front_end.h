/* What auditwall's two front ends (auditwall-launch, auditwall run) share: finding the pre-init
 * shim, and handing it and the policy down to the program's process. C and libc only: the
 * auditwall command, which starts every protected program, carries no C++ runtime. Paths are
 * written into buffers of PATH_MAX bytes; a path that does not fit is an error. */
#ifndef AUDITWALL_FRONT_END_H
#define AUDITWALL_FRONT_END_H

#include <elf.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  AUDITWALL_EXIT_USAGE = 2,
  AUDITWALL_EXIT_SOFTWARE = 70,  /* EX_SOFTWARE */
  AUDITWALL_EXIT_POLICY = 78,    /* EX_CONFIG */
  AUDITWALL_EXIT_CANNOT_RUN = 127
};

/* The environment variable that carries the compiled policy (auditwall::policy::
 * kCompiledVariable, which the C++ front end checks it against). */
#define AUDITWALL_COMPILED_VARIABLE "AUDITWALL_COMPILED"

/* The ELF machine of this program's code, which a library or interpreter it loads must have;
 * EM_NONE where it is not known here. */
#if defined(__x86_64__)
#define AUDITWALL_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define AUDITWALL_ELF_MACHINE EM_AARCH64
#else
#define AUDITWALL_ELF_MACHINE EM_NONE
#endif

/* Whether HEADER is that of a 64-bit little-endian ELF file for this program's machine (of any
 * machine where this one is not known here). */
int auditwall_for_this_machine(const Elf64_Ehdr *header);

/* The directory part of PATH into DIR: "." when it has none, "/" for a file at the root. */
void auditwall_dir_of(const char *path, char dir[PATH_MAX]);

/* The directory of this program's executable (/proc/self/exe) into DIR; 0 when unknown. */
int auditwall_program_dir(char dir[PATH_MAX]);

/* The shim that arms the hook in a new interpreter, into PATH. An explicit AUDITWALL_PRELOAD
 * wins; otherwise it is looked for in the site-packages of the environment this program is
 * installed in, then in the build tree. Only a shared library for this machine will do (the
 * dynamic loader would skip anything else, and start the program unarmed). 0 when there is
 * none; then, unless PROGRAM is empty, says on stderr that PROGRAM refuses to start. */
int auditwall_find_preload(const char *program, char path[PATH_MAX]);

/* PATH made absolute against the working directory into OUT; builtin:NAME unchanged. 0 when
 * it does not fit. */
int auditwall_absolute(const char *path, char out[PATH_MAX]);

/* Sets what the program's processes arm from: AUDITWALL_POLICY (absolute), the compiled
 * policy (unset when COMPILED is NULL or empty: the interpreter that reads the policy sets
 * it), AUDITWALL_MODE when MODE is not empty, and the shim first in LD_PRELOAD. 0 when the
 * environment cannot take them. */
int auditwall_hand_down(const char *ref, const char *compiled, const char *mode,
                        const char *preload);

#ifdef __cplusplus
}
#endif

#endif
