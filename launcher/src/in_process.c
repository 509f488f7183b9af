/* auditwall run's in-process path (in_process.h): which libpython an interpreter loads, read
 * from its ELF dynamic section as the dynamic loader reads it, and the interpreter's main() in
 * this process. */
#define _GNU_SOURCE
#include "in_process.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "arm_interpreter.h"
#include "front_end.h"

/* What the dynamic loader reads from an executable to find its libraries. The strings point
 * into `strings`. */
struct dynamic {
  char *strings;
  const char *libpython; /* the DT_NEEDED entry that starts with "libpython", or NULL */
  const char *rpath;
  const char *runpath; /* NULL when there is no DT_RUNPATH */
};

static int read_at(int fd, uint64_t offset, void *out, size_t size) {
  return offset <= (uint64_t)INT64_MAX && pread(fd, out, size, (off_t)offset) == (ssize_t)size;
}

/* The string at AT of a string table of SIZE bytes, NULL when it runs past the table. */
static const char *string_at(const char *strings, uint64_t size, uint64_t at) {
  return at < size && memchr(strings + at, '\0', size - at) != NULL ? strings + at : NULL;
}

/* Reads the dynamic section of a 64-bit ELF executable for this machine; 0 for anything else
 * (another format, a script, a static executable, a damaged file), and wherever this machine is
 * not known (the interpreter is then exec'd). */
static int read_dynamic_fd(int fd, struct dynamic *out) {
  Elf64_Ehdr header;
  if (AUDITWALL_ELF_MACHINE == EM_NONE || !read_at(fd, 0, &header, sizeof header) ||
      !auditwall_for_this_machine(&header) || header.e_phentsize != sizeof(Elf64_Phdr) ||
      header.e_phnum == 0 || header.e_phnum > 256) {
    return 0;
  }
  /* On the heap, as the other tables: a stack array for the most there can be is three pages
   * deeper than this needs, and pages of stack are faulted in once per process. */
  Elf64_Phdr *segments = malloc(header.e_phnum * sizeof(Elf64_Phdr));
  Elf64_Dyn *entries = NULL;
  int ok = 0;
  if (segments == NULL ||
      !read_at(fd, header.e_phoff, segments, header.e_phnum * sizeof(Elf64_Phdr))) {
    goto done;
  }
  const Elf64_Phdr *dynamic = NULL;
  for (int i = 0; i < header.e_phnum; ++i) {
    if (segments[i].p_type == PT_DYNAMIC) dynamic = &segments[i];
  }
  if (dynamic == NULL || dynamic->p_filesz == 0 || dynamic->p_filesz > (1u << 20)) goto done;
  const size_t count = dynamic->p_filesz / sizeof(Elf64_Dyn);
  entries = malloc(count * sizeof(Elf64_Dyn));
  if (entries == NULL || !read_at(fd, dynamic->p_offset, entries, count * sizeof(Elf64_Dyn))) {
    goto done;
  }
  uint64_t strtab = 0;
  uint64_t strsz = 0;
  for (size_t i = 0; i < count && entries[i].d_tag != DT_NULL; ++i) {
    if (entries[i].d_tag == DT_STRTAB) strtab = entries[i].d_un.d_ptr;
    if (entries[i].d_tag == DT_STRSZ) strsz = entries[i].d_un.d_val;
  }
  if (strsz == 0 || strsz > (1u << 20)) goto done;
  /* DT_STRTAB is an address: the file offset is that of the loaded segment holding it. */
  uint64_t offset = 0;
  int mapped = 0;
  for (int i = 0; i < header.e_phnum; ++i) {
    const Elf64_Phdr *segment = &segments[i];
    if (segment->p_type == PT_LOAD && strtab >= segment->p_vaddr &&
        strtab - segment->p_vaddr < segment->p_filesz &&
        segment->p_filesz - (strtab - segment->p_vaddr) >= strsz) {
      offset = segment->p_offset + (strtab - segment->p_vaddr);
      mapped = 1;
    }
  }
  out->strings = malloc(strsz);
  if (!mapped || out->strings == NULL || !read_at(fd, offset, out->strings, strsz)) goto done;
  for (size_t i = 0; i < count && entries[i].d_tag != DT_NULL; ++i) {
    const Elf64_Sxword tag = entries[i].d_tag;
    if (tag != DT_NEEDED && tag != DT_RPATH && tag != DT_RUNPATH) continue;
    const char *value = string_at(out->strings, strsz, entries[i].d_un.d_val);
    if (value == NULL) goto done;
    if (tag == DT_NEEDED && strncmp(value, "libpython", 9) == 0) out->libpython = value;
    if (tag == DT_RPATH) out->rpath = value;
    if (tag == DT_RUNPATH) out->runpath = value;
  }
  ok = 1;
done:
  free(entries);
  free(segments);
  return ok;
}

static int read_dynamic(const char *path, struct dynamic *out) {
  memset(out, 0, sizeof *out);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const int ok = read_dynamic_fd(fd, out);
  close(fd);
  return ok;
}

/* Whether the search path LIST uses nothing but $ORIGIN, which this expands as the loader
 * would ($LIB and $PLATFORM it does not). */
static int expandable(const char *list) {
  for (const char *at = list != NULL ? strchr(list, '$') : NULL; at != NULL;
       at = strchr(at + 1, '$')) {
    if (strncmp(at, "$ORIGIN", 7) != 0 && strncmp(at, "${ORIGIN}", 9) != 0) return 0;
  }
  return 1;
}

/* The first directory of the search path LIST, with $ORIGIN expanded, that holds a readable
 * NAME, into FOUND: 1 when found, 0 when not, -1 when a path does not fit. */
static int search(const char *list, const char *origin, const char *name, char found[PATH_MAX]) {
  for (const char *item = list; item != NULL && *item != '\0';) {
    const size_t length = strcspn(item, ":");
    char dir[PATH_MAX];
    size_t used = 0;
    for (size_t i = 0; i < length;) {
      size_t token = 0;
      if (strncmp(item + i, "${ORIGIN}", 9) == 0) token = 9;
      else if (strncmp(item + i, "$ORIGIN", 7) == 0) token = 7;
      const char *piece = token != 0 ? origin : item + i;
      const size_t piece_length = token != 0 ? strlen(origin) : 1;
      if (used + piece_length >= sizeof dir) return -1;
      memcpy(dir + used, piece, piece_length);
      used += piece_length;
      i += token != 0 ? token : 1;
    }
    dir[used] = '\0';
    if (used > 0) {
      const int n = snprintf(found, PATH_MAX, "%s/%s", dir, name);
      if (n < 0 || n >= PATH_MAX) return -1;
      if (access(found, R_OK) == 0) return 1;
    }
    item += length;
    if (*item == ':') ++item;
  }
  return 0;
}

int auditwall_find_on_path(const char *program, char path[PATH_MAX]) {
  if (*program == '\0') return 0;
  if (strchr(program, '/') != NULL) {
    const int n = snprintf(path, PATH_MAX, "%s", program);
    return n >= 0 && n < PATH_MAX;
  }
  const char *list = getenv("PATH");
  if (list == NULL) list = "/usr/local/bin:/bin:/usr/bin";
  for (const char *item = list;;) {
    const size_t length = strcspn(item, ":");
    const int n = length == 0 ? snprintf(path, PATH_MAX, "./%s", program)
                              : snprintf(path, PATH_MAX, "%.*s/%s", (int)length, item, program);
    if (n >= 0 && n < PATH_MAX && access(path, X_OK) == 0) return 1;
    if (item[length] == '\0') return 0;
    item += length + 1;
  }
}

int auditwall_find_libpython(const char *python, char libpython[PATH_MAX]) {
  struct dynamic dynamic;
  int found = 0;
  if (!read_dynamic(python, &dynamic) || dynamic.libpython == NULL) goto done;
  const char *name = dynamic.libpython;
  if (strchr(name, '/') != NULL) {
    found = snprintf(libpython, PATH_MAX, "%s", name) < PATH_MAX;
    goto done;
  }
  /* The loader's order for an executable's libraries: DT_RPATH (when there is no DT_RUNPATH),
   * LD_LIBRARY_PATH, DT_RUNPATH, then its cache and default directories, which dlopen() of the
   * bare name searches. $ORIGIN is the directory of the executable itself, past any symbolic
   * link to it; only looked up when a search path uses it. */
  const char *library_path = getenv("LD_LIBRARY_PATH");
  const char *lists[3] = {dynamic.runpath == NULL ? dynamic.rpath : NULL, library_path,
                          dynamic.runpath};
  char origin[PATH_MAX];
  origin[0] = '\0';
  for (int i = 0; i < 3; ++i) {
    if (!expandable(lists[i])) goto done;
    if (lists[i] != NULL && strchr(lists[i], '$') != NULL && origin[0] == '\0') {
      char real[PATH_MAX];
      if (realpath(python, real) == NULL) goto done;
      auditwall_dir_of(real, origin);
    }
  }
  for (int i = 0; i < 3; ++i) {
    const int result = search(lists[i], origin, name, libpython);
    if (result < 0) goto done;
    if (result > 0) {
      found = 1;
      goto done;
    }
  }
  found = snprintf(libpython, PATH_MAX, "%s", name) < PATH_MAX;
done:
  free(dynamic.strings);
  return found;
}

#ifdef RTLD_DEEPBIND
/* dl_iterate_phdr callback: counts into DATA the objects loaded that could define a symbol
 * libpython uses, other than libc: anything but this program, the dynamic loader, the vDSO, libc
 * and valgrind's preloads (which replace functions by rewriting their code, whatever binds to
 * them). An LD_PRELOAD or /etc/ld.so.preload library (another malloc, say) counts. */
static int count_interposers(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  const char *slash = strrchr(info->dlpi_name, '/');
  const char *name = slash != NULL ? slash + 1 : info->dlpi_name;
  if (info->dlpi_name[0] == '\0' || info->dlpi_addr == getauxval(AT_BASE) ||
      info->dlpi_addr == getauxval(AT_SYSINFO_EHDR) || strncmp(name, "linux-vdso", 10) == 0 ||
      strncmp(name, "linux-gate", 10) == 0 || strcmp(name, "libc.so.6") == 0 ||
      strncmp(name, "vgpreload_", 10) == 0) {
    return 0;
  }
  ++*(int *)data;
  return 0;
}
#endif

/* How libpython is loaded: global, as when the interpreter's executable links it, so that
 * extension modules find the C API in the global scope. And, when nothing but libc is loaded
 * besides this program, with its own symbols first (RTLD_DEEPBIND). In a plain start, the
 * interpreter's executable is first in the lookup order and libpython second, so each of the
 * thousands of symbols libpython binds to itself is found at the second object. Loaded here, it
 * would come after this program, libc and the dynamic loader: 164 k more instructions at every
 * start. Binding libpython first finds the same definitions, since this program defines none
 * (built without copy relocations: launcher/CMakeLists.txt) and no other object could. */
static int libpython_flags(void) {
  int flags = RTLD_LAZY | RTLD_GLOBAL;
#ifdef RTLD_DEEPBIND
  int interposers = 0;
  dl_iterate_phdr(count_interposers, &interposers);
  if (interposers == 0) flags |= RTLD_DEEPBIND;
#endif
  return flags;
}

auditwall_python_main auditwall_load_interpreter(const char *python) {
  char path[PATH_MAX];
  char libpython[PATH_MAX];
  if (!auditwall_find_on_path(python, path) || !auditwall_find_libpython(path, libpython)) {
    return NULL;
  }
  void *library = dlopen(libpython, libpython_flags());
  if (library == NULL) return NULL;
  return (auditwall_python_main)dlsym(library, "Py_BytesMain");
}

/* Armed as the shim arms every other process of the tree, with the same code: returns only when
 * the hook is armed (and AUDITWALL_ARMED says so), and ends the process otherwise. No compiled
 * form was handed down, so the extension reads the policy itself: it is read and compiled once,
 * in this process, by the code that evaluates it. Not inlined: its buffer is not on the stack
 * under the program. */
__attribute__((noinline)) static void arm(const char *preload) {
  char dir[PATH_MAX];
  auditwall_dir_of(preload, dir);
  auditwall_arm_interpreter(dir);
}

int auditwall_run_in_process(auditwall_python_main main, const char *python, const char *preload,
                             int argc, char **args) {
  arm(preload);
  /* The name exec would have given the process (ps, top, pgrep): the interpreter's file name,
   * which the kernel truncates to 15 bytes as it does at exec. */
  const char *slash = strrchr(python, '/');
  prctl(PR_SET_NAME, slash != NULL ? slash + 1 : python, 0, 0, 0);
  char **argv = malloc(((size_t)argc + 2) * sizeof *argv);
  if (argv == NULL) auditwall_refuse(AUDITWALL_EXIT_SOFTWARE, "out of memory", NULL);
  argv[0] = (char *)python;
  memcpy(argv + 1, args, (size_t)argc * sizeof *argv);
  argv[argc + 1] = NULL;
  fflush(stdout);
  fflush(stderr);
  return main(argc + 1, argv);
}
