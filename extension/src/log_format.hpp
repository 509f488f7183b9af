// The event log's records: their compact form in the buffer, redaction, and JSON and text.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::log {

/// A growable byte buffer that is never zero-filled: the recorder's buffers of encoded records
/// and the writer's formatted output. Not thread-safe.
class Bytes {
 public:
  Bytes() = default;
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;

  const char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  void clear() noexcept { size_ = 0; }
  void swap(Bytes& other) noexcept {
    data_.swap(other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }
  /// Room for at least `n` more bytes, at the end; commit() then says how much was written.
  /// Throws std::bad_alloc.
  char* reserve_more(std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    return data_.get() + size_;
  }
  /// The end of the reserved room.
  char* limit() noexcept { return data_.get() + capacity_; }
  /// The buffer now ends at `end`, which lies within the room reserve_more() gave.
  void commit(const char* end) noexcept { size_ = static_cast<std::size_t>(end - data_.get()); }
  void append(const char* p, std::size_t n) {
    char* out = reserve_more(n);
    std::memcpy(out, p, n);
    size_ += n;
  }

 private:
  void grow(std::size_t n);
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// The schema version written in every record's `schema` field (docs/log-schema.md).
inline constexpr int kSchemaVersion = 1;

enum class Word : std::uint8_t { allow, deny, would_deny, log, kill };
const char* to_string(Word word) noexcept;

/// What a record reports: a decision, identical decisions dropped by rate limiting, or the
/// counters at exit.
enum class Kind : std::uint8_t { decision, dropped, summary };

/// One record. In the buffer, strings are copied (cut to a bound); after decode() the views
/// point into the buffer, and cut_mask says which values the buffer cut.
struct Record {
  Kind kind = Kind::decision;
  Word word = Word::allow;
  policy::Mode mode = policy::Mode::enforce;
  std::uint64_t seq = 0;
  std::int64_t ts_ns = 0;  ///< CLOCK_REALTIME
  std::int32_t pid = 0;
  std::int32_t tid = 0;
  const policy::Policy* policy = nullptr;
  const policy::Rule* rule = nullptr;
  std::uint64_t count = 0;  ///< records dropped, for Kind::dropped
  std::string_view event;
  std::string_view call;
  std::string_view caller_module;
  std::string_view caller_file;
  int caller_line = 0;
  policy::Event fields;          ///< the typed event fields; name and argv unused
  std::vector<std::string_view> argv;
  std::string_view extra;        ///< summary: the counters, preformatted as a JSON object
  std::uint32_t cut_mask = 0;    ///< after decode(): which strings were cut (internal order)
};

/// Appends `record` to `buffer` in its compact form. Each string is cut to 4 KiB there (the
/// record says so); redaction and the final cut happen when the record is formatted. Throws
/// std::bad_alloc only.
void encode(const Record& record, Bytes& buffer);

/// Reads the record at `pos` in `buffer` into `record` (whose argv storage is reused) and
/// moves `pos` past it. Views point into `buffer`.
void decode(const Bytes& buffer, std::size_t& pos, Record& record);

/// How values are redacted (docs/log-schema.md, "Redaction").
struct Redactor {
  std::vector<std::string> env_globs;  ///< variable name globs, matched case-insensitively
  std::vector<std::regex> patterns;
  std::size_t max_chars = 200;

  /// Built-in globs plus `extra_env`; `patterns` compiled (false + error on a bad one).
  bool init(const std::vector<std::string>& extra_env, const std::vector<std::string>& extra,
            std::size_t max, std::string& error);
  /// `value` with secrets replaced by <redacted> and cut to max_chars (marking the cut);
  /// `was_cut` says the buffer already cut it. `process` selects the rules for process
  /// events (every upper-case NAME=VALUE environment assignment is hidden).
  std::string apply(std::string_view value, bool was_cut, bool process) const;
  /// As apply(), without copying when nothing changes: the result is `value` itself or a
  /// view of `scratch`.
  std::string_view view(std::string_view value, bool was_cut, bool process,
                        std::string& scratch) const;
};

/// The `family` field: policy family name, "auditwall" for auditwall's own records.
std::string_view family_name(std::string_view event) noexcept;

/// Writes records as JSON objects (docs/log-schema.md). It remembers the parts that repeat from
/// record to record (the timestamp up to the second; event, family, decision, rule and mode
/// together; the policy hash), so that a record costs little more than its variable values.
/// Not thread-safe: one writer at a time.
class JsonFormatter {
 public:
  JsonFormatter();
  ~JsonFormatter();
  JsonFormatter(const JsonFormatter&) = delete;
  JsonFormatter& operator=(const JsonFormatter&) = delete;
  /// Appends `record` as one JSON object (no newline).
  void format(const Record& record, const Redactor& redactor, Bytes& out);

 private:
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

/// Appends `record` as one line for people (no newline), with ANSI colours when `color`.
void format_text(const Record& record, const Redactor& redactor, bool color, Bytes& out);

}  // namespace auditwall::log
