// The event log's part of auditwall.status(): counters per rule and the log's health.
#include "log_status.hpp"

#include "recorder.hpp"

namespace py = pybind11;

namespace auditwall::recorder {

void add_status(py::dict& out, const policy::Policy* armed) {
  const Stats s = stats();
  py::dict log;
  log["sink"] = s.sink;
  log["records"] = s.records;
  log["rate_limited"] = s.rate_limited;
  log["sink_errors"] = s.sink_errors;
  log["last_error"] = s.last_error;
  out["log"] = log;
  if (armed == nullptr) return;
  py::dict counters;
  const auto& all = armed->rules();
  for (std::size_t i = 0; i <= all.size(); ++i) {
    py::dict c;
    c["allowed"] = 0;
    c["denied"] = 0;
    c["would_deny"] = 0;
    counters[i < all.size() ? all[i].id.c_str() : "(default)"] = c;
  }
  // The counters belong to the policy that decided; rule pointers identify its rules.
  for (const RuleCounts& rc : s.rules) {
    if (rc.rule != nullptr && (rc.rule < all.data() || rc.rule >= all.data() + all.size())) continue;
    py::dict c;
    c["allowed"] = rc.allowed;
    c["denied"] = rc.denied;
    c["would_deny"] = rc.would_deny;
    counters[rc.rule != nullptr ? rc.rule->id.c_str() : "(default)"] = c;
  }
  out["counters"] = counters;
}

}  // namespace auditwall::recorder
