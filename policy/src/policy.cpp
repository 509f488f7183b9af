// Policy evaluation: the compiled index from event names to rules, and the decision.
#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "auditwall/policy.hpp"
#include "internal.hpp"

namespace auditwall::policy {

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::allow: return "allow";
    case Action::deny: return "deny";
    case Action::log: return "log";
    case Action::kill: return "kill";
  }
  return "?";
}

std::string_view to_string(Mode mode) noexcept {
  return mode == Mode::monitor ? "monitor" : "enforce";
}

std::string Diagnostic::format() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line) + ':' + std::to_string(column);
  }
  out += severity == Severity::error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

std::string LoadResult::report() const {
  std::string out;
  for (const auto& d : diagnostics) {
    out += d.format();
    out += '\n';
  }
  return out;
}

struct EventPlan {
  std::vector<const Rule*> rules;  // in policy order
};

// Event name -> plan. Keys are owned by the index; lookups take a string_view without
// allocating (the map is keyed by string_view into the owned strings).
struct Policy::Index {
  std::vector<std::unique_ptr<std::string>> names;
  std::vector<std::unique_ptr<EventPlan>> plans;
  std::unordered_map<std::string_view, const EventPlan*> by_name;
};

Policy::Policy() : index_(std::make_unique<Index>()) {}
Policy::~Policy() = default;

const EventPlan* Policy::lookup(std::string_view event_name) const noexcept {
  auto it = index_->by_name.find(event_name);
  return it == index_->by_name.end() ? nullptr : it->second;
}

Decision Policy::evaluate(const Event& event, const EventPlan* plan) const noexcept {
  (void)event;
  Decision decision;
  decision.mode = mode_;
  if (plan == nullptr) return decision;
  for (const Rule* rule : plan->rules) {
    // Every rule in the plan applies to this event name; matchers come with the full language.
    decision.action = rule->action;
    decision.rule = rule;
    // A per-rule monitor mode relaxes an enforcing policy; a monitoring policy stays monitor
    // whatever its rules say, so that one switch makes a whole policy safe to try.
    if (rule->has_mode && rule->mode == Mode::monitor) decision.mode = Mode::monitor;
    return decision;
  }
  return decision;
}

Decision Policy::evaluate(const Event& event) const noexcept {
  return evaluate(event, lookup(event.name));
}

std::shared_ptr<const Policy> Policy::with_mode(Mode mode) const {
  return Compiler::compile(rules_, mode, source_, hash_);
}

std::shared_ptr<const Policy> Compiler::compile(std::vector<Rule> rules, Mode mode,
                                                std::string source, std::string hash) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->mode_ = mode;
  policy->rules_ = std::move(rules);
  policy->source_ = std::move(source);
  policy->hash_ = std::move(hash);
  Policy::Index& index = *policy->index_;
  std::unordered_map<std::string, EventPlan*> building;
  index.plans.push_back(std::make_unique<EventPlan>());
  building.emplace(kSelfTestEvent, index.plans.back().get());
  for (const Rule& rule : policy->rules_) {
    for (const std::string& name : rule.on) {
      auto it = building.find(name);
      if (it == building.end()) {
        index.plans.push_back(std::make_unique<EventPlan>());
        it = building.emplace(name, index.plans.back().get()).first;
      }
      it->second->rules.push_back(&rule);
    }
  }
  for (auto& [name, plan] : building) {
    index.names.push_back(std::make_unique<std::string>(name));
    index.by_name.emplace(*index.names.back(), plan);
  }
  return policy;
}

std::string digest(std::string_view text) {
  // FNV-1a, 64 bits: identifies a loaded policy in logs; not a security boundary.
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace auditwall::policy
