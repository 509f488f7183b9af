// The cost of Policy::lookup() and evaluate() on the built-in policies, for events that no
// rule selects, that rules select but do not match, and that a rule matches.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auditwall/policy.hpp"

namespace {

using namespace auditwall::policy;

std::shared_ptr<const Policy> load(const char* ref) {
  LoadResult r = load_file(ref);
  if (!r.ok()) {
    std::fputs(r.report().c_str(), stderr);
    std::abort();
  }
  return r.policy;
}

const Policy& web() {
  static auto p = load("builtin:web-service");
  return *p;
}
const Policy& strict() {
  static auto p = load("builtin:strict");
  return *p;
}

Event connect(std::string_view host) {
  Event e;
  e.name = "socket.connect";
  e.host = host;
  e.port = 443;
  e.address_family = AF_INET;
  return e;
}

void run(benchmark::State& state, const Policy& policy, const Event& event, Action expected) {
  // A benchmark of the wrong decision measures nothing: stop, and fail the test command.
  if (policy.evaluate(event).action != expected) {
    std::fprintf(stderr, "%.*s: unexpected decision\n", static_cast<int>(event.name.size()),
                 event.name.data());
    std::abort();
  }
  for (auto _ : state) {
    const EventPlan* plan = policy.lookup(event.name);
    Decision d = policy.evaluate(event, plan);
    benchmark::DoNotOptimize(d);
  }
}

// The fast path: an event no rule selects.
void BM_lookup_no_rule(benchmark::State& state) {
  const Policy& p = web();
  std::string_view name = "sys._getframe";
  for (auto _ : state) {
    const EventPlan* plan = p.lookup(name);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_lookup_no_rule);

// A connection to a public address: three address rules and a host rule checked, none match.
void BM_web_connect_not_matching(benchmark::State& state) {
  run(state, web(), connect("93.184.216.34"), Action::allow);
}
BENCHMARK(BM_web_connect_not_matching);

// A connection to cloud metadata, in an unusual spelling: the first address rule matches.
void BM_web_connect_matching(benchmark::State& state) {
  run(state, web(), connect("2852039166"), Action::deny);
}
BENCHMARK(BM_web_connect_matching);

// Unpickling an allowed class: the `not global` list is scanned to the end.
void BM_web_pickle_allowed(benchmark::State& state) {
  Event e;
  e.name = "pickle.find_class";
  e.global = "uuid.UUID";
  run(state, web(), e, Action::allow);
}
BENCHMARK(BM_web_pickle_allowed);

// A subprocess through a shell: shell detection matches.
void BM_web_shell_matching(benchmark::State& state) {
  static const std::string_view argv[] = {"/bin/sh", "-c", "ls /tmp"};
  Event e;
  e.name = "subprocess.Popen";
  e.executable = "/bin/sh";
  e.argv = argv;
  e.argc = 3;
  run(state, web(), e, Action::deny);
}
BENCHMARK(BM_web_shell_matching);

// Reading a file under builtin:strict: selected by file rules, exempt from the default.
void BM_strict_open_read(benchmark::State& state) {
  Event e;
  e.name = "open";
  e.path = "/usr/lib/python3.11/json/decoder.py";
  e.open_mode = "r";
  e.cwd = "/home/user/project";
  run(state, strict(), e, Action::allow);
}
BENCHMARK(BM_strict_open_read);

// Writing a relative path under builtin:strict: resolved against the cwd, matched against the
// temp-directory globs, denied by default.
void BM_strict_open_write_relative(benchmark::State& state) {
  Event e;
  e.name = "open";
  e.path = "../out/./result.txt";
  e.open_mode = "w";
  e.cwd = "/home/user/project";
  run(state, strict(), e, Action::deny);
}
BENCHMARK(BM_strict_open_write_relative);

// Writing under /tmp under builtin:strict: the allow rule matches.
void BM_strict_open_write_tmp(benchmark::State& state) {
  Event e;
  e.name = "open";
  e.path = "/tmp/build/out.txt";
  e.open_mode = "wb";
  run(state, strict(), e, Action::allow);
}
BENCHMARK(BM_strict_open_write_tmp);

}  // namespace

BENCHMARK_MAIN();
