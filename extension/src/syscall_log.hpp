// The kernel layer's reports in the event log: one record per syscall that the armed seccomp
// filter stopped or watched, written with no lock and no allocation (from a SIGSYS handler).
#pragma once

#include <cstdint>
#include <string_view>

#include "log_format.hpp"
#include "log_sinks.hpp"
#include "recorder.hpp"

namespace auditwall::syscall_log {

/// A syscall to record. The strings must outlive the write() call.
struct Syscall {
  const char* name = "";    ///< the syscall's name; "" when no rule names it (`nr` does)
  int nr = -1;              ///< its number on this architecture
  const char* rule = "";    ///< the kernel rule, e.g. "seccomp-unaudited"
  log::Word word = log::Word::deny;  ///< deny, kill, or would-deny (monitor: the call ran)
  policy::Mode mode = policy::Mode::enforce;
  long pid = 0;             ///< the process that made the call
  long tid = 0;
  std::uint64_t args[6] = {};
};

/// Takes the log's output for syscall records: the same sink and form as the recorder's.
/// Called by the recorder whenever its configuration changes (not from a signal handler).
void set_output(const recorder::Config& config, const log::Output& output, bool text,
                bool color) noexcept;

/// The policy hash written in each record (auditwall.status()["hash"]).
void set_policy(std::string_view hash) noexcept;

/// Writes one record for `call` straight to the sink, in one write(2) (one datagram for
/// syslog), numbered in the recorder's `seq`. Async-signal-safe: no lock, no allocation, no
/// stdio. Rate-limited per syscall like other records. Never throws.
void write(const Syscall& call) noexcept;

/// Writes the rate-limit notes still due (at exit). Not for signal handlers.
void write_dropped() noexcept;

/// Records written, and writes that failed, since start (or fork).
std::uint64_t records() noexcept;
std::uint64_t errors() noexcept;

/// In a forked child: starts the counters and the rate limiting afresh, as the recorder does
/// (the parent reports what it counted and dropped). Called by the recorder's fork handler.
void after_fork_child() noexcept;

}  // namespace auditwall::syscall_log
