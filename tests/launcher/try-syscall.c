/* try-syscall: makes one syscall, harmlessly, and exits with its errno (0 when it worked).
 * Usage: try-syscall NAME. Exit 125 for a bad usage, so it cannot be taken for an errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static long try(const char *name) {
  if (strcmp(name, "getpid") == 0) return syscall(SYS_getpid);
  if (strcmp(name, "getppid") == 0) return syscall(SYS_getppid);
  if (strcmp(name, "ptrace") == 0) return syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
  if (strcmp(name, "process_vm_readv") == 0) {
    char src[8] = "auditwl", dst[8];
    struct iovec local = {dst, sizeof dst}, remote = {src, sizeof src};
    return syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
  }
  if (strcmp(name, "unshare") == 0) return syscall(SYS_unshare, 0);
  if (strcmp(name, "keyctl") == 0) {
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
  }
  if (strcmp(name, "io_uring_setup") == 0) {
    char params[120];
    memset(params, 0, sizeof params);
    return syscall(SYS_io_uring_setup, 1, params);
  }
  if (strcmp(name, "mknod") == 0) {
    /* A regular file in the working directory: mknod creates files with no audit event. */
    return syscall(SYS_mknodat, AT_FDCWD, "try-syscall.mknod", S_IFREG | 0600, 0);
  }
  if (strcmp(name, "socket-inet") == 0) return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (strcmp(name, "socket-inet-high-bits") == 0) {
    /* The domain is an int: the kernel ignores the high bits a filter might compare. */
    return syscall(SYS_socket, 0x100000000UL | AF_INET, SOCK_STREAM, 0);
  }
  if (strcmp(name, "socket-unix") == 0) return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
#if defined(__x86_64__)
  if (strcmp(name, "i386-getpid") == 0) {
    /* getpid (20) through the i386 ABI, int 0x80, from a 64-bit process. */
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    if (ret < 0 && ret > -4096) {
      errno = (int)-ret;
      return -1;
    }
    return ret;
  }
  if (strcmp(name, "x32-getpid") == 0) return syscall(0x40000000L | 39L);
#endif
  fprintf(stderr, "try-syscall: unknown syscall '%s'\n", name);
  exit(125);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: try-syscall NAME\n");
    return 125;
  }
  errno = 0;
  long ret = try(argv[1]);
  int err = ret < 0 ? errno : 0;
  printf("%s: %s\n", argv[1], err ? strerror(err) : "ok");
  return err;
}
