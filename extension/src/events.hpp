// Turning a CPython audit event's argument tuple into auditwall's typed policy::Event.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <forward_list>
#include <string>
#include <string_view>
#include <vector>

#include "auditwall/policy.hpp"

namespace auditwall::events {

/// Text that stands for an argument the hook cannot read without running the program's code
/// (an os.PathLike, a str with an overridden __fspath__ passed where CPython converts after
/// the event). It starts with a NUL byte, so it is never a real path, host or program: an
/// allow rule that lists paths never matches it, and a `not:` allow-list denies it.
inline constexpr std::string_view kOpaque{"\0<opaque>", 9};

/// A typed event and the text it points to. Views in `event` stay valid while this object
/// and the argument tuple it was read from are alive.
class EventData {
 public:
  EventData() = default;
  EventData(const EventData&) = delete;
  EventData& operator=(const EventData&) = delete;

  policy::Event event;
  /// True when some argument that a rule could decide on was not plain data (see kOpaque).
  bool opaque = false;
  /// Python frames between the event and its caller (set by extract()).
  int skip_frames = 0;

  /// Copies `text` into storage owned by this object and returns a view of the copy.
  std::string_view keep(std::string text);
  /// Sets event.argv from `items` (copied into this object).
  void set_argv(std::vector<std::string_view> items);

 private:
  // A list: adding to it never moves earlier strings, and an empty one allocates nothing (most
  // events keep no text: a std::deque would allocate on construction, for every event).
  std::forward_list<std::string> strings_;
  std::vector<std::string_view> argv_;
};

/// Fills `out.event` from CPython's event `name` and its argument tuple `args`, per the
/// argument shapes of CPython 3.10 to 3.13 (docs/events.md). Reads only exact built-in data
/// (str, bytes, int, tuples and lists of them) and runs no Python code. Fields that are absent
/// or unreadable stay absent; a readable-but-opaque decisive argument becomes kOpaque.
/// Needs the interpreter lock. Leaves no Python error set. May throw std::bad_alloc.
/// `skip_frames` innermost Python frames are not the event's caller (a Python audit hook
/// that forwards events, in tests).
void extract(const char* name, PyObject* args, EventData& out, int skip_frames = 0);

/// The directories the process holds open (from /proc/self/fd), for an os.open of a relative
/// name whose `dir_fd` the event does not carry. Runs no Python code.
std::vector<std::string> open_directories();

/// `path` with every symbolic link resolved (realpath(3)); for a file that does not exist yet,
/// its directory resolved plus its name. False when neither can be resolved.
bool resolve_links(const std::string& path, std::string& out);

/// The first Python frame that is not auditwall's own nor the import machinery's. The texts
/// are views of the frame's str objects (its `__name__` and its code's co_filename), which
/// the Caller holds a reference to: nothing is copied. Created and destroyed with the
/// interpreter lock held.
class Caller {
 public:
  Caller() = default;
  ~Caller() { reset(); }
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  std::string_view module = "";  ///< the frame's module `__name__`, "" when unknown
  std::string_view file = "";    ///< its code's co_filename, "" when unknown
  int line = 0;                  ///< its current line, 0 when unknown

  /// Takes a reference to `name` and `filename` (either may be nullptr: ""), and views them.
  void set(PyObject* name, PyObject* filename);

 private:
  void reset();
  PyObject* name_ = nullptr;
  PyObject* filename_ = nullptr;
};

/// True when `file`, a code object's co_filename, is a module of the standard library: under
/// sysconfig's `stdlib` or `platstdlib` directory of this build ({base_prefix}/{platlibdir}/
/// pythonX.Y, and the same under base_exec_prefix), outside their site-packages and
/// dist-packages, with no empty, `.` or `..` segment; or a frozen module ("<frozen NAME>").
/// The directories are read from `sys`'s attributes once per process, at the first call that
/// finds them set (stdlib_known()). Runs no Python code; needs the interpreter lock.
bool in_stdlib(std::string_view file);

/// Reads the standard library's directories now, if not yet known; true once they are. The
/// hook calls it when it is armed, before the program's code can change `sys`.
bool stdlib_known();

/// Finds the calling module by walking the current thread's Python frames, after the
/// `skip_frames` innermost ones (as for extract()). Runs no Python code. Returns false (and
/// leaves `out` empty) when there is no such frame.
bool find_caller(Caller& out, int skip_frames = 0);

}  // namespace auditwall::events
