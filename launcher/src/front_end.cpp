#include "front_end.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace auditwall::front_end {

namespace {

// Whether `path` is a shared library that this program's machine loads: the dynamic loader
// ignores, with a warning, an LD_PRELOAD entry it cannot load, and the program would then
// start with nothing to arm it.
bool is_loadable_library(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr header;
  const bool read = pread(fd, &header, sizeof header, 0) == static_cast<ssize_t>(sizeof header);
  close(fd);
  return read && for_this_machine(header) && header.e_type == ET_DYN;
}

}  // namespace

bool for_this_machine(const Elf64_Ehdr& header) {
  return std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
         header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_ident[EI_DATA] == ELFDATA2LSB &&
         (kElfMachine == EM_NONE || header.e_machine == kElfMachine);
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::string program_dir() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  return dir_of(self);
}

std::string find_preload(const char* program) {
  if (const char* explicit_path = std::getenv("AUDITWALL_PRELOAD")) {
    if (is_loadable_library(explicit_path)) return explicit_path;
    if (*program != '\0') {
      std::fprintf(stderr,
                   "%s: refusing to start: AUDITWALL_PRELOAD=%s is not a shared library "
                   "this machine can load\n",
                   program, explicit_path);
    }
    return {};
  }
  std::vector<std::string> candidates;
#ifdef AUDITWALL_PYTHON_DIR
  if (const std::string bin = program_dir(); !bin.empty()) {
    const std::string prefix = dir_of(bin);
    for (const char* site : {"site-packages", "dist-packages"}) {
      candidates.push_back(prefix + "/lib/" AUDITWALL_PYTHON_DIR "/" + site +
                           "/auditwall/libauditwall-preload.so");
    }
  }
#endif
#ifdef AUDITWALL_BUILD_PRELOAD
  candidates.push_back(AUDITWALL_BUILD_PRELOAD);
#endif
  for (const auto& candidate : candidates) {
    if (is_loadable_library(candidate)) return candidate;
  }
  if (*program != '\0') {
    std::fprintf(stderr,
                 "%s: refusing to start: cannot find libauditwall-preload.so "
                 "(set AUDITWALL_PRELOAD)\n",
                 program);
  }
  return {};
}

std::string package_parent(const std::string& preload) {
  return preload.empty() ? std::string() : dir_of(dir_of(preload));
}

std::vector<std::string> split(const std::string& list, const char* separators) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = list.find_first_of(separators, start);
    items.push_back(list.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return items;
    start = end + 1;
  }
}

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  if (path.rfind("builtin:", 0) == 0) return path;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

void hand_down(const std::string& ref, const std::string& compiled, const std::string& mode,
               const std::string& preload) {
  setenv("AUDITWALL_POLICY", ref.c_str(), 1);
  // The program's interpreter arms from this, with no YAML parser at start-up (see
  // docs/activation.md); the policy mode is not in it, AUDITWALL_MODE still applies.
  if (compiled.empty()) {
    unsetenv(policy::kCompiledVariable);
  } else {
    setenv(policy::kCompiledVariable, compiled.c_str(), 1);
  }
  if (!mode.empty()) setenv("AUDITWALL_MODE", mode.c_str(), 1);
  // The shim first, once; what was preloaded before stays, in its order.
  std::string ld_preload = preload;
  if (const char* existing = std::getenv("LD_PRELOAD")) {
    for (const std::string& item : split(existing, " :")) {
      if (!item.empty() && item != preload) ld_preload += ' ' + item;
    }
  }
  setenv("LD_PRELOAD", ld_preload.c_str(), 1);
}

}  // namespace auditwall::front_end
