// The event log's records: their compact form in the buffer, redaction, and JSON and text.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::log {

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
/// record says so); redaction and the final cut happen when the record is formatted.
void encode(const Record& record, std::string& buffer);

/// Reads the record at `pos` in `buffer` and moves `pos` past it. Views point into `buffer`.
Record decode(const std::string& buffer, std::size_t& pos);

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

/// Appends `record` as one JSON object (no newline).
void format_json(const Record& record, const Redactor& redactor, std::string& out);

/// Appends `record` as one line for people (no newline), with ANSI colours when `color`.
void format_text(const Record& record, const Redactor& redactor, bool color, std::string& out);

}  // namespace auditwall::log
