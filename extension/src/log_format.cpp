// The event log's records: their compact form in the buffer, redaction, and JSON and text.
#include "log_format.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

namespace auditwall::log {
namespace {

// The strings of a record, in the order they are stored in the buffer.
enum : unsigned {
  kEvent, kCall, kCallerModule, kCallerFile, kPath, kOpenMode, kCwd, kPath2, kExecutable,
  kCommand, kHost, kUrl, kGlobal, kModule, kEnvKey, kExtra, kStringCount
};

// No single value may fill the buffer: each is cut here, before redaction and the final,
// shorter cut to max_arg_chars.
constexpr std::size_t kStoreMax = 4096;
constexpr std::size_t kMaxArgv = 64;

struct Head {
  std::uint32_t size;
  std::uint32_t mask;  // bit i: string i present
  std::uint32_t argc;
  std::uint8_t kind, word, mode, code_origin;
  std::int32_t pid, tid, caller_line, address_family;
  std::uint64_t seq;
  std::int64_t ts_ns, port, open_flags;
  std::uint64_t count;
  const policy::Policy* policy;
  const policy::Rule* rule;
};

std::string_view* slot(Record& r, unsigned i) {
  switch (i) {
    case kEvent: return &r.event;
    case kCall: return &r.call;
    case kCallerModule: return &r.caller_module;
    case kCallerFile: return &r.caller_file;
    case kPath: return &r.fields.path;
    case kOpenMode: return &r.fields.open_mode;
    case kCwd: return &r.fields.cwd;
    case kPath2: return &r.fields.path2;
    case kExecutable: return &r.fields.executable;
    case kCommand: return &r.fields.command;
    case kHost: return &r.fields.host;
    case kUrl: return &r.fields.url;
    case kGlobal: return &r.fields.global;
    case kModule: return &r.fields.module;
    case kEnvKey: return &r.fields.env_key;
    default: return &r.extra;
  }
}

// Longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence.
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Stored form of a string: u32 full size, u32 stored size, the stored bytes.
std::size_t stored_size(std::string_view s) { return 8 + utf8_cut(s, kStoreMax); }

char* put_string(char* out, std::string_view s) {
  const auto full = static_cast<std::uint32_t>(std::min<std::size_t>(s.size(), UINT32_MAX));
  const auto stored = static_cast<std::uint32_t>(utf8_cut(s, kStoreMax));
  std::memcpy(out, &full, sizeof full);
  std::memcpy(out + 4, &stored, sizeof stored);
  std::memcpy(out + 8, s.data(), stored);
  return out + 8 + stored;
}

std::string_view get_string(const std::string& buf, std::size_t& pos, std::uint32_t& full) {
  std::uint32_t stored;
  std::memcpy(&full, buf.data() + pos, sizeof full);
  std::memcpy(&stored, buf.data() + pos + sizeof full, sizeof stored);
  pos += sizeof full + sizeof stored;
  std::string_view s(buf.data() + pos, stored);
  pos += stored;
  return s;
}

bool iequals_glob(std::string_view glob, std::string_view name) {
  // '*' matches any run of characters; letters compare case-insensitively.
  std::size_t g = 0, n = 0, star = std::string_view::npos, mark = 0;
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  while (n < name.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (g < glob.size() && (glob[g] == '?' || lower(glob[g]) == lower(name[n]))) {
      ++g;
      ++n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_upper_name(std::string_view s) {
  if (s.size() < 2) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}
// Where a value that follows '=' or ': ' ends: at a quote, space, comma or ampersand.
bool ends_value(char c) {
  return c == '\'' || c == '"' || c == ' ' || c == ',' || c == '&' || c == ';' || c == '\n' ||
         c == '\t' || c == '}' || c == ')';
}

constexpr const char* kRedacted = "<redacted>";

const char* const kBuiltinEnvGlobs[] = {
    "*PASSWORD*", "*PASSWD*", "*SECRET*", "*TOKEN*", "*API_KEY*", "*APIKEY*", "*ACCESS_KEY*",
    "*PRIVATE_KEY*", "*CREDENTIAL*", "*AUTH*", "*SESSION*", "*COOKIE*",
};

// Characters that JSON strings hold as they are.
struct PlainTable {
  bool plain[256] = {};
  PlainTable() {
    for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  }
};
const PlainTable kPlain;
bool plain_ascii(unsigned char c) { return kPlain.plain[c]; }

void append_json_string(std::string& out, std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy runs of characters that need no escaping in one append.
    std::size_t run = i;
    while (run < s.size() && plain_ascii(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
      }
    } else {
      // Copy a well-formed UTF-8 sequence; anything else becomes U+FFFD, so that every
      // record is valid JSON whatever bytes the program used.
      std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (std::size_t k = 1; ok && k < len; ++k) {
        ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      }
      if (ok) {
        out.append(s.data() + i, len);
        i += len - 1;
      } else {
        out += "\\ufffd";
      }
    }
    ++i;
  }
  out += '"';
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  const bool negative = v < 0;
  std::uint64_t u = negative ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

// "2026-11-29T03:01:06.123456Z"; the date part is cached per second (writer thread only).
void append_timestamp(std::string& out, std::int64_t ts_ns, bool micro) {
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[24];
  const std::int64_t second = ts_ns / 1000000000;
  if (second != cached_second) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = second;
  }
  out += cached;
  // The fraction: 6 digits (microseconds) or 3 (milliseconds), then Z.
  auto sub = static_cast<std::uint32_t>(ts_ns % 1000000000) / (micro ? 1000u : 1000000u);
  char frac[9];
  const int digits = micro ? 6 : 3;
  frac[0] = '.';
  for (int k = digits; k >= 1; --k) {
    frac[k] = static_cast<char>('0' + sub % 10);
    sub /= 10;
  }
  frac[digits + 1] = 'Z';
  out.append(frac, static_cast<std::size_t>(digits + 2));
}

const char* family_of_event(std::string_view e) noexcept {
  auto starts = [&](std::string_view p) { return e.substr(0, p.size()) == p; };
  if (starts("auditwall.")) return "auditwall";
  if (e == "exec" || e == "compile" || starts("cpython.run_")) return "code";
  if (e == "pickle.find_class" || starts("marshal.")) return "deserialize";
  if (e == "os.system" || starts("os.exec") || starts("os.posix_spawn") || starts("os.spawn") ||
      e == "os.fork" || e == "os.forkpty" || e == "subprocess.Popen" || e == "pty.spawn" ||
      e == "os.startfile")
    return "process";
  if (starts("socket.") || e == "urllib.Request" || starts("http.client.") || starts("ftplib.") ||
      starts("smtplib.") || starts("imaplib.") || starts("poplib.") || starts("nntplib.") ||
      starts("telnetlib.") || e == "webbrowser.open")
    return "network";
  if (e == "import") return "import";
  if (starts("ctypes.")) return "native";
  if (e == "os.putenv" || e == "os.unsetenv") return "env";
  if (e == "sys.addaudithook" || e == "sys.settrace" || e == "sys.setprofile" ||
      e == "object.__setattr__" || e == "object.__delattr__" || e == "code.__new__" ||
      e == "function.__new__" || starts("gc.get_") || e == "sys._current_frames" ||
      e == "sys._getframe" || starts("cpython._PySys_ClearAuditHooks"))
    return "tamper";
  if (e == "open" || starts("os.") || starts("shutil.") || starts("tempfile.") ||
      starts("glob.") || starts("fcntl."))
    return "file";
  return "other";
}

const char* address_family_name(int af) {
  switch (af) {
    case 1: return "AF_UNIX";
    case 2: return "AF_INET";
    case 10: return "AF_INET6";
    default: return nullptr;
  }
}

const char* origin_name(policy::CodeOrigin o) {
  switch (o) {
    case policy::CodeOrigin::module: return "module";
    case policy::CodeOrigin::dynamic: return "dynamic";
    default: return nullptr;
  }
}

}  // namespace

const char* to_string(Word word) noexcept {
  switch (word) {
    case Word::allow: return "allow";
    case Word::deny: return "deny";
    case Word::would_deny: return "would-deny";
    case Word::log: return "log";
    case Word::kill: return "kill";
  }
  return "?";
}

std::string_view family_name(std::string_view event) noexcept {
  // Records of one event come in runs: remember the last answer (writer thread only).
  thread_local std::string last_event;
  thread_local const char* last_family = nullptr;
  if (last_family == nullptr || event != last_event) {
    last_family = family_of_event(event);
    last_event.assign(event.data(), event.size());
  }
  return last_family;
}

void encode(const Record& r, std::string& buf) {
  Head head{};
  head.kind = static_cast<std::uint8_t>(r.kind);
  head.word = static_cast<std::uint8_t>(r.word);
  head.mode = static_cast<std::uint8_t>(r.mode);
  head.code_origin = static_cast<std::uint8_t>(r.fields.code_origin);
  head.pid = r.pid;
  head.tid = r.tid;
  head.caller_line = r.caller_line;
  head.address_family = r.fields.address_family;
  head.seq = r.seq;
  head.ts_ns = r.ts_ns;
  head.port = r.fields.port;
  head.open_flags = r.fields.open_flags;
  head.count = r.count;
  head.policy = r.policy;
  head.rule = r.rule;
  const std::size_t argc = r.fields.argv != nullptr ? std::min(r.fields.argc, kMaxArgv) : 0;
  head.argc = static_cast<std::uint32_t>(argc);
  // One resize, then plain copies: this runs on the thread that raised the event.
  const std::string_view views[kStringCount] = {
      r.event, r.call, r.caller_module, r.caller_file, r.fields.path, r.fields.open_mode,
      r.fields.cwd, r.fields.path2, r.fields.executable, r.fields.command, r.fields.host,
      r.fields.url, r.fields.global, r.fields.module, r.fields.env_key, r.extra};
  std::size_t size = sizeof head;
  for (unsigned i = 0; i < kStringCount; ++i) {
    if (views[i].data() != nullptr) {
      head.mask |= 1u << i;
      size += stored_size(views[i]);
    }
  }
  for (std::size_t i = 0; i < argc; ++i) size += stored_size(r.fields.argv[i]);
  head.size = static_cast<std::uint32_t>(size);
  const std::size_t start = buf.size();
  buf.resize(start + size);
  char* out = &buf[start];
  std::memcpy(out, &head, sizeof head);
  out += sizeof head;
  for (unsigned i = 0; i < kStringCount; ++i) {
    if (head.mask & (1u << i)) out = put_string(out, views[i]);
  }
  for (std::size_t i = 0; i < argc; ++i) out = put_string(out, r.fields.argv[i]);
}

Record decode(const std::string& buf, std::size_t& pos) {
  Head head;
  std::memcpy(&head, buf.data() + pos, sizeof head);
  const std::size_t end = pos + head.size;
  pos += sizeof head;
  Record r;
  r.kind = static_cast<Kind>(head.kind);
  r.word = static_cast<Word>(head.word);
  r.mode = static_cast<policy::Mode>(head.mode);
  r.fields.code_origin = static_cast<policy::CodeOrigin>(head.code_origin);
  r.pid = head.pid;
  r.tid = head.tid;
  r.caller_line = head.caller_line;
  r.fields.address_family = head.address_family;
  r.seq = head.seq;
  r.ts_ns = head.ts_ns;
  r.fields.port = head.port;
  r.fields.open_flags = head.open_flags;
  r.count = head.count;
  r.policy = head.policy;
  r.rule = head.rule;
  std::uint32_t full = 0;
  for (unsigned i = 0; i < kStringCount; ++i) {
    if (head.mask & (1u << i)) {
      *slot(r, i) = get_string(buf, pos, full);
      if (full > slot(r, i)->size()) r.cut_mask |= 1u << i;
    }
  }
  r.argv.reserve(head.argc);
  for (std::uint32_t i = 0; i < head.argc; ++i) {
    r.argv.push_back(get_string(buf, pos, full));
    if (full > r.argv.back().size()) r.cut_mask |= 1u << kStringCount;
  }
  pos = end;
  return r;
}

bool Redactor::init(const std::vector<std::string>& extra_env,
                    const std::vector<std::string>& extra, std::size_t max, std::string& error) {
  env_globs.assign(std::begin(kBuiltinEnvGlobs), std::end(kBuiltinEnvGlobs));
  env_globs.insert(env_globs.end(), extra_env.begin(), extra_env.end());
  patterns.clear();
  max_chars = max;
  for (const auto& p : extra) {
    try {
      patterns.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      error = "bad redaction pattern '" + p + "': " + e.what();
      return false;
    }
  }
  return true;
}

std::string_view Redactor::view(std::string_view value, bool was_cut, bool process,
                                std::string& scratch) const {
  // Most values (paths, module names) hold nothing a rule could hide: no copy for them.
  // Every built-in rule needs a ':' (URLs, NAME: VALUE) or an '=' (NAME=VALUE).
  if (!was_cut && value.size() <= max_chars && patterns.empty() &&
      std::memchr(value.data(), ':', value.size()) == nullptr &&
      std::memchr(value.data(), '=', value.size()) == nullptr) {
    return value;
  }
  scratch = apply(value, was_cut, process);
  return scratch;
}

std::string Redactor::apply(std::string_view value, bool was_cut, bool process) const {
  std::string out;
  out.reserve(value.size());
  std::size_t i = 0;
  while (i < value.size()) {
    // Credentials in a URL: scheme://user:PASSWORD@host
    if (value.compare(i, 3, "://") == 0) {
      out += "://";
      i += 3;
      std::size_t j = i;
      while (j < value.size() && value[j] != '/' && value[j] != '@' && value[j] != ' ' &&
             value[j] != '\'' && value[j] != '"')
        ++j;
      const std::size_t colon = value.substr(i, j - i).find(':');
      const bool at = j < value.size() && value[j] == '@';
      // A value cut before the '@' may still hold the start of a password: hide the rest.
      const bool cut_inside = was_cut && j == value.size() && colon != std::string_view::npos;
      if ((at || cut_inside) && colon != std::string_view::npos) {
        out.append(value.substr(i, colon + 1));
        out += kRedacted;
        i = j;
      }
      continue;
    }
    // NAME=VALUE or NAME: VALUE where NAME is a secret's name; in process events, every
    // upper-case NAME=VALUE (an environment assignment on a command line).
    if (is_name_start(value[i]) && (i == 0 || !is_name_char(value[i - 1]))) {
      std::size_t j = i;
      while (j < value.size() && (is_name_char(value[j]) || value[j] == '-')) ++j;
      const std::string_view name = value.substr(i, j - i);
      std::size_t v = std::string_view::npos;
      if (j < value.size() && value[j] == '=') {
        v = j + 1;
      } else if (j + 1 < value.size() && value[j] == ':' && value[j + 1] == ' ') {
        v = j + 2;
      } else if (j + 3 < value.size() && value[j] == '\'' && value.compare(j, 3, "': ") == 0) {
        v = j + 3;  // a dict's repr: {'TOKEN': 'value'}
      }
      if (v != std::string_view::npos) {
        bool secret = process && is_upper_name(name);
        for (const auto& g : env_globs) {
          if (secret) break;
          secret = iequals_glob(g, name);
        }
        if (secret) {
          out.append(value.substr(i, v - i));
          std::size_t k = v;
          if (k < value.size() && (value[k] == '\'' || value[k] == '"')) {
            const char quote = value[k];
            out += quote;
            ++k;
            while (k < value.size() && value[k] != quote) ++k;
          } else {
            // "Bearer TOKEN": an authorization scheme word keeps the secret after it.
            std::size_t word = k;
            while (word < value.size() && std::isalpha(static_cast<unsigned char>(value[word]))) ++word;
            const std::string_view scheme = value.substr(k, word - k);
            if (word < value.size() && value[word] == ' ' &&
                (scheme == "Bearer" || scheme == "Basic" || scheme == "Token" || scheme == "bearer")) {
              out.append(scheme);
              out += ' ';
              k = word + 1;
            }
            while (k < value.size() && !ends_value(value[k])) ++k;
          }
          out += kRedacted;
          i = k;
          continue;
        }
      }
      out.append(name);
      i = j;
      continue;
    }
    out += value[i++];
  }
  for (const auto& re : patterns) out = std::regex_replace(out, re, kRedacted);
  if (out.size() > max_chars || was_cut) {
    const std::size_t keep = utf8_cut(out, max_chars);
    out.resize(keep);
    out += "...(cut)";
  }
  return out;
}

namespace {

struct FieldWriter {
  std::string& out;
  const Redactor& redactor;
  bool process;
  std::uint32_t cut_mask;
  bool first = true;
  std::string scratch = {};

  void key(const char* k) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
  }
  void text(const char* k, std::string_view v, unsigned index) {
    if (v.data() == nullptr) return;
    key(k);
    append_json_string(out, redactor.view(v, (cut_mask >> index) & 1u, process, scratch));
  }
  void number(const char* k, std::int64_t v) {
    if (v < 0) return;
    key(k);
    append_int(out, v);
  }
};

void append_args(const Record& r, const Redactor& redactor, bool process, std::string& out) {
  FieldWriter w{out, redactor, process, r.cut_mask};
  out += '{';
  if (r.kind == Kind::dropped) {
    w.key("event");
    append_json_string(out, r.event);
    w.key("dropped");
    append_int(out, static_cast<std::int64_t>(r.count));
  } else if (r.kind == Kind::summary) {
    out.append(r.extra.substr(1, r.extra.size() - 2));  // preformatted {"rules":...}
  } else {
    const auto& f = r.fields;
    w.text("call", r.call, kCall);
    w.text("path", f.path, kPath);
    w.text("open_mode", f.open_mode, kOpenMode);
    w.number("flags", f.open_flags);
    w.text("cwd", f.cwd, kCwd);
    w.text("path2", f.path2, kPath2);
    w.text("executable", f.executable, kExecutable);
    if (!r.argv.empty()) {
      w.key("argv");
      out += '[';
      for (std::size_t i = 0; i < r.argv.size(); ++i) {
        if (i > 0) out += ',';
        append_json_string(out, redactor.view(r.argv[i], (r.cut_mask >> kStringCount) & 1u,
                                              process, w.scratch));
      }
      out += ']';
    }
    w.text("command", f.command, kCommand);
    w.text("host", f.host, kHost);
    w.number("port", f.port);
    if (const char* af = address_family_name(f.address_family)) {
      w.key("address_family");
      append_json_string(out, af);
    }
    w.text("url", f.url, kUrl);
    w.text("global", f.global, kGlobal);
    w.text("module", f.module, kModule);
    if (const char* o = origin_name(f.code_origin)) {
      w.key("code_origin");
      append_json_string(out, o);
    }
    w.text("env_key", f.env_key, kEnvKey);
  }
  out += '}';
}

}  // namespace

void format_json(const Record& r, const Redactor& redactor, std::string& out) {
  out += "{\"schema\":";
  append_int(out, kSchemaVersion);
  out += ",\"ts\":\"";
  append_timestamp(out, r.ts_ns, true);
  out += "\",\"seq\":";
  append_int(out, static_cast<std::int64_t>(r.seq));
  out += ",\"pid\":";
  append_int(out, r.pid);
  out += ",\"tid\":";
  append_int(out, r.tid);
  out += ",\"event\":";
  // A rate-limit note names the event it counts in its args; its own event is auditwall's.
  const std::string_view event = r.kind == Kind::dropped ? "auditwall.rate-limit" : r.event;
  append_json_string(out, event);
  out += ",\"family\":\"";
  const std::string_view family = family_name(event);
  out += family;
  out += '"';
  out += ",\"decision\":\"";
  out += to_string(r.word);
  out += "\",\"rule\":";
  if (r.rule != nullptr) {
    append_json_string(out, r.rule->id);
  } else {
    out += "null";
  }
  out += ",\"mode\":\"";
  out += r.mode == policy::Mode::monitor ? "monitor" : "enforce";
  out += "\",\"args\":";
  append_args(r, redactor, family == "process", out);
  out += ",\"caller\":";
  if (r.caller_module.empty() && r.caller_file.empty()) {
    out += "null";
  } else {
    out += "{\"module\":";
    append_json_string(out, r.caller_module);
    out += ",\"file\":";
    std::string scratch;
    append_json_string(out, redactor.view(r.caller_file, false, false, scratch));
    out += ",\"line\":";
    append_int(out, r.caller_line);
    out += '}';
  }
  out += ",\"policy\":";
  if (r.policy != nullptr) {
    append_json_string(out, r.policy->hash());
  } else {
    out += "null";
  }
  out += '}';
}

void format_text(const Record& r, const Redactor& redactor, bool color, std::string& out) {
  const char* paint = "";
  switch (r.word) {
    case Word::deny:
    case Word::kill: paint = "\033[1;31m"; break;
    case Word::would_deny: paint = "\033[1;33m"; break;
    case Word::log: paint = "\033[36m"; break;
    case Word::allow: paint = "\033[32m"; break;
  }
  if (r.kind != Kind::decision) paint = "\033[35m";
  const char* dim = color ? "\033[2m" : "";
  const char* reset = color ? "\033[0m" : "";
  out += dim;
  append_timestamp(out, r.ts_ns, false);
  out += " auditwall[";
  append_int(out, r.pid);
  out += "]";
  out += reset;
  out += ' ';
  if (color) out += paint;
  std::string word = r.kind == Kind::decision ? to_string(r.word) : "note";
  for (auto& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += word;
  out += reset;
  out += ' ';
  const bool process = family_name(r.event) == "process";
  if (r.kind == Kind::dropped) {
    out += "dropped ";
    append_int(out, static_cast<std::int64_t>(r.count));
    out += " more records like the last of ";
    out += r.event;
  } else if (r.kind == Kind::summary) {
    out += "summary ";
    out += r.extra;
  } else if (r.call.data() != nullptr) {
    out += redactor.apply(r.call, (r.cut_mask >> kCall) & 1u, process);
  } else {
    out += r.event;
  }
  out += dim;
  out += " rule=";
  out += r.rule != nullptr ? std::string_view(r.rule->id) : std::string_view("(default)");
  out += " mode=";
  out += r.mode == policy::Mode::monitor ? "monitor" : "enforce";
  if (!r.caller_module.empty() || !r.caller_file.empty()) {
    out += " caller=";
    out += r.caller_module;
    out += " (";
    out += redactor.apply(r.caller_file, false, false);
    out += ':';
    append_int(out, r.caller_line);
    out += ')';
  }
  out += reset;
}

}  // namespace auditwall::log
