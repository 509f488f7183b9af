// Glob matching without allocation: event names, module names, host names and paths.
#include "glob.hpp"

namespace auditwall::policy {
namespace {

// Matches one set "[...]" at pattern[p] against c; sets `next` to the index after the set.
// A malformed set (no closing bracket) matches a literal '['.
bool match_set(std::string_view pattern, std::size_t p, char c, std::size_t& next) noexcept {
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char lo = pattern[i];
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      i += 3;
    } else {
      i += 1;
    }
    if (lo <= c && c <= hi) found = true;
  }
  if (i >= pattern.size()) {  // unterminated: '[' is literal
    next = p + 1;
    return c == '[';
  }
  next = i + 1;
  return found != negate;
}

// Matches one element of the pattern (not '*') at p against c; advances `next`.
bool match_one(std::string_view pattern, std::size_t p, char c, std::size_t& next) noexcept {
  if (pattern[p] == '[') return match_set(pattern, p, c, next);
  next = p + 1;
  return pattern[p] == '?' || pattern[p] == c;
}

// The classic greedy matcher with backtracking to the last star only, which is exact for a
// single kind of star and runs in O(pattern * text).
bool match(std::string_view pattern, std::string_view text) noexcept {
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    std::size_t next = 0;
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_t = t;
      continue;
    }
    if (p < pattern.size() && match_one(pattern, p, text[t], next)) {
      p = next;
      ++t;
      continue;
    }
    if (star_p != std::string_view::npos) {
      p = star_p;
      t = ++star_t;
      continue;
    }
    return false;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The segment of `s` starting at `pos` (up to the next '/').
std::string_view segment(std::string_view s, std::size_t pos) noexcept {
  std::size_t end = s.find('/', pos);
  return s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  return match(pattern, text);
}

bool path_glob_match(std::string_view pattern, std::string_view path) noexcept {
  // Both start with '/': compare segment lists; "**" segments are the stars of this level.
  if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
  // Positions are offsets of segment starts (just after a '/'); npos-like `end` is size+1.
  const std::size_t p_end = pattern.size() + 1, t_end = path.size() + 1;
  std::size_t p = 1, t = 1;
  std::size_t star_p = 0, star_t = 0;
  bool have_star = false;
  auto advance = [](std::string_view s, std::size_t pos) {
    std::size_t slash = s.find('/', pos);
    return slash == std::string_view::npos ? s.size() + 1 : slash + 1;
  };
  // "/" alone has no segments.
  if (path.size() == 1) t = t_end;
  if (pattern.size() == 1) p = p_end;
  while (t < t_end) {
    if (p < p_end && segment(pattern, p) == "**") {
      p = advance(pattern, p);
      star_p = p;
      star_t = t;
      have_star = true;
      continue;
    }
    if (p < p_end && match(segment(pattern, p), segment(path, t))) {
      p = advance(pattern, p);
      t = advance(path, t);
      continue;
    }
    if (have_star) {
      p = star_p;
      star_t = advance(path, star_t);
      t = star_t;
      continue;
    }
    return false;
  }
  while (p < p_end && segment(pattern, p) == "**") p = advance(pattern, p);
  return p >= p_end;
}

std::string glob_error(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '[') continue;
    std::size_t j = i + 1;
    if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
    if (j < pattern.size() && pattern[j] == ']') ++j;
    while (j < pattern.size() && pattern[j] != ']') ++j;
    if (j >= pattern.size()) return "'[' at offset " + std::to_string(i) + " has no closing ']'";
    i = j;
  }
  return std::string();
}

bool has_glob_chars(std::string_view text) noexcept {
  return text.find_first_of("*?[") != std::string_view::npos;
}

}  // namespace auditwall::policy
