// Evaluating a rule's `match` tree against an Event, normalising each field first.
#include "matcher.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "glob.hpp"

namespace auditwall::policy {
namespace {

bool present(std::string_view s) noexcept { return s.data() != nullptr; }

}  // namespace

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

UrlParts split_url(std::string_view url) noexcept {
  UrlParts parts;
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return parts;
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view netloc = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = netloc.rfind('@'); at != std::string_view::npos) {
    netloc = netloc.substr(at + 1);
  }
  std::string_view host = netloc;
  std::string_view port;
  if (!netloc.empty() && netloc[0] == '[') {
    std::size_t close = netloc.find(']');
    if (close != std::string_view::npos) {
      host = netloc.substr(0, close + 1);
      if (close + 1 < netloc.size() && netloc[close + 1] == ':') port = netloc.substr(close + 2);
    }
  } else if (std::size_t colon = netloc.rfind(':'); colon != std::string_view::npos) {
    host = netloc.substr(0, colon);
    port = netloc.substr(colon + 1);
  }
  parts.host = host;
  if (!port.empty() && port.size() <= 5) {
    int value = 0;
    bool digits = true;
    for (char c : port) {
      if (c < '0' || c > '9') digits = false;
      value = value * 10 + (c - '0');
    }
    if (digits && value <= 65535) parts.port = value;
  } else if (port.empty()) {
    auto is = [&](std::string_view s) {
      if (scheme.size() != s.size()) return false;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (lower(scheme[i]) != s[i]) return false;
      }
      return true;
    };
    if (is("http") || is("ws")) parts.port = 80;
    if (is("https") || is("wss")) parts.port = 443;
    if (is("ftp")) parts.port = 21;
  }
  return parts;
}

std::string_view Facts::host() noexcept {
  url();
  return present(event_.host) ? event_.host : url_.host;
}

int Facts::port() noexcept {
  if (event_.port >= 0) return static_cast<int>(event_.port);
  url();
  return url_.port;
}

bool Facts::unix_socket() const noexcept {
  return event_.address_family == AF_UNIX && present(event_.path);
}

const std::array<std::uint8_t, 16>* Facts::address() noexcept {
  if (!address_done_) {
    address_done_ = true;
    std::string_view h = host();
    address_ok_ = !unix_socket() && present(h) && parse_address(h, address_);
  }
  return address_ok_ ? &address_ : nullptr;
}

int Facts::path(int which, std::string_view& out) noexcept {
  std::string_view raw = which == 0 ? event_.path : event_.path2;
  if (!present(raw)) return 0;
  if (state_[which] == 0) {
    state_[which] =
        normalise_path(raw, event_.cwd, buffers_[which], sizeof buffers_[which], paths_[which])
            ? 1
            : 2;
  }
  out = paths_[which];
  return state_[which];
}

void Facts::url() noexcept {
  if (!url_done_) {
    url_done_ = true;
    if (present(event_.url)) url_ = split_url(event_.url);
  }
}

bool Facts::carries(unsigned fields) noexcept {
  const Event& e = event_;
  for (unsigned bit = 1; bit != 0 && bit <= fields; bit <<= 1) {
    if ((fields & bit) == 0) continue;
    bool has = false;
    switch (static_cast<Field>(bit)) {
      case kFieldPath: has = present(e.path); break;
      case kFieldAccess: has = access_of(e) != 0; break;
      case kFieldExecutable: has = present(e.executable); break;
      case kFieldArgv: has = e.argv != nullptr; break;
      case kFieldProcess:
        has = present(e.executable) || e.argv != nullptr || present(e.command);
        break;
      case kFieldCommand: {
        std::string_view cmd;
        has = present(e.command) || (shell_invocation(e, cmd) && present(cmd));
        break;
      }
      case kFieldAddress: has = address() != nullptr; break;
      case kFieldHost: has = present(host()); break;
      case kFieldPort: has = port() >= 0; break;
      case kFieldUnix: has = unix_socket(); break;
      case kFieldGlobal: has = present(e.global); break;
      case kFieldModule: has = present(e.module); break;
      case kFieldCaller: has = present(e.caller_module); break;
      case kFieldOrigin: has = e.code_origin != CodeOrigin::unknown; break;
      case kFieldEnv: has = present(e.env_key); break;
      case kFieldAttribute: has = present(e.attribute); break;
    }
    if (!has) return false;
  }
  return true;
}

namespace {

bool any_glob(const std::vector<std::string>& patterns, std::string_view text) noexcept {
  for (const std::string& p : patterns) {
    if (glob_match(p, text)) return true;
  }
  return false;
}

bool in_cidr(const Cidr& cidr, const std::array<std::uint8_t, 16>& a) noexcept {
  int bits = cidr.prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((a[i] & mask) != (cidr.address[i] & mask)) return false;
  }
  return true;
}

// Host names compare without case and without a trailing dot ("Example.COM." is example.com).
bool host_matches(const std::vector<std::string>& patterns, std::string_view host) noexcept {
  char buffer[256];
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() > sizeof buffer) return false;  // longer than any DNS name
  for (std::size_t i = 0; i < host.size(); ++i) buffer[i] = lower(host[i]);
  return any_glob(patterns, std::string_view(buffer, host.size()));
}

bool path_matches(const Matcher& m, Facts& facts, bool lenient) noexcept {
  // Each path of the event is checked; a path too long to normalise counts as matching for a
  // restricting rule and as not matching for an allowing one (fail closed both ways).
  int checked = 0, hits = 0;
  for (int which = 0; which < 2; ++which) {
    std::string_view path;
    int state = facts.path(which, path);
    if (state == 0) continue;
    ++checked;
    bool hit = state == 2 ? lenient : false;
    if (state == 1) {
      for (const std::string& p : m.patterns) {
        if (path_glob_match(p, path)) {
          hit = true;
          break;
        }
      }
    }
    hits += hit ? 1 : 0;
  }
  return lenient ? hits > 0 : (checked > 0 && hits == checked);
}

bool evaluate(const Matcher& m, Facts& facts, bool lenient) noexcept {
  const Event& e = facts.event();
  switch (m.kind) {
    case Matcher::Kind::all:
      for (const Matcher& c : m.children) {
        if (!evaluate(c, facts, lenient)) return false;
      }
      return true;
    case Matcher::Kind::any:
      for (const Matcher& c : m.children) {
        if (evaluate(c, facts, lenient)) return true;
      }
      return false;
    case Matcher::Kind::negate:
      // Under `not` a match releases rather than restricts, so the polarity flips.
      return !evaluate(m.children[0], facts, !lenient);
    case Matcher::Kind::path:
      return path_matches(m, facts, lenient);
    case Matcher::Kind::access:
      return (access_of(e) & m.access) != 0;
    case Matcher::Kind::executable: {
      char buffer[4096];
      std::string_view path;
      std::string_view exe = e.executable;
      if (!normalise_path(exe, std::string_view(), buffer, sizeof buffer, path)) return lenient;
      std::string_view base = path.substr(path.rfind('/') + 1);
      for (const std::string& p : m.patterns) {
        // A pattern without '/' is a file name; with '/', the whole normalised path.
        const bool full = p.find('/') != std::string::npos;
        if (full ? (exe.find('/') != std::string_view::npos && glob_match(p, path))
                 : glob_match(p, base)) {
          return true;
        }
      }
      return false;
    }
    case Matcher::Kind::argv:
      for (std::size_t i = 0; i < e.argc; ++i) {
        if (any_glob(m.patterns, e.argv[i])) return true;
      }
      return false;
    case Matcher::Kind::command: {
      std::string_view cmd = e.command;
      if (!present(cmd)) shell_invocation(e, cmd);
      return present(cmd) && any_glob(m.patterns, cmd);
    }
    case Matcher::Kind::shell: {
      std::string_view cmd;
      return shell_invocation(e, cmd) == m.flag;
    }
    case Matcher::Kind::address: {
      const auto* a = facts.address();
      if (a == nullptr) return false;
      for (const Cidr& c : m.cidrs) {
        if (in_cidr(c, *a)) return true;
      }
      return false;
    }
    case Matcher::Kind::host:
      return host_matches(m.patterns, facts.host());
    case Matcher::Kind::port: {
      const int port = facts.port();
      for (const PortRange& r : m.ports) {
        if (r.low <= port && port <= r.high) return true;
      }
      return false;
    }
    case Matcher::Kind::unix_path: {
      // Abstract sockets (a leading NUL byte) are written with a leading '@'.
      std::string_view p = e.path;
      char buffer[256];
      if (!p.empty() && p[0] == '\0') {
        if (p.size() > sizeof buffer) return lenient;
        buffer[0] = '@';
        std::memcpy(buffer + 1, p.data() + 1, p.size() - 1);
        return any_glob(m.patterns, std::string_view(buffer, p.size()));
      }
      std::string_view path;
      int state = facts.path(0, path);
      if (state != 1) return lenient;
      for (const std::string& pattern : m.patterns) {
        if (pattern[0] == '/' ? path_glob_match(pattern, path) : false) return true;
      }
      return false;
    }
    case Matcher::Kind::global:
      return any_glob(m.patterns, e.global);
    case Matcher::Kind::module:
      return any_glob(m.patterns, e.module);
    case Matcher::Kind::caller:
      return (m.flag && e.caller_in_stdlib) || any_glob(m.patterns, e.caller_module);
    case Matcher::Kind::origin:
      return e.code_origin == m.origin;
    case Matcher::Kind::env:
      return any_glob(m.patterns, e.env_key);
    case Matcher::Kind::attribute:
      return any_glob(m.patterns, e.attribute);
  }
  return false;
}

// Shells, by file name; a trailing version ("bash5.2") is ignored.
bool is_shell_name(std::string_view name) noexcept {
  while (!name.empty() && ((name.back() >= '0' && name.back() <= '9') || name.back() == '.')) {
    name.remove_suffix(1);
  }
  for (std::string_view s : {"sh", "bash", "dash", "zsh", "ksh", "mksh", "pdksh", "ash", "csh",
                             "tcsh", "fish", "yash", "posh", "rbash", "oksh", "loksh"}) {
    if (name == s) return true;
  }
  return false;
}

// Programs that run another program named in their arguments.
bool is_wrapper_name(std::string_view name) noexcept {
  for (std::string_view s : {"env", "nice", "nohup", "setsid", "stdbuf", "timeout", "busybox",
                             "sudo", "doas", "ionice", "chrt", "taskset", "unshare", "xargs",
                             "exec", "command", "time", "flock"}) {
    if (name == s) return true;
  }
  return false;
}

std::string_view base_name(std::string_view path) noexcept {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool shell_invocation(const Event& e, std::string_view& command) noexcept {
  command = std::string_view();
  if (present(e.command)) {
    command = e.command;
    return true;
  }
  std::string_view program = present(e.executable) ? e.executable
                             : (e.argv != nullptr && e.argc > 0) ? e.argv[0]
                                                                 : std::string_view();
  if (!present(program)) return false;
  std::size_t i = 1;  // the next argument to look at
  std::string_view name = base_name(program);
  // Skip wrappers (env VAR=x nice -n 5 sh -c ...): their options, assignments and numbers.
  for (int hops = 0; is_wrapper_name(name) && hops < 8; ++hops) {
    if (e.argv == nullptr) return false;
    while (i < e.argc) {
      std::string_view a = e.argv[i];
      // "5", "2.5s", "1m": priorities and durations of nice and timeout
      bool numeric = !a.empty() && a[0] >= '0' && a[0] <= '9' &&
                     a.find_first_not_of("0123456789.smhd") == std::string_view::npos;
      if (a.empty() || a[0] == '-' || a.find('=') != std::string_view::npos || numeric) {
        ++i;
      } else {
        break;
      }
    }
    if (i >= e.argc) return false;
    name = base_name(e.argv[i]);
    ++i;
  }
  if (!is_shell_name(name)) return false;
  // Find -c in any option group (-c, -ec, -lc, -xec) or fish's --command; the command is the
  // first argument after the options.
  if (e.argv == nullptr) return true;
  bool with_c = false;
  for (; i < e.argc; ++i) {
    std::string_view a = e.argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.rfind("--command=", 0) == 0) {
      command = a.substr(10);
      return true;
    }
    if (a == "--command") {
      with_c = true;
      continue;
    }
    if (a.size() < 2 || (a[0] != '-' && a[0] != '+')) break;
    if (a[0] == '-' && a[1] != '-' && a.find('c') != std::string_view::npos) with_c = true;
    if (a == "-o" || a == "+o" || a == "-O" || a == "+O") ++i;  // takes an option name
  }
  if (with_c && i < e.argc) command = e.argv[i];
  return true;
}

bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept {
  char buffer[64];
  if (!text.empty() && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (std::memchr(buffer, '\0', text.size()) != nullptr) return false;
  if (std::memchr(buffer, ':', text.size()) != nullptr) {
    if (char* zone = std::strchr(buffer, '%')) *zone = '\0';  // fe80::1%eth0
    in6_addr a6;
    if (inet_pton(AF_INET6, buffer, &a6) != 1) return false;
    std::memcpy(out.data(), &a6, 16);
    return true;
  }
  // inet_aton takes every spelling the C library's resolver takes for a numeric address:
  // 127.1, 2130706433, 0x7f000001, 0177.0.0.1. It stops at white space, as the resolver does.
  in_addr a4;
  if (inet_aton(buffer, &a4) == 0) return false;
  out = {};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out.data() + 12, &a4, 4);
  return true;
}

bool parse_cidr(std::string_view text, Cidr& out) noexcept {
  std::size_t slash = text.find('/');
  std::string_view address = text.substr(0, slash);
  char buffer[64];
  if (address.empty() || address.size() >= sizeof buffer) return false;
  std::memcpy(buffer, address.data(), address.size());
  buffer[address.size()] = '\0';
  // Networks are written in the canonical forms only: dotted quads and RFC 4291 IPv6.
  const bool v6 = address.find(':') != std::string_view::npos;
  if (v6) {
    in6_addr a6;
    if (inet_pton(AF_INET6, buffer, &a6) != 1) return false;
    std::memcpy(out.address.data(), &a6, 16);
  } else {
    in_addr a4;
    if (inet_pton(AF_INET, buffer, &a4) != 1) return false;
    out.address = {};
    out.address[10] = 0xff;
    out.address[11] = 0xff;
    std::memcpy(out.address.data() + 12, &a4, 4);
  }
  const int max = v6 ? 128 : 32;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return false;
  }
  out.prefix = v6 ? prefix : 96 + prefix;
  return true;
}

bool normalise_path(std::string_view path, std::string_view cwd, char* buffer, std::size_t size,
                    std::string_view& out) noexcept {
  // The kernel stops at a NUL byte; so does the comparison.
  if (std::size_t nul = path.find('\0'); nul != std::string_view::npos) path = path.substr(0, nul);
  std::size_t len = 0;
  buffer[len++] = '/';
  auto add = [&](std::string_view text) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t end = text.find('/', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view seg = text.substr(pos, end - pos);
      pos = end + 1;
      if (seg.empty() || seg == ".") continue;
      if (seg == "..") {
        // Drop the last segment, never going above "/".
        while (len > 1 && buffer[len - 1] != '/') --len;
        if (len > 1) --len;
        continue;
      }
      if (len + (len > 1 ? 1 : 0) + seg.size() > size) return false;
      if (len > 1) buffer[len++] = '/';
      std::memcpy(buffer + len, seg.data(), seg.size());
      len += seg.size();
    }
    return true;
  };
  if (path.empty() || path[0] != '/') {
    if (!add(cwd)) return false;
  }
  if (!add(path)) return false;
  out = std::string_view(buffer, len);
  return true;
}

bool matcher_matches(const Matcher& matcher, Facts& facts, bool lenient) noexcept {
  return facts.carries(matcher.fields) && evaluate(matcher, facts, lenient);
}

namespace {

constexpr std::pair<unsigned, std::string_view> kFieldNames[] = {
    {kFieldPath, "path"},         {kFieldAccess, "access kind"},
    {kFieldExecutable, "executable"}, {kFieldArgv, "argv"},
    {kFieldCommand, "shell command"}, {kFieldProcess, "process"},
    {kFieldAddress, "numeric address"}, {kFieldHost, "host"},
    {kFieldPort, "port"},         {kFieldUnix, "AF_UNIX path"},
    {kFieldGlobal, "pickle global"}, {kFieldModule, "module"},
    {kFieldCaller, "caller"},     {kFieldOrigin, "code origin"},
    {kFieldEnv, "environment variable"}, {kFieldAttribute, "attribute"},
};

std::string_view kind_name(Matcher::Kind kind) {
  using Kind = Matcher::Kind;
  switch (kind) {
    case Kind::all: return "all";
    case Kind::any: return "any";
    case Kind::negate: return "not";
    case Kind::path: return "path";
    case Kind::access: return "access";
    case Kind::executable: return "executable";
    case Kind::argv: return "argv";
    case Kind::command: return "command";
    case Kind::shell: return "shell";
    case Kind::address: return "address";
    case Kind::host: return "host";
    case Kind::port: return "port";
    case Kind::unix_path: return "unix";
    case Kind::global: return "global";
    case Kind::module: return "module";
    case Kind::caller: return "caller";
    case Kind::origin: return "origin";
    case Kind::env: return "env";
    case Kind::attribute: return "attribute";
  }
  return "?";
}

}  // namespace

std::string missing_fields(unsigned fields, Facts& facts) {
  std::string out;
  for (const auto& [bit, name] : kFieldNames) {
    if ((fields & bit) && !facts.carries(bit)) {
      if (!out.empty()) out += ", ";
      out += name;
    }
  }
  return out;
}

std::string failing_key(const Matcher& matcher, Facts& facts, bool lenient) {
  if (matcher.kind == Matcher::Kind::all) {
    for (const Matcher& c : matcher.children) {
      if (!evaluate(c, facts, lenient)) return std::string(kind_name(c.kind));
    }
    return std::string();
  }
  return evaluate(matcher, facts, lenient) ? std::string() : std::string(kind_name(matcher.kind));
}

bool matcher_uses_caller(const Matcher& matcher) noexcept {
  if (matcher.kind == Matcher::Kind::caller) return true;
  for (const Matcher& c : matcher.children) {
    if (matcher_uses_caller(c)) return true;
  }
  return false;
}

}  // namespace auditwall::policy
