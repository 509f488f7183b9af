// auditwall-policy: checks policies and explains decisions, for `auditwall policy check` and
// `auditwall policy explain` (extension/auditwall/cli.py runs it).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace {

using namespace auditwall::policy;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: auditwall-policy check FILE...\n"
    "       auditwall-policy explain FILE --event NAME [ARG...]\n"
    "ARG is KEY=VALUE (path, mode, flags, cwd, path2, executable, argv (repeatable), command,\n"
    "host, port, family (inet|inet6|unix), url, global, module, origin (dynamic|module), env,\n"
    "attribute, caller, stdlib (true|false)), or the event's own arguments in order:\n"
    "  open PATH [MODE [FLAGS]]          os.system COMMAND\n"
    "  subprocess.Popen EXECUTABLE [ARGV...] (also os.exec, os.posix_spawn, os.spawn)\n"
    "  socket.connect HOST|UNIXPATH [PORT] (and the other network events)\n"
    "  urllib.Request URL                pickle.find_class MODULE NAME\n"
    "  import MODULE [PATH]              exec|compile dynamic|module\n"
    "  os.putenv KEY                     object.__setattr__ ATTRIBUTE\n"
    "  other file events: PATH [PATH2]\n";

int usage(const char* message) {
  std::fprintf(stderr, "auditwall-policy: %s\n%s", message, kUsage);
  return kExitUsage;
}

int check(int argc, char** argv) {
  if (argc < 1) return usage("check needs at least one FILE");
  int status = kExitOk;
  for (int i = 0; i < argc; ++i) {
    LoadResult r = load_file(argv[i]);
    std::fputs(r.report().c_str(), stderr);
    if (r.ok()) {
      std::printf("%s: ok\n", argv[i]);
    } else {
      status = kExitInvalid;
    }
  }
  return status;
}

// An Event and the strings its views point into.
struct Built {
  Event event;
  std::deque<std::string> strings;  // stable addresses
  std::vector<std::string_view> argv;
  std::string error;

  std::string_view keep(std::string s) {
    strings.push_back(std::move(s));
    return strings.back();
  }
};

bool number(const std::string& text, std::int64_t& out) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 0);  // 0x.. and 0.. accepted for flags
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  out = v;
  return true;
}

bool set_field(Built& b, const std::string& key, const std::string& value) {
  Event& e = b.event;
  if (key == "path") e.path = b.keep(value);
  else if (key == "mode") e.open_mode = b.keep(value);
  else if (key == "flags") return number(value, e.open_flags) || (b.error = "flags must be a number", false);
  else if (key == "cwd") e.cwd = b.keep(value);
  else if (key == "path2") e.path2 = b.keep(value);
  else if (key == "executable") e.executable = b.keep(value);
  else if (key == "argv") b.argv.push_back(b.keep(value));
  else if (key == "command") e.command = b.keep(value);
  else if (key == "host") e.host = b.keep(value);
  else if (key == "port") return number(value, e.port) || (b.error = "port must be a number", false);
  else if (key == "family") {
    if (value == "inet") e.address_family = AF_INET;
    else if (value == "inet6") e.address_family = AF_INET6;
    else if (value == "unix") e.address_family = AF_UNIX;
    else return b.error = "family must be inet, inet6 or unix", false;
  } else if (key == "url") e.url = b.keep(value);
  else if (key == "global") e.global = b.keep(value);
  else if (key == "module") e.module = b.keep(value);
  else if (key == "origin") {
    if (value == "dynamic") e.code_origin = CodeOrigin::dynamic;
    else if (value == "module") e.code_origin = CodeOrigin::module;
    else return b.error = "origin must be dynamic or module", false;
  } else if (key == "env") e.env_key = b.keep(value);
  else if (key == "attribute") e.attribute = b.keep(value);
  else if (key == "caller") e.caller_module = b.keep(value);
  else if (key == "stdlib") e.caller_in_stdlib = value == "true";
  else return b.error = "unknown field '" + key + "'", false;
  return true;
}

// The event's own arguments, in the order CPython passes them.
bool set_positional(Built& b, const std::vector<std::string>& args) {
  if (args.empty()) return true;
  const std::string_view name = b.event.name;
  const Family family = family_of(name);
  auto at = [&](std::size_t i) { return i < args.size() ? &args[i] : nullptr; };
  auto too_many = [&](std::size_t n) {
    if (args.size() <= n) return true;
    b.error = std::string(name) + " takes at most " + std::to_string(n) + " arguments here";
    return false;
  };
  if (name == "open") {
    set_field(b, "path", args[0]);
    if (at(1)) set_field(b, "mode", args[1]);
    if (at(2) && !set_field(b, "flags", args[2])) return false;
    return too_many(3);
  }
  if (name == "os.system") return set_field(b, "command", args[0]) && too_many(1);
  if (name == "subprocess.Popen" || name == "os.exec" || name == "os.posix_spawn" ||
      name == "os.spawn" || name == "pty.spawn") {
    set_field(b, "executable", args[0]);
    for (std::size_t i = 1; i < args.size(); ++i) set_field(b, "argv", args[i]);
    if (b.argv.empty()) set_field(b, "argv", args[0]);
    return true;
  }
  if (family == Family::network) {
    if (name == "urllib.Request" || name == "webbrowser.open") {
      return set_field(b, "url", args[0]) && too_many(1);
    }
    if (args[0][0] == '/' || args[0][0] == '@') {
      b.event.address_family = AF_UNIX;
      std::string path = args[0];
      if (path[0] == '@') path[0] = '\0';  // abstract socket
      set_field(b, "path", path);
      return too_many(1);
    }
    set_field(b, "host", args[0]);
    if (b.event.address_family < 0) {
      b.event.address_family = args[0].find(':') != std::string::npos ? AF_INET6 : AF_INET;
    }
    if (at(1) && !set_field(b, "port", args[1])) return false;
    return too_many(2);
  }
  if (name == "pickle.find_class") {
    if (!at(1)) return b.error = "pickle.find_class takes MODULE NAME", false;
    return set_field(b, "global", args[0] + "." + args[1]) && too_many(2);
  }
  if (name == "import") {
    set_field(b, "module", args[0]);
    if (at(1)) set_field(b, "path", args[1]);
    return too_many(2);
  }
  if (family == Family::code) return set_field(b, "origin", args[0]) && too_many(1);
  if (family == Family::env) return set_field(b, "env", args[0]) && too_many(1);
  if (name == "object.__setattr__" || name == "object.__delattr__") {
    return set_field(b, "attribute", args[0]) && too_many(1);
  }
  if (family == Family::file || family == Family::native) {
    set_field(b, "path", args[0]);
    if (at(1)) set_field(b, "path2", args[1]);
    return too_many(2);
  }
  b.error = "no argument order is known for " + std::string(name) + "; give fields as KEY=VALUE";
  return false;
}

const char* outcome_word(ExplainStep::Outcome o) {
  switch (o) {
    case ExplainStep::Outcome::not_selected: return "not selected";
    case ExplainStep::Outcome::missing_fields: return "does not apply";
    case ExplainStep::Outcome::no_match: return "no match";
    case ExplainStep::Outcome::decided: return "DECIDES";
  }
  return "?";
}

int explain(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "--event") != 0) {
    return usage("explain needs FILE --event NAME [ARG...]");
  }
  LoadResult r = load_file(argv[0]);
  std::fputs(r.report().c_str(), stderr);
  if (!r.ok()) return kExitInvalid;
  Built b;
  b.event.name = b.keep(argv[2]);
  std::vector<std::string> positional;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    std::size_t eq = arg.find('=');
    if (eq != std::string::npos && eq > 0 &&
        arg.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == eq) {
      if (!set_field(b, arg.substr(0, eq), arg.substr(eq + 1))) return usage(b.error.c_str());
    } else {
      positional.push_back(arg);
    }
  }
  if (!set_positional(b, positional)) return usage(b.error.c_str());
  if (!b.argv.empty()) {
    b.event.argv = b.argv.data();
    b.event.argc = b.argv.size();
  }
  if (b.event.cwd.data() == nullptr) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) != nullptr) b.event.cwd = b.keep(cwd);
  }
  const Policy& policy = *r.policy;
  std::printf("policy: %s (%s, mode %s, default %s)\n", policy.source().c_str(),
              policy.hash().c_str(), std::string(to_string(policy.mode())).c_str(),
              std::string(to_string(policy.default_action())).c_str());
  std::printf("event: %s (family %s)\n", argv[2],
              std::string(to_string(family_of(b.event.name))).c_str());
  Explanation ex = policy.explain(b.event);
  std::size_t unrelated = 0;
  for (const ExplainStep& step : ex.steps) {
    const Rule& rule = *step.rule;
    if (step.outcome == ExplainStep::Outcome::not_selected &&
        step.detail.rfind("'on' does not select", 0) == 0) {
      ++unrelated;  // listed as a count: they have nothing to do with this event
      continue;
    }
    std::printf("  %-14s rule '%s' (line %d%s): %s\n", outcome_word(step.outcome),
                rule.id.c_str(), rule.line,
                rule.origin.empty() ? "" : (" of " + rule.origin).c_str(), step.detail.c_str());
  }
  if (unrelated > 0) {
    std::printf("  (%zu other rule%s before the decision do not select %s)\n", unrelated,
                unrelated == 1 ? "" : "s", argv[2]);
  }
  std::printf("decision: %s\n", ex.summary.c_str());
  if (ex.decision.rule != nullptr && !ex.decision.rule->message.empty()) {
    std::printf("message: %s\n", ex.decision.rule->message.c_str());
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) return usage("no command");
    std::string_view command = argv[1];
    if (command == "check") return check(argc - 2, argv + 2);
    if (command == "explain") return explain(argc - 2, argv + 2);
    return usage("unknown command");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "auditwall-policy: internal error: %s\n", e.what());
    return 70;
  }
}
