// The kernel layer's reports in the event log, formatted and written without lock or malloc.
//
// Why not through the recorder's buffer: a report is made in the SIGSYS handler of the thread
// whose call was stopped, or by the supervisor thread while the caller may be inside fork()
// holding libc's malloc and stdio locks. Neither may lock the recorder's mutex (the
// interrupted thread may hold it) or allocate. So the record is formatted here into a fixed
// buffer and written to the sink with one write(2), or one datagram for syslog: the same
// schema and the same output as the recorder's records, numbered in the same `seq`.
#include "syscall_log.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace auditwall::syscall_log {
namespace {

using Sink = recorder::Config::Sink;

// The output, as plain data a signal handler can read. Two slots: set_output() fills the one
// not in use, then publishes it.
struct Target {
  Sink sink = Sink::stderr_;
  int fd = 2;
  char path[1024] = {};
  bool text = false;
  bool color = false;
  unsigned rate_limit = 100;
  unsigned window_ms = 1000;
  long utc_offset = 0;  // seconds east of UTC, for syslog's local time stamp
};
Target g_targets[2];
std::atomic<int> g_current{-1};
char g_policy[17] = {};
std::atomic<std::uint64_t> g_records{0};
std::atomic<std::uint64_t> g_errors{0};

// Rate limiting per syscall, as the recorder does per (rule, event, caller).
struct Slot {
  std::atomic<int> nr{-1};
  std::atomic<std::int64_t> window_start{0};
  std::atomic<std::uint32_t> in_window{0};
  std::atomic<std::uint64_t> dropped{0};
  // The last dropped call, to name it in the note.
  std::atomic<const char*> name{""};
  std::atomic<const char*> rule{""};
  std::atomic<int> word{0};
  std::atomic<int> mode{0};
};
constexpr std::size_t kSlots = 64;
Slot g_slots[kSlots];

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A record under construction, in a fixed buffer (cut, never overflowed).
struct Out {
  char text[2048];
  std::size_t len = 0;
  void add(std::string_view s) {
    for (char c : s) {
      if (len < sizeof text - 1) text[len++] = c;
    }
  }
  void number(std::uint64_t v, unsigned width = 0) {
    char digits[24];
    unsigned n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n < width && n < sizeof digits) digits[n++] = '0';
    while (n > 0 && len < sizeof text - 1) text[len++] = digits[--n];
  }
  void json(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    add("\"");
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        const char esc[2] = {'\\', c};
        add(std::string_view(esc, 2));
      } else if (u < 0x20) {
        const char esc[6] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
        add(std::string_view(esc, 6));
      } else {
        add(std::string_view(&c, 1));
      }
    }
    add("\"");
  }
};

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): gmtime_r and
// localtime_r are not async-signal-safe.
void civil(std::int64_t days, std::int64_t& y, unsigned& m, unsigned& d) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

// RFC 3339 UTC with `digits` of fraction: 2026-11-29T03:14:09.526726Z.
// "hh:mm:ss" of a second within its day.
void time_of_day(Out& out, unsigned in_day) {
  out.number(in_day / 3600, 2);
  out.add(":");
  out.number(in_day / 60 % 60, 2);
  out.add(":");
  out.number(in_day % 60, 2);
}

void timestamp(Out& out, std::int64_t ns, unsigned digits) {
  const std::int64_t secs = ns / 1000000000;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil(secs / 86400, y, m, d);
  const auto in_day = static_cast<unsigned>(secs % 86400);
  out.number(static_cast<std::uint64_t>(y), 4);
  out.add("-");
  out.number(m, 2);
  out.add("-");
  out.number(d, 2);
  out.add("T");
  time_of_day(out, in_day);
  out.add(".");
  std::uint64_t frac = static_cast<std::uint64_t>(ns % 1000000000);
  for (unsigned k = digits; k < 9; ++k) frac /= 10;
  out.number(frac, digits);
  out.add("Z");
}

// syslog's "Mmm dd hh:mm:ss", local time.
void syslog_stamp(Out& out, std::int64_t ns, long utc_offset) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t secs = ns / 1000000000 + utc_offset;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil(secs / 86400, y, m, d);
  const auto in_day = static_cast<unsigned>(secs % 86400);
  out.add(months[(m + 11) % 12]);
  out.add(d < 10 ? "  " : " ");
  out.number(d);
  out.add(" ");
  time_of_day(out, in_day);
}

const char* word_text(log::Word word) { return log::to_string(word); }

// What one record says: a syscall, or a note that `dropped` like it were not written.
struct Fields {
  const Syscall* call = nullptr;
  std::uint64_t dropped = 0;
  std::int64_t ts_ns = 0;
  std::uint64_t seq = 0;
  long reporter = 0;  // the process writing the record
};

void event_name(Out& out, const Syscall& c, bool quoted) {
  char name[48];
  Out scratch;
  scratch.add("syscall.");
  if (*c.name != '\0') {
    scratch.add(c.name);
  } else {
    scratch.number(static_cast<std::uint64_t>(c.nr < 0 ? 0 : c.nr));
  }
  const std::size_t n = scratch.len < sizeof name ? scratch.len : sizeof name - 1;
  std::memcpy(name, scratch.text, n);
  if (quoted) {
    out.json(std::string_view(name, n));
  } else {
    out.add(std::string_view(name, n));
  }
}

void format_json(Out& out, const Fields& f) {
  const Syscall& c = *f.call;
  out.add("{\"schema\":");
  out.number(static_cast<std::uint64_t>(log::kSchemaVersion));
  out.add(",\"ts\":\"");
  timestamp(out, f.ts_ns, 6);
  out.add("\",\"seq\":");
  out.number(f.seq);
  out.add(",\"pid\":");
  out.number(static_cast<std::uint64_t>(f.dropped != 0 ? f.reporter : c.pid));
  out.add(",\"tid\":");
  out.number(static_cast<std::uint64_t>(f.dropped != 0 ? f.reporter : c.tid));
  if (f.dropped != 0) {
    out.add(",\"event\":\"auditwall.rate-limit\",\"family\":\"auditwall\"");
  } else {
    out.add(",\"event\":");
    event_name(out, c, true);
    out.add(",\"family\":\"syscall\"");
  }
  out.add(",\"decision\":\"");
  out.add(word_text(c.word));
  out.add("\",\"rule\":");
  out.json(c.rule);
  out.add(",\"mode\":\"");
  out.add(c.mode == policy::Mode::monitor ? "monitor" : "enforce");
  out.add("\",\"args\":{");
  if (f.dropped != 0) {
    out.add("\"event\":");
    event_name(out, c, true);
    out.add(",\"dropped\":");
    out.number(f.dropped);
  } else {
    if (*c.name != '\0') {
      out.add("\"syscall\":");
      out.json(c.name);
      out.add(",");
    }
    out.add("\"syscall_nr\":");
    out.number(static_cast<std::uint64_t>(c.nr < 0 ? 0 : c.nr));
    out.add(",\"syscall_args\":[");
    for (int i = 0; i < 6; ++i) {
      if (i > 0) out.add(",");
      out.number(c.args[i]);
    }
    out.add("]");
    if (f.reporter != c.pid) {
      out.add(",\"reporter_pid\":");
      out.number(static_cast<std::uint64_t>(f.reporter));
    }
  }
  out.add("},\"caller\":null,\"policy\":");
  if (g_policy[0] != '\0') {
    out.json(g_policy);
  } else {
    out.add("null");
  }
  out.add("}");
}

void format_text(Out& out, const Fields& f, bool color) {
  const Syscall& c = *f.call;
  const char* dim = color ? "\033[2m" : "";
  const char* reset = color ? "\033[0m" : "";
  const char* paint = f.dropped != 0                    ? "\033[35m"
                      : c.word == log::Word::would_deny ? "\033[1;33m"
                                                        : "\033[1;31m";
  out.add(dim);
  timestamp(out, f.ts_ns, 3);
  out.add(" auditwall[");
  out.number(static_cast<std::uint64_t>(f.dropped != 0 ? f.reporter : c.pid));
  out.add("]");
  out.add(reset);
  out.add(" ");
  if (color) out.add(paint);
  const char* word = f.dropped != 0 ? "note" : word_text(c.word);
  for (const char* p = word; *p != '\0'; ++p) {
    const char up = *p >= 'a' && *p <= 'z' ? static_cast<char>(*p - 'a' + 'A') : *p;
    out.add(std::string_view(&up, 1));
  }
  out.add(reset);
  out.add(" ");
  if (f.dropped != 0) {
    out.add("dropped ");
    out.number(f.dropped);
    out.add(" more records like the last of ");
    event_name(out, c, false);
  } else {
    out.add("syscall ");
    if (*c.name != '\0') {
      out.add(c.name);
    } else {
      out.add("#");
      out.number(static_cast<std::uint64_t>(c.nr < 0 ? 0 : c.nr));
    }
  }
  out.add(dim);
  out.add(" rule=");
  out.add(c.rule);
  out.add(" mode=");
  out.add(c.mode == policy::Mode::monitor ? "monitor" : "enforce");
  if (f.dropped == 0 && f.reporter != c.pid) {
    out.add(" reported-by=");
    out.number(static_cast<std::uint64_t>(f.reporter));
  }
  out.add(reset);
}

bool write_all(int fd, const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

bool send_syslog(const Target& t, const Out& record, log::Word word, bool note,
                 std::int64_t ts_ns, long reporter) {
  Out datagram;
  // LOG_USER; deny and kill are warnings, would-deny a notice, notes info (as the recorder).
  const unsigned severity = note ? 6 : word == log::Word::would_deny ? 5 : 4;
  datagram.add("<");
  datagram.number(8 + severity);
  datagram.add(">");
  syslog_stamp(datagram, ts_ns, t.utc_offset);
  datagram.add(" auditwall[");
  datagram.number(static_cast<std::uint64_t>(reporter));
  datagram.add("]: ");
  datagram.add(std::string_view(record.text, record.len));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const char* path = t.path[0] != '\0' ? t.path : "/dev/log";
  const std::size_t n = std::strlen(path);
  if (n >= sizeof addr.sun_path) {
    ::close(fd);
    return false;
  }
  std::memcpy(addr.sun_path, path, n + 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::send(fd, datagram.text, datagram.len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0;
  ::close(fd);
  return ok;
}

// Formats and writes one record. Async-signal-safe.
void emit(const Syscall& call, std::uint64_t dropped) {
  const int current = g_current.load(std::memory_order_acquire);
  const Target defaults;
  const Target& t = current >= 0 ? g_targets[current] : defaults;
  if (t.sink == Sink::none) return;
  Fields f;
  f.call = &call;
  f.dropped = dropped;
  f.ts_ns = now_ns();
  f.seq = recorder::next_seq();
  f.reporter = static_cast<long>(::syscall(SYS_getpid));
  Out out;
  if (t.text) {
    format_text(out, f, t.color);
  } else {
    format_json(out, f);
  }
  bool ok = false;
  if (t.sink == Sink::syslog) {
    ok = send_syslog(t, out, call.word, dropped != 0, f.ts_ns, f.reporter);
  } else {
    out.text[out.len++] = '\n';  // Out keeps one byte free
    if (t.sink == Sink::file) {
      const int fd = ::open(t.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      ok = fd >= 0 && write_all(fd, out.text, out.len);
      if (fd >= 0) ::close(fd);
    } else {
      ok = t.fd >= 0 && write_all(t.fd, out.text, out.len);
    }
  }
  (ok ? g_records : g_errors).fetch_add(1, std::memory_order_relaxed);
}

// True when `call` may be written; otherwise it is counted in its slot. A note for what was
// dropped in the last window is written first.
bool admit(const Syscall& call, const Target& t) {
  if (t.rate_limit == 0) return true;
  Slot* slot = nullptr;
  for (Slot& s : g_slots) {
    int nr = s.nr.load(std::memory_order_acquire);
    if (nr == call.nr) {
      slot = &s;
      break;
    }
    if (nr == -1 && s.nr.compare_exchange_strong(nr, call.nr)) {
      slot = &s;
      break;
    }
  }
  if (slot == nullptr) return true;  // more distinct syscalls than slots: never drop blindly
  const std::int64_t now = now_ns();
  std::int64_t start = slot->window_start.load(std::memory_order_relaxed);
  const std::int64_t window = static_cast<std::int64_t>(t.window_ms) * 1000000;
  if (now - start >= window && slot->window_start.compare_exchange_strong(start, now)) {
    slot->in_window.store(0, std::memory_order_relaxed);
    if (const std::uint64_t dropped = slot->dropped.exchange(0); dropped != 0) {
      Syscall last = call;
      last.name = slot->name.load();
      last.rule = slot->rule.load();
      last.word = static_cast<log::Word>(slot->word.load());
      last.mode = static_cast<policy::Mode>(slot->mode.load());
      emit(last, dropped);
    }
  }
  if (slot->in_window.fetch_add(1, std::memory_order_relaxed) < t.rate_limit) return true;
  slot->name.store(call.name);
  slot->rule.store(call.rule);
  slot->word.store(static_cast<int>(call.word));
  slot->mode.store(static_cast<int>(call.mode));
  slot->dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace

void set_output(const recorder::Config& config, const log::Output& output, bool text,
                bool color) noexcept {
  const int next = g_current.load(std::memory_order_relaxed) == 0 ? 1 : 0;
  Target& t = g_targets[next];
  t = Target();
  t.sink = output.name == "stderr" ? Sink::stderr_ : config.sink;
  t.fd = output.fd;
  const std::string& path = config.path;
  const std::size_t n = path.size() < sizeof t.path ? path.size() : sizeof t.path - 1;
  std::memcpy(t.path, path.data(), n);
  t.path[n] = '\0';
  t.text = text;
  t.color = color;
  t.rate_limit = config.rate_limit;
  t.window_ms = config.window_ms;
  if (t.sink == Sink::syslog) {
    // Only syslog's time stamps are local time; reading the time zone costs every start-up
    // that does not use them a handful of system calls.
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    if (localtime_r(&now, &tm) != nullptr) t.utc_offset = tm.tm_gmtoff;
  }
  g_current.store(next, std::memory_order_release);
}

void set_policy(std::string_view hash) noexcept {
  const std::size_t n = hash.size() < sizeof g_policy ? hash.size() : sizeof g_policy - 1;
  std::memcpy(g_policy, hash.data(), n);
  g_policy[n] = '\0';
}

void write(const Syscall& call) noexcept {
  const int current = g_current.load(std::memory_order_acquire);
  const Target defaults;
  if (!admit(call, current >= 0 ? g_targets[current] : defaults)) return;
  emit(call, 0);
}

void write_dropped() noexcept {
  for (Slot& slot : g_slots) {
    if (slot.nr.load() < 0) continue;
    if (const std::uint64_t dropped = slot.dropped.exchange(0); dropped != 0) {
      Syscall last;
      last.nr = slot.nr.load();
      last.name = slot.name.load();
      last.rule = slot.rule.load();
      last.word = static_cast<log::Word>(slot.word.load());
      last.mode = static_cast<policy::Mode>(slot.mode.load());
      last.pid = static_cast<long>(::getpid());
      emit(last, dropped);
    }
  }
}

std::uint64_t records() noexcept { return g_records.load(std::memory_order_relaxed); }
std::uint64_t errors() noexcept { return g_errors.load(std::memory_order_relaxed); }

void after_fork_child() noexcept {
  g_records.store(0, std::memory_order_relaxed);
  g_errors.store(0, std::memory_order_relaxed);
  for (Slot& slot : g_slots) {
    slot.nr.store(-1, std::memory_order_relaxed);
    slot.window_start.store(0, std::memory_order_relaxed);
    slot.in_window.store(0, std::memory_order_relaxed);
    slot.dropped.store(0, std::memory_order_relaxed);
  }
}

}  // namespace auditwall::syscall_log
