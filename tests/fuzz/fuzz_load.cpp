// libFuzzer target: any bytes given to the policy loader end in a policy or in diagnostics,
// never in a crash, a hang or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auditwall/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace auditwall::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = load_string(text, "fuzz.yaml");
  if (r.ok()) {
    // A policy that loads can be evaluated on the events it names.
    Event e;
    for (const Rule& rule : r.policy->rules()) {
      for (const std::string& on : rule.on) {
        e.name = on;
        (void)r.policy->evaluate(e);
      }
    }
  } else if (r.diagnostics.empty()) {
    __builtin_trap();  // a refused policy must say why
  }
  (void)r.report();
  return 0;
}
