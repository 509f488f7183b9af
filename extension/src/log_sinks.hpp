// The event log's outputs: spdlog sinks for stderr, a rotating file and syslog.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "recorder.hpp"

namespace auditwall::log {

/// An opened output: an spdlog logger that writes each message as one record, flushed only
/// when asked, with sink failures passed to the error handler instead of thrown.
struct Output {
  std::shared_ptr<spdlog::logger> logger;
  std::string name;   ///< "stderr", "file:PATH", "syslog:SOCKET", "none"
  bool tty = false;   ///< the output is a terminal (selects text and colours by default)
  int fd = -1;        ///< for stderr: the private copy of fd 2 that records are written to
};

/// Opens the output `config` names. On failure (an unwritable path, a closed stderr) returns
/// false with `error` set and still gives a usable output: stderr for a file or syslog that
/// cannot be opened, or an output whose writes fail and are counted.
bool open_output(const recorder::Config& config,
                 std::function<void(const std::string&)> on_error, Output& out,
                 std::string& error);

}  // namespace auditwall::log
