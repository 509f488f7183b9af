// Policy evaluation: the compiled index from event names to rules, and the decision.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <unordered_map>

#include "auditwall/policy.hpp"
#include "glob.hpp"
#include "internal.hpp"
#include "matcher.hpp"

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

namespace {

std::string format_all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    out += d.format();
    out += '\n';
  }
  return out;
}

}  // namespace

std::string LoadResult::report() const { return format_all(diagnostics); }

std::string HandDown::report() const { return format_all(diagnostics); }

namespace {

// When a rule's `on` selects an event. Most selections are by name alone; a few depend on the
// event's fields, so that a family means what a reader expects.
enum Select : unsigned {
  kSelectAlways = 1u << 0,
  kSelectRead = 1u << 1,    // file.read on `open`: the access includes reading
  kSelectWrite = 1u << 2,   // file.write on `open`: the access includes any kind of writing
  kSelectTamper = 1u << 3,  // tamper on object.__setattr__/__delattr__: function internals
};

constexpr unsigned kWriteKinds = kAccessWrite | kAccessCreate | kAccessTruncate | kAccessAppend;

bool is_function_internal(std::string_view attribute) noexcept {
  // Not __defaults__ / __kwdefaults__: they change argument values, not the code that runs,
  // and the standard library sets them (namedtuple sets __new__.__defaults__).
  for (std::string_view a : {"__code__", "__globals__",
                             "__closure__", "__builtins__"}) {
    if (attribute == a) return true;
  }
  return false;
}

bool selected(unsigned select, const Event& event, Action action) noexcept {
  if (select & kSelectAlways) return true;
  if (select & (kSelectRead | kSelectWrite)) {
    // open(fd) wraps a descriptor the program already holds: no file is opened and the
    // descriptor's access cannot grow, so file.read and file.write do not select it (a rule
    // that names `open` itself does).
    if (event.path.empty()) return false;
    const unsigned access = access_of(event);
    // An open event whose access cannot be told (no mode, no flags) may be a read and a write:
    // a restricting rule on either selects it; an allow rule only when it selects both, so
    // that allowing reads never lets such an open write. Fail closed.
    if (access == 0) {
      return action != Action::allow || (select & (kSelectRead | kSelectWrite)) == (kSelectRead | kSelectWrite);
    }
    if ((select & kSelectRead) && (access & kAccessRead)) return true;
    if ((select & kSelectWrite) && (access & kWriteKinds)) return true;
  }
  if (select & kSelectTamper) {
    if (is_function_internal(event.attribute)) return true;
  }
  return false;
}

// Events that `default: deny` never denies: an interpreter raises them by the thousand while it
// starts and imports, and denying them by default would stop every program before it runs.
// Rules still decide on them; only the catch-all default leaves them alone.
bool exempt_from_default(const Event& event) noexcept {
  const std::string_view n = event.name;
  if (n == "import" || n == "marshal.loads" || n == "marshal.load" || n == "os.listdir" ||
      n == "os.scandir") {
    return true;
  }
  if (n == "open") {
    if (event.path.empty()) return true;  // open(fd): see selected()
    return (access_of(event) & ~unsigned{kAccessRead}) == 0 && access_of(event) != 0;
  }
  // Only source known to be dynamic: module code, and code whose origin the hook could not
  // tell, is left to the rules.
  if (n == "exec" || n == "compile") return event.code_origin != CodeOrigin::dynamic;
  return false;
}

}  // namespace

struct EventPlan {
  struct Entry {
    const Rule* rule;
    unsigned select;  // Select bits
  };
  // A run of the index's entries.
  struct Entries {
    const Entry* first = nullptr;
    const Entry* last = nullptr;
    const Entry* begin() const noexcept { return first; }
    const Entry* end() const noexcept { return last; }
    bool empty() const noexcept { return first == last; }
  };
  Entries entries;  // in policy order
  bool needs_caller = false;
  bool matches_name = true;  // false for the glob plan: entries must be checked by name
};

namespace {

// The hash of an event name for the index: its length and its first and last eight bytes,
// mixed. Constant time whatever the name's length (audit event names differ early or late),
// and no division; equal hashes are settled by comparing the names.
inline __attribute__((always_inline)) std::uint64_t name_hash(std::string_view name) noexcept {
  std::uint64_t head = 0, tail = 0;
  const std::size_t n = name.size();
  const char* p = name.data();
  if (n >= 8) {
    std::memcpy(&head, p, 8);  // fixed sizes: single loads, no call
    std::memcpy(&tail, p + n - 8, 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) head = head << 8 | static_cast<unsigned char>(p[i]);
  }
  // MurmurHash3's 64-bit finaliser over the three parts: every input bit reaches the low bits
  // that pick the slot.
  std::uint64_t h = head * 0x9e3779b97f4a7c15ULL ^ ((tail * 0xc2b2ae3d27d4eb4fULL) >> 1) ^ n;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

// An open-addressing table from event name to plan, filled once at compile time, at most
// half full; a lookup that finds no name usually stops at the first empty slot.
class NameTable {
 public:
  void build(const std::vector<std::pair<std::string_view, const EventPlan*>>& entries) {
    std::size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const auto& [name, plan] : entries) {
      const std::uint64_t h = name_hash(name);
      std::size_t i = h & mask_;
      while (slots_[i].plan != nullptr) i = (i + 1) & mask_;
      slots_[i] = Slot{h, name, plan};
    }
  }

  const EventPlan* find(std::string_view name) const noexcept {
    const std::uint64_t h = name_hash(name);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.plan == nullptr) return nullptr;
      if (slot.hash == h && slot.name == name) return slot.plan;
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::string_view name;
    const EventPlan* plan = nullptr;
  };
  std::vector<Slot> slots_ = std::vector<Slot>(1);
  std::size_t mask_ = 0;
};

}  // namespace

// Event name -> plan. The table is keyed by views of the catalogue's names and of the rules'
// `on` strings, which live as long as the policy; lookups take a string_view and allocate
// nothing. Every plan's entries are runs of one array, filled once.
struct Policy::Index {
  std::vector<EventPlan::Entry> entries;
  std::vector<EventPlan> plans;
  NameTable by_name;
  // Rules whose `on` has globs, for event names outside the catalogue and outside every rule's
  // exact names (custom sys.audit events); empty for most policies.
  std::unique_ptr<EventPlan> glob_plan;
};

Policy::Policy() : index_(std::make_unique<Index>()) {}
Policy::~Policy() = default;

namespace {

// What one entry of a rule's `on` names, worked out once per rule: compiling a policy asks
// every rule about every event name of the catalogue.
struct Selector {
  enum class Kind { event, family, sub_family, glob } kind;
  std::string_view on;
  Family family = Family::other;  // family, sub_family
  std::string_view sub;           // sub_family
};

// An event name with its family and sub-family, looked up once per name.
using Target = EventClass;

std::vector<Selector> selectors_of(const Rule& rule) {
  std::vector<Selector> out;
  out.reserve(rule.on.size());
  for (const std::string& on : rule.on) {
    Selector s{Selector::Kind::event, on, Family::other, {}};
    const std::size_t dot = on.find('.');
    // A CPython event name selects that event alone, even where it starts with a family's
    // name (code.__new__ is an event of the tamper family, not a sub-family of code).
    if (family_of(on) != Family::other) {
      s.kind = Selector::Kind::event;
    } else if (family_from_string(on, s.family)) {
      s.kind = Selector::Kind::family;
    } else if (dot != std::string::npos && family_from_string(on.substr(0, dot), s.family) &&
               !has_glob_chars(on)) {
      s.kind = Selector::Kind::sub_family;
      s.sub = std::string_view(on).substr(dot + 1);
    } else if (has_glob_chars(on)) {
      s.kind = Selector::Kind::glob;
    }
    out.push_back(s);
  }
  return out;
}

// What one selector other than by the event's own name adds to the selection of an event:
// Select bits, 0 when nothing. Only a family or sub-family selector of the event's family, or
// a glob, adds anything.
unsigned contribution(const Selector& s, const Target& target) {
  switch (s.kind) {
    case Selector::Kind::event:
      return 0;
    case Selector::Kind::family:
      if (s.family != target.family) return 0;
      return (target.family == Family::tamper && (target.name == "object.__setattr__" ||
                                                  target.name == "object.__delattr__"))
                 ? kSelectTamper
                 : kSelectAlways;
    case Selector::Kind::sub_family:
      if (s.family != target.family) return 0;
      if (target.sub == "open") {
        return (s.sub == "read" ? kSelectRead : 0u) | (s.sub == "write" ? kSelectWrite : 0u);
      }
      return target.sub == s.sub ? kSelectAlways : 0u;
    case Selector::Kind::glob:
      return glob_match(s.on, target.name) ? kSelectAlways : 0u;
  }
  return 0;
}

// How a rule's `on` (its selectors) selects an event: Select bits, 0 when it does not.
unsigned selection(const std::vector<Selector>& selectors, const Target& target) {
  unsigned select = 0;
  for (const Selector& s : selectors) {
    select |= s.on == target.name ? unsigned{kSelectAlways} : contribution(s, target);
  }
  return select;
}

// selection() of every rule for every name of `names` (sorted by name, each once), as
// out[rule * names.size() + name]. Worked out selector by selector, over only the names a
// selector can select (its own, its family's, every name for a glob): compiling asks every
// rule about every name of the catalogue, at every start-up.
std::vector<unsigned> selections(const std::vector<Rule>& rules,
                                 const std::vector<Target>& names) {
  const std::size_t count = names.size();
  std::vector<unsigned> out(rules.size() * count, 0);
  for (std::size_t r = 0; r < rules.size(); ++r) {
    unsigned* row = out.data() + r * count;
    for (const Selector& s : selectors_of(rules[r])) {
      const auto it = std::lower_bound(
          names.begin(), names.end(), s.on,
          [](const Target& t, std::string_view on) { return t.name < on; });
      const std::size_t own =
          it != names.end() && it->name == s.on ? static_cast<std::size_t>(it - names.begin()) : count;
      if (own != count) row[own] |= kSelectAlways;
      if (s.kind == Selector::Kind::event) continue;
      for (std::size_t n = 0; n < count; ++n) {
        if (n == own || (s.kind != Selector::Kind::glob && names[n].family != s.family)) continue;
        row[n] |= contribution(s, names[n]);
      }
    }
  }
  return out;
}

unsigned selection(const Rule& rule, std::string_view name) {
  return selection(selectors_of(rule), classify_event(name));
}

bool rule_needs_caller(const Rule& rule) noexcept {
  return rule.match != nullptr && matcher_uses_caller(*rule.match);
}

bool rule_matches(const Rule& rule, Facts& facts) noexcept {
  // An allow rule lets an operation through, so where the event is ambiguous (two paths, a
  // path too long to read) it must hold for all of it; a restricting rule for any part.
  return rule.match == nullptr ||
         matcher_matches(*rule.match, facts, rule.action != Action::allow);
}

}  // namespace

namespace {

// Rules with globs in `on`, for names outside the table; kept out of lookup()'s hot path.
__attribute__((noinline)) const EventPlan* lookup_glob(const EventPlan* globs,
                                                       std::string_view event_name) noexcept {
  for (const auto& entry : globs->entries) {
    for (const std::string& on : entry.rule->on) {
      if (has_glob_chars(on) && glob_match(on, event_name)) return globs;
    }
  }
  return nullptr;
}

}  // namespace

const EventPlan* Policy::lookup(std::string_view event_name) const noexcept {
  const Index& index = *index_;
  if (const EventPlan* plan = index.by_name.find(event_name)) return plan;
  return index.glob_plan == nullptr ? nullptr : lookup_glob(index.glob_plan.get(), event_name);
}

bool Policy::needs_caller(const EventPlan* plan) const noexcept {
  return plan != nullptr && plan->needs_caller;
}

Decision Policy::evaluate(const Event& event, const EventPlan* plan) const noexcept {
  Decision decision;
  decision.mode = mode_;
  if (plan == nullptr) return decision;
  bool in_scope = false;
  Facts facts(event);
  for (const auto& entry : plan->entries) {
    const Rule* rule = entry.rule;
    unsigned select = entry.select;
    if (!plan->matches_name) {
      select = 0;
      for (const std::string& on : rule->on) {
        if (has_glob_chars(on) && glob_match(on, event.name)) select = kSelectAlways;
      }
    }
    if (select == 0 || !selected(select, event, Action::deny)) continue;
    in_scope = true;
    if (!selected(select, event, rule->action)) continue;
    if (!rule_matches(*rule, facts)) continue;
    decision.action = rule->action;
    decision.rule = rule;
    // A per-rule monitor mode relaxes an enforcing policy; a monitoring policy stays monitor
    // whatever its rules say, so that one switch makes a whole policy safe to try.
    if (rule->has_mode && rule->mode == Mode::monitor) decision.mode = Mode::monitor;
    return decision;
  }
  if (in_scope && default_ == Action::deny && !exempt_from_default(event)) {
    decision.action = Action::deny;
  }
  return decision;
}

Explanation Policy::explain(const Event& event) const {
  using Outcome = ExplainStep::Outcome;
  Explanation out;
  out.decision = evaluate(event);
  const std::string name(event.name);
  Facts facts(event);
  bool in_scope = false;
  for (const Rule& rule : rules_) {
    ExplainStep step;
    step.rule = &rule;
    const unsigned select = selection(rule, event.name);
    if (select == 0) {
      step.detail = "'on' does not select " + name;
    } else if (!selected(select, event, Action::deny)) {
      step.detail = (select & kSelectTamper)
                        ? "'on' selects " + name + " only for function internals (__code__, ...)"
                    : event.path.empty()
                        ? "'on' selects " + name + " only for files, and open(fd) wraps a " +
                              "descriptor the program already holds"
                        : "'on' selects " + name + " only for " +
                              ((select & kSelectRead) ? "reading" : "writing") +
                              ", and the access is not that";
    } else if (in_scope = true; !selected(select, event, rule.action)) {
      step.detail = "'on' selects " + name + " only for " +
                    ((select & kSelectRead) ? "reading" : "writing") +
                    ", and an open whose access cannot be told may do both: an allow rule must "
                    "select both to cover it";
    } else if (rule.match != nullptr && !facts.carries(rule.match->fields)) {
      step.outcome = Outcome::missing_fields;
      step.detail = "the event has no " + missing_fields(rule.match->fields, facts) +
                    ", which the rule's match needs";
    } else if (rule.match != nullptr &&
               !matcher_matches(*rule.match, facts, rule.action != Action::allow)) {
      step.outcome = Outcome::no_match;
      std::string key = failing_key(*rule.match, facts, rule.action != Action::allow);
      step.detail = key.empty() ? "its match does not hold" : "'" + key + "' does not hold";
    } else {
      step.outcome = Outcome::decided;
      step.detail = rule.match == nullptr ? "'on' selects " + name + " and the rule has no match"
                                          : "'on' selects " + name + " and the match holds";
      out.steps.push_back(std::move(step));
      break;
    }
    out.steps.push_back(std::move(step));
  }
  const Decision& d = out.decision;
  std::string verdict = std::string(to_string(d.action)) +
                        (d.mode == Mode::monitor && (d.action == Action::deny ||
                                                     d.action == Action::kill)
                             ? " (monitor mode: would " + std::string(to_string(d.action)) + ")"
                             : std::string());
  if (d.rule != nullptr) {
    out.summary = "rule '" + d.rule->id + "' (line " + std::to_string(d.rule->line) +
                  (d.rule->origin.empty() ? "" : " of " + d.rule->origin) + ") decides: " + verdict;
  } else if (lookup(event.name) == nullptr) {
    out.summary = "no rule selects " + name + ": allow (the hook dismisses it at once)";
  } else if (!in_scope) {
    out.summary = "no rule selects this " + name + " event: allow";
  } else if (d.action == Action::deny) {
    out.summary = "no rule matches; default: " + verdict;
  } else if (default_ == Action::deny) {
    out.summary = "no rule matches, and default: deny never covers this event (" + name +
                  " is raised at every start-up): allow";
  } else {
    out.summary = "no rule matches; default: allow";
  }
  return out;
}

Decision Policy::evaluate(const Event& event) const noexcept {
  return evaluate(event, lookup(event.name));
}

std::shared_ptr<const Policy> Policy::with_mode(Mode mode) const {
  Document document;
  document.rules = rules_;
  document.mode = mode;
  document.default_action = default_;
  document.seccomp = seccomp_;
  document.log = log_;
  document.source = source_;
  document.hash = hash_;
  document.source_hash = source_hash_;
  return Compiler::compile(std::move(document));
}

namespace {

// Every name a plan may be needed for, sorted, with its family: the catalogue, the self-test
// event, and every exact name a rule gives (views into `rules` and the catalogue). Sets
// `any_glob` when some rule's `on` has a glob.
std::vector<Target> plan_names(const std::vector<Rule>& rules, bool& any_glob) {
  std::vector<Target> extra{classify_event(kSelfTestEvent)};
  any_glob = false;
  for (const Rule& rule : rules) {
    for (const std::string& on : rule.on) {
      Family f;
      const std::size_t dot = on.find('.');
      if (has_glob_chars(on)) {
        any_glob = true;
      } else if (!family_from_string(on, f) &&
                 !(dot != std::string::npos && family_from_string(on.substr(0, dot), f))) {
        extra.push_back(classify_event(on));
      }
    }
  }
  const auto by_name = [](const Target& a, const Target& b) { return a.name < b.name; };
  std::sort(extra.begin(), extra.end(), by_name);
  // The catalogue is sorted already (a unit test checks it): merge rather than sort it all.
  std::vector<Target> names;
  names.reserve(static_cast<std::size_t>(catalogue_end() - catalogue_begin()) + extra.size());
  std::merge(catalogue_begin(), catalogue_end(), extra.begin(), extra.end(),
             std::back_inserter(names), by_name);
  names.erase(std::unique(names.begin(), names.end(),
                          [](const Target& a, const Target& b) { return a.name == b.name; }),
              names.end());
  return names;
}

}  // namespace

std::shared_ptr<const Policy> Compiler::compile(Document document) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->mode_ = document.mode;
  policy->default_ = document.default_action;
  policy->seccomp_ = std::move(document.seccomp);
  policy->log_ = std::move(document.log);
  policy->rules_ = std::move(document.rules);
  policy->source_ = std::move(document.source);
  policy->hash_ = std::move(document.hash);
  policy->source_hash_ = std::move(document.source_hash);
  Policy::Index& index = *policy->index_;

  bool any_glob = false;
  const std::vector<Target> names = plan_names(policy->rules_, any_glob);

  const std::vector<unsigned> select = selections(policy->rules_, names);
  const std::vector<Rule>& rules = policy->rules_;
  std::vector<bool> needs_caller;
  for (const Rule& rule : rules) needs_caller.push_back(rule_needs_caller(rule));
  // Names no rule selects get no plan, so that lookup() dismisses them at once; the self-test
  // event always has one, to prove the hook runs. Each plan's entries are a run of
  // index.entries, [first, last), pointed to once the array is complete.
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  std::vector<std::string_view> keys;
  for (std::size_t n = 0; n < names.size(); ++n) {
    EventPlan plan;
    const std::size_t first = index.entries.size();
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (unsigned bits = select[r * names.size() + n]) {
        index.entries.push_back({&rules[r], bits});
        plan.needs_caller = plan.needs_caller || needs_caller[r];
      }
    }
    if (index.entries.size() == first && names[n].name != kSelfTestEvent) continue;
    index.plans.push_back(plan);
    runs.emplace_back(first, index.entries.size());
    keys.push_back(names[n].name);
  }
  const std::size_t glob_first = index.entries.size();
  if (any_glob) {
    index.glob_plan = std::make_unique<EventPlan>();
    index.glob_plan->matches_name = false;
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (std::any_of(rules[r].on.begin(), rules[r].on.end(),
                      [](const std::string& on) { return has_glob_chars(on); })) {
        index.entries.push_back({&rules[r], kSelectAlways});
        index.glob_plan->needs_caller = index.glob_plan->needs_caller || needs_caller[r];
      }
    }
  }
  const EventPlan::Entry* entries = index.entries.data();
  std::vector<std::pair<std::string_view, const EventPlan*>> table;
  table.reserve(index.plans.size());
  for (std::size_t i = 0; i < index.plans.size(); ++i) {
    index.plans[i].entries = {entries + runs[i].first, entries + runs[i].second};
    table.emplace_back(keys[i], &index.plans[i]);
  }
  index.by_name.build(table);
  if (index.glob_plan != nullptr) {
    index.glob_plan->entries = {entries + glob_first, entries + index.entries.size()};
  }
  return policy;
}

std::vector<Shadow> find_shadowed(const std::vector<Rule>& rules) {
  bool any_glob = false;
  const std::vector<Target> names = plan_names(rules, any_glob);
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  // Per name, the first earlier rule without match that selects it unconditionally, and the
  // conditional selections (file.read / file.write on open) such rules made, with the first.
  std::vector<std::size_t> always(names.size(), kNone);
  std::vector<unsigned> bits(names.size(), 0);
  std::vector<std::size_t> bits_by(names.size(), kNone);
  std::vector<std::pair<std::string, std::size_t>> closed_globs;
  std::vector<Shadow> out;
  const std::vector<unsigned> table = selections(rules, names);
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const Rule& rule = rules[r];
    const unsigned* row = table.data() + r * names.size();
    std::size_t by = kNone;
    bool hidden = true, selects = false;
    for (std::size_t n = 0; n < names.size() && hidden; ++n) {
      const unsigned select = row[n];
      if (select == 0) continue;
      selects = true;
      if (always[n] != kNone) {
        by = by == kNone ? always[n] : by;
      } else if ((select & kSelectAlways) == 0 && (bits[n] & select) == select) {
        by = by == kNone ? bits_by[n] : by;
      } else {
        hidden = false;
      }
    }
    // A glob also reaches events outside the catalogue: hidden only by the same glob or "*".
    for (const std::string& on : rule.on) {
      if (!hidden || !has_glob_chars(on)) continue;
      auto it = std::find_if(closed_globs.begin(), closed_globs.end(),
                             [&](const auto& g) { return g.first == on || g.first == "*"; });
      if (it == closed_globs.end()) {
        hidden = false;
      } else {
        by = by == kNone ? it->second : by;
        selects = true;
      }
    }
    if (hidden && selects && by != kNone) out.push_back({r, by});
    if (rule.match != nullptr) continue;
    for (std::size_t n = 0; n < names.size(); ++n) {
      const unsigned select = row[n];
      if ((select & kSelectAlways) && always[n] == kNone) always[n] = r;
      if ((select & ~unsigned{kSelectAlways}) && bits_by[n] == kNone) bits_by[n] = r;
      bits[n] |= select & ~unsigned{kSelectAlways};
    }
    for (const std::string& on : rule.on) {
      if (has_glob_chars(on)) closed_globs.emplace_back(on, r);
    }
  }
  return out;
}

std::string digest(std::string_view text) {
  // FNV-1a, 64 bits: identifies a loaded policy in logs; not a security boundary.
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace auditwall::policy
