// libFuzzer target: events with arbitrary fields, evaluated against a policy that uses every
// matcher; never a crash, and the decision is the same when evaluated twice.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace {

using namespace auditwall::policy;

constexpr std::string_view kPolicy = R"YAML(version: 1
default: deny
rules:
  - {id: tmp, on: [file.write, file.rename], match: {path: ["/tmp/**", "~/x/*.txt"]}, action: allow}
  - {id: secrets, on: file, match: {path: ["**/.env", "/etc/shadow"], access: [read, append]}, action: deny}
  - {id: shells, on: process, match: {shell: true, not: {command: ["echo *"]}}, action: deny}
  - {id: exe, on: process, match: {executable: [curl, "/usr/bin/*"], argv: ["-o", "--*"]}, action: kill}
  - {id: local, on: network, match: {address: [127.0.0.0/8, "::1", "fd00::/8"], port: ["1-1024"]}, action: allow}
  - {id: hosts, on: network, match: {any: [{host: ["*.example.com"]}, {unix: ["/run/*.sock", "@abs*"]}]}, action: log}
  - {id: pickle, on: deserialize, match: {not: {global: ["builtins.*", "collections.OrderedDict"]}}, action: deny}
  - {id: imports, on: import, match: {module: ["ev?l", "x.[a-c]*"]}, action: deny}
  - {id: code, on: code, match: {origin: dynamic, not: {caller: [stdlib, "plugin.*"]}}, action: deny}
  - {id: env, on: env, match: {env: ["LD_*"]}, action: deny}
  - {id: tamper, on: tamper, match: {attribute: ["__code__"]}, action: deny}
  - {id: custom, on: "app.*", action: log}
)YAML";

const std::shared_ptr<const Policy>& policy() {
  static const std::shared_ptr<const Policy> p = load_string(kPolicy, "fuzz-policy.yaml").policy;
  return p;
}

// Splits the input into NUL-separated fields.
struct Reader {
  std::string_view rest;
  std::string_view next() {
    std::size_t end = rest.find('\0');
    std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return field;
  }
  std::int64_t number() {
    std::string_view f = next();
    std::uint64_t v = 0;
    for (char c : f) v = v * 31 + static_cast<unsigned char>(c);
    return f.empty() ? -1 : static_cast<std::int64_t>(v >> 1);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!policy()) __builtin_trap();
  static const std::vector<std::string_view>& names = catalogue();
  Reader in{std::string_view(reinterpret_cast<const char*>(data), size)};
  std::string storage(in.rest);  // keep the views valid
  in.rest = storage;
  Event e;
  std::int64_t which = in.number();
  e.name = which >= 0 ? names[static_cast<std::size_t>(which) % names.size()] : in.next();
  e.path = in.next();
  e.open_mode = in.next();
  e.open_flags = in.number();
  e.cwd = in.next();
  e.path2 = in.next();
  e.executable = in.next();
  std::vector<std::string_view> argv;
  for (int i = 0; i < 4 && !in.rest.empty(); ++i) argv.push_back(in.next());
  e.argv = argv.data();
  e.argc = argv.size();
  e.command = in.next();
  e.host = in.next();
  e.port = in.number();
  e.address_family = static_cast<int>(in.number() % 11);
  e.url = in.next();
  e.global = in.next();
  e.module = in.next();
  e.code_origin = static_cast<CodeOrigin>(static_cast<std::uint64_t>(in.number()) % 3);
  e.env_key = in.next();
  e.attribute = in.next();
  e.caller_module = in.next();
  e.caller_in_stdlib = in.number() % 2 == 0;
  const Policy& p = *policy();
  const EventPlan* plan = p.lookup(e.name);
  Decision a = p.evaluate(e, plan);
  Decision b = p.evaluate(e, plan);
  if (a.rule != b.rule || a.action != b.action || a.mode != b.mode) __builtin_trap();
  (void)p.needs_caller(plan);
  return 0;
}
