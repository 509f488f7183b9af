// A fast reader for the plain subset of YAML that policies are written in. It reads a
// document exactly as yaml-cpp reads it, or not at all: anything outside the subset (anchors,
// tags, block scalars, multi-line plain scalars, escapes, tabs, non-ASCII text, ...) makes it
// decline, and the loader reads the text with yaml-cpp instead. A differential fuzzer and the
// unit tests hold the two readers to the same tree for every text this one accepts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auditwall::policy::quick {

/// Where a value starts, counted from 0 as yaml-cpp's Mark is.
struct Position {
  int line = 0;
  int column = 0;
};

/// A value of the document, with the part of yaml-cpp's Node interface the loader uses.
class Node {
 public:
  enum class Type { undefined, null, scalar, sequence, map };

  Type type = Type::undefined;
  std::string value;        // a scalar's text
  Position position;
  std::vector<Node> items;  // a sequence's items, or a map's values
  std::vector<Node> keys;   // a map's keys: keys[i] maps to items[i]

  bool IsDefined() const noexcept { return type != Type::undefined; }
  bool IsNull() const noexcept { return type == Type::null; }
  bool IsScalar() const noexcept { return type == Type::scalar; }
  bool IsSequence() const noexcept { return type == Type::sequence; }
  bool IsMap() const noexcept { return type == Type::map; }
  explicit operator bool() const noexcept { return IsDefined(); }
  const std::string& Scalar() const noexcept { return value; }
  Position Mark() const noexcept { return position; }
  std::size_t size() const noexcept { return items.size(); }

  /// A map's value for `key` (the first, as yaml-cpp); an undefined node when there is none.
  const Node& operator[](std::string_view key) const noexcept;
  const Node& operator[](std::size_t index) const noexcept;

  std::vector<Node>::const_iterator begin() const noexcept { return items.begin(); }
  std::vector<Node>::const_iterator end() const noexcept { return items.end(); }
};

/// The document in `text`, or nothing when the text is not in the subset.
std::optional<Node> parse(std::string_view text);

}  // namespace auditwall::policy::quick
