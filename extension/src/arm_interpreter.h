/* Arming a CPython that is loaded but not started: the pre-init shim does it in every process
 * of a protected tree, and the auditwall command in its own process (launcher/src/in_process.c).
 * C and libc only, since the shim runs inside arbitrary programs. */
#ifndef AUDITWALL_ARM_INTERPRETER_H
#define AUDITWALL_ARM_INTERPRETER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the auditwall._core built for this process's interpreter from DIR (the shim's own
 * directory) and arms the hook from AUDITWALL_POLICY, then sets AUDITWALL_ARMED to this pid.
 * The compiled form handed down in AUDITWALL_COMPILED is used when it is usable; otherwise the
 * extension reads the file and hands its compiled form down (auditwall_preinit_arm). Returns
 * only when the hook is armed: otherwise it says why on stderr and ends the process with
 * auditwall's refusal status (70, 78, or what arming returned), before any Python runs. */
void auditwall_arm_interpreter(const char *dir);

/* Ends the process: "auditwall: refusing to start: WHAT[: DETAIL]" on stderr, exit STATUS. */
__attribute__((noreturn)) void auditwall_refuse(int status, const char *what, const char *detail);

#ifdef __cplusplus
}
#endif

#endif
