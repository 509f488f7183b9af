// The audit hook: skips events no rule names, decides on the rest, records, and blocks.
#include "hook.hpp"

#include <link.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "events.hpp"
#include "recorder.hpp"

namespace auditwall::hook {
namespace {

using policy::Decision;
using policy::Policy;

// The armed policy. Set once, never freed: the hook can run until the very end of
// interpreter finalisation, after every module has been torn down.
std::atomic<const Policy*> g_policy{nullptr};
How g_how = How::api;

// Events raised while the hook itself works (creating the exception, writing the log) are
// auditwall's own and must not recurse into the policy. The hook runs no Python code of the
// program, so no code of the program can run while this is set.
thread_local bool t_in_hook = false;

// Set when the hook sees auditwall's own self-test event, to prove it is registered.
std::atomic<bool> g_selftest_seen{false};

// ---- the fast path ---------------------------------------------------------------------
//
// CPython passes each event's name as a `const char*`. Names raised by C code are string
// literals, so the pointer identifies the name. A small direct-mapped table remembers the
// pointers of names that the policy has no plan for, so that an event no rule names costs
// one hash of the pointer, one load and one compare. Only pointers into read-only segments
// of loaded objects are remembered: names built at run time (sys.audit("x") from Python,
// on the heap or in writable memory) could change or be reused for another name, so they
// always take the lookup. The policy never changes once armed, so an entry never goes stale.
constexpr unsigned kSkipBits = 9;
constexpr std::size_t kSkipSlots = std::size_t{1} << kSkipBits;
std::atomic<std::uintptr_t> g_skip[kSkipSlots];

inline std::size_t skip_slot(std::uintptr_t key) noexcept {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - kSkipBits));
}

// Read-only segments of the loaded objects, published as an immutable snapshot. A newer
// snapshot replaces it when a library was loaded since; old snapshots are leaked, since
// another thread may still read them (one per dlopen at most).
struct ReadOnlyRanges {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;  // sorted [begin, end)
  unsigned long long adds = 0;                                    // glibc's dlpi_adds
};
std::atomic<const ReadOnlyRanges*> g_ranges{nullptr};

int collect_ranges(struct dl_phdr_info* info, std::size_t size, void* data) {
  auto* out = static_cast<ReadOnlyRanges*>(data);
  if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds)) out->adds = info->dlpi_adds;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) continue;
    const std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    out->ranges.emplace_back(begin, begin + ph.p_memsz);
  }
  return 0;
}

int read_adds(struct dl_phdr_info* info, std::size_t size, void* data) {
  if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds)) {
    *static_cast<unsigned long long*>(data) = info->dlpi_adds;
  }
  return 1;  // the counter is the same in every entry: stop at the first
}

bool in_ranges(const ReadOnlyRanges* snapshot, std::uintptr_t key) {
  if (snapshot == nullptr) return false;
  const auto& r = snapshot->ranges;
  auto it = std::upper_bound(r.begin(), r.end(), key,
                             [](std::uintptr_t k, const auto& range) { return k < range.first; });
  return it != r.begin() && key < std::prev(it)->second;
}

// True when `name` lies in a read-only segment of a loaded object (a string literal).
bool is_static_name(const char* name) {
  const auto key = reinterpret_cast<std::uintptr_t>(name);
  const ReadOnlyRanges* snapshot = g_ranges.load(std::memory_order_acquire);
  if (in_ranges(snapshot, key)) return true;
  unsigned long long adds = 0;
  dl_iterate_phdr(read_adds, &adds);
  if (snapshot != nullptr && snapshot->adds == adds) return false;
  auto* fresh = new ReadOnlyRanges();
  dl_iterate_phdr(collect_ranges, fresh);
  std::sort(fresh->ranges.begin(), fresh->ranges.end());
  if (!g_ranges.compare_exchange_strong(snapshot, fresh, std::memory_order_acq_rel)) {
    delete fresh;
    return in_ranges(snapshot, key);
  }
  return in_ranges(fresh, key);
}

// ---- PolicyViolation, one type per interpreter ------------------------------------------

constexpr const char* kViolationKey = "auditwall.PolicyViolation";

PyObject* new_violation_type() {
  static PyType_Slot slots[] = {
      {Py_tp_doc, const_cast<char*>(
                      "Raised when auditwall's policy denies an operation. A PermissionError "
                      "with the attributes event (the audit event), rule (the id of the rule "
                      "that denied) and reason.")},
      {0, nullptr},
  };
  // Immutable: the hook instantiates this type while its recursion guard is set, so no
  // program code may be attached to it (a replaced __init__ would run unchecked).
  static PyType_Spec spec = {
      "auditwall.PolicyViolation", 0, 0,
      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE, slots};
  return PyType_FromSpecWithBases(&spec, PyExc_PermissionError);
}

// ---- describing the call ---------------------------------------------------------------

// The call's text, built on the stack: most calls fit, and a logged event then allocates
// nothing for it. Longer text moves to the heap.
class Text {
 public:
  Text() = default;
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;

  void append(const char* p, std::size_t n) {
    if (!spilled_ && n <= kInline - size_) {
      std::memcpy(inline_ + size_, p, n);
      size_ += n;
      return;
    }
    if (!spilled_) {
      heap_.assign(inline_, size_);
      spilled_ = true;
    }
    heap_.append(p, n);
  }
  Text& operator+=(char c) {
    append(&c, 1);
    return *this;
  }
  Text& operator+=(const char* s) {
    append(s, std::strlen(s));
    return *this;
  }
  std::string_view view() const { return spilled_ ? std::string_view(heap_) : std::string_view(inline_, size_); }

 private:
  static constexpr std::size_t kInline = 256;
  char inline_[kInline];
  std::size_t size_ = 0;
  bool spilled_ = false;
  std::string heap_;
};

constexpr std::size_t kMaxArgChars = 200;
// A plain str longer than this is written up to here and ends with "...": the log buffer keeps
// 4 KiB of a value and marks it cut (so redaction treats it as cut), and a module's source
// passed to compile() or exec() is not copied whole for each logged event.
constexpr Py_ssize_t kMaxPlainChars = 4096;
// Other values are rendered by repr() and cut to kMaxArgChars bytes; repr() runs only on their
// first kMaxArgChars + 1 characters (or bytes), never on a whole .pyc given to marshal.loads.
constexpr Py_ssize_t kMaxReprInput = kMaxArgChars + 1;

void append_utf8(Text& out, PyObject* str) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(str, &size);
  if (text == nullptr) {
    PyErr_Clear();
    out += "<unprintable>";
  } else if (static_cast<std::size_t>(size) > kMaxArgChars) {
    out.append(text, kMaxArgChars);
    out += "...";
  } else {
    out.append(text, static_cast<std::size_t>(size));
  }
}

// A repr that runs no program code: only exact built-in types are rendered by value, anything
// else (which could define __repr__) by its type name. bytes are shown decoded, as the
// person wrote them: os.system('id'), not os.system(b'id').
// The bytes as text when they are valid UTF-8, checked here without CPython's decoder: a
// failed decode builds a UnicodeDecodeError, and during start-up even that must not happen.
PyObject* utf8_or_null(PyObject* bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(PyBytes_AS_STRING(bytes));
  const Py_ssize_t n = PyBytes_GET_SIZE(bytes);
  for (Py_ssize_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n') return nullptr;  // binary: shown as bytes
      ++i;
      continue;
    }
    const int extra = (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || i + extra >= n) return nullptr;
    for (int k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return nullptr;
    }
    i += 1 + extra;
  }
  PyObject* text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(bytes), n, "strict");
  if (text == nullptr) PyErr_Clear();
  return text;
}

// True when the ASCII text holds no control character, DEL, quote or backslash: its repr is
// the text between single quotes. Eight bytes at a time (a zero-byte test per byte class).
bool plain_ascii(const char* text, std::size_t n) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & high; };
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, text + i, 8);
    // ASCII only: no byte has its high bit set, so x + 1 per byte carries into bit 7 only
    // for DEL, and x - 0x20 per byte borrows into bit 7 only below 0x20.
    const std::uint64_t bad = ((x - ones * 0x20) | (x + ones)) & high;
    if (bad != 0 || has_zero(x ^ (ones * '\'')) != 0 || has_zero(x ^ (ones * '\\')) != 0) {
      return false;
    }
  }
  for (; i < n; ++i) {
    const char c = text[i];
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') return false;
  }
  return true;
}

// The repr of the commonest arguments written here, without a new object: a str of printable
// ASCII with no quote or backslash ('text'), and an int of 64 bits. False for anything else.
bool append_plain_repr(Text& out, PyObject* obj) {
  if (PyUnicode_CheckExact(obj)) {
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(obj)) return false;
#endif
    if (!PyUnicode_IS_ASCII(obj)) return false;
    const char* text = static_cast<const char*>(PyUnicode_DATA(obj));
    const Py_ssize_t length = PyUnicode_GET_LENGTH(obj);
    const auto n = static_cast<std::size_t>(std::min(length, kMaxPlainChars));
    if (!plain_ascii(text, n)) return false;
    out += '\'';
    out.append(text, n);
    out += length > kMaxPlainChars ? "..." : "'";
    return true;
  }
  if (PyLong_CheckExact(obj)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
    return true;
  }
  return false;
}

void append_safe_repr(Text& out, PyObject* obj, int depth) {
  if (obj == nullptr) {
    out += "NULL";
    return;
  }
  if (append_plain_repr(out, obj)) return;
  PyObject* shown = nullptr;
  if (PyBytes_CheckExact(obj)) {
    // Shown as text when it is UTF-8, else as bytes. Only the strict decoder: an error handler
    // by name would initialise the codec registry, which breaks an interpreter that is still
    // starting (the hook sees marshal.loads before the codecs exist).
    PyObject* start = nullptr;
    if (PyBytes_GET_SIZE(obj) > kMaxReprInput) {
      // Cut before a UTF-8 sequence that would not fit, so that text still reads as text.
      const char* data = PyBytes_AS_STRING(obj);
      Py_ssize_t cut = kMaxReprInput;
      for (int back = 0; back < 3 && (data[cut] & 0xC0) == 0x80; ++back) --cut;
      start = PyBytes_FromStringAndSize(data, cut);
      if (start == nullptr) {
        PyErr_Clear();
        out += "<unprintable>";
        return;
      }
      obj = start;
    }
    PyObject* text = utf8_or_null(obj);
    if (text != nullptr) {
      shown = PyObject_Repr(text);
      Py_DECREF(text);
    } else {
      PyErr_Clear();
      shown = PyObject_Repr(obj);
    }
    Py_XDECREF(start);
  } else if (PyUnicode_CheckExact(obj) && PyUnicode_GET_LENGTH(obj) > kMaxReprInput) {
    PyObject* start = PyUnicode_Substring(obj, 0, kMaxReprInput);
    if (start != nullptr) {
      shown = PyObject_Repr(start);
      Py_DECREF(start);
    }
  } else if (PyUnicode_CheckExact(obj) || PyLong_CheckExact(obj) || PyFloat_CheckExact(obj) ||
             PyBool_Check(obj) || obj == Py_None) {
    shown = PyObject_Repr(obj);
  } else if ((PyTuple_CheckExact(obj) || PyList_CheckExact(obj)) && depth < 3) {
    const bool tuple = PyTuple_CheckExact(obj);
    out += tuple ? '(' : '[';
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
    for (Py_ssize_t i = 0; i < n && i < 8; ++i) {
      if (i > 0) out += ", ";
      append_safe_repr(out, PySequence_Fast_GET_ITEM(obj, i), depth + 1);
    }
    if (n > 8) out += ", ...";
    if (tuple && n == 1) out += ',';
    out += tuple ? ')' : ']';
    return;
  } else {
    out += '<';
    out += Py_TYPE(obj)->tp_name;
    out += '>';
    return;
  }
  if (shown == nullptr) {
    PyErr_Clear();
    out += "<unprintable>";
    return;
  }
  append_utf8(out, shown);
  Py_DECREF(shown);
}

// "os.system('id')"
void describe_call(Text& out, const char* event, PyObject* args) {
  out += event;
  out += '(';
  if (args != nullptr && PyTuple_Check(args)) {
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (i > 0) out += ", ";
      append_safe_repr(out, PyTuple_GET_ITEM(args, i), 1);
    }
  }
  out += ')';
}

// Sets auditwall.PolicyViolation (this interpreter's) with event, rule and reason.
void raise_violation(const char* event, const std::string& rule, const std::string& reason,
                     const std::string& message) {
  PyObject* type = violation_type();
  if (type == nullptr) {
    // Late in finalisation there may be no interpreter dict left: still refuse.
    PyErr_Clear();
    PyErr_SetString(PyExc_PermissionError, message.c_str());
    return;
  }
  PyObject* exc = PyObject_CallFunction(type, "s#", message.data(), static_cast<Py_ssize_t>(message.size()));
  if (exc == nullptr) return;
  auto set = [exc](const char* name, const char* data, std::size_t size) {
    PyObject* value = PyUnicode_DecodeUTF8(data, static_cast<Py_ssize_t>(size), "replace");
    const bool ok = value != nullptr && PyObject_SetAttrString(exc, name, value) == 0;
    Py_XDECREF(value);
    return ok;
  };
  if (set("event", event, std::strlen(event)) && set("rule", rule.data(), rule.size()) &&
      set("reason", reason.data(), reason.size())) {
    PyErr_SetObject(type, exc);
  }
  Py_DECREF(exc);
}

// The first deny/kill rule that the policy tried on `event` and found not matching, as the
// decision it would make: for an event whose argument the hook could not read.
Decision worst_case(const Policy& policy, const policy::Event& event, const Decision& decided) {
  // A rule without match decided without looking at any argument.
  if (decided.rule != nullptr && decided.rule->match == nullptr) return decided;
  const policy::Explanation why = policy.explain(event);
  for (const policy::ExplainStep& step : why.steps) {
    const policy::Rule& rule = *step.rule;
    if (step.outcome != policy::ExplainStep::Outcome::no_match) continue;
    if (rule.action != policy::Action::deny && rule.action != policy::Action::kill) continue;
    Decision d;
    d.action = rule.action;
    d.rule = &rule;
    d.mode = policy.mode() == policy::Mode::monitor || (rule.has_mode && rule.mode == policy::Mode::monitor)
                 ? policy::Mode::monitor
                 : policy::Mode::enforce;
    return d;
  }
  return decided;
}

// The strictest of two decisions: kill, then deny, then log, then allow; enforced first.
const Decision& stricter(const Decision& a, const Decision& b) {
  auto rank = [](const Decision& d) {
    const int action = d.action == policy::Action::kill ? 3 : d.action == policy::Action::deny ? 2
                       : d.action == policy::Action::log ? 1 : 0;
    return action * 2 + (d.mode == policy::Mode::enforce ? 1 : 0);
  };
  return rank(b) > rank(a) ? b : a;
}

// The other names of the file an `open` for writing reaches, each decided on as well (the
// strictest decision wins): the path with its symbolic links resolved, and, for os.open (no
// mode string) of a relative name, the name in each directory the process holds open, since
// the event does not say which `dir_fd` the call was given. A check at the event, so a link
// changed between the check and the open is not seen (docs/events.md).
Decision other_names(const Policy& policy, const policy::EventPlan* plan, const policy::Event& event,
                     Decision decision) {
  const unsigned access = policy::access_of(event);
  const unsigned writes = policy::kAccessWrite | policy::kAccessCreate | policy::kAccessTruncate |
                          policy::kAccessAppend;
  if (event.name != "open" || event.path.data() == nullptr || event.path.empty() ||
      event.path == events::kOpaque || (access != 0 && (access & writes) == 0)) {
    return decision;
  }
  std::vector<std::string> names;
  std::string given(event.path.substr(0, event.path.find('\0')));
  const bool relative = given[0] != '/';
  if (relative && event.cwd.data() != nullptr) given = std::string(event.cwd) + "/" + given;
  if (relative && event.open_mode.data() == nullptr) {
    for (const std::string& dir : events::open_directories()) names.push_back(dir + "/" + std::string(event.path));
  }
  for (std::size_t i = 0, n = names.size(); i <= n; ++i) {
    const std::string name = i < n ? names[i] : given;  // a copy: names grows below
    std::string resolved;
    if (events::resolve_links(name, resolved) && resolved != name) names.push_back(std::move(resolved));
  }
  policy::Event other = event;
  for (const std::string& name : names) {
    other.path = name;
    decision = stricter(decision, policy.evaluate(other, plan));
  }
  return decision;
}

[[noreturn]] void kill_now(const std::string& message) {
  recorder::flush();
  std::fprintf(stderr, "%s; killing the process\n", message.c_str());
  std::fflush(stderr);
  // SIGKILL: no handler, atexit function or finally clause of the program runs after this.
  ::kill(::getpid(), SIGKILL);
  std::_Exit(128 + SIGKILL);
}

int decide(const Policy& policy, const char* event, PyObject* args, const policy::EventPlan* plan) {
  if (std::strcmp(event, policy::kSelfTestEvent) == 0) {
    g_selftest_seen.store(true);
    return 0;
  }
  events::EventData data;
  events::extract(event, args, data);
  events::Caller caller;
  bool have_caller = false;
  if (policy.needs_caller(plan)) {
    have_caller = events::find_caller(caller);
    if (have_caller) {
      data.event.caller_module = caller.module;
      data.event.caller_in_stdlib = events::in_stdlib(caller.file);
    }
  }
  Decision decision = policy.evaluate(data.event, plan);
  if (!decision.blocks()) decision = other_names(policy, plan, data.event, decision);
  // An argument that is not plain data is converted by the program's own code after the event
  // (a PathLike given to subprocess or shutil): what the operation will use is unknown, so a
  // deny rule that did not match the marker might match it. Fail closed.
  if (data.opaque && !decision.blocks()) decision = worst_case(policy, data.event, decision);
  if (decision.rule == nullptr && decision.action == policy::Action::allow) return 0;

  // The call's text and the caller are for the log record and the denial only: an event that
  // an allow rule lets through is counted without them.
  const bool logged = recorder::logs(decision);
  Text call;
  if (logged || decision.blocks()) describe_call(call, event, args);
  if (!have_caller && logged) have_caller = events::find_caller(caller);
  recorder::Caller where;
  if (have_caller) where = {caller.module, caller.file, caller.line};
  recorder::record(policy, decision, data.event, call.view(), where);
  if (!decision.blocks()) return 0;

  const std::string rule_id = decision.rule != nullptr ? decision.rule->id : "default";
  const bool has_message = decision.rule != nullptr && !decision.rule->message.empty();
  const std::string reason = has_message ? decision.rule->message : "denied by policy " + policy.source();
  std::string message = "auditwall: " + std::string(call.view()) + " blocked by rule " + rule_id;
  if (has_message) message += ": " + decision.rule->message;
  if (decision.action == policy::Action::kill) kill_now(message);
  raise_violation(event, rule_id, reason, message);
  return -1;
}

// Everything but the fast path. Out of line, so that the fast path stays a few instructions.
__attribute__((noinline)) int slow_path(const char* event, PyObject* args) {
  const Policy* policy = g_policy.load(std::memory_order_acquire);
  if (policy == nullptr || t_in_hook) return 0;
  const policy::EventPlan* plan = policy->lookup(event);
  if (plan == nullptr) {
    if (is_static_name(event)) {
      const auto key = reinterpret_cast<std::uintptr_t>(event);
      g_skip[skip_slot(key)].store(key, std::memory_order_relaxed);
    }
    return 0;
  }
  t_in_hook = true;
  // An exception may be pending when CPython raises an event (during start-up and in error
  // paths): keep it out of the hook's own calls, and give it back unless the hook denies.
  PyObject *pending_type = nullptr, *pending_value = nullptr, *pending_tb = nullptr;
  PyErr_Fetch(&pending_type, &pending_value, &pending_tb);
  int result = 0;
  try {
    result = decide(*policy, event, args, plan);
    if (result == 0 && PyErr_Occurred()) PyErr_Clear();
    if (result != 0 && !PyErr_Occurred()) {
      PyErr_Format(PyExc_PermissionError, "auditwall: %s blocked", event);
    }
  } catch (const std::exception& e) {
    result = policy->mode() == policy::Mode::enforce ? -1 : 0;
    std::fprintf(stderr, "auditwall: internal error while checking %s: %s; %s\n", event, e.what(),
                 result != 0 ? "denied (fail closed)" : "allowed (monitor mode)");
    if (result != 0) {
      PyErr_Clear();
      PyErr_Format(PyExc_PermissionError,
                   "auditwall: internal error while checking %s (%s); denied (fail closed)", event, e.what());
    } else {
      PyErr_Clear();
    }
  } catch (...) {
    result = policy->mode() == policy::Mode::enforce ? -1 : 0;
    std::fprintf(stderr, "auditwall: internal error while checking %s; %s\n", event,
                 result != 0 ? "denied (fail closed)" : "allowed (monitor mode)");
    PyErr_Clear();
    if (result != 0) {
      PyErr_Format(PyExc_PermissionError, "auditwall: internal error while checking %s; denied (fail closed)", event);
    }
  }
  if (result == 0) {
    PyErr_Restore(pending_type, pending_value, pending_tb);
  } else {
    Py_XDECREF(pending_type);
    Py_XDECREF(pending_value);
    Py_XDECREF(pending_tb);
  }
  t_in_hook = false;
  return result;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The first enforcing deny/kill rule on native code, or nullptr.
const policy::Rule* native_denial(const Policy& policy) {
  for (const policy::Rule& rule : policy.rules()) {
    if (rule.action != policy::Action::deny && rule.action != policy::Action::kill) continue;
    if (policy.mode() == policy::Mode::monitor || (rule.has_mode && rule.mode == policy::Mode::monitor)) continue;
    for (const std::string& on : rule.on) {
      if (on == "native" || starts_with(on, "native.") || starts_with(on, "ctypes.") || on == "ctypes*") {
        return &rule;
      }
    }
  }
  return nullptr;
}

bool module_loaded(const char* name) {
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (modules == nullptr || !PyDict_Check(modules)) return false;
  PyObject* found = PyDict_GetItemString(modules, name);
  return found != nullptr && found != Py_None;
}

}  // namespace

// The hook CPython calls. Exported under a C name, so that profilers name it even in the
// stripped extension (bench/hook_bench.py counts the instructions inside it with callgrind).
extern "C" __attribute__((visibility("default"))) int auditwall_audit_hook(const char* event,
                                                                          PyObject* args,
                                                                          void* /*user_data*/) {
  const auto key = reinterpret_cast<std::uintptr_t>(event);
  if (g_skip[skip_slot(key)].load(std::memory_order_relaxed) == key) return 0;
  return slow_path(event, args);
}

const char* to_string(How how) noexcept {
  switch (how) {
    case How::pre_init: return "pre-init";
    case How::auto_load: return "auto-load";
    case How::api: return "api";
  }
  return "?";
}

bool arm(std::shared_ptr<const Policy> policy, How how, std::string& error) {
  if (policy == nullptr) {
    error = "no policy to arm with";
    return false;
  }
  if (Py_IsInitialized()) {
    // ctypes reads and writes memory without raising events: once it is loaded, a rule that
    // denies native code cannot be kept, so refuse rather than pretend.
    const policy::Rule* rule = native_denial(*policy);
    if (rule != nullptr && (module_loaded("ctypes") || module_loaded("_ctypes"))) {
      error = "the policy denies native code (rule " + rule->id +
              ") but ctypes is already imported, and ctypes can change memory without any "
              "audit event; arm auditwall before ctypes is imported (auditwall run, "
              "auditwall-launch or AUDITWALL_POLICY)";
      return false;
    }
  }
  // Leaked on purpose: the hook may run during finalisation, after any destructor.
  auto* keep = new std::shared_ptr<const Policy>(std::move(policy));
  const Policy* expected = nullptr;
  if (!g_policy.compare_exchange_strong(expected, keep->get())) {
    delete keep;
    error = "auditwall is already armed (" + std::string(to_string(g_how)) + ", policy " +
            expected->source() + "); a process keeps its first policy";
    return false;
  }
  g_how = how;
  g_selftest_seen.store(false);
  if (PySys_AddAuditHook(auditwall_audit_hook, nullptr) != 0) {
    g_policy.store(nullptr);
    error = "PySys_AddAuditHook failed";
    if (PyErr_Occurred()) PyErr_Clear();
    return false;
  }
  if (Py_IsInitialized()) {
    // PySys_AddAuditHook reports success without adding the hook when an earlier hook vetoes
    // it with RuntimeError. Prove the hook is in place before anyone relies on it.
    if (PySys_Audit(policy::kSelfTestEvent, nullptr) != 0) PyErr_Clear();
    if (!g_selftest_seen.load()) {
      g_policy.store(nullptr);
      error = "another audit hook refused to let auditwall's hook be added";
      return false;
    }
  }
  // The standard library's place is read from sys before the program's code can change it;
  // when armed before the interpreter starts, the first event that needs it reads it, still
  // during start-up.
  if (Py_IsInitialized()) (void)events::stdlib_known();
  recorder::prepare(*keep->get());
  return true;
}

const Policy* armed_policy() noexcept { return g_policy.load(std::memory_order_acquire); }
How armed_how() noexcept { return g_how; }

PyObject* violation_type() {
  PyObject* dict = PyInterpreterState_GetDict(PyInterpreterState_Get());  // borrowed
  if (dict == nullptr) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "auditwall: no interpreter dict");
    return nullptr;
  }
  PyObject* type = PyDict_GetItemString(dict, kViolationKey);  // borrowed
  if (type != nullptr) return type;
  PyObject* created = new_violation_type();
  if (created == nullptr) return nullptr;
  if (PyDict_SetItemString(dict, kViolationKey, created) != 0) {
    Py_DECREF(created);
    return nullptr;
  }
  Py_DECREF(created);  // the interpreter dict holds it for the interpreter's life
  return PyDict_GetItemString(dict, kViolationKey);
}

}  // namespace auditwall::hook
