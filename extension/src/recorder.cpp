// Records auditwall's decisions: counters per rule, a buffer that a writer thread empties into
// the configured spdlog sink, rate limiting, and flushing at exit, before a kill and on fork.
#include "recorder.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>

#include "log_format.hpp"
#include "log_sinks.hpp"
#include "syscall_log.hpp"

namespace auditwall::recorder {
namespace {

using log::Kind;
using log::Record;
using log::Word;

// The producer wakes the writer when this much is buffered; otherwise the writer waits up to
// kLatency after the first record of a batch, so that records reach the sink within that.
constexpr std::size_t kWakeBytes = 64 * 1024;
constexpr auto kLatency = std::chrono::milliseconds(50);
// Beyond this the producer waits for the writer: memory stays bounded, nothing is dropped.
constexpr std::size_t kMaxBytes = 8 * 1024 * 1024;
constexpr std::size_t kRateSlots = 1024;  // a power of two

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Cached: gettid() is a system call. Reset in a forked child, whose one thread is new.
thread_local std::int32_t t_tid = 0;
std::int32_t current_tid() {
  if (t_tid == 0) t_tid = static_cast<std::int32_t>(::syscall(SYS_gettid));
  return t_tid;
}

// One (rule, event, caller) key's rate window.
struct RateSlot {
  std::uint64_t key = 0;
  std::int64_t window_start = 0;
  std::uint32_t in_window = 0;
  std::uint64_t dropped = 0;
  // The last dropped record, to report it: its rule, event name and caller are copied here.
  const policy::Rule* rule = nullptr;
  const policy::Policy* policy = nullptr;
  Word word = Word::allow;
  policy::Mode mode = policy::Mode::enforce;
  char event[64] = {};
  char caller_module[64] = {};
  int caller_line = 0;
};

// RateSlot() is all zero bytes, so that a table of them can come zeroed from calloc().
static_assert(static_cast<int>(Word::allow) == 0 && static_cast<int>(policy::Mode::enforce) == 0);

struct FreeSlots {
  void operator()(RateSlot* slots) const noexcept { std::free(slots); }
};
using RateTable = std::unique_ptr<RateSlot[], FreeSlots>;

// kRateSlots empty slots (188 KB). calloc() takes a block this size from mmap: fresh zero
// pages, each faulted in when a key first lands in it, where filling the table touched all 46
// at a process's first rate-limited record. Null when there is no memory.
RateTable new_rate_table() {
  return RateTable(static_cast<RateSlot*>(std::calloc(kRateSlots, sizeof(RateSlot))));
}

struct Counts {
  std::uint64_t allowed = 0, denied = 0, would_deny = 0;
};

// Everything the recorder keeps. Leaked on purpose: records are made until the very end of
// finalisation, after static destructors may have run.
struct State {
  // Lock order: write_mutex, then mutex. The producer only takes `mutex`.
  std::mutex mutex;        // buffer, counters, rate table, config
  std::mutex write_mutex;  // the output, and `back`
  std::condition_variable wake;   // producer -> writer
  std::condition_variable space;  // writer -> producer waiting on a full buffer
  log::Bytes front;  // records waiting (producer side)
  log::Bytes back;   // records being written (writer side)
  // The writer's working memory, kept between batches (write_mutex).
  log::JsonFormatter json;
  log::Bytes chunk;
  Record decoded;
  std::int32_t pid = 0;
  bool configured = false;
  Config config;
  log::Redactor redactor;
  log::Output output;
  bool text = false;
  bool color = false;
  std::thread writer;
  bool writer_running = false;
  bool stopping = false;
  bool flush_wanted = false;
  bool exiting = false;  // after the exit handler: write synchronously
  bool forking = false;  // between the fork handlers: no writer may start
  std::uint64_t pending_dropped = 0;
  // Counters: one per rule of the armed policy, plus the default, at the end.
  const policy::Policy* counted_policy = nullptr;
  std::vector<Counts> counts;
  // kRateSlots slots, made by the first record that is rate limited (new_rate_table()).
  RateTable rate;
  // Health.
  std::uint64_t records = 0;
  std::uint64_t rate_limited = 0;
  std::atomic<std::uint64_t> sink_errors{0};
  std::uint64_t sink_errors_reported = 0;
  std::uint64_t lost = 0;
  std::string last_error;
  std::mutex error_mutex;
  bool warned = false;
};

// `seq`: lock-free, so that the kernel layer's reports (syscall_log.cpp), written from a
// signal handler, share the numbering.
std::atomic<std::uint64_t> g_seq{0};

// Read without the lock by logs(): whether the configured sink is `none`.
std::atomic<bool> g_sink_none{false};

State& state() {
  static State* s = new State();
  return *s;
}

std::uint64_t mix(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void copy_cstr(char (&dst)[64], std::string_view src) {
  const std::size_t n = std::min(src.size(), sizeof dst - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

// --- writer side (holds write_mutex) -------------------------------------------------------

void on_sink_error(const std::string& message) {
  State& s = state();
  s.sink_errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(s.error_mutex);
  s.last_error = message;
}

// Writes the records in `batch` to the output and flushes it. Records go to the logger in
// chunks of many lines (one spdlog message each), except to syslog: one datagram per record.
// Each chunk is flushed on its own: it then reaches a file in one write(), which O_APPEND
// keeps whole when other processes (forked children) append to the same file.
void write_batch(State& s, const log::Bytes& batch) {
  const bool per_record = s.config.sink == Config::Sink::syslog;
  log::Bytes& chunk = s.chunk;
  chunk.clear();
  auto level = spdlog::level::debug;
  auto emit = [&] {
    if (chunk.empty()) return;
    s.output.logger->log(level, spdlog::string_view_t(chunk.data(), chunk.size()));
    if (!per_record) s.output.logger->flush();
    chunk.clear();
    level = spdlog::level::debug;
  };
  std::size_t pos = 0;
  const std::uint64_t errors_before = s.sink_errors.load(std::memory_order_relaxed);
  std::uint64_t written = 0;
  while (pos < batch.size()) {
    log::decode(batch, pos, s.decoded);
    const Record& r = s.decoded;
    if (!chunk.empty()) chunk.append("\n", 1);
    if (s.text) {
      log::format_text(r, s.redactor, s.color, chunk);
    } else {
      s.json.format(r, s.redactor, chunk);
    }
    const auto record_level = r.word == Word::deny || r.word == Word::kill ? spdlog::level::warn
                              : r.word == Word::would_deny ? spdlog::level::info
                                                           : spdlog::level::debug;
    level = std::max(level, record_level);
    ++written;
    if (per_record || chunk.size() >= (1u << 16)) emit();
  }
  emit();
  s.output.logger->flush();
  const std::uint64_t errors = s.sink_errors.load(std::memory_order_relaxed);
  if (errors != errors_before) {
    // The batch (or part of it) did not reach the sink. Say so once on stderr, unless stderr
    // is the sink that fails; status() and the exit summary give the counts.
    s.lost += written;
    if (!s.warned && s.output.name != "stderr") {
      s.warned = true;
      std::string message;
      {
        std::lock_guard<std::mutex> lock(s.error_mutex);
        message = "auditwall: the event log (" + s.output.name + ") fails: " + s.last_error +
                  "; records are being lost (auditwall.status() counts them)\n";
      }
      [[maybe_unused]] ssize_t ignored = ::write(2, message.data(), message.size());
    }
  }
}

// Appends the rate-limit notes that are due to `s.front`. `all`: every pending one (exit).
void emit_dropped(State& s, bool all) {
  if (s.pending_dropped == 0) return;
  const std::int64_t now = now_ns();
  const std::int64_t window = static_cast<std::int64_t>(s.config.window_ms) * 1000000;
  for (std::size_t i = 0; i < kRateSlots && s.rate != nullptr; ++i) {
    RateSlot& slot = s.rate[i];
    if (slot.dropped == 0 || (!all && now - slot.window_start < window)) continue;
    Record r;
    r.kind = Kind::dropped;
    r.word = slot.word;
    r.mode = slot.mode;
    r.seq = next_seq();
    r.ts_ns = now;
    r.pid = s.pid;
    r.tid = current_tid();
    r.policy = slot.policy;
    r.rule = slot.rule;
    r.count = slot.dropped;
    r.event = slot.event;
    r.caller_module = slot.caller_module;
    r.caller_line = slot.caller_line;
    log::encode(r, s.front);
    ++s.records;
    s.pending_dropped -= std::min(s.pending_dropped, slot.dropped);
    slot.dropped = 0;
  }
}

// Takes what is buffered (with due notes) and writes it. Caller holds write_mutex only.
void drain(State& s, bool all_notes) {
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    emit_dropped(s, all_notes);
    s.back.swap(s.front);
    s.flush_wanted = false;
  }
  s.space.notify_all();
  if (!s.back.empty()) {
    write_batch(s, s.back);
    s.back.clear();
  }
}

void writer_loop() {
  State& s = state();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.wake.wait(lock, [&] { return s.stopping || !s.front.empty() || s.pending_dropped > 0; });
      if (s.stopping) return;
      // Let a batch collect, unless the buffer is large or someone waits for it.
      const auto limit = s.front.empty() ? std::chrono::milliseconds(s.config.window_ms) : kLatency;
      s.wake.wait_for(lock, limit, [&] {
        return s.stopping || s.flush_wanted || s.front.size() >= kWakeBytes;
      });
      if (s.stopping) return;
    }
    std::lock_guard<std::mutex> write_lock(s.write_mutex);
    drain(s, false);
  }
}

// Stops the writer thread, if any, and waits for it. The caller holds no lock.
void stop_writer(State& s) {
  std::thread writer;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.writer_running) return;
    s.stopping = true;
    s.writer_running = false;
    writer.swap(s.writer);
  }
  s.wake.notify_all();
  s.space.notify_all();
  if (writer.joinable()) writer.join();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.stopping = false;
}

void flush_now(State& s, bool all_notes) {
  std::lock_guard<std::mutex> write_lock(s.write_mutex);
  if (!s.configured) return;
  drain(s, all_notes);
}

// --- configuration -------------------------------------------------------------------------

// Applies `config` (mutex held by the caller, write_mutex too when a writer could run).
bool apply_config(State& s, const Config& config, std::string& error) {
  s.config = config;
  std::string why;
  bool ok = s.redactor.init(config.redact_env, config.redact_patterns, config.max_arg_chars, why);
  if (!ok) error = why;
  why.clear();
  if (!log::open_output(config, on_sink_error, s.output, why)) {
    ok = false;
    error = error.empty() ? why : error + "; " + why;
    on_sink_error(why);
  }
  g_sink_none.store(config.sink == Config::Sink::none, std::memory_order_relaxed);
  s.text = config.format == Config::Format::text ||
           (config.format == Config::Format::automatic && s.output.tty);
  const char* no_color = std::getenv("NO_COLOR");
  s.color = s.text && (config.color == 1 ||
                       (config.color == -1 && s.output.tty && (no_color == nullptr || !*no_color)));
  s.configured = true;
  syscall_log::set_output(s.config, s.output, s.text, s.color);
  return ok;
}

void install_handlers_once();

// The policy's `log` section, as a Config. Its redaction additions always apply; its sink
// and options are the defaults that AUDITWALL_LOG overrides.
Config config_of(const policy::LogConfig& log) {
  Config config;
  config.redact_env = log.redact_env;
  config.redact_patterns = log.redact_patterns;
  if (!log.present) return config;
  switch (log.sink) {
    case policy::LogSink::standard_error: config.sink = Config::Sink::stderr_; break;
    case policy::LogSink::file: config.sink = Config::Sink::file; break;
    case policy::LogSink::syslog: config.sink = Config::Sink::syslog; break;
  }
  config.path = log.path;
  config.format = log.format == policy::LogFormat::text ? Config::Format::text : Config::Format::json;
  config.max_bytes = log.max_bytes;
  config.keep = log.keep;
  config.max_arg_chars = log.max_arg_chars;
  config.rate_limit = log.rate_limit;
  config.summary = log.summary;
  return config;
}

// The log's configuration for `policy`: its `log` section, with AUDITWALL_LOG (set by --log)
// on top. Problems are reported on stderr; the log then goes to stderr.
void configure_for(State& s, const policy::Policy& policy) {
  install_handlers_once();
  s.pid = static_cast<std::int32_t>(::getpid());
  Config config = config_of(policy.log());
  std::string error;
  const char* spec = std::getenv("AUDITWALL_LOG");
  if (spec != nullptr && *spec != '\0' && !parse_spec(spec, config, error)) {
    error = "AUDITWALL_LOG: " + error + "; logging to stderr";
    config = config_of(policy.log());
    config.sink = Config::Sink::stderr_;
  }
  std::string open_error;
  apply_config(s, config, open_error);
  if (!error.empty() || !open_error.empty()) {
    const std::string message = "auditwall: event log: " + (error.empty() ? open_error : error) + "\n";
    [[maybe_unused]] ssize_t ignored = ::write(2, message.data(), message.size());
  }
}

// --- exit and fork -------------------------------------------------------------------------

void write_summary(State& s);

void at_exit() {
  State& s = state();
  stop_writer(s);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.exiting = true;
  }
  flush_now(s, true);  // the records and rate-limit notes first: the summary counts them
  syscall_log::write_dropped();
  if (s.config.summary) {
    write_summary(s);
    flush_now(s, true);
  }
}

// Before fork: everything buffered is written once, by the parent, and no thread holds a
// lock, because the writer thread is stopped (it restarts at the next record). So the child
// starts with an empty buffer and unlocked mutexes, and Python sees one thread at fork.
void before_fork() {
  State& s = state();
  {
    // Another thread's next record must not start a writer that the child would not have.
    std::lock_guard<std::mutex> lock(s.mutex);
    s.forking = true;
  }
  stop_writer(s);
  flush_now(s, true);
  s.write_mutex.lock();
  s.mutex.lock();
}

void after_fork_parent() {
  State& s = state();
  s.forking = false;
  s.mutex.unlock();
  s.write_mutex.unlock();
}

void after_fork_child() {
  State& s = state();
  s.forking = false;
  s.mutex.unlock();
  s.write_mutex.unlock();
  t_tid = 0;
  s.pid = static_cast<std::int32_t>(::getpid());
  s.front.clear();
  s.back.clear();
  g_seq.store(0, std::memory_order_relaxed);
  s.records = 0;
  s.rate_limited = 0;
  s.pending_dropped = 0;
  s.rate.reset();  // made again by the next rate-limited record, untouched until then
  for (Counts& c : s.counts) c = Counts();
  syscall_log::after_fork_child();
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    std::atexit(at_exit);
  });
}

// The producer side of record(): mutex held.
void ensure_writer(State& s) {
  if (s.writer_running || s.exiting || s.forking) return;
  try {
    s.writer = std::thread(writer_loop);
    s.writer_running = true;
  } catch (...) {
    // No thread: records are written synchronously at the next flush (exit, kill, fork).
  }
}

Word word_of(const policy::Decision& d) {
  switch (d.action) {
    case policy::Action::allow: return Word::allow;
    case policy::Action::log: return Word::log;
    case policy::Action::deny:
    case policy::Action::kill:
      if (d.mode == policy::Mode::monitor) return Word::would_deny;
      return d.action == policy::Action::kill ? Word::kill : Word::deny;
  }
  return Word::allow;
}

Counts& counts_for(State& s, const policy::Policy& policy, const policy::Rule* rule) {
  if (s.counted_policy != &policy) {
    s.counted_policy = &policy;
    s.counts.assign(policy.rules().size() + 1, Counts());
  }
  if (rule == nullptr) return s.counts.back();
  const auto index = static_cast<std::size_t>(rule - policy.rules().data());
  return index < s.counts.size() - 1 ? s.counts[index] : s.counts.back();
}

// True when the record may be logged; false when it is counted as dropped.
bool admit(State& s, const policy::Policy& policy, const policy::Decision& d, Word word,
           std::string_view event, const Caller& caller, std::int64_t now) {
  if (s.config.rate_limit == 0) return true;
  std::uint64_t key = 14695981039346656037ULL ^ reinterpret_cast<std::uintptr_t>(d.rule);
  key = mix(key, event);
  key = mix(key, caller.module);
  key = mix(key, caller.file);
  key ^= static_cast<std::uint64_t>(caller.line) * 0x9E3779B97F4A7C15ULL;
  key |= 1;  // 0 marks a free slot
  if (s.rate == nullptr && (s.rate = new_rate_table()) == nullptr) return true;
  RateSlot* slot = nullptr;
  for (std::size_t probe = 0; probe < 8; ++probe) {
    RateSlot& candidate = s.rate[(key + probe) & (kRateSlots - 1)];
    if (candidate.key == key || candidate.key == 0) {
      slot = &candidate;
      break;
    }
  }
  const std::int64_t window = static_cast<std::int64_t>(s.config.window_ms) * 1000000;
  if (slot == nullptr) {
    // A full neighbourhood: reuse the stalest slot that has nothing to report.
    for (std::size_t probe = 0; probe < 8; ++probe) {
      RateSlot& candidate = s.rate[(key + probe) & (kRateSlots - 1)];
      if (candidate.dropped == 0 &&
          (slot == nullptr || candidate.window_start < slot->window_start)) {
        slot = &candidate;
      }
    }
    if (slot == nullptr) return true;  // every neighbour has a report due: never drop blindly
    *slot = RateSlot();
  }
  if (slot->key != key || now - slot->window_start >= window) {
    slot->key = key;
    slot->window_start = now;
    slot->in_window = 0;
  }
  if (slot->in_window < s.config.rate_limit) {
    ++slot->in_window;
    return true;
  }
  if (slot->dropped == 0) {
    slot->rule = d.rule;
    slot->policy = &policy;
    slot->word = word;
    slot->mode = d.mode;
    copy_cstr(slot->event, event);
    copy_cstr(slot->caller_module, caller.module);
    slot->caller_line = caller.line;
  }
  ++slot->dropped;
  ++s.pending_dropped;
  ++s.rate_limited;
  return false;
}

void write_summary(State& s) {
  std::string json = "{\"rules\":{";
  std::string text;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    const policy::Policy* p = s.counted_policy;
    if (p == nullptr) return;
    for (std::size_t i = 0; i < s.counts.size(); ++i) {
      const std::string id = i < p->rules().size() ? p->rules()[i].id : "(default)";
      const Counts& c = s.counts[i];
      if (i > 0) json += ',';
      json += '"' + id + "\":{\"allowed\":" + std::to_string(c.allowed) +
              ",\"denied\":" + std::to_string(c.denied) +
              ",\"would_deny\":" + std::to_string(c.would_deny) + '}';
    }
    json += "},\"records\":" + std::to_string(s.records) +
            ",\"rate_limited\":" + std::to_string(s.rate_limited) +
            ",\"sink_errors\":" + std::to_string(s.sink_errors.load()) + '}';
    Record r;
    r.kind = Kind::summary;
    r.word = Word::log;
    r.mode = p->mode();
    r.seq = next_seq();
    r.ts_ns = now_ns();
    r.pid = s.pid;
    r.tid = current_tid();
    r.policy = p;
    r.event = "auditwall.summary";
    r.extra = json;
    log::encode(r, s.front);
    ++s.records;
  }
}

}  // namespace

std::uint64_t next_seq() noexcept { return g_seq.fetch_add(1, std::memory_order_relaxed) + 1; }

bool logs(const policy::Decision& decision) noexcept {
  if (decision.action == policy::Action::allow && decision.rule != nullptr) return false;
  return !g_sink_none.load(std::memory_order_relaxed);
}

const char* decision_word(const policy::Decision& decision) noexcept {
  return log::to_string(word_of(decision));
}

void record(const policy::Policy& policy, const policy::Decision& decision,
            const policy::Event& event, std::string_view call, const Caller& caller) noexcept {
  try {
    State& s = state();
    const Word word = word_of(decision);
    std::unique_lock<std::mutex> lock(s.mutex);
    Counts& c = counts_for(s, policy, decision.rule);
    if (word == Word::deny || word == Word::kill) {
      ++c.denied;
    } else if (word == Word::would_deny) {
      ++c.would_deny;
    } else {
      ++c.allowed;
    }
    // An explicit allow rule is counted, not logged: `action: log` is how to see those.
    if (word == Word::allow && decision.rule != nullptr) return;
    if (!s.configured) configure_for(s, policy);
    if (s.config.sink == Config::Sink::none) return;  // counted; nothing to write
    const std::int64_t now = now_ns();
    if (!admit(s, policy, decision, word, event.name, caller, now)) {
      ensure_writer(s);
      if (s.pending_dropped == 1) s.wake.notify_one();  // the writer reports it when due
      return;
    }
    if (s.front.size() >= kMaxBytes && s.writer_running) {
      s.flush_wanted = true;
      s.wake.notify_one();
      s.space.wait(lock, [&] { return s.front.size() < kMaxBytes || !s.writer_running; });
    }
    Record r;
    r.word = word;
    r.mode = decision.mode;
    r.seq = next_seq();
    r.ts_ns = now;
    r.pid = s.pid;
    r.tid = current_tid();
    r.policy = &policy;
    r.rule = decision.rule;
    r.event = event.name;
    r.call = call.data() != nullptr ? call : std::string_view("");
    r.caller_module = caller.module;
    r.caller_file = caller.file;
    r.caller_line = caller.line;
    r.fields = event;
    const bool was_empty = s.front.empty();
    log::encode(r, s.front);
    ++s.records;
    if (s.exiting) {
      lock.unlock();
      flush_now(s, false);
      return;
    }
    ensure_writer(s);
    if (!s.writer_running && s.front.size() >= kWakeBytes) {
      lock.unlock();  // no writer thread could be started: write here, in batches
      flush_now(s, false);
      return;
    }
    if (was_empty || s.front.size() >= kWakeBytes) s.wake.notify_one();
  } catch (...) {
    // Out of memory or no thread: the decision stands whatever happens to its record.
    on_sink_error("cannot buffer a record");
  }
}

void flush() noexcept {
  try {
    flush_now(state(), true);
  } catch (...) {
  }
}

bool parse_spec(std::string_view spec, Config& config, std::string& error) {
  auto number = [&](std::string_view key, std::string_view text, std::uint64_t& out) {
    std::uint64_t multiplier = 1;
    if (!text.empty() && (text.back() == 'K' || text.back() == 'k')) multiplier = 1024;
    if (!text.empty() && (text.back() == 'M' || text.back() == 'm')) multiplier = 1024 * 1024;
    if (multiplier != 1) text.remove_suffix(1);
    std::uint64_t v = 0;
    if (text.empty() || text.size() > 12) {
      error = "log option " + std::string(key) + " needs a number";
      return false;
    }
    for (char c : text) {
      if (c < '0' || c > '9') {
        error = "log option " + std::string(key) + " needs a number, not '" + std::string(text) + "'";
        return false;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v * multiplier;
    return true;
  };
  std::size_t start = 0;
  bool first = true;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view part = spec.substr(start, comma - start);
    start = comma + 1;
    if (first) {
      first = false;
      if (part == "stderr") {
        config.sink = Config::Sink::stderr_;
      } else if (part == "none") {
        config.sink = Config::Sink::none;
      } else if (part == "syslog") {
        config.sink = Config::Sink::syslog;
        config.path.clear();
      } else if (part.substr(0, 7) == "syslog:" && part.size() > 7) {
        config.sink = Config::Sink::syslog;
        config.path = std::string(part.substr(7));
      } else if (part.substr(0, 5) == "file:" && part.size() > 5) {
        config.sink = Config::Sink::file;
        config.path = std::string(part.substr(5));
      } else {
        error = "unknown log sink '" + std::string(part) +
                "'; use stderr, file:PATH, syslog, syslog:SOCKET or none";
        return false;
      }
      continue;
    }
    const std::size_t eq = part.find('=');
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::uint64_t n = 0;
    if (key == "format") {
      if (value == "json") config.format = Config::Format::json;
      else if (value == "text") config.format = Config::Format::text;
      else if (value == "auto") config.format = Config::Format::automatic;
      else { error = "log format must be json, text or auto"; return false; }
    } else if (key == "color") {
      if (value == "always") config.color = 1;
      else if (value == "never") config.color = 0;
      else if (value == "auto") config.color = -1;
      else { error = "log color must be auto, always or never"; return false; }
    } else if (key == "summary") {
      if (value == "yes" || value == "true" || value == "1" || value.empty()) config.summary = true;
      else if (value == "no" || value == "false" || value == "0") config.summary = false;
      else { error = "log summary must be yes or no"; return false; }
    } else if (key == "max_bytes" || key == "keep" || key == "rate_limit" || key == "window_ms" ||
               key == "max_arg_chars") {
      if (!number(key, value, n)) return false;
      if (key == "max_bytes") config.max_bytes = n;
      else if (n > 1000000) { error = "log option " + std::string(key) + " is too large"; return false; }
      else if (key == "keep") config.keep = static_cast<unsigned>(n);
      else if (key == "rate_limit") config.rate_limit = static_cast<unsigned>(n);
      else if (key == "window_ms") config.window_ms = static_cast<unsigned>(std::max<std::uint64_t>(n, 1));
      else config.max_arg_chars = static_cast<unsigned>(std::max<std::uint64_t>(n, 16));
    } else {
      error = "unknown log option '" + std::string(key) +
              "'; known: format, color, max_bytes, keep, rate_limit, window_ms, max_arg_chars, summary";
      return false;
    }
  }
  return true;
}

void prepare(const policy::Policy& policy) noexcept {
  try {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.configured) configure_for(s, policy);
  } catch (...) {
    on_sink_error("cannot configure the event log");
  }
}

bool configure(const Config& config, std::string& error) {
  State& s = state();
  stop_writer(s);
  std::lock_guard<std::mutex> write_lock(s.write_mutex);
  if (s.configured) drain(s, false);
  std::lock_guard<std::mutex> lock(s.mutex);
  install_handlers_once();
  s.pid = static_cast<std::int32_t>(::getpid());
  try {
    return apply_config(s, config, error);
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

Stats stats() {
  State& s = state();
  Stats out;
  std::lock_guard<std::mutex> lock(s.mutex);
  out.sink = s.configured ? s.output.name : "";
  // With the kernel layer's records, written past the buffer (syscall_log.cpp).
  out.records = s.records + syscall_log::records();
  out.rate_limited = s.rate_limited;
  out.sink_errors = s.sink_errors.load(std::memory_order_relaxed) + syscall_log::errors();
  {
    std::lock_guard<std::mutex> error_lock(s.error_mutex);
    out.last_error = s.last_error;
  }
  if (s.counted_policy != nullptr) {
    for (std::size_t i = 0; i < s.counts.size(); ++i) {
      RuleCounts rc;
      rc.rule = i < s.counted_policy->rules().size() ? &s.counted_policy->rules()[i] : nullptr;
      rc.allowed = s.counts[i].allowed;
      rc.denied = s.counts[i].denied;
      rc.would_deny = s.counts[i].would_deny;
      out.rules.push_back(rc);
    }
  }
  return out;
}

}  // namespace auditwall::recorder
