// auditwall run's in-process path: which libpython an interpreter loads, read from its ELF
// dynamic section as the dynamic loader reads it, and the interpreter's main() in this process.
#include "in_process.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "arm_interpreter.h"
#include "front_end.hpp"

namespace auditwall::front_end {

namespace {

class File {
 public:
  explicit File(const std::string& path) : fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd_ >= 0) close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool read(std::uint64_t offset, void* out, std::size_t size) const {
    return fd_ >= 0 && offset <= static_cast<std::uint64_t>(LLONG_MAX) &&
           pread(fd_, out, size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size);
  }

 private:
  int fd_;
};

// What the dynamic loader reads from an executable to find its libraries.
struct Dynamic {
  std::vector<std::string> needed;
  std::string rpath;
  std::string runpath;
  bool has_runpath = false;
};

// Reads the dynamic section of a 64-bit ELF executable for this machine; false for anything
// else (another format, a script, a static executable, a damaged file), and wherever this
// machine is not known (the interpreter is then exec'd).
bool read_dynamic(const std::string& path, Dynamic& out) {
  const File file(path);
  Elf64_Ehdr header;
  if (kElfMachine == EM_NONE || !file.read(0, &header, sizeof header) ||
      !for_this_machine(header) || header.e_phentsize != sizeof(Elf64_Phdr) ||
      header.e_phnum == 0 || header.e_phnum > 256) {
    return false;
  }
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  if (!file.read(header.e_phoff, segments.data(), segments.size() * sizeof(Elf64_Phdr))) {
    return false;
  }
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& segment : segments) {
    if (segment.p_type == PT_DYNAMIC) dynamic = &segment;
  }
  if (dynamic == nullptr || dynamic->p_filesz == 0 || dynamic->p_filesz > (1u << 20)) return false;
  std::vector<Elf64_Dyn> entries(dynamic->p_filesz / sizeof(Elf64_Dyn));
  if (!file.read(dynamic->p_offset, entries.data(), entries.size() * sizeof(Elf64_Dyn))) {
    return false;
  }
  std::uint64_t strtab = 0;
  std::uint64_t strsz = 0;
  for (const auto& entry : entries) {
    if (entry.d_tag == DT_NULL) break;
    if (entry.d_tag == DT_STRTAB) strtab = entry.d_un.d_ptr;
    if (entry.d_tag == DT_STRSZ) strsz = entry.d_un.d_val;
  }
  if (strsz == 0 || strsz > (1u << 20)) return false;
  // DT_STRTAB is an address: the file offset is that of the loaded segment holding it.
  std::uint64_t offset = 0;
  bool mapped = false;
  for (const auto& segment : segments) {
    if (segment.p_type == PT_LOAD && strtab >= segment.p_vaddr &&
        strtab - segment.p_vaddr < segment.p_filesz &&
        segment.p_filesz - (strtab - segment.p_vaddr) >= strsz) {
      offset = segment.p_offset + (strtab - segment.p_vaddr);
      mapped = true;
    }
  }
  std::string strings(strsz, '\0');
  if (!mapped || !file.read(offset, strings.data(), strings.size())) return false;
  auto string_at = [&](std::uint64_t at, std::string& into) {
    if (at >= strings.size()) return false;
    const auto end = strings.find('\0', at);
    if (end == std::string::npos) return false;
    into = strings.substr(at, end - at);
    return true;
  };
  for (const auto& entry : entries) {
    if (entry.d_tag == DT_NULL) break;
    if (entry.d_tag == DT_NEEDED) {
      if (!string_at(entry.d_un.d_val, out.needed.emplace_back())) return false;
    } else if (entry.d_tag == DT_RPATH) {
      if (!string_at(entry.d_un.d_val, out.rpath)) return false;
    } else if (entry.d_tag == DT_RUNPATH) {
      if (!string_at(entry.d_un.d_val, out.runpath)) return false;
      out.has_runpath = true;
    }
  }
  return true;
}

// Appends the directories of a search path, with $ORIGIN expanded; false when it uses
// something this does not expand as the loader would ($LIB, $PLATFORM).
bool add_dirs(const std::string& list, const std::string& origin, std::vector<std::string>& dirs) {
  for (std::string dir : split(list, ":")) {
    for (const char* token : {"${ORIGIN}", "$ORIGIN"}) {
      for (auto at = dir.find(token); at != std::string::npos; at = dir.find(token)) {
        dir.replace(at, std::strlen(token), origin);
      }
    }
    if (dir.find('$') != std::string::npos) return false;
    if (!dir.empty()) dirs.push_back(dir);
  }
  return true;
}

}  // namespace

std::string find_on_path(const std::string& program) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  const std::string list = path != nullptr ? path : "/usr/local/bin:/bin:/usr/bin";
  for (const std::string& dir : split(list, ":")) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string find_libpython(const std::string& python) {
  Dynamic dynamic;
  if (!read_dynamic(python, dynamic)) return {};
  std::string name;
  for (const auto& needed : dynamic.needed) {
    if (needed.rfind("libpython", 0) == 0) name = needed;
  }
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return name;
  // The loader's order for an executable's libraries: DT_RPATH (when there is no
  // DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, then its cache and default directories, which
  // dlopen() of the bare name searches.
  // $ORIGIN is the directory of the executable itself, past any symbolic link to it; only
  // looked up when a search path uses it.
  const char* library_path = std::getenv("LD_LIBRARY_PATH");
  std::string origin;
  if ((dynamic.rpath + (library_path != nullptr ? library_path : "") + dynamic.runpath)
          .find('$') != std::string::npos) {
    char real[PATH_MAX];
    if (realpath(python.c_str(), real) == nullptr) return {};
    origin = dir_of(real);
  }
  std::vector<std::string> dirs;
  if (!dynamic.has_runpath && !add_dirs(dynamic.rpath, origin, dirs)) return {};
  if (library_path != nullptr && !add_dirs(library_path, origin, dirs)) return {};
  if (dynamic.has_runpath && !add_dirs(dynamic.runpath, origin, dirs)) return {};
  for (const auto& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return name;
}

std::optional<Interpreter> load_interpreter(const std::string& python) {
  const std::string libpython = find_libpython(find_on_path(python));
  if (libpython.empty()) return std::nullopt;
  // Global, as when the interpreter's executable links it: extension modules find the C API
  // in the global scope.
  void* library = dlopen(libpython.c_str(), RTLD_LAZY | RTLD_GLOBAL);
  if (library == nullptr) return std::nullopt;
  using Main = int (*)(int, char**);
  const auto python_main = reinterpret_cast<Main>(dlsym(library, "Py_BytesMain"));
  if (python_main == nullptr) return std::nullopt;
  return Interpreter{python, python_main};
}

int run_in_process(const Interpreter& interpreter, const std::string& preload,
                   const std::vector<std::string>& args) {
  // Armed as the shim arms every other process of the tree, with the same code: it returns
  // only when the hook is armed (and AUDITWALL_ARMED says so), and ends the process otherwise.
  // The extension reads the policy itself: it is read and compiled once, in this process, by
  // the code that evaluates it.
  auditwall_arm_interpreter(dir_of(preload).c_str(), 1);
  // The name exec would have given the process (ps, top, pgrep): the interpreter's file name,
  // which the kernel truncates to 15 bytes as it does at exec.
  const std::string& python = interpreter.python;
  const auto slash = python.rfind('/');
  prctl(PR_SET_NAME, python.c_str() + (slash == std::string::npos ? 0 : slash + 1), 0, 0, 0);
  std::vector<std::string> owned = args;
  owned.insert(owned.begin(), python);
  std::vector<char*> argv = argv_of(owned);
  std::fflush(stdout);
  std::fflush(stderr);
  return interpreter.main(static_cast<int>(owned.size()), argv.data());
}

}  // namespace auditwall::front_end
