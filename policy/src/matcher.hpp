// The compiled `match` tree of a rule and its evaluation against an Event.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::policy {

/// Event fields a matcher needs; a rule applies only to events that carry all of its fields.
enum Field : unsigned {
  kFieldPath = 1u << 0,
  kFieldAccess = 1u << 1,
  kFieldExecutable = 1u << 2,
  kFieldArgv = 1u << 3,
  kFieldCommand = 1u << 4,
  kFieldProcess = 1u << 5,  // any of executable, argv, command (shell detection)
  kFieldAddress = 1u << 6,  // a numeric IPv4/IPv6 address (from host or url)
  kFieldHost = 1u << 7,     // a host (from host or url)
  kFieldPort = 1u << 8,
  kFieldUnix = 1u << 9,
  kFieldGlobal = 1u << 10,
  kFieldModule = 1u << 11,
  kFieldCaller = 1u << 12,
  kFieldOrigin = 1u << 13,
  kFieldEnv = 1u << 14,
  kFieldAttribute = 1u << 15,
};

/// An IPv6 network; IPv4 networks are stored IPv4-mapped (::ffff:a.b.c.d/96+n).
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  int prefix = 128;
};

struct PortRange {
  int low = 0;
  int high = 0;
};

struct Matcher {
  enum class Kind : std::uint8_t {
    all, any, negate, path, access, executable, argv, command, shell, address, host, port,
    unix_path, global, module, caller, origin, env, attribute,
  };
  Kind kind = Kind::all;
  std::vector<Matcher> children;      // all, any, negate (one child)
  std::vector<std::string> patterns;  // globs (normalised at load)
  std::vector<Cidr> cidrs;
  std::vector<PortRange> ports;
  unsigned access = 0;                // Access bits
  bool flag = false;                  // shell: true/false; caller: "stdlib" listed
  CodeOrigin origin = CodeOrigin::unknown;
  unsigned fields = 0;                // fields this subtree needs (Field bits)
};

/// The host and port of a URL, split the way urllib does (netloc ends at the first '/', '?' or
/// '#'; credentials end at the last '@'); the port defaults by scheme (http 80, https 443).
struct UrlParts {
  std::string_view host;
  int port = -1;
};
UrlParts split_url(std::string_view url) noexcept;

char lower(char c) noexcept;

/// What the evaluation of one event needs from it, normalised once, on first use, without
/// allocating. Lives on the evaluating thread's stack (about 16 KiB).
class Facts {
 public:
  explicit Facts(const Event& event) noexcept : event_(event) {}
  const Event& event() const noexcept { return event_; }
  /// True when the event carries every field in `fields` (Field bits).
  bool carries(unsigned fields) noexcept;
  std::string_view host() noexcept;  ///< from Event::host, else from Event::url
  int port() noexcept;               ///< from Event::port, else from Event::url; -1 if none
  bool unix_socket() const noexcept;
  /// The numeric address of the host, or nullptr when the host is a name or absent.
  const std::array<std::uint8_t, 16>* address() noexcept;
  /// Path 0 (Event::path) or 1 (path2), normalised: 0 when absent, 1 when `out` is set, 2 when
  /// it is too long to normalise.
  int path(int which, std::string_view& out) noexcept;

 private:
  void url() noexcept;
  const Event& event_;
  bool url_done_ = false;
  UrlParts url_;
  bool address_done_ = false;
  bool address_ok_ = false;
  std::array<std::uint8_t, 16> address_{};
  int state_[2] = {0, 0};
  std::string_view paths_[2];
  // PATH_MAX for the path and as much again for the working directory.
  char buffers_[2][8192];
};

/// True when the rule's match holds for the event: it applies (the event carries every field
/// the match names) and its test passes. `lenient` is true for rules that restrict (deny, kill,
/// log): where an event has two paths, either may match; for allow rules both must.
bool matcher_matches(const Matcher& matcher, Facts& facts, bool lenient) noexcept;

/// The names of the fields in `fields` (Field bits) that the event lacks, comma-separated.
std::string missing_fields(unsigned fields, Facts& facts);

/// The match key whose test fails first at the top of the tree ("path", "not", ...), or "".
std::string failing_key(const Matcher& matcher, Facts& facts, bool lenient);

/// True when the tree has a `caller` matcher.
bool matcher_uses_caller(const Matcher& matcher) noexcept;

/// Parses a numeric IPv4 address in any spelling inet_aton accepts (127.1, 2130706433,
/// 0x7f.0.0.1) or an IPv6 address ([::1], fe80::1%eth0, ::ffff:10.0.0.1) into `out`,
/// IPv4-mapped for IPv4. False when `text` is not numeric.
bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept;

/// Parses "10.0.0.0/8", "fd00::/8" or a single address; false when invalid.
bool parse_cidr(std::string_view text, Cidr& out) noexcept;

/// Normalises a path: relative paths are resolved against `cwd` (or "/" when it is absent),
/// "." and empty segments dropped, ".." removes the segment before it (never above "/").
/// Writes into `buffer`; false when the result does not fit.
bool normalise_path(std::string_view path, std::string_view cwd, char* buffer, std::size_t size,
                    std::string_view& out) noexcept;

/// Finds the shell command of a process event: true when the event runs a shell (os.system,
/// os.popen, `sh -c ...` in any spelling, through env/nice/busybox wrappers); `command` is the
/// command line when there is one, else absent.
bool shell_invocation(const Event& event, std::string_view& command) noexcept;

}  // namespace auditwall::policy
