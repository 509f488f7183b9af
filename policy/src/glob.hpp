// Glob matching without allocation: event names, module names, host names and paths.
#pragma once

#include <string>
#include <string_view>

namespace auditwall::policy {

/// `*` matches any run of characters (dots and slashes included), `?` one character,
/// `[abc]`, `[a-z]` and `[!abc]` one character of a set. Runs in O(pattern * text) time.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

/// Path globs: the path is split at `/`; `**` as a whole segment matches any number of
/// segments (none included); inside a segment `*`, `?` and sets work as in glob_match but
/// never cross a `/`. Both sides must be normalised (absolute, no `.`, `..` or `//`).
bool path_glob_match(std::string_view pattern, std::string_view path) noexcept;

/// An empty string when `pattern` is a valid glob, else what is wrong with it.
std::string glob_error(std::string_view pattern);

/// True when the text has glob characters (`*`, `?`, `[`).
bool has_glob_chars(std::string_view text) noexcept;

}  // namespace auditwall::policy
