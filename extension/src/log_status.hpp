// The event log's part of auditwall.status(): counters per rule and the log's health.
#pragma once

#include <pybind11/pybind11.h>

#include "auditwall/policy.hpp"

namespace auditwall::recorder {

/// Adds "counters" ({id: {allowed, denied, would_deny}}, every rule of `armed` plus
/// "(default)") and "log" ({sink, records, rate_limited, sink_errors, last_error}) to `out`.
/// Needs the GIL.
void add_status(pybind11::dict& out, const policy::Policy* armed);

}  // namespace auditwall::recorder
