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
// How far past the cut (max_arg_chars) the redaction rules read a value.
constexpr std::size_t kLookAhead = 256;
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
inline char* put_string(char* out, std::string_view s) {
  const auto full = static_cast<std::uint32_t>(std::min<std::size_t>(s.size(), UINT32_MAX));
  const auto stored = static_cast<std::uint32_t>(
      __builtin_expect(s.size() <= kStoreMax, 1) ? s.size() : utf8_cut(s, kStoreMax));
  const std::uint64_t sizes = full | static_cast<std::uint64_t>(stored) << 32;
  std::memcpy(out, &sizes, sizeof sizes);
  std::memcpy(out + 8, s.data(), stored);
  return out + 8 + stored;
}

std::string_view get_string(const char* buf, std::size_t& pos, std::uint32_t& full) {
  std::uint32_t stored;
  std::memcpy(&full, buf + pos, sizeof full);
  std::memcpy(&stored, buf + pos + sizeof full, sizeof stored);
  pos += sizeof full + sizeof stored;
  std::string_view s(buf + pos, stored);
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

// Writes into a Bytes buffer through a plain pointer; need(n) makes room for n more bytes.
class Out {
 public:
  explicit Out(Bytes& bytes) : bytes_(bytes), p_(bytes.reserve_more(0)), end_(bytes.limit()) {}
  ~Out() { bytes_.commit(p_); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  // Room for `n` bytes at the returned pointer; written() then says where the writing ended.
  char* need(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) {
      bytes_.commit(p_);
      p_ = bytes_.reserve_more(n);
      end_ = bytes_.limit();
    }
    return p_;
  }
  void written(char* end) { p_ = end; }
  void put(char c) {
    need(1);
    *p_++ = c;
  }
  void raw(std::string_view s) {
    std::memcpy(need(s.size()), s.data(), s.size());
    p_ += s.size();
  }
  // A string literal: its size is known here, so the copy is a few moves, not a call.
  template <std::size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(need(N - 1), s, N - 1);
    p_ += N - 1;
  }

 private:
  Bytes& bytes_;
  char* p_;
  char* end_;
};

// Characters that JSON strings hold as they are.
struct PlainTable {
  bool plain[256] = {};
  PlainTable() {
    for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  }
};
const PlainTable kPlain;

// True when one of the 8 bytes in `x` is not plain: a control character, '"', '\\', DEL or
// any byte of a multi-byte UTF-8 sequence. (May say true for a plain word; never false for
// one that is not.)
inline bool special8(std::uint64_t x) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  const std::uint64_t control = (x - ones * 0x20) & ~x;
  const std::uint64_t q = x ^ (ones * '"');
  const std::uint64_t quote = (q - ones) & ~q;
  const std::uint64_t b = x ^ (ones * '\\');
  const std::uint64_t backslash = (b - ones) & ~b;
  const std::uint64_t del_or_high = x | (x + ones);
  return ((control | quote | backslash | del_or_high) & high) != 0;
}

void json_string(Out& out, std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  // At most 6 output bytes per input byte (\u00XX, \ufffd), and the quotes.
  char* p = out.need(s.size() * 6 + 2);
  *p++ = '"';
  const char* i = s.data();
  const char* const end = i + s.size();
  while (i < end) {
    // Eight plain characters at a time, the common case.
    if (end - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, i, 8);
      if (!special8(word)) {
        std::memcpy(p, i, 8);
        p += 8;
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(*i);
    if (kPlain.plain[c]) {
      *p++ = static_cast<char>(c);
    } else if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      *p++ = '\\';
      switch (c) {
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
          std::memcpy(p, "u00", 3);
          p[3] = kHex[c >> 4];
          p[4] = kHex[c & 15];
          p += 5;
      }
    } else {
      // Copy a well-formed UTF-8 sequence; anything else becomes U+FFFD, so that every
      // record is valid JSON whatever bytes the program used.
      const std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      bool ok = len > 0 && len <= static_cast<std::size_t>(end - i);
      for (std::size_t k = 1; ok && k < len; ++k) {
        ok = (static_cast<unsigned char>(i[k]) & 0xC0) == 0x80;
      }
      if (ok) {
        std::memcpy(p, i, len);
        p += len;
        i += len - 1;
      } else {
        std::memcpy(p, "\\ufffd", 6);
        p += 6;
      }
    }
    ++i;
  }
  *p++ = '"';
  out.written(p);
}

// "00" "01" ... "99": two digits per division.
struct DigitPairs {
  char pairs[200];
  DigitPairs() {
    for (int i = 0; i < 100; ++i) {
      pairs[2 * i] = static_cast<char>('0' + i / 10);
      pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
  }
};
const DigitPairs kDigits;

void write_int(Out& out, std::int64_t v) {
  char buf[24];
  char* const end = buf + sizeof buf;
  char* q = end;
  const bool negative = v < 0;
  std::uint64_t u = negative ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  while (u >= 100) {
    q -= 2;
    std::memcpy(q, kDigits.pairs + (u % 100) * 2, 2);
    u /= 100;
  }
  if (u >= 10) {
    q -= 2;
    std::memcpy(q, kDigits.pairs + u * 2, 2);
  } else {
    *--q = static_cast<char>('0' + u);
  }
  if (negative) *--q = '-';
  out.raw(std::string_view(q, static_cast<std::size_t>(end - q)));
}

// Writes the fraction of a second, `digits` digits of it, then 'Z'.
void write_fraction(Out& out, std::int64_t ts_ns, int digits) {
  auto sub = static_cast<std::uint32_t>(ts_ns % 1000000000);
  for (int k = digits; k < 9; ++k) sub /= 10;
  char* p = out.need(static_cast<std::size_t>(digits) + 1);
  for (int k = digits - 1; k >= 0; --k) {
    p[k] = static_cast<char>('0' + sub % 10);
    sub /= 10;
  }
  p[digits] = 'Z';
  out.written(p + digits + 1);
}

// "2026-11-29T03:01:06." for the second of `ts_ns`.
std::string second_prefix(std::int64_t ts_ns) {
  std::time_t t = static_cast<std::time_t>(ts_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.", &tm);
  return std::string(text, n);
}

// The policy family, from the policy library's catalogue (the one table of event families),
// and the families of auditwall's own records.
std::string_view family_of_event(std::string_view e) noexcept {
  if (e.substr(0, 10) == "auditwall.") return "auditwall";
  if (e.substr(0, 8) == "syscall.") return "syscall";  // the kernel layer's reports (syscall_log.cpp)
  return policy::to_string(policy::family_of(e));
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

std::string_view family_name(std::string_view event) noexcept { return family_of_event(event); }

void Bytes::grow(std::size_t n) {
  const std::size_t wanted = std::max({size_ + n, capacity_ * 2, std::size_t{4096}});
  // new char[] leaves the bytes uninitialised: nothing is written twice.
  std::unique_ptr<char[]> bigger(new char[wanted]);
  if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
  data_ = std::move(bigger);
  capacity_ = wanted;
}

void encode(const Record& r, Bytes& buf) {
  // This runs on the thread that raised the event: one pass to size the record, one to copy.
  const policy::Event& f = r.fields;
  const std::string_view views[kStringCount] = {
      r.event, r.call, r.caller_module, r.caller_file, f.path, f.open_mode, f.cwd, f.path2,
      f.executable, f.command, f.host, f.url, f.global, f.module, f.env_key, r.extra};
  const std::size_t argc = f.argv != nullptr ? std::min(f.argc, kMaxArgv) : 0;
  std::uint32_t mask = 0;
  std::size_t bound = sizeof(Head) + 8 * kStringCount;
#pragma GCC unroll 16
  for (unsigned i = 0; i < kStringCount; ++i) {
    mask |= static_cast<std::uint32_t>(views[i].data() != nullptr) << i;
    bound += std::min(views[i].size(), kStoreMax);  // an absent string has size 0
  }
  for (std::size_t i = 0; i < argc; ++i) bound += 8 + std::min(f.argv[i].size(), kStoreMax);
  char* const start = buf.reserve_more(bound);
  char* out = start + sizeof(Head);
  for (std::uint32_t rest = mask; rest != 0; rest &= rest - 1) {
    out = put_string(out, views[__builtin_ctz(rest)]);
  }
  for (std::size_t i = 0; i < argc; ++i) out = put_string(out, f.argv[i]);
  Head head{};
  head.size = static_cast<std::uint32_t>(out - start);
  head.mask = mask;
  head.argc = static_cast<std::uint32_t>(argc);
  head.kind = static_cast<std::uint8_t>(r.kind);
  head.word = static_cast<std::uint8_t>(r.word);
  head.mode = static_cast<std::uint8_t>(r.mode);
  head.code_origin = static_cast<std::uint8_t>(f.code_origin);
  head.pid = r.pid;
  head.tid = r.tid;
  head.caller_line = r.caller_line;
  head.address_family = f.address_family;
  head.seq = r.seq;
  head.ts_ns = r.ts_ns;
  head.port = f.port;
  head.open_flags = f.open_flags;
  head.count = r.count;
  head.policy = r.policy;
  head.rule = r.rule;
  std::memcpy(start, &head, sizeof head);
  buf.commit(out);
}

void decode(const Bytes& buffer, std::size_t& pos, Record& r) {
  const char* buf = buffer.data();
  Head head;
  std::memcpy(&head, buf + pos, sizeof head);
  const std::size_t end = pos + head.size;
  pos += sizeof head;
  std::vector<std::string_view> argv = std::move(r.argv);
  argv.clear();
  r = Record();
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
  for (std::uint32_t rest = head.mask; rest != 0; rest &= rest - 1) {
    const auto i = static_cast<unsigned>(__builtin_ctz(rest));
    std::string_view* value = slot(r, i);
    *value = get_string(buf, pos, full);
    if (full > value->size()) r.cut_mask |= 1u << i;
  }
  for (std::uint32_t i = 0; i < head.argc; ++i) {
    argv.push_back(get_string(buf, pos, full));
    if (full > argv.back().size()) r.cut_mask |= 1u << kStringCount;
  }
  r.argv = std::move(argv);
  pos = end;
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
  // (An empty view may have no data pointer, which memchr must not be given.)
  if (!was_cut && value.size() <= max_chars && patterns.empty() &&
      (value.empty() || (std::memchr(value.data(), ':', value.size()) == nullptr &&
                         std::memchr(value.data(), '=', value.size()) == nullptr))) {
    return value;
  }
  scratch = apply(value, was_cut, process);
  return scratch;
}

std::string Redactor::apply(std::string_view value, bool was_cut, bool process) const {
  // Only the first max_chars bytes are shown. The rules read kLookAhead bytes further, so that
  // a secret that starts before the cut is still recognised whole (a pattern such as
  // "KEY-[0-9]{20}" matches only the whole secret), and no further: a 4 KiB value costs no
  // more than a short one.
  if (value.size() > max_chars + kLookAhead) {
    value = value.substr(0, utf8_cut(value, max_chars + kLookAhead));
    was_cut = true;
  }
  std::string out;
  out.reserve(value.size());
  std::size_t kept = 0;  // value[0, kept) is in out; the rest is copied in runs, not by char
  auto redact = [&](std::size_t from, std::size_t to) {  // value[from, to) -> <redacted>
    out.append(value.data() + kept, from - kept);
    out += kRedacted;
    kept = to;
  };
  std::size_t i = 0;
  while (i < value.size()) {
    // Credentials in a URL: scheme://user:PASSWORD@host
    if (value[i] == ':' && value.compare(i, 3, "://") == 0) {
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
        redact(i + colon + 1, j);
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
          std::size_t k = v;
          if (k < value.size() && (value[k] == '\'' || value[k] == '"')) {
            const char quote = value[k];
            ++k;  // the quotes stay
            const std::size_t from = k;
            while (k < value.size() && value[k] != quote) ++k;
            redact(from, k);
          } else {
            // "Bearer TOKEN": an authorization scheme word keeps the secret after it.
            std::size_t word = k;
            while (word < value.size() && std::isalpha(static_cast<unsigned char>(value[word]))) ++word;
            const std::string_view scheme = value.substr(k, word - k);
            if (word < value.size() && value[word] == ' ' &&
                (scheme == "Bearer" || scheme == "Basic" || scheme == "Token" || scheme == "bearer")) {
              k = word + 1;
            }
            const std::size_t from = k;
            while (k < value.size() && !ends_value(value[k])) ++k;
            redact(from, k);
          }
          i = k;
          continue;
        }
      }
      i = j;
      continue;
    }
    ++i;
  }
  out.append(value.data() + kept, value.size() - kept);
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
  Out& out;
  const Redactor& redactor;
  bool process;
  std::uint32_t cut_mask;
  bool first = true;
  std::string scratch = {};

  // `k` is the key, quoted, with its colon: "\"path\":".
  template <std::size_t N>
  void key(const char (&k)[N]) {
    if (!first) out.put(',');
    first = false;
    out.lit(k);
  }
  template <std::size_t N>
  void text(const char (&k)[N], std::string_view v, unsigned index) {
    if (v.data() == nullptr) return;
    key(k);
    json_string(out, redactor.view(v, (cut_mask >> index) & 1u, process, scratch));
  }
  template <std::size_t N>
  void number(const char (&k)[N], std::int64_t v) {
    if (v < 0) return;
    key(k);
    write_int(out, v);
  }
};

void write_args(const Record& r, const Redactor& redactor, bool process, Out& out) {
  FieldWriter w{out, redactor, process, r.cut_mask};
  out.put('{');
  if (r.kind == Kind::dropped) {
    w.key("\"event\":");
    json_string(out, r.event);
    w.key("\"dropped\":");
    write_int(out, static_cast<std::int64_t>(r.count));
  } else if (r.kind == Kind::summary) {
    out.raw(r.extra.substr(1, r.extra.size() - 2));  // preformatted {"rules":...}
  } else {
    const auto& f = r.fields;
    w.text("\"call\":", r.call, kCall);
    w.text("\"path\":", f.path, kPath);
    w.text("\"open_mode\":", f.open_mode, kOpenMode);
    w.number("\"flags\":", f.open_flags);
    w.text("\"cwd\":", f.cwd, kCwd);
    w.text("\"path2\":", f.path2, kPath2);
    w.text("\"executable\":", f.executable, kExecutable);
    if (!r.argv.empty()) {
      w.key("\"argv\":");
      out.put('[');
      for (std::size_t i = 0; i < r.argv.size(); ++i) {
        if (i > 0) out.put(',');
        json_string(out, redactor.view(r.argv[i], (r.cut_mask >> kStringCount) & 1u, process,
                                       w.scratch));
      }
      out.put(']');
    }
    w.text("\"command\":", f.command, kCommand);
    w.text("\"host\":", f.host, kHost);
    w.number("\"port\":", f.port);
    if (const char* af = address_family_name(f.address_family)) {
      w.key("\"address_family\":");
      json_string(out, af);
    }
    w.text("\"url\":", f.url, kUrl);
    w.text("\"global\":", f.global, kGlobal);
    w.text("\"module\":", f.module, kModule);
    if (const char* o = origin_name(f.code_origin)) {
      w.key("\"code_origin\":");
      json_string(out, o);
    }
    w.text("\"env_key\":", f.env_key, kEnvKey);
  }
  out.put('}');
}

// The words of a record that depend only on its event, rule, decision and mode:
// ,"event":...,"family":...,"decision":...,"rule":...,"mode":...,"args":
struct Fragment {
  bool used = false;
  Kind kind = Kind::decision;
  Word word = Word::allow;
  policy::Mode mode = policy::Mode::enforce;
  bool has_rule = false;
  bool process = false;
  std::string event;
  std::string rule;
  Bytes text;
};

}  // namespace

struct JsonFormatter::Cache {
  static constexpr std::size_t kSlots = 64;  // a power of two
  Fragment fragments[kSlots];
  std::int64_t second = -1;
  std::string prefix;  // {"schema":1,"ts":"2026-11-29T03:01:06.
  std::int32_t pid = -1, tid = -1;
  Bytes ids;  // Z","seq":  is written before, then ,"pid":P,"tid":T after the seq
  const policy::Policy* policy = nullptr;
  std::string policy_hash;
  Bytes tail;  // ,"policy":"HASH"}
};

JsonFormatter::JsonFormatter() : cache_(std::make_unique<Cache>()) {}
JsonFormatter::~JsonFormatter() = default;

void JsonFormatter::format(const Record& r, const Redactor& redactor, Bytes& bytes) {
  Cache& c = *cache_;
  Out out(bytes);
  const std::int64_t second = r.ts_ns / 1000000000;
  if (second != c.second) {
    c.second = second;
    c.prefix = "{\"schema\":" + std::to_string(kSchemaVersion) + ",\"ts\":\"" + second_prefix(r.ts_ns);
  }
  out.raw(c.prefix);
  write_fraction(out, r.ts_ns, 6);
  out.lit("\",\"seq\":");
  write_int(out, static_cast<std::int64_t>(r.seq));
  if (r.pid != c.pid || r.tid != c.tid) {
    c.pid = r.pid;
    c.tid = r.tid;
    c.ids.clear();
    Out ids(c.ids);
    ids.lit(",\"pid\":");
    write_int(ids, r.pid);
    ids.lit(",\"tid\":");
    write_int(ids, r.tid);
  }
  out.raw(c.ids.view());

  // A rate-limit note names the event it counts in its args; its own event is auditwall's.
  const std::string_view event = r.kind == Kind::dropped ? "auditwall.rate-limit" : r.event;
  const std::string_view rule = r.rule != nullptr ? std::string_view(r.rule->id) : std::string_view();
  std::size_t h = event.size() * 31 + static_cast<std::size_t>(r.word) * 7 +
                  static_cast<std::size_t>(r.mode) * 3 + rule.size() * 131;
  if (!event.empty()) h += static_cast<unsigned char>(event.back()) * 17u;
  if (!rule.empty()) h += static_cast<unsigned char>(rule.back()) * 257u;
  Fragment& f = c.fragments[h & (Cache::kSlots - 1)];
  if (!f.used || f.kind != r.kind || f.word != r.word || f.mode != r.mode ||
      f.has_rule != (r.rule != nullptr) || f.event != event || f.rule != rule) {
    f.used = true;
    f.kind = r.kind;
    f.word = r.word;
    f.mode = r.mode;
    f.has_rule = r.rule != nullptr;
    f.event.assign(event.data(), event.size());
    f.rule.assign(rule.data(), rule.size());
    const std::string_view family = family_of_event(event);
    f.process = family == "process";
    f.text.clear();
    Out t(f.text);
    t.lit(",\"event\":");
    json_string(t, event);
    t.lit(",\"family\":\"");
    t.raw(family);
    t.lit("\",\"decision\":\"");
    t.raw(to_string(r.word));
    t.lit("\",\"rule\":");
    if (f.has_rule) {
      json_string(t, rule);
    } else {
      t.lit("null");
    }
    t.lit(",\"mode\":\"");
    t.raw(r.mode == policy::Mode::monitor ? "monitor" : "enforce");
    t.lit("\",\"args\":");
  }
  out.raw(f.text.view());
  write_args(r, redactor, f.process, out);
  out.lit(",\"caller\":");
  if (r.caller_module.empty() && r.caller_file.empty()) {
    out.lit("null");
  } else {
    out.lit("{\"module\":");
    json_string(out, r.caller_module);
    out.lit(",\"file\":");
    std::string scratch;
    json_string(out, redactor.view(r.caller_file, false, false, scratch));
    out.lit(",\"line\":");
    write_int(out, r.caller_line);
    out.put('}');
  }
  if (r.policy != c.policy || (r.policy != nullptr && r.policy->hash() != c.policy_hash)) {
    c.policy = r.policy;
    c.policy_hash = r.policy != nullptr ? r.policy->hash() : std::string();
    c.tail.clear();
    Out t(c.tail);
    t.lit(",\"policy\":");
    if (r.policy != nullptr) {
      json_string(t, c.policy_hash);
    } else {
      t.lit("null");
    }
    t.put('}');
  }
  out.raw(c.tail.view());
}

void format_text(const Record& r, const Redactor& redactor, bool color, Bytes& bytes) {
  Out out(bytes);
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
  out.raw(dim);
  out.raw(second_prefix(r.ts_ns));
  write_fraction(out, r.ts_ns, 3);
  out.lit(" auditwall[");
  write_int(out, r.pid);
  out.lit("]");
  out.raw(reset);
  out.put(' ');
  if (color) out.raw(paint);
  std::string word = r.kind == Kind::decision ? to_string(r.word) : "note";
  for (auto& ch : word) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  out.raw(word);
  out.raw(reset);
  out.put(' ');
  const bool process = family_of_event(r.event) == std::string_view("process");
  if (r.kind == Kind::dropped) {
    out.lit("dropped ");
    write_int(out, static_cast<std::int64_t>(r.count));
    out.lit(" more records like the last of ");
    out.raw(r.event);
  } else if (r.kind == Kind::summary) {
    out.lit("summary ");
    out.raw(r.extra);
  } else if (r.call.data() != nullptr) {
    out.raw(redactor.apply(r.call, (r.cut_mask >> kCall) & 1u, process));
  } else {
    out.raw(r.event);
  }
  out.raw(dim);
  out.lit(" rule=");
  out.raw(r.rule != nullptr ? std::string_view(r.rule->id) : std::string_view("(default)"));
  out.lit(" mode=");
  out.raw(r.mode == policy::Mode::monitor ? "monitor" : "enforce");
  if (!r.caller_module.empty() || !r.caller_file.empty()) {
    out.lit(" caller=");
    out.raw(r.caller_module);
    out.lit(" (");
    out.raw(redactor.apply(r.caller_file, false, false));
    out.put(':');
    write_int(out, r.caller_line);
    out.put(')');
  }
  out.raw(reset);
}

}  // namespace auditwall::log
