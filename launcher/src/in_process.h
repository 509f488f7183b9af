/* Running the program's interpreter inside the auditwall command's own process, when the
 * interpreter is a shared-libpython build: one program started instead of two (see
 * docs/activation.md). */
#ifndef AUDITWALL_IN_PROCESS_H
#define AUDITWALL_IN_PROCESS_H

#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PROGRAM as execvp would find it, into PATH: itself when it holds a '/', else the first
 * executable file of that name on PATH. 0 when there is none. */
int auditwall_find_on_path(const char *program, char path[PATH_MAX]);

/* The libpython that the interpreter at PYTHON (a path) loads, found as the dynamic loader
 * would find it (DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH with $ORIGIN; else the loader's own
 * search, by name), into LIBPYTHON. 0 for an interpreter that links no shared libpython (a
 * statically linked one), and whenever that cannot be told for sure. */
int auditwall_find_libpython(const char *python, char libpython[PATH_MAX]);

/* The interpreter's main(), Py_BytesMain. */
typedef int (*auditwall_python_main)(int, char **);

/* Loads the libpython that the interpreter PYTHON (a path, or a name on PATH) loads (global,
 * and bound to its own symbols first when no other library could interpose on them), and
 * returns its Py_BytesMain. NULL, having started nothing, when the interpreter cannot be run in
 * this process (a statically linked one, or one this cannot read as such): the caller then
 * execs it. */
auditwall_python_main auditwall_load_interpreter(const char *python);

/* Runs `PYTHON ARGS...` (ARGC arguments) in this process with MAIN, what
 * auditwall_load_interpreter() returned: arms the hook with the pre-init shim's own code and
 * the extension beside the shim PRELOAD, which reads and checks the policy AUDITWALL_POLICY
 * names and hands its compiled form down (ending the process when it cannot arm), and calls
 * MAIN with PYTHON as argv[0], as the interpreter's own main() would. Returns the program's
 * exit status. The process takes the interpreter's name (what ps shows), as exec would give
 * it. */
int auditwall_run_in_process(auditwall_python_main main, const char *python, const char *preload,
                             int argc, char **args);

#ifdef __cplusplus
}
#endif

#endif
