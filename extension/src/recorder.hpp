// Records auditwall's decisions to the configured log sink.
#pragma once

#include <string>

#include "auditwall/policy.hpp"

namespace auditwall::recorder {

/// The word the log uses for a decision: allow, deny, would-deny, log or kill.
const char* decision_word(const policy::Decision& decision) noexcept;

/// Writes one record for a decision on `event`; `call` is its readable form.
void record(const policy::Policy& policy, const policy::Decision& decision, const char* event,
            const std::string& call);

/// Writes out anything buffered (before a kill, at exit).
void flush() noexcept;

}  // namespace auditwall::recorder
