// Helpers shared by the policy unit tests: inline policies and events built field by field.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::policy::testing {

/// Loads an inline policy that must be valid (the test fails with the report otherwise).
inline std::shared_ptr<const Policy> compile(const std::string& text) {
  LoadResult r = load_string(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << r.report();
  return r.policy;
}

/// An event with its own storage for argv.
struct TestEvent {
  Event event;
  std::vector<std::string> args;
  std::vector<std::string_view> views;

  explicit TestEvent(std::string_view name) { event.name = name; }
  TestEvent& argv(std::vector<std::string> a) {
    args = std::move(a);
    views.assign(args.begin(), args.end());
    event.argv = views.data();
    event.argc = views.size();
    return *this;
  }
};

/// The id of the rule that decides, "default:deny"/"default:allow" when none does.
inline std::string verdict(const Policy& p, const Event& e) {
  Decision d = p.evaluate(e);
  if (d.rule == nullptr) return "default:" + std::string(to_string(d.action));
  return d.rule->id + ":" + std::string(to_string(d.action));
}

}  // namespace auditwall::policy::testing
