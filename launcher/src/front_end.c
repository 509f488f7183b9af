/* What auditwall's front ends share (front_end.h). */
#define _GNU_SOURCE
#include "front_end.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int auditwall_for_this_machine(const Elf64_Ehdr *header) {
  return memcmp(header->e_ident, ELFMAG, SELFMAG) == 0 &&
         header->e_ident[EI_CLASS] == ELFCLASS64 && header->e_ident[EI_DATA] == ELFDATA2LSB &&
         (AUDITWALL_ELF_MACHINE == EM_NONE || header->e_machine == AUDITWALL_ELF_MACHINE);
}

/* Whether PATH is a shared library that this program's machine loads: the dynamic loader
 * ignores, with a warning, an LD_PRELOAD entry it cannot load, and the program would then start
 * with nothing to arm it. */
static int is_loadable_library(const char *path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Elf64_Ehdr header;
  const int read = pread(fd, &header, sizeof header, 0) == (ssize_t)sizeof header;
  close(fd);
  return read && auditwall_for_this_machine(&header) && header.e_type == ET_DYN;
}

void auditwall_dir_of(const char *path, char dir[PATH_MAX]) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    const size_t n = (size_t)(slash - path) < PATH_MAX - 1 ? (size_t)(slash - path) : PATH_MAX - 1;
    memmove(dir, path, n);
    dir[n] = '\0';
  }
}

int auditwall_program_dir(char dir[PATH_MAX]) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 0;
  self[n] = '\0';
  auditwall_dir_of(self, dir);
  return 1;
}

int auditwall_find_preload(const char *program, char path[PATH_MAX]) {
  const char *explicit_path = getenv("AUDITWALL_PRELOAD");
  if (explicit_path != NULL) {
    if (strlen(explicit_path) < PATH_MAX && is_loadable_library(explicit_path)) {
      strcpy(path, explicit_path);
      return 1;
    }
    if (*program != '\0') {
      fprintf(stderr,
              "%s: refusing to start: AUDITWALL_PRELOAD=%s is not a shared library this "
              "machine can load\n",
              program, explicit_path);
    }
    return 0;
  }
#ifdef AUDITWALL_PYTHON_DIR
  char bin[PATH_MAX];
  if (auditwall_program_dir(bin)) {
    char prefix[PATH_MAX];
    auditwall_dir_of(bin, prefix);
    static const char *const sites[] = {"site-packages", "dist-packages"};
    for (size_t i = 0; i < sizeof sites / sizeof *sites; ++i) {
      const int n = snprintf(path, PATH_MAX,
                             "%s/lib/" AUDITWALL_PYTHON_DIR "/%s/auditwall/libauditwall-preload.so",
                             prefix, sites[i]);
      if (n > 0 && n < PATH_MAX && is_loadable_library(path)) return 1;
    }
  }
#endif
#ifdef AUDITWALL_BUILD_PRELOAD
  if (is_loadable_library(AUDITWALL_BUILD_PRELOAD)) {
    snprintf(path, PATH_MAX, "%s", AUDITWALL_BUILD_PRELOAD);
    return 1;
  }
#endif
  if (*program != '\0') {
    fprintf(stderr,
            "%s: refusing to start: cannot find libauditwall-preload.so (set "
            "AUDITWALL_PRELOAD)\n",
            program);
  }
  return 0;
}

int auditwall_absolute(const char *path, char out[PATH_MAX]) {
  char cwd[PATH_MAX];
  int n;
  if (path[0] == '/' || strncmp(path, "builtin:", 8) == 0 || getcwd(cwd, sizeof cwd) == NULL) {
    n = snprintf(out, PATH_MAX, "%s", path);
  } else {
    n = snprintf(out, PATH_MAX, "%s/%s", cwd, path);
  }
  return n >= 0 && n < PATH_MAX;
}

int auditwall_hand_down(const char *ref, const char *compiled, const char *mode,
                        const char *preload) {
  if (setenv("AUDITWALL_POLICY", ref, 1) != 0) return 0;
  /* The program's interpreter arms from this, with no YAML parser at start-up (see
   * docs/activation.md); the policy mode is not in it, AUDITWALL_MODE still applies. */
  if (compiled == NULL || *compiled == '\0') {
    unsetenv(AUDITWALL_COMPILED_VARIABLE);
  } else if (setenv(AUDITWALL_COMPILED_VARIABLE, compiled, 1) != 0) {
    return 0;
  }
  if (mode != NULL && *mode != '\0' && setenv("AUDITWALL_MODE", mode, 1) != 0) return 0;
  /* The shim first, once; what was preloaded before stays, in its order. */
  const char *existing = getenv("LD_PRELOAD");
  const size_t size = strlen(preload) + (existing != NULL ? strlen(existing) : 0) + 2;
  char *list = malloc(size);
  if (list == NULL) return 0;
  strcpy(list, preload);
  if (existing != NULL) {
    const size_t preload_length = strlen(preload);
    const char *item = existing;
    while (*item != '\0') {
      const size_t length = strcspn(item, " :");
      if (length > 0 && !(length == preload_length && strncmp(item, preload, length) == 0)) {
        strcat(list, " ");
        strncat(list, item, length);
      }
      item += length;
      if (*item != '\0') ++item;
    }
  }
  const int ok = setenv("LD_PRELOAD", list, 1) == 0;
  free(list);
  return ok;
}
