// The compiled form of a loaded policy: what front ends hand to pre-init arming, without YAML.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "auditwall/policy.hpp"
#include "internal.hpp"
#include "matcher.hpp"

namespace auditwall::policy {

namespace {

// "aw1." + base64 of the payload and its digest(), so that the form survives an environment
// variable (printable, no '=') and a damaged copy is refused, not misread.
constexpr std::string_view kPrefix = "aw1.";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// A matcher tree deeper than any the loader accepts is damaged input.
constexpr int kMaxDepth = 200;

constexpr std::size_t kCheckSize = 16;  // digest()'s hex digits

class Writer {
 public:
  Writer() { out_.reserve(4096); }
  void number(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void text(std::string_view s) {
    number(s.size());
    out_.append(s.data(), s.size());
  }
  void texts(const std::vector<std::string>& list) {
    number(list.size());
    for (const std::string& s : list) text(s);
  }
  void matcher(const Matcher& m) {
    number(static_cast<unsigned>(m.kind));
    number(m.children.size());
    for (const Matcher& child : m.children) matcher(child);
    texts(m.patterns);
    number(m.cidrs.size());
    for (const Cidr& c : m.cidrs) {
      out_.append(reinterpret_cast<const char*>(c.address.data()), c.address.size());
      number(static_cast<unsigned>(c.prefix));
    }
    number(m.ports.size());
    for (const PortRange& p : m.ports) {
      number(static_cast<unsigned>(p.low));
      number(static_cast<unsigned>(p.high));
    }
    number(m.access);
    number(m.flag ? 1 : 0);
    number(static_cast<unsigned>(m.origin));
    number(m.fields);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }

  std::uint64_t number() noexcept {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto byte = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    return fail();
  }
  // A number no larger than `max`; a larger one marks the input as damaged.
  std::uint64_t at_most(std::uint64_t max) noexcept {
    const std::uint64_t v = number();
    return v <= max ? v : fail();
  }
  template <typename Enum>
  Enum choice(Enum last) noexcept {
    return static_cast<Enum>(at_most(static_cast<std::uint64_t>(last)));
  }
  std::string text() {
    const std::uint64_t n = number();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::string> texts() {
    std::vector<std::string> list;
    const std::uint64_t n = count();
    for (std::uint64_t i = 0; i < n && ok_; ++i) list.push_back(text());
    return list;
  }
  // An element count: each element takes at least one byte, so a count beyond what is left
  // is damage, and never makes us reserve memory for it.
  std::uint64_t count() noexcept { return at_most(in_.size() - pos_); }

  void matcher(Matcher& m, int depth) {
    if (depth > kMaxDepth) {
      fail();
      return;
    }
    m.kind = choice(Matcher::Kind::attribute);
    const std::uint64_t children = count();
    for (std::uint64_t i = 0; i < children && ok_; ++i) {
      m.children.emplace_back();
      matcher(m.children.back(), depth + 1);
    }
    m.patterns = texts();
    const std::uint64_t cidrs = count();
    for (std::uint64_t i = 0; i < cidrs && ok_; ++i) {
      Cidr c;
      if (in_.size() - pos_ < c.address.size()) {
        fail();
        return;
      }
      std::memcpy(c.address.data(), in_.data() + pos_, c.address.size());
      pos_ += c.address.size();
      c.prefix = static_cast<int>(at_most(128));
      m.cidrs.push_back(c);
    }
    const std::uint64_t ports = count();
    for (std::uint64_t i = 0; i < ports && ok_; ++i) {
      PortRange p;
      p.low = static_cast<int>(at_most(65535));
      p.high = static_cast<int>(at_most(65535));
      m.ports.push_back(p);
    }
    m.access = static_cast<unsigned>(at_most(0xffffffffu));
    m.flag = at_most(1) == 1;
    m.origin = choice(CodeOrigin::dynamic);
    m.fields = static_cast<unsigned>(at_most(0xffffffffu));
  }

 private:
  std::uint64_t fail() noexcept {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::string encode(std::string_view bytes) {
  std::string out(kPrefix.size() + (bytes.size() * 4 + 2) / 3, '\0');
  char* p = out.data() + kPrefix.size();
  std::memcpy(out.data(), kPrefix.data(), kPrefix.size());
  const auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    if (rest == 2) *p++ = kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool decode(std::string_view text, std::string& out) {
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  text.remove_prefix(kPrefix.size());
  if (text.size() % 4 == 1) return false;
  signed char value[256];
  std::memset(value, -1, sizeof value);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  out.assign(text.size() * 3 / 4, '\0');
  char* p = out.data();
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    bits = bits << 6 | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      *p++ = static_cast<char>((bits >> count) & 0xff);
    }
  }
  return p == out.data() + out.size();
}

}  // namespace

namespace {

// What the compiled form holds, from a compiled policy or from a loaded document.
struct Parts {
  Mode mode;
  Action default_action;
  const std::string& source;
  const std::string& hash;
  const std::string& source_hash;
  const SeccompConfig& seccomp;
  const LogConfig& log;
  const std::vector<Rule>& rules;
};

std::string write(const Parts& policy) {
  Writer w;
  w.number(static_cast<unsigned>(policy.mode));
  w.number(static_cast<unsigned>(policy.default_action));
  w.text(policy.source);
  w.text(policy.hash);
  w.text(policy.source_hash);

  const SeccompConfig& sc = policy.seccomp;
  w.number(sc.present ? 1 : 0);
  w.texts(sc.deny);
  w.number(sc.derive ? 1 : 0);
  w.number(static_cast<unsigned>(sc.action));

  const LogConfig& log = policy.log;
  w.number(log.present ? 1 : 0);
  w.number(static_cast<unsigned>(log.sink));
  w.text(log.path);
  w.number(static_cast<unsigned>(log.format));
  w.number(log.max_bytes);
  w.number(log.keep);
  w.texts(log.redact_env);
  w.texts(log.redact_patterns);
  w.number(log.max_arg_chars);
  w.number(log.rate_limit);
  w.number(log.summary ? 1 : 0);

  w.number(policy.rules.size());
  for (const Rule& rule : policy.rules) {
    w.text(rule.id);
    w.texts(rule.on);
    w.number(rule.match ? 1 : 0);
    if (rule.match) w.matcher(*rule.match);
    w.number(static_cast<unsigned>(rule.action));
    w.number(rule.has_mode ? 1 : 0);
    w.number(static_cast<unsigned>(rule.mode));
    w.text(rule.message);
    w.number(static_cast<unsigned>(rule.line));
    w.number(static_cast<unsigned>(rule.column));
    w.text(rule.origin);
  }
  std::string& bytes = w.bytes();
  bytes += digest(bytes);
  return encode(bytes);
}

}  // namespace

std::string serialise(const Policy& policy) {
  return write({policy.mode(), policy.default_action(), policy.source(), policy.hash(),
                policy.source_hash(), policy.seccomp(), policy.log(), policy.rules()});
}

std::string serialise(const Document& document) {
  return write({document.mode, document.default_action, document.source, document.hash,
                document.source_hash, document.seccomp, document.log, document.rules});
}

std::shared_ptr<const Policy> deserialise(std::string_view text, std::string& error) {
  std::string bytes;
  if (!decode(text, bytes) || bytes.size() < kCheckSize) {
    error = "not a compiled auditwall policy";
    return nullptr;
  }
  const std::string check = bytes.substr(bytes.size() - kCheckSize);
  bytes.resize(bytes.size() - kCheckSize);
  if (digest(bytes) != check) {
    error = "compiled auditwall policy is damaged (checksum mismatch)";
    return nullptr;
  }

  Reader r(bytes);
  Document doc;
  doc.mode = r.choice(Mode::monitor);
  doc.default_action = r.choice(Action::kill);
  doc.source = r.text();
  doc.hash = r.text();
  doc.source_hash = r.text();

  doc.seccomp.present = r.at_most(1) == 1;
  doc.seccomp.deny = r.texts();
  doc.seccomp.derive = r.at_most(1) == 1;
  doc.seccomp.action = r.choice(SeccompAction::log);

  doc.log.present = r.at_most(1) == 1;
  doc.log.sink = r.choice(LogSink::syslog);
  doc.log.path = r.text();
  doc.log.format = r.choice(LogFormat::text);
  doc.log.max_bytes = r.number();
  doc.log.keep = static_cast<unsigned>(r.at_most(0xffffffffu));
  doc.log.redact_env = r.texts();
  doc.log.redact_patterns = r.texts();
  doc.log.max_arg_chars = static_cast<unsigned>(r.at_most(0xffffffffu));
  doc.log.rate_limit = static_cast<unsigned>(r.at_most(0xffffffffu));
  doc.log.summary = r.at_most(1) == 1;

  const std::uint64_t rules = r.count();
  doc.rules.reserve(rules);
  for (std::uint64_t i = 0; i < rules && r.ok(); ++i) {
    Rule rule;
    rule.id = r.text();
    rule.on = r.texts();
    if (r.at_most(1) == 1) {
      auto matcher = std::make_shared<Matcher>();
      r.matcher(*matcher, 0);
      rule.match = std::move(matcher);
    }
    rule.action = r.choice(Action::kill);
    rule.has_mode = r.at_most(1) == 1;
    rule.mode = r.choice(Mode::monitor);
    rule.message = r.text();
    rule.line = static_cast<int>(r.at_most(0x7fffffff));
    rule.column = static_cast<int>(r.at_most(0x7fffffff));
    rule.origin = r.text();
    doc.rules.push_back(std::move(rule));
  }
  if (!r.ok() || !r.at_end()) {
    error = "compiled auditwall policy is malformed";
    return nullptr;
  }
  return Compiler::compile(std::move(doc));
}

bool source_unchanged(const Policy& policy) {
  const std::string& source = policy.source();
  if (source.rfind("builtin:", 0) == 0) {
    const std::string_view text = builtin_text(std::string_view(source).substr(8));
    return !text.empty() && digest(text) == policy.source_hash();
  }
  // stdio, not iostreams: this runs at every pre-init start-up.
  std::FILE* file = std::fopen(source.c_str(), "rbe");
  if (file == nullptr) return false;
  std::string text;
  char buffer[8192];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool read_ok = std::ferror(file) == 0;
  std::fclose(file);
  return read_ok && digest(text) == policy.source_hash();
}

}  // namespace auditwall::policy
