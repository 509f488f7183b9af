/* without-seccomp: runs a program in a process where seccomp looks unavailable, as on a
 * kernel built without it. It loads a filter (plain BPF, no libseccomp) under which seccomp(2)
 * fails with ENOSYS and prctl(PR_SET_SECCOMP) and prctl(PR_GET_SECCOMP) with EINVAL, as they
 * do without CONFIG_SECCOMP, then execs the program. With --only-set, PR_GET_SECCOMP keeps
 * working: seccomp seems present but no filter can be loaded.
 * Usage: without-seccomp [--only-set] PROGRAM [ARGS...]. Exit 125 on a bad usage or set-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "without-seccomp supports x86_64 and aarch64"
#endif

#define ARG0_LOW (offsetof(struct seccomp_data, args[0]))
#define FAIL(err) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))

int main(int argc, char **argv) {
  int first = 1;
  int only_set = argc > 1 && strcmp(argv[1], "--only-set") == 0;
  if (only_set) first = 2;
  if (argc <= first) {
    fprintf(stderr, "usage: without-seccomp [--only-set] PROGRAM [ARGS...]\n");
    return 125;
  }
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
      FAIL(ENOSYS),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      /* The option is an int: its low 32 bits (little-endian: the first word). */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LOW),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, only_set ? 0xffffffffu : PR_GET_SECCOMP, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      FAIL(EINVAL),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "without-seccomp: cannot load the filter: %s\n", strerror(errno));
    return 125;
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "without-seccomp: cannot run %s: %s\n", argv[first], strerror(errno));
  return 127;
}
