// Records auditwall's decisions: counters per rule, and the event log (docs/log-schema.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::recorder {

/// Where in the program an event came from. Views must outlive the record() call.
struct Caller {
  std::string_view module;  ///< "requests.sessions"; empty when unknown
  std::string_view file;    ///< the source file; empty when unknown
  int line = 0;             ///< 0 when unknown
};

/// The word the log uses for a decision: allow, deny, would-deny, log or kill.
const char* decision_word(const policy::Decision& decision) noexcept;

/// Counts a decision on `event` and, unless it is a plain allow, logs it. `call` is the
/// event's readable form ("os.system('id')"). Never throws, never writes on the calling
/// thread: the record is copied into a buffer that a writer thread empties. Thread-safe; may
/// be called before Py_Initialize and during finalisation.
void record(const policy::Policy& policy, const policy::Decision& decision,
            const policy::Event& event, std::string_view call, const Caller& caller = {}) noexcept;

/// True when record() writes a record for `decision` (anything but a plain allow rule, while
/// the sink is not `none`): the hook then finds the caller for the record. Never blocks.
bool logs(const policy::Decision& decision) noexcept;

/// Configures the log for `policy` (AUDITWALL_LOG, else stderr) and opens its output, once.
/// Called when the hook is armed, so that the output is the stderr the process started with
/// and problems show at start-up; record() does it itself when it was not called.
void prepare(const policy::Policy& policy) noexcept;

/// The next record's `seq` (1, 2, 3... per process; 1 again in a forked child). Lock-free
/// and async-signal-safe.
std::uint64_t next_seq() noexcept;

/// Writes out everything buffered and flushes the sink, on the calling thread. Used before a
/// kill, and by the exit and fork handlers. Never throws.
void flush() noexcept;

/// The log's configuration: where records go, in which form, and what is cut out of them.
struct Config {
  enum class Sink : std::uint8_t { stderr_, file, syslog, none };
  enum class Format : std::uint8_t { automatic, json, text };
  Sink sink = Sink::stderr_;
  std::string path;                    ///< the file for Sink::file; the socket for Sink::syslog
  std::uint64_t max_bytes = 0;         ///< rotate the file before it exceeds this; 0: never
  unsigned keep = 3;                   ///< rotated files kept (PATH.1 ... PATH.keep)
  Format format = Format::automatic;   ///< automatic: text on a terminal, JSON otherwise
  int color = -1;                      ///< -1: on a terminal unless NO_COLOR; 0 never; 1 always
  unsigned rate_limit = 100;           ///< identical records logged per window; 0: unlimited
  unsigned window_ms = 1000;
  unsigned max_arg_chars = 200;        ///< longer values are cut
  bool summary = false;                ///< log a summary record of the counters at exit
  std::vector<std::string> redact_env;       ///< extra variable name globs (values hidden)
  std::vector<std::string> redact_patterns;  ///< extra ECMAScript regexes (matches hidden)
};

/// Parses a log specification: `SINK[,KEY=VALUE...]`, where SINK is `stderr`, `file:PATH`,
/// `syslog`, `syslog:SOCKET` or `none`, and the keys are format, color, max_bytes, keep,
/// rate_limit, window_ms, max_arg_chars and summary (docs/log-schema.md). Adds to `config`; returns
/// false with `error` set when the text is not valid.
bool parse_spec(std::string_view spec, Config& config, std::string& error);

/// Sets the configuration used from the next record on, replacing prepare()'s. Returns
/// false with `error` set when the sink cannot be opened; the log then goes to stderr.
bool configure(const Config& config, std::string& error);

/// Counts for one rule (rule == nullptr: the policy default).
struct RuleCounts {
  const policy::Rule* rule = nullptr;
  std::uint64_t allowed = 0;
  std::uint64_t denied = 0;
  std::uint64_t would_deny = 0;
};

/// The health of the log, for auditwall.status().
struct Stats {
  std::string sink;                 ///< "stderr", "file:PATH", "syslog:SOCKET", "none"
  std::uint64_t records = 0;        ///< records handed to the sink
  std::uint64_t rate_limited = 0;   ///< records dropped by rate limiting (and reported)
  std::uint64_t sink_errors = 0;    ///< writes or flushes that failed
  std::string last_error;           ///< the last sink failure, or ""
  std::vector<RuleCounts> rules;    ///< every rule of the armed policy, then the default
};

/// A snapshot of the counters and of the log's health. Thread-safe.
Stats stats();

}  // namespace auditwall::recorder
