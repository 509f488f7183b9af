// Declarations shared by the policy library's sources; not part of the public API.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::policy {

/// Everything the loader read from a policy, validated, before compilation.
struct Document {
  std::vector<Rule> rules;
  Mode mode = Mode::enforce;
  Action default_action = Action::allow;
  SeccompConfig seccomp;
  LogConfig log;
  std::string source;
  std::string hash;
  std::string source_hash;  // digest() of the source text alone, as read
};

/// Builds the immutable Policy and its index from a validated document.
class Compiler {
 public:
  static std::shared_ptr<const Policy> compile(Document document);
};

/// A rule (`hidden`, an index into the rules) that can never match, because an earlier rule
/// without `match` (`by`) selects every event it selects.
struct Shadow {
  std::size_t hidden;
  std::size_t by;
};
std::vector<Shadow> find_shadowed(const std::vector<Rule>& rules);

/// The compiled form of a loaded, valid document: serialise() of the policy it compiles to.
std::string serialise(const Document& document);

/// load_string() with yaml-cpp alone, never the fast reader: the reference the tests hold the
/// fast reader to.
LoadResult load_string_with_yaml_cpp(std::string_view text, const std::string& name);

/// A short hex digest of a policy's text.
std::string digest(std::string_view text);

/// The family named `word` ("network", ...); false for anything else, "other" included.
bool family_from_string(std::string_view word, Family& out) noexcept;


/// An audit event name with its family and its sub-family: "connect" for socket.connect,
/// "open" for the open event (read or write by access), "" when it has none or is not in the
/// catalogue.
struct EventClass {
  std::string_view name;
  Family family = Family::other;
  std::string_view sub;
};

/// The catalogue, sorted by name: [catalogue_begin(), catalogue_end()).
const EventClass* catalogue_begin() noexcept;
const EventClass* catalogue_end() noexcept;

/// The class of any event name: its catalogue entry, or family `other`.
EventClass classify_event(std::string_view event_name) noexcept;

/// The sub-family names of a family, for validation and suggestions.
const std::vector<std::string_view>& sub_families(Family family);

}  // namespace auditwall::policy
