// Internals of auditwall::seccomp shared between its source files.
#pragma once

#include <string>

#include "auditwall/seccomp.hpp"

namespace auditwall::seccomp {

// The syscall's number on this architecture, or a negative number when it has none here.
int native_number(const std::string& name) noexcept;

// Installs the SIGSYS handler that reports the trapped syscalls of `filter` by name on
// stderr, each line ending with `log_suffix`, and makes them fail with EPERM (or kills the
// process for kill rules). Returns 0 or -errno with `error` set.
int install_reporter(const Filter& filter, const std::string& log_suffix, std::string& error);

// Starts the thread that answers the filter's user notifications on `fd` (fork, vfork and
// process clone, made with signals blocked): each is reported like a trap and fails with
// EPERM, or its process is killed for kill rules. Needs install_reporter() first.
int start_supervisor(int fd, std::string& error);

}  // namespace auditwall::seccomp
