// Deciding on events: the first rule that applies decides, modes, and the fast lookup.
#include <gtest/gtest.h>

#include "auditwall/policy.hpp"
#include "internal.hpp"
#include "test_support.hpp"

namespace auditwall::policy {
namespace {

std::shared_ptr<const Policy> compile(const char* text) {
  LoadResult r = load_string(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << r.report();
  return r.policy;
}

Decision decide(const Policy& p, const char* name) {
  Event e;
  e.name = name;
  return p.evaluate(e);
}

TEST(PolicyEvaluate, EventWithoutRuleIsAllowedByDefault) {
  auto p = compile("version: 1\nrules:\n  - {id: r, on: os.system, action: deny}\n");
  EXPECT_EQ(p->lookup("open"), nullptr);
  Decision d = decide(*p, "open");
  EXPECT_EQ(d.action, Action::allow);
  EXPECT_EQ(d.rule, nullptr);
  EXPECT_FALSE(d.blocks());
}

TEST(PolicyEvaluate, MatchingRuleDenies) {
  auto p = compile("version: 1\nrules:\n  - {id: r, on: [os.exec, os.system], action: deny}\n");
  EXPECT_NE(p->lookup("os.system"), nullptr);
  Decision d = decide(*p, "os.system");
  EXPECT_EQ(d.action, Action::deny);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->id, "r");
  EXPECT_TRUE(d.blocks());
}

TEST(PolicyEvaluate, FirstRuleWins) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: first, on: os.system, action: log}
  - {id: second, on: os.system, action: deny}
)YAML");
  Decision d = decide(*p, "os.system");
  EXPECT_EQ(d.rule->id, "first");
  EXPECT_EQ(d.action, Action::log);
  EXPECT_FALSE(d.blocks());
}

TEST(PolicyEvaluate, MonitorModeNeverBlocks) {
  auto p = compile("version: 1\nmode: monitor\nrules:\n  - {id: r, on: os.system, action: deny}\n");
  Decision d = decide(*p, "os.system");
  EXPECT_EQ(d.action, Action::deny);
  EXPECT_EQ(d.mode, Mode::monitor);
  EXPECT_FALSE(d.blocks());
}

TEST(PolicyEvaluate, PerRuleMonitorRelaxesOnlyThatRule) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: watch, on: os.system, action: deny, mode: monitor}
  - {id: block, on: os.exec, action: deny}
)YAML");
  EXPECT_FALSE(decide(*p, "os.system").blocks());
  EXPECT_TRUE(decide(*p, "os.exec").blocks());
}

TEST(PolicyEvaluate, WithModeOverridesTheWholePolicy) {
  auto p = compile("version: 1\nrules:\n  - {id: r, on: os.system, action: deny}\n");
  auto monitored = p->with_mode(Mode::monitor);
  EXPECT_TRUE(decide(*p, "os.system").blocks());
  EXPECT_FALSE(decide(*monitored, "os.system").blocks());
  EXPECT_EQ(monitored->hash(), p->hash());
}

TEST(PolicyEvaluate, SelfTestEventAlwaysHasAPlan) {
  auto p = compile("version: 1\n");
  EXPECT_NE(p->lookup(kSelfTestEvent), nullptr);
  EXPECT_EQ(decide(*p, kSelfTestEvent).action, Action::allow);
}

}  // namespace
}  // namespace auditwall::policy

namespace auditwall::policy {
namespace {

TEST(PolicyExplain, EveryRuleUpToTheDecision) {
  auto p = compile(R"YAML(version: 1
default: deny
rules:
  - {id: procs, on: process, action: deny}
  - {id: needs-global, on: deserialize, match: {global: "x.*"}, action: allow}
  - {id: reads, on: file.read, action: allow}
  - {id: tmp, on: file.write, match: {path: "/tmp/**"}, action: allow}
  - {id: never, on: file, action: log}
)YAML");
  Event e;
  e.name = "open";
  e.path = "/etc/passwd";
  e.open_mode = "w";
  Explanation ex = p->explain(e);
  ASSERT_EQ(ex.steps.size(), 5u);
  EXPECT_EQ(ex.steps[0].outcome, ExplainStep::Outcome::not_selected);
  EXPECT_EQ(ex.steps[0].detail, "'on' does not select open");
  EXPECT_EQ(ex.steps[2].detail, "'on' selects open only for reading, and the access is not that");
  EXPECT_EQ(ex.steps[3].outcome, ExplainStep::Outcome::no_match);
  EXPECT_EQ(ex.steps[3].detail, "'path' does not hold");
  EXPECT_EQ(ex.steps[4].outcome, ExplainStep::Outcome::decided);
  EXPECT_EQ(ex.summary, "rule 'never' (line 8) decides: log");
  Event m;
  m.name = "marshal.loads";
  ex = p->explain(m);
  EXPECT_EQ(ex.steps[1].outcome, ExplainStep::Outcome::missing_fields);
  EXPECT_EQ(ex.steps[1].detail, "the event has no pickle global, which the rule's match needs");
  EXPECT_EQ(ex.summary,
            "no rule matches, and default: deny never covers this event (marshal.loads is raised "
            "at every start-up): allow");
  Event pk;
  pk.name = "pickle.find_class";
  pk.global = "os.system";
  EXPECT_EQ(p->explain(pk).summary, "no rule matches; default: deny");
  Event fd;  // open(1, "w"): a descriptor, no path
  fd.name = "open";
  fd.open_mode = "w";
  ex = p->explain(fd);
  EXPECT_EQ(ex.steps[3].outcome, ExplainStep::Outcome::not_selected);
  EXPECT_EQ(ex.steps[3].detail,
            "'on' selects open only for files, and open(fd) wraps a descriptor the program "
            "already holds");
  EXPECT_EQ(ex.decision.action, Action::log);  // `on: file` selects open by name
  Event frame;
  frame.name = "sys._getframe";
  EXPECT_EQ(p->explain(frame).summary,
            "no rule selects sys._getframe: allow (the hook dismisses it at once)");
}

}  // namespace
}  // namespace auditwall::policy

namespace auditwall::policy {
namespace {

TEST(PolicyEvaluate, EventNameThatStartsWithAFamilySelectsOnlyItself) {
  LoadResult r = load_string("version: 1\nrules:\n  - {id: r, on: code.__new__, action: deny}\n",
                             "test.yaml");
  ASSERT_TRUE(r.ok()) << r.report();
  Event code_new;
  code_new.name = "code.__new__";
  EXPECT_TRUE(r.policy->evaluate(code_new).blocks());
  Event exec;
  exec.name = "exec";
  EXPECT_FALSE(r.policy->evaluate(exec).blocks());
}

}  // namespace
}  // namespace auditwall::policy

namespace auditwall::policy {
namespace {

// The compiled index (which rules an event's plan lists, with which selection) against
// explain(), which asks each rule's `on` about the event directly: the same rule decides
// every catalogue event, in every policy that ships and in one with every kind of selector.
TEST(Index, AgreesWithEachRulesOwnSelection) {
  std::vector<std::string> texts = {R"(version: 1
default: deny
rules:
  - {id: reads, on: file.read, action: allow}
  - {id: writes, on: file.write, match: {path: [/tmp/**]}, action: deny}
  - {id: tamper, on: tamper, action: deny}
  - {id: globs, on: ["socket.*", "sys.*hook*", "my.*"], action: log}
  - {id: exact, on: [os.system, compile, my.event], action: deny}
  - {id: family, on: process, action: allow}
  - {id: sub, on: [network.connect, file.delete], action: deny}
  - {id: rest, on: [import, native, env, deserialize], action: log}
)"};
  for (auto name : builtin_names()) texts.emplace_back(builtin_text(name));
  for (const std::string& text : texts) {
    std::shared_ptr<const Policy> policy = testing::compile(text);
    ASSERT_NE(policy, nullptr) << text;
    std::vector<std::string_view> names{"my.event", "my.other", "not.in.catalogue"};
    for (const EventClass* c = catalogue_begin(); c != catalogue_end(); ++c) names.push_back(c->name);
    for (std::string_view name : names) {
      for (std::string_view mode : {"", "r", "w"}) {
        for (std::string_view attribute : {"", "__code__", "x"}) {
          Event e;
          e.name = name;
          e.path = "/tmp/x";
          e.open_mode = mode;
          e.attribute = attribute;
          const Explanation why = policy->explain(e);
          const Rule* decided = nullptr;
          for (const ExplainStep& step : why.steps) {
            if (step.outcome == ExplainStep::Outcome::decided) decided = step.rule;
          }
          EXPECT_EQ(policy->evaluate(e).rule, decided)
              << name << " mode '" << mode << "' attribute '" << attribute << "': "
              << why.summary;
        }
      }
    }
  }
}

}  // namespace
}  // namespace auditwall::policy
