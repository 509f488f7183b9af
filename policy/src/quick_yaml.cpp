// The fast reader of policy YAML; see quick_yaml.hpp. Every rule below errs on the side of
// declining: a text this reader gives up on costs a yaml-cpp parse, a text it reads
// differently from yaml-cpp would be a different policy.
#include "quick_yaml.hpp"

namespace auditwall::policy::quick {

const Node& Node::operator[](std::string_view key) const noexcept {
  static const Node undefined;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].type == Type::scalar && keys[i].value == key) return items[i];
  }
  return undefined;
}

const Node& Node::operator[](std::size_t index) const noexcept {
  static const Node undefined;
  return index < items.size() && type == Type::sequence ? items[index] : undefined;
}

namespace {

// Block nesting is bounded by indentation, flow nesting is not: deeper texts go to yaml-cpp.
constexpr int kMaxDepth = 64;

struct Declined {};

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || c == '.';
}

// A character that may begin a plain scalar without YAML reading an indicator in it.
bool plain_start(char c) {
  return c != '\0' && c != ' ' && std::string_view("-?:,[]{}#&*!|>'\"%@`").find(c) == std::string_view::npos;
}

// The plain words yaml-cpp reads as null.
bool null_word(std::string_view s) {
  return s == "~" || s == "null" || s == "Null" || s == "NULL";
}

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  Node document() {
    check_characters();
    if (!next_content() || column() != 0 || !key_ahead()) decline();
    Node root;
    block_map(root, 0);
    if (!at_end()) decline();
    return root;
  }

 private:
  [[noreturn]] static void decline() { throw Declined{}; }

  // Printable ASCII and newlines only (no tabs, carriage returns or UTF-8, whose columns and
  // folding this reader does not model), and no document markers or directives.
  void check_characters() const {
    for (const char c : text_) {
      if (static_cast<unsigned char>(c) - 0x20u > 0x7eu - 0x20u && c != '\n') decline();
    }
    for (std::size_t start = 0; start < text_.size();) {
      const std::string_view head = text_.substr(start, 3);
      if (head == "---" || head == "..." || head[0] == '%') decline();
      start = text_.find('\n', start);
      if (start == std::string_view::npos) break;
      ++start;
    }
  }

  char peek(std::size_t ahead = 0) const noexcept {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  int column() const noexcept { return static_cast<int>(pos_ - line_start_); }
  Position here() const noexcept { return {line_, column()}; }
  bool after_space() const noexcept {
    return pos_ == 0 || text_[pos_ - 1] == ' ' || text_[pos_ - 1] == '\n';
  }
  void newline() noexcept {
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
  void skip_spaces() noexcept {
    while (peek() == ' ') ++pos_;
  }
  void skip_comment() {
    if (!after_space()) decline();
    while (!at_end() && peek() != '\n') ++pos_;
  }

  // To the first character of the next line that has more than blanks and a comment; false
  // at the end of the text. Called at the end of a line or the start of one.
  bool next_content() {
    for (;;) {
      skip_spaces();
      if (peek() == '#') skip_comment();
      if (at_end()) return false;
      if (peek() != '\n') return true;
      newline();
    }
  }

  // The rest of a line after a value: blanks and a comment.
  void finish_line() {
    skip_spaces();
    if (peek() == '#') skip_comment();
    if (!at_end() && peek() != '\n') decline();
  }

  // A block sequence entry: "-" and a blank.
  bool dash_ahead() const noexcept {
    return peek() == '-' && (peek(1) == ' ' || peek(1) == '\n' || peek(1) == '\0');
  }

  // A simple key (letters, digits, "_-.") and ":" with a blank after it.
  bool key_ahead() const noexcept {
    if (!key_char(peek()) || peek() == '-') return false;
    std::size_t n = 1;
    while (key_char(peek(n))) ++n;
    const char after = peek(n + 1);
    return peek(n) == ':' && (after == ' ' || after == '\n' || after == '\0');
  }

  Node key() {
    Node out;
    const Position at = here();
    const std::size_t start = pos_;
    while (key_char(peek())) ++pos_;
    scalar(out, text_.substr(start, pos_ - start), at);
    ++pos_;  // ':'
    return out;
  }

  static void scalar(Node& out, std::string_view text, Position at) {
    out.type = null_word(text) ? Node::Type::null : Node::Type::scalar;
    if (out.type == Node::Type::scalar) out.value.assign(text);
    out.position = at;
  }

  // Room for a typical collection at once: growing a vector of nodes moves every node.
  static void reserve(Node& out) {
    out.items.reserve(8);
    if (out.type == Node::Type::map) out.keys.reserve(8);
  }

  void enter() {
    if (++depth_ > kMaxDepth) decline();
  }

  // A block collection starting at the current character, indented more than `parent`.
  void block_node(Node& out) {
    if (dash_ahead()) {
      block_sequence(out);
    } else if (key_ahead()) {
      block_map(out, column());
    } else {
      decline();  // a scalar or flow collection on a line of its own
    }
  }

  void block_map(Node& out, int indent) {
    enter();
    out.type = Node::Type::map;
    out.position = here();
    reserve(out);
    for (;;) {
      if (!key_ahead()) decline();
      out.keys.push_back(key());
      out.items.emplace_back();
      Node& item = out.items.back();
      item.type = Node::Type::null;
      item.position = out.keys.back().position;
      skip_spaces();
      if (at_end() || peek() == '\n' || peek() == '#') {
        finish_line();
        if (!next_content()) break;
        if (column() > indent) {
          block_node(item);
        } else if (column() == indent && dash_ahead()) {
          block_sequence(item);  // "key:" with its list at the key's own indentation
        }
      } else {
        value(item, indent, false);
        finish_line();
        if (!next_content()) break;
        if (column() > indent) decline();  // a continued plain scalar, or bad indentation
      }
      if (at_end() || column() < indent) break;
      if (column() > indent) decline();
    }
    --depth_;
  }

  void block_sequence(Node& out) {
    enter();
    const int indent = column();
    out.type = Node::Type::sequence;
    out.position = here();
    reserve(out);
    for (;;) {
      ++pos_;  // '-'
      out.items.emplace_back();
      Node& item = out.items.back();
      skip_spaces();
      if (at_end() || peek() == '\n' || peek() == '#') {
        finish_line();
        if (!next_content() || column() <= indent) decline();  // an empty item
        block_node(item);
      } else if (dash_ahead()) {
        decline();  // "- - x"
      } else if (key_ahead()) {
        block_map(item, column());
      } else {
        value(item, indent, false);
        finish_line();
        next_content();
      }
      if (at_end() || column() < indent) break;
      if (column() > indent) decline();
      if (!dash_ahead()) break;  // the next key of a map at this indentation
    }
    --depth_;
  }

  // A scalar or a flow collection: on the line of its key or "-", or inside a flow
  // collection (`flow`).
  void value(Node& out, int indent, bool flow) {
    const char c = peek();
    if (c == '[' || c == '{') {
      flow_collection(out, indent);
    } else if (c == '\'' || c == '"') {
      quoted(out);
    } else {
      plain(out, flow);
    }
  }

  // A quoted scalar, closed on its own line; double quotes without escapes.
  void quoted(Node& out) {
    const Position at = here();
    const char quote = peek();
    ++pos_;
    std::string value;
    for (;;) {
      if (at_end() || peek() == '\n') decline();
      const char c = peek();
      ++pos_;
      if (c == quote) {
        if (quote == '\'' && peek() == '\'') {
          value += '\'';
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\\' && quote == '"') decline();
      value += c;
    }
    out.type = Node::Type::scalar;
    out.value = std::move(value);
    out.position = at;
  }

  // A plain scalar on one line. In a flow collection it ends at ",]}".
  void plain(Node& out, bool flow) {
    if (!plain_start(peek())) decline();
    const Position at = here();
    const char* const start = text_.data() + pos_;
    const char* const end = text_.data() + text_.size();
    const char* p = start;
    const char* last = start;  // just past the last character that is not a blank
    while (p < end && *p != '\n') {
      const char c = *p;
      const char next = p + 1 < end ? p[1] : '\0';
      if (flow && (c == ',' || c == ']' || c == '}')) break;
      if (flow && (c == '[' || c == '{' || c == '?' || c == '#')) decline();
      if (c == ' ' && next == '#') break;
      if (c == ':' && (next == ' ' || next == '\n' || next == '\0' ||
                       (flow && (next == ',' || next == ']' || next == '}')))) {
        decline();  // a mapping where a scalar was expected
      }
      ++p;
      if (c != ' ') last = p;
    }
    pos_ = static_cast<std::size_t>(last - text_.data());
    scalar(out, std::string_view(start, static_cast<std::size_t>(last - start)), at);
  }

  // Blanks, line breaks and comments inside a flow collection; every line it continues on is
  // indented more than the block it belongs to.
  void flow_space(int indent) {
    for (;;) {
      skip_spaces();
      if (peek() == '#') skip_comment();
      if (at_end()) decline();  // an unclosed collection
      if (peek() != '\n') return;
      newline();
      skip_spaces();
      if (!at_end() && peek() != '\n' && column() <= indent) decline();
    }
  }

  // A flow sequence "[a, b]" or mapping "{k: v, ...}", with no empty entry and no trailing
  // comma.
  void flow_collection(Node& out, int indent) {
    enter();
    const bool map = peek() == '{';
    const char close = map ? '}' : ']';
    out.type = map ? Node::Type::map : Node::Type::sequence;
    out.position = here();
    reserve(out);
    ++pos_;
    flow_space(indent);
    while (peek() != close) {
      if (map) {
        if (!key_ahead() || peek(key_length() + 1) != ' ') decline();
        out.keys.push_back(key());
        flow_space(indent);
      }
      out.items.emplace_back();
      value(out.items.back(), indent, true);
      flow_space(indent);
      if (peek() == close) break;
      if (peek() != ',') decline();
      ++pos_;
      flow_space(indent);
      if (peek() == close) decline();  // a trailing comma
    }
    ++pos_;
    --depth_;
  }

  std::size_t key_length() const noexcept {
    std::size_t n = 0;
    while (key_char(peek(n))) ++n;
    return n;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<Node> parse(std::string_view text) {
  try {
    return Reader(text).document();
  } catch (const Declined&) {
    return std::nullopt;
  }
}

}  // namespace auditwall::policy::quick
