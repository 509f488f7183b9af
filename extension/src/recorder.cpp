// Records auditwall's decisions through spdlog, one line per decision, to stderr.
#include "recorder.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace auditwall::recorder {
namespace {

spdlog::logger& logger() {
  // Leaked on purpose: decisions are recorded until the end of interpreter finalisation.
  static spdlog::logger* instance = [] {
    auto* l = new spdlog::logger("auditwall", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return *instance;
}

}  // namespace

const char* decision_word(const policy::Decision& decision) noexcept {
  using policy::Action;
  switch (decision.action) {
    case Action::allow: return "allow";
    case Action::log: return "log";
    case Action::deny:
    case Action::kill:
      if (decision.mode == policy::Mode::monitor) return "would-deny";
      return decision.action == Action::kill ? "kill" : "deny";
  }
  return "?";
}

void record(const policy::Policy& policy, const policy::Decision& decision, const char* event,
            const std::string& call) {
  logger().info("auditwall: {} {} event={} rule={} mode={} policy={}", decision_word(decision),
                call, event, decision.rule != nullptr ? decision.rule->id : "default",
                policy::to_string(decision.mode), policy.hash());
}

void flush() noexcept {
  try {
    logger().flush();
  } catch (...) {
  }
}

}  // namespace auditwall::recorder
