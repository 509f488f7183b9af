// Internals of auditwall::seccomp shared between its source files.
#pragma once

#include <string>

#include "auditwall/seccomp.hpp"

namespace auditwall::seccomp {

// The syscall's number on this architecture, or a negative number when it has none here.
int native_number(const std::string& name) noexcept;

// Installs the SIGSYS handler that passes the trapped syscalls of `filter` to `report` and
// makes them fail with EPERM (or kills the process for kill rules). Returns 0 or -errno with
// `error` set.
int install_reporter(const Filter& filter, ReportFn report, std::string& error);

// Starts the thread that answers the filter's user notifications on `fd` (fork, vfork and
// process clone, made with signals blocked; every watched call in monitor mode): each is
// reported like a trap, then fails with EPERM, or its process is killed for kill rules, or,
// for log rules, it runs. Needs install_reporter() first.
int start_supervisor(int fd, std::string& error);

// Whether the kernel lets a supervisor answer "run the call as it is"
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5), and libseccomp has user notifications.
bool can_continue() noexcept;

}  // namespace auditwall::seccomp
