// Compares the fast policy reader's tree with yaml-cpp's, for the unit tests and the
// differential fuzzer.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "quick_yaml.hpp"

namespace auditwall::policy::testing {

inline quick::Node::Type type_of(const YAML::Node& node) {
  using Type = quick::Node::Type;
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return Type::null;
    case YAML::NodeType::Scalar:
      return Type::scalar;
    case YAML::NodeType::Sequence:
      return Type::sequence;
    case YAML::NodeType::Map:
      return Type::map;
    default:
      return Type::undefined;
  }
}

/// "" when `fast` is the tree yaml-cpp read as `reference`, else the first difference, with
/// its path. Positions are compared for every value but nulls (the loader never reports
/// anything at a null it read without an error, and errors are reported from yaml-cpp's tree).
inline std::string difference(const quick::Node& fast, const YAML::Node& reference,
                              const std::string& where = "$") {
  using Type = quick::Node::Type;
  auto at = [](int line, int column) {
    return std::to_string(line + 1) + ":" + std::to_string(column + 1);
  };
  if (type_of(reference) != fast.type) {
    return where + ": type " + std::to_string(static_cast<int>(fast.type)) + ", yaml-cpp " +
           std::to_string(static_cast<int>(type_of(reference)));
  }
  if (fast.type != Type::null && (fast.position.line != reference.Mark().line ||
                                  fast.position.column != reference.Mark().column)) {
    return where + ": at " + at(fast.position.line, fast.position.column) + ", yaml-cpp " +
           at(reference.Mark().line, reference.Mark().column);
  }
  if (fast.type == Type::scalar && fast.value != reference.Scalar()) {
    return where + ": '" + fast.value + "', yaml-cpp '" + reference.Scalar() + "'";
  }
  if (fast.type != Type::sequence && fast.type != Type::map) return "";
  if (fast.size() != reference.size()) {
    return where + ": " + std::to_string(fast.size()) + " items, yaml-cpp " +
           std::to_string(reference.size());
  }
  std::size_t i = 0;
  for (auto it = reference.begin(); it != reference.end(); ++it, ++i) {
    const std::string item = where + "[" + std::to_string(i) + "]";
    std::string why;
    if (fast.type == Type::sequence) {
      why = difference(fast.items[i], *it, item);
    } else {
      why = difference(fast.keys[i], it->first, item + ".key");
      if (why.empty()) why = difference(fast.items[i], it->second, item + ".value");
    }
    if (!why.empty()) return why;
  }
  return "";
}

/// What yaml-cpp makes of a text the fast reader accepted: "" when it is the same tree.
inline std::string check_against_yaml_cpp(const std::string& text) {
  std::optional<quick::Node> fast = quick::parse(text);
  if (!fast) return "";
  YAML::Node reference;
  try {
    reference = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return "the fast reader accepted a text yaml-cpp refuses: " + e.msg;
  }
  return difference(*fast, reference);
}

}  // namespace auditwall::policy::testing
