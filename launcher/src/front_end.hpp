// What auditwall's two front ends (auditwall-launch, auditwall run) share: finding the
// pre-init shim, and handing it and the policy they loaded down to the program's process.
#pragma once

#include <elf.h>

#include <string>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::front_end {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitPolicyError = 78;  // EX_CONFIG
inline constexpr int kExitCannotRun = 127;

// The ELF machine of this program's code, which a library or interpreter it loads must have;
// EM_NONE where it is not known here.
#if defined(__x86_64__)
inline constexpr int kElfMachine = EM_X86_64;
#elif defined(__aarch64__)
inline constexpr int kElfMachine = EM_AARCH64;
#else
inline constexpr int kElfMachine = EM_NONE;
#endif

/// Whether `header` is that of a 64-bit little-endian ELF file for this program's machine (of
/// any machine where this one is not known here).
bool for_this_machine(const Elf64_Ehdr& header);

/// The directory of this program's executable (/proc/self/exe), or empty.
std::string program_dir();

/// The shim that arms the hook in a new interpreter. An explicit AUDITWALL_PRELOAD wins;
/// otherwise it is looked for in the site-packages of the environment this program is
/// installed in, then in the build tree. Only a shared library for this machine will do (the
/// dynamic loader would skip anything else, and start the program unarmed). Empty when there
/// is none; then, unless `program` is empty, says on stderr that `program` refuses to start.
std::string find_preload(const char* program);

/// The directory of this environment's site-packages that holds the auditwall package
/// (the one find_preload() found the shim in), or empty.
std::string package_parent(const std::string& preload);

/// The directory part of `path`: "." when it has none, "/" for a file at the root.
std::string dir_of(const std::string& path);

/// The items of a list separated by any of `separators` ("a::b" -> a, "", b).
std::vector<std::string> split(const std::string& list, const char* separators);

/// A null-terminated argv of the strings of `args`, which must outlive it.
std::vector<char*> argv_of(std::vector<std::string>& args);

/// `path` made absolute against the working directory; builtin:NAME unchanged.
std::string absolute(const std::string& path);

/// Sets what the program's processes arm from: AUDITWALL_POLICY (absolute), the compiled
/// policy (unset when `compiled` is empty: the extension sets it when it reads the policy in
/// this process), AUDITWALL_MODE when `mode` is not empty, and the shim first in LD_PRELOAD.
void hand_down(const std::string& ref, const std::string& compiled, const std::string& mode,
               const std::string& preload);

}  // namespace auditwall::front_end
