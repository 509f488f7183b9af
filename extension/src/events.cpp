// Reading CPython's audit event arguments into policy::Event, without running Python code.
#include "events.hpp"

#include <frameobject.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace auditwall::events {
namespace {

using policy::CodeOrigin;
using policy::Event;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads the text of an exact str or bytes. Exact types only: a subclass can override encode()
// or __fspath__, which stdlib code (subprocess, shutil) calls after the event, so its value
// at the check is not necessarily the value used.
bool read_text(PyObject* obj, EventData& data, std::string_view& out) {
  if (obj == nullptr) return false;
  if (PyBytes_CheckExact(obj)) {
    out = std::string_view(PyBytes_AS_STRING(obj), static_cast<std::size_t>(PyBytes_GET_SIZE(obj)));
    return true;
  }
  if (!PyUnicode_CheckExact(obj)) return false;
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(obj, &size);
  if (text != nullptr) {
    out = std::string_view(text, static_cast<std::size_t>(size));
    return true;
  }
  // Lone surrogates (undecodable file names): the bytes the OS will see, as os.fsencode.
  PyErr_Clear();
  PyObject* bytes = PyUnicode_AsEncodedString(obj, "utf-8", "surrogateescape");
  if (bytes == nullptr) {
    PyErr_Clear();
    return false;
  }
  out = data.keep(std::string(PyBytes_AS_STRING(bytes), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes))));
  Py_DECREF(bytes);
  return true;
}

// A decisive text argument: plain text, absent (None, missing), or opaque (anything else).
void decisive_text(PyObject* obj, EventData& data, std::string_view& field) {
  if (obj == nullptr || obj == Py_None) return;
  if (read_text(obj, data, field)) return;
  field = kOpaque;
  data.opaque = true;
}

std::int64_t read_int(PyObject* obj, std::int64_t absent = -1) {
  if (obj == nullptr || !PyLong_CheckExact(obj)) return absent;
  int overflow = 0;
  long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
  if (value == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return absent;
  }
  if (overflow != 0) return absent;
  return value;
}

PyObject* arg(PyObject* args, Py_ssize_t i) {
  if (args == nullptr || !PyTuple_Check(args) || i >= PyTuple_GET_SIZE(args)) return nullptr;
  return PyTuple_GET_ITEM(args, i);
}

// A path argument: text, or a file descriptor (an int: no path), or opaque.
void path_arg(PyObject* obj, EventData& data, std::string_view& field) {
  if (obj != nullptr && PyLong_Check(obj)) return;  // a file descriptor
  decisive_text(obj, data, field);
}

// The directory a `dir_fd` descriptor refers to, as the kernel names it in /proc/self/fd.
bool fd_directory(std::int64_t fd, std::string& out) {
  if (fd < 0 || fd > 0x7fffffff) return false;
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string buf(4096, '\0');
  const ssize_t n = readlink(link.c_str(), buf.data(), buf.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return false;
  buf.resize(static_cast<std::size_t>(n));
  // Not a path (a socket, a pipe) or a directory removed since: no name to decide on.
  if (buf[0] != '/' || ends_with(buf, " (deleted)")) return false;
  out = std::move(buf);
  return true;
}

// A path given with a `dir_fd` (os.remove(name, dir_fd=fd), as shutil.rmtree does): relative
// paths are joined to the directory the descriptor refers to, so that the policy decides on the
// file the syscall really uses, not on the name against the working directory. When the
// directory cannot be told, the path is opaque.
void apply_dir_fd(PyObject* fd_obj, EventData& data, std::string_view& field) {
  const std::int64_t fd = read_int(fd_obj);
  if (fd < 0 || field.data() == nullptr || field.empty() || field[0] == '/' || field == kOpaque) return;
  std::string dir;
  if (!fd_directory(fd, dir)) {
    field = kOpaque;
    data.opaque = true;
    return;
  }
  if (dir.back() != '/') dir += '/';
  dir += field;
  field = data.keep(std::move(dir));
}

void fill_cwd(EventData& data) {
  const Event& ev = data.event;
  auto relative = [](std::string_view p) {
    return p.data() != nullptr && !p.empty() && p[0] != '/' && p[0] != '\0';
  };
  if (ev.cwd.data() != nullptr) return;
  if (!relative(ev.path) && !relative(ev.path2) && !relative(ev.executable)) return;
  std::string buf(4096, '\0');
  if (getcwd(buf.data(), buf.size()) == nullptr) return;
  buf.resize(std::strlen(buf.c_str()));
  data.event.cwd = data.keep(std::move(buf));
}

// argv as a list or tuple of str/bytes (os.exec, os.posix_spawn, subprocess.Popen, pty.spawn).
// The items are read now; an item that is not plain text is opaque, since CPython converts it
// (calling its __fspath__) after the event.
void argv_arg(PyObject* obj, EventData& data) {
  if (obj == nullptr || obj == Py_None) return;
  std::vector<std::string_view> items;
  std::string_view one;
  if (read_text(obj, data, one)) {
    items.push_back(one);
  } else if (PyList_CheckExact(obj) || PyTuple_CheckExact(obj)) {
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
    items.reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      std::string_view item;
      if (!read_text(PySequence_Fast_GET_ITEM(obj, i), data, item)) {
        item = kOpaque;
        data.opaque = true;
      }
      items.push_back(item);
    }
  } else {
    items.push_back(kOpaque);
    data.opaque = true;
  }
  data.set_argv(std::move(items));
}

// The address family of a socket object, read from _socket.socket's C member, so that a
// subclass's `family` property is never called.
int socket_family(PyObject* sock) {
  if (sock == nullptr) return -1;
  PyObject* mro = Py_TYPE(sock)->tp_mro;
  if (mro == nullptr || !PyTuple_Check(mro)) return -1;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
    auto* type = reinterpret_cast<PyTypeObject*>(PyTuple_GET_ITEM(mro, i));
    if (std::strcmp(type->tp_name, "_socket.socket") != 0) continue;
    if (Py_TYPE(reinterpret_cast<PyObject*>(type)) != &PyType_Type) return -1;
    PyObject* descr = PyObject_GetAttrString(reinterpret_cast<PyObject*>(type), "family");
    if (descr == nullptr) {
      PyErr_Clear();
      return -1;
    }
    int family = -1;
    if (Py_TYPE(descr) == &PyMemberDescr_Type && Py_TYPE(descr)->tp_descr_get != nullptr) {
      PyObject* value = Py_TYPE(descr)->tp_descr_get(descr, sock, reinterpret_cast<PyObject*>(type));
      if (value == nullptr) {
        PyErr_Clear();
      } else {
        family = static_cast<int>(read_int(value));
        Py_DECREF(value);
      }
    }
    Py_DECREF(descr);
    return family;
  }
  return -1;
}

// A socket address: (host, port[, flowinfo, scope_id]) or a AF_UNIX path.
void address_arg(PyObject* sock, PyObject* address, EventData& data) {
  Event& ev = data.event;
  ev.address_family = socket_family(sock);
  if (address == nullptr || address == Py_None) return;
  if (PyTuple_CheckExact(address) && PyTuple_GET_SIZE(address) >= 2) {
    decisive_text(PyTuple_GET_ITEM(address, 0), data, ev.host);
    ev.port = read_int(PyTuple_GET_ITEM(address, 1));
    if (ev.address_family < 0) ev.address_family = PyTuple_GET_SIZE(address) == 4 ? AF_INET6 : AF_INET;
    return;
  }
  std::string_view path;
  if (read_text(address, data, path)) {
    if (ev.address_family < 0) ev.address_family = AF_UNIX;
    if (ev.address_family == AF_UNIX) {
      ev.path = path;
    } else {
      ev.host = path;
    }
    return;
  }
  ev.host = kOpaque;
  data.opaque = true;
}

// host and port from a URL, for urllib.Request and webbrowser.open: scheme://[user@]host[:port]
void url_arg(PyObject* obj, EventData& data) {
  Event& ev = data.event;
  decisive_text(obj, data, ev.url);
  if (ev.url.data() == nullptr || ev.url == kOpaque) return;
  std::string_view url = ev.url;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return;
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string_view host = rest;
  std::int64_t port = -1;
  if (!rest.empty() && rest[0] == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return;
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') rest = rest.substr(1); else rest = {};
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      rest = rest.substr(colon + 1);
    } else {
      rest = {};
    }
  }
  if (!rest.empty()) {
    port = 0;
    for (char c : rest) {
      if (c < '0' || c > '9' || port > 65535) return;  // not a URL we understand
      port = port * 10 + (c - '0');
    }
  } else {
    std::string lower(scheme);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "http" || lower == "ws") port = 80;
    else if (lower == "https" || lower == "wss") port = 443;
    else if (lower == "ftp") port = 21;
  }
  ev.host = host;
  ev.port = port;
}

// The exact-str value of `key` in `dict`, found without a dict lookup: a key with a custom
// __eq__ and a colliding hash would otherwise run code inside the hook. Nullptr when absent
// or not an exact str (borrowed).
PyObject* find_str(PyObject* dict, const char* key) {
  if (dict == nullptr || !PyDict_Check(dict)) return nullptr;
  Py_ssize_t pos = 0;
  PyObject* k = nullptr;
  PyObject* value = nullptr;
  const std::size_t length = std::strlen(key);
  while (PyDict_Next(dict, &pos, &k, &value)) {
    if (!PyUnicode_CheckExact(k)) continue;
#if PY_VERSION_HEX < 0x030C0000
    const bool ready = PyUnicode_IS_READY(k);
#else
    const bool ready = true;
#endif
    if (ready && PyUnicode_IS_ASCII(k)) {
      // The common case, compared here: the keys of a module's globals are ASCII.
      if (static_cast<std::size_t>(PyUnicode_GET_LENGTH(k)) == length &&
          std::memcmp(PyUnicode_DATA(k), key, length) == 0) {
        return value;
      }
      continue;
    }
    if (PyUnicode_CompareWithASCIIString(k, key) == 0) return value;
  }
  return nullptr;
}

// The UTF-8 text of a str (an exact one unless `subclass`), as a view that lives as long as
// the str: CPython keeps the UTF-8 form with the object.
bool utf8_view(PyObject* str, std::string_view& out, bool subclass = false) {
  if (str == nullptr || !(subclass ? PyUnicode_Check(str) : PyUnicode_CheckExact(str))) return false;
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(str, &size);
  if (text == nullptr) {
    PyErr_Clear();
    return false;
  }
  out = std::string_view(text, static_cast<std::size_t>(size));
  return true;
}

bool utf8_of(PyObject* str, std::string& out) {
  std::string_view text;
  if (!utf8_view(str, text)) return false;
  out.assign(text);
  return true;
}

// The Python frame's module name (globals["__name__"]).
bool frame_module(PyObject* globals, std::string& out) { return utf8_of(find_str(globals, "__name__"), out); }

PyObject* frame_globals(PyFrameObject* frame) {  // new reference
#if PY_VERSION_HEX >= 0x030B0000
  return PyFrame_GetGlobals(frame);
#else
  Py_XINCREF(frame->f_globals);
  return frame->f_globals;
#endif
}

std::string code_filename(PyCodeObject* code) {
  std::string_view text;
  if (code == nullptr || !utf8_view(code->co_filename, text, true)) return {};
  return std::string(text);
}

bool is_skipped_module(std::string_view module) {
  return module == "auditwall" || starts_with(module, "auditwall.") || module == "importlib" ||
         starts_with(module, "importlib.") || module == "_frozen_importlib" ||
         module == "_frozen_importlib_external";
}

// The standard library's directories, read from `sys` once per process (every interpreter of
// the process runs the same build). Published as an immutable snapshot; never freed.
struct StdlibDirs {
  std::vector<std::string> dirs;  // absolute, without a trailing slash
};
std::atomic<const StdlibDirs*> g_stdlib{nullptr};

// sysconfig's `stdlib` and `platstdlib`, {base_prefix}/{platlibdir}/pythonX.Y and the same
// under base_exec_prefix, from sys's own attributes: running sysconfig would run Python code
// (which the program may have replaced) inside the hook. The base prefixes, not the venv's:
// a virtual environment holds no standard library.
const StdlibDirs* stdlib_dirs() {
  if (const StdlibDirs* known = g_stdlib.load(std::memory_order_acquire)) return known;
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  PyObject* sys = nullptr;
  if (modules != nullptr && PyDict_Check(modules)) {
    Py_ssize_t pos = 0;
    PyObject *key = nullptr, *value = nullptr;
    while (PyDict_Next(modules, &pos, &key, &value)) {
      if (PyUnicode_CheckExact(key) && PyUnicode_CompareWithASCIIString(key, "sys") == 0) {
        sys = value;
        break;
      }
    }
  }
  if (sys == nullptr || !PyModule_CheckExact(sys)) return nullptr;
  PyObject* dict = PyModule_GetDict(sys);  // borrowed
  std::string libdir;
  if (!utf8_of(find_str(dict, "platlibdir"), libdir) || libdir.empty() ||
      libdir.find('/') != std::string::npos) {
    return nullptr;
  }
#ifdef Py_GIL_DISABLED
  const char* abi_thread = "t";
#else
  const char* abi_thread = "";
#endif
  const std::string tail = "/" + libdir + "/python" + std::to_string(PY_MAJOR_VERSION) + "." +
                           std::to_string(PY_MINOR_VERSION) + abi_thread;
  auto* found = new StdlibDirs();
  for (const char* prefix_key : {"base_prefix", "base_exec_prefix"}) {
    std::string prefix;
    if (!utf8_of(find_str(dict, prefix_key), prefix) || prefix.empty() || prefix[0] != '/') continue;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    std::string dir = (prefix == "/" ? std::string() : prefix) + tail;
    if (std::find(found->dirs.begin(), found->dirs.end(), dir) == found->dirs.end()) {
      found->dirs.push_back(std::move(dir));
    }
  }
  if (PyErr_Occurred()) PyErr_Clear();
  if (found->dirs.empty()) {  // sys not set up yet (early start-up): try again next time
    delete found;
    return nullptr;
  }
  const StdlibDirs* expected = nullptr;
  if (!g_stdlib.compare_exchange_strong(expected, found, std::memory_order_acq_rel)) {
    delete found;
    return expected;
  }
  return found;
}

// True when `path` has no empty, "." or ".." segment: a prefix test on it is a test of the
// directory it names (lexically; symbolic links inside the stdlib are the stdlib's own).
bool canonical_segments(std::string_view path) {
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

// The current thread's Python frame `skip` frames out from the innermost (a new reference),
// or nullptr.
PyFrameObject* frame_at(int skip) {
  PyFrameObject* frame = PyEval_GetFrame();  // borrowed
  Py_XINCREF(frame);
  for (; frame != nullptr && skip > 0; --skip) {
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  return frame;
}

// The line `frame` is at. PyFrame_GetLineNumber() reads the code's line table from its start
// each time, and a program logs the same places again and again: remembered per thread by
// (code object, instruction offset). The code's file and first line are compared too, so that a
// code object allocated where a freed one was is not taken for it.
int frame_line(PyFrameObject* frame, PyCodeObject* code) {
#if PY_VERSION_HEX >= 0x030B0000
  const int lasti = PyFrame_GetLasti(frame);
#else
  const int lasti = frame->f_lasti;
#endif
  struct Slot {
    const PyCodeObject* code;
    const PyObject* file;
    int first_line;
    int lasti;
    int line;
  };
  thread_local Slot slots[64];  // trivially destructible: usable until the thread's very end
  auto h = (reinterpret_cast<std::uintptr_t>(code) >> 4) ^
           (static_cast<std::uintptr_t>(static_cast<unsigned>(lasti)) * 0x9E3779B1u);
  Slot& slot = slots[(h ^ (h >> 11)) & 63];
  if (code != nullptr && lasti >= 0 && slot.code == code && slot.lasti == lasti &&
      slot.file == code->co_filename && slot.first_line == code->co_firstlineno) {
    return slot.line;
  }
  const int line = PyFrame_GetLineNumber(frame);
  if (code != nullptr) slot = {code, code->co_filename, code->co_firstlineno, lasti, line};
  return line;
}

// The module and file of the innermost Python frame but `skip`, or false when there is none.
bool innermost(int skip, std::string& module, std::string& file) {
  PyFrameObject* frame = frame_at(skip);
  if (frame == nullptr) return false;
  PyObject* globals = frame_globals(frame);
  const bool ok = frame_module(globals, module);
  Py_XDECREF(globals);
  PyCodeObject* code = PyFrame_GetCode(frame);
  file = code_filename(code);
  Py_XDECREF(code);
  Py_DECREF(frame);
  return ok;
}

// True when the import system compiles a module's source: SourceLoader.source_to_code calls
// compile through _call_with_frames_removed, both in the frozen import machinery (matched by
// module name and file, as for the generators below). A module without a usable .pyc (first
// import, a read-only or write-denied __pycache__) is compiled this way.
bool from_import_machinery(int skip_frames) {
  std::string module, file;
  if (!innermost(skip_frames, module, file)) return false;
  if (!((module == "importlib._bootstrap" || module == "_frozen_importlib") &&
        file == "<frozen importlib._bootstrap>")) {
    return false;
  }
  if (!innermost(skip_frames + 1, module, file)) return false;
  return (module == "importlib._bootstrap_external" || module == "_frozen_importlib_external") &&
         file == "<frozen importlib._bootstrap_external>";
}

// The stdlib modules that build functions from source text of their own, from validated
// identifiers: namedtuple, dataclasses (and enum on some versions). Their exec/compile is
// module code, not input: the module name and its file must both match, so renaming
// `__name__` alone does not turn a program's eval into trusted code.
bool from_code_generator(int skip_frames) {
  std::string module, file;
  if (!innermost(skip_frames, module, file)) return false;
  static const std::pair<std::string_view, std::string_view> generators[] = {
      {"collections", "/collections/__init__.py"},
      {"dataclasses", "/dataclasses.py"},
      {"enum", "/enum.py"},
      {"typing", "/typing.py"},
  };
  for (const auto& [name, suffix] : generators) {
    if (module == name && ends_with(file, suffix)) return true;
  }
  return from_import_machinery(skip_frames);
}

// --- one reader per event shape ---------------------------------------------------------

using Reader = void (*)(PyObject* args, EventData& data);

policy::CodeOrigin code_origin(const char* name, PyObject* args, int skip_frames);

void read_open(PyObject* args, EventData& d) {
  path_arg(arg(args, 0), d, d.event.path);
  PyObject* mode = arg(args, 1);
  if (mode != nullptr && mode != Py_None) decisive_text(mode, d, d.event.open_mode);
  d.event.open_flags = read_int(arg(args, 2));
}
void read_path(PyObject* args, EventData& d) { path_arg(arg(args, 0), d, d.event.path); }
void read_two_paths(PyObject* args, EventData& d) {
  path_arg(arg(args, 0), d, d.event.path);
  path_arg(arg(args, 1), d, d.event.path2);
}
// os.* events whose path is relative to the `dir_fd` argument at kDirFd.
template <int kDirFd>
void read_path_at(PyObject* args, EventData& d) {
  read_path(args, d);
  apply_dir_fd(arg(args, kDirFd), d, d.event.path);
}
// (src, dst, ...): src relative to the argument at kSrcDirFd, dst to kDstDirFd (-1: none;
// os.symlink's src is the link's text, not a path it opens).
template <int kSrcDirFd, int kDstDirFd>
void read_two_paths_at(PyObject* args, EventData& d) {
  read_two_paths(args, d);
  if (kSrcDirFd >= 0) apply_dir_fd(arg(args, kSrcDirFd), d, d.event.path);
  apply_dir_fd(arg(args, kDstDirFd), d, d.event.path2);
}
void read_system(PyObject* args, EventData& d) { decisive_text(arg(args, 0), d, d.event.command); }
void read_argv_exec(PyObject* args, EventData& d) {  // (path, argv, env)
  path_arg(arg(args, 0), d, d.event.executable);
  argv_arg(arg(args, 1), d);
}
void shell_command(EventData& d) {
  // "/bin/sh -c CMD": the command line is what a person reads.
  Event& ev = d.event;
  if (ev.argc >= 3 && ev.argv[1] == "-c") {
    std::string_view exe = ev.argv[0];
    std::string_view base = exe.substr(exe.rfind('/') == std::string_view::npos ? 0 : exe.rfind('/') + 1);
    if (base == "sh" || base == "bash" || base == "dash" || base == "zsh" || base == "ksh") ev.command = ev.argv[2];
  }
}
void read_popen(PyObject* args, EventData& d) {  // (executable, args, cwd, env)
  argv_arg(arg(args, 1), d);
  PyObject* exe = arg(args, 0);
  if (exe != nullptr && exe != Py_None) {
    decisive_text(exe, d, d.event.executable);
  } else if (d.event.argc > 0) {
    d.event.executable = d.event.argv[0];
  }
  PyObject* cwd = arg(args, 2);
  if (cwd != nullptr && cwd != Py_None) decisive_text(cwd, d, d.event.cwd);
  shell_command(d);
}
void read_posix_spawn(PyObject* args, EventData& d) {
  read_argv_exec(args, d);
  shell_command(d);
}
void read_pty_spawn(PyObject* args, EventData& d) {  // (argv,)
  argv_arg(arg(args, 0), d);
  if (d.event.argc > 0) d.event.executable = d.event.argv[0];
}
void read_sock_address(PyObject* args, EventData& d) { address_arg(arg(args, 0), arg(args, 1), d); }
void read_getaddrinfo(PyObject* args, EventData& d) {  // (host, port, family, type, proto)
  decisive_text(arg(args, 0), d, d.event.host);
  PyObject* port = arg(args, 1);
  d.event.port = read_int(port);
  if (d.event.port < 0 && port != nullptr && port != Py_None) {
    std::string_view text;
    if (read_text(port, d, text) && !text.empty() && text.size() <= 5 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      d.event.port = std::stoll(std::string(text));
    }
  }
  const std::int64_t family = read_int(arg(args, 2));
  if (family > 0) d.event.address_family = static_cast<int>(family);
}
void read_host(PyObject* args, EventData& d) { decisive_text(arg(args, 0), d, d.event.host); }
void read_nameinfo(PyObject* args, EventData& d) {  // ((host, port, ...),) or ((host, port), flags)
  PyObject* sa = arg(args, 0);
  if (sa != nullptr && PyTuple_CheckExact(sa) && PyTuple_GET_SIZE(sa) >= 2) {
    decisive_text(PyTuple_GET_ITEM(sa, 0), d, d.event.host);
    d.event.port = read_int(PyTuple_GET_ITEM(sa, 1));
  }
}
void read_socket_new(PyObject* args, EventData& d) {  // (sock, family, type, proto)
  const std::int64_t family = read_int(arg(args, 1));
  d.event.address_family = family >= 0 ? static_cast<int>(family) : socket_family(arg(args, 0));
}
void read_client_connect(PyObject* args, EventData& d) {  // (self, host, port)
  decisive_text(arg(args, 1), d, d.event.host);
  d.event.port = read_int(arg(args, 2));
}
void read_url(PyObject* args, EventData& d) { url_arg(arg(args, 0), d); }
void read_find_class(PyObject* args, EventData& d) {  // (module, name)
  std::string_view module, name;
  PyObject* m = arg(args, 0);
  PyObject* n = arg(args, 1);
  if (read_text(m, d, module) && read_text(n, d, name)) {
    std::string global(module);
    global += '.';
    global += name;
    d.event.global = d.keep(std::move(global));
  } else if (m != nullptr || n != nullptr) {
    d.event.global = kOpaque;
    d.opaque = true;
  }
}
void read_import(PyObject* args, EventData& d) {  // (module, filename, sys.path, meta_path, path_hooks)
  decisive_text(arg(args, 0), d, d.event.module);
  PyObject* file = arg(args, 1);
  if (file != nullptr && file != Py_None) decisive_text(file, d, d.event.path);
}
void read_dlopen(PyObject* args, EventData& d) {  // (name,), None for the main program
  PyObject* name = arg(args, 0);
  if (name != nullptr && name != Py_None) decisive_text(name, d, d.event.path);
}
void read_code(PyObject* args, EventData& d) {
  d.event.code_origin = code_origin(d.event.name.data(), args, d.skip_frames);
}
void read_env(PyObject* args, EventData& d) { decisive_text(arg(args, 0), d, d.event.env_key); }
void read_attribute(PyObject* args, EventData& d) {  // (obj, name[, value])
  decisive_text(arg(args, 1), d, d.event.attribute);
}
void read_run_file(PyObject* args, EventData& d) { read_path(args, d); }

const std::unordered_map<std::string_view, Reader>& readers() {
  static const auto* table = new std::unordered_map<std::string_view, Reader>{
      // file
      {"open", read_open},
      {"os.chdir", read_path}, {"os.chflags", read_path}, {"os.chmod", read_path_at<2>},
      {"os.chown", read_path_at<3>}, {"os.getxattr", read_path}, {"os.listdir", read_path},
      {"os.listxattr", read_path}, {"os.mkdir", read_path_at<2>},
      {"os.mkfifo", read_path_at<2>}, {"os.mknod", read_path_at<3>}, {"os.remove", read_path_at<1>},
      {"os.removexattr", read_path}, {"os.rmdir", read_path_at<1>}, {"os.scandir", read_path},
      {"os.setxattr", read_path}, {"os.truncate", read_path}, {"os.utime", read_path_at<3>},
      {"os.fwalk", read_path}, {"os.walk", read_path},
      {"os.rename", read_two_paths_at<2, 3>}, {"os.link", read_two_paths_at<2, 3>},
      {"os.symlink", read_two_paths_at<-1, 2>},
      {"shutil.copyfile", read_two_paths}, {"shutil.copymode", read_two_paths},
      {"shutil.copystat", read_two_paths}, {"shutil.copytree", read_two_paths},
      {"shutil.move", read_two_paths}, {"shutil.unpack_archive", read_two_paths},
      {"shutil.chown", read_path}, {"shutil.rmtree", read_path},
      {"shutil.make_archive", read_path},
      {"tempfile.mkstemp", read_path}, {"tempfile.mkdtemp", read_path},
      {"glob.glob", read_path}, {"glob.glob/2", read_path},
      {"cpython.run_file", read_run_file}, {"cpython.run_startup", read_run_file},
      // process
      {"os.system", read_system}, {"os.exec", read_argv_exec},
      {"os.posix_spawn", read_posix_spawn}, {"subprocess.Popen", read_popen},
      {"pty.spawn", read_pty_spawn},
      // network
      {"socket.connect", read_sock_address}, {"socket.bind", read_sock_address},
      {"socket.sendto", read_sock_address}, {"socket.sendmsg", read_sock_address},
      {"socket.getaddrinfo", read_getaddrinfo}, {"socket.gethostbyname", read_host},
      {"socket.gethostbyname_ex", read_host}, {"socket.gethostbyaddr", read_host},
      {"socket.getnameinfo", read_nameinfo}, {"socket.sethostname", read_host},
      {"socket.__new__", read_socket_new},
      {"http.client.connect", read_client_connect}, {"smtplib.connect", read_client_connect},
      {"ftplib.connect", read_client_connect}, {"poplib.connect", read_client_connect},
      {"imaplib.open", read_client_connect}, {"nntplib.connect", read_client_connect},
      {"telnetlib.Telnet.open", read_client_connect},
      {"urllib.Request", read_url}, {"webbrowser.open", read_url},
      // deserialize
      {"pickle.find_class", read_find_class},
      // import and native
      {"import", read_import}, {"ctypes.dlopen", read_dlopen},
      // code
      {"exec", read_code}, {"compile", read_code},
      // env
      {"os.putenv", read_env}, {"os.unsetenv", read_env},
      // tamper: the attribute set, deleted or read
      {"object.__setattr__", read_attribute}, {"object.__delattr__", read_attribute},
      {"object.__getattr__", read_attribute},
  };
  return *table;
}

// Where the code of an `exec` or `compile` event comes from.
policy::CodeOrigin code_origin(const char* name, PyObject* args, int skip_frames) {
  PyObject* first = arg(args, 0);
  if (first == nullptr) return CodeOrigin::unknown;
  if (std::strcmp(name, "compile") == 0) {
    // (source, filename): source is the text (str or bytes) or an AST object.
    if (first == Py_None) return CodeOrigin::unknown;
    return from_code_generator(skip_frames) ? CodeOrigin::module : CodeOrigin::dynamic;
  }
  if (std::strcmp(name, "exec") == 0) {
    // (code,): exec/eval of a code object. Text given to exec/eval was compiled just before,
    // under its own `compile` event; its code object is named "<string>" (or another <...>
    // name), while modules' code is named after their file (or "<frozen ...>").
    if (!PyCode_Check(first)) return CodeOrigin::unknown;
    const std::string file = code_filename(reinterpret_cast<PyCodeObject*>(first));
    if (!file.empty() && file[0] == '<' && !starts_with(file, "<frozen ")) {
      return from_code_generator(skip_frames) ? CodeOrigin::module : CodeOrigin::dynamic;
    }
    return CodeOrigin::module;
  }
  return CodeOrigin::unknown;
}

}  // namespace

std::string_view EventData::keep(std::string text) {
  strings_.push_front(std::move(text));
  return strings_.front();
}

void EventData::set_argv(std::vector<std::string_view> items) {
  argv_ = std::move(items);
  event.argv = argv_.data();
  event.argc = argv_.size();
}

void extract(const char* name, PyObject* args, EventData& out, int skip_frames) {
  out.event.name = name;
  out.skip_frames = skip_frames;
  const auto& table = readers();
  auto it = table.find(std::string_view(name));
  if (it != table.end() && it->second != nullptr) it->second(args, out);
  fill_cwd(out);
  if (PyErr_Occurred()) PyErr_Clear();
}

std::vector<std::string> open_directories() {
  std::vector<std::string> out;
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return out;
  const int own = dirfd(fds);
  while (const dirent* entry = readdir(fds)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const long fd = std::strtol(entry->d_name, nullptr, 10);
    if (fd == own) continue;
    struct stat st {};
    std::string dir;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISDIR(st.st_mode) || !fd_directory(fd, dir)) continue;
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(std::move(dir));
  }
  closedir(fds);
  return out;
}

bool resolve_links(const std::string& path, std::string& out) {
  if (path.empty() || path[0] != '/') return false;
  if (char* full = realpath(path.c_str(), nullptr)) {
    out = full;
    std::free(full);
    return true;
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  char* full = realpath(dir.c_str(), nullptr);
  if (full == nullptr) return false;
  out = full;
  std::free(full);
  if (out.back() != '/') out += '/';
  out += path.substr(slash + 1);
  return true;
}

bool stdlib_known() { return stdlib_dirs() != nullptr; }

bool in_stdlib(std::string_view file) {
  // CPython freezes only modules of its own standard library (os, site, runpy, ... from 3.11).
  if (starts_with(file, "<frozen ") && ends_with(file, ">")) return true;
  if (file.empty() || file[0] != '/' || !canonical_segments(file)) return false;
  const StdlibDirs* known = stdlib_dirs();
  if (known == nullptr) return false;
  for (const std::string& dir : known->dirs) {
    if (file.size() <= dir.size() + 1 || !starts_with(file, dir) || file[dir.size()] != '/') continue;
    const std::string_view rest = file.substr(dir.size() + 1);
    // Third-party packages live inside the stdlib directory in some layouts.
    if (starts_with(rest, "site-packages/") || starts_with(rest, "dist-packages/")) return false;
    return true;
  }
  return false;
}

void Caller::reset() {
  Py_CLEAR(name_);
  Py_CLEAR(filename_);
  module = "";
  file = "";
}

void Caller::set(PyObject* name, PyObject* filename) {
  reset();
  if (utf8_view(name, module)) {
    Py_INCREF(name);
    name_ = name;
  }
  if (utf8_view(filename, file, true)) {
    Py_INCREF(filename);
    filename_ = filename;
  }
}

bool find_caller(Caller& out, int skip_frames) {
  PyFrameObject* frame = frame_at(skip_frames);
  bool found = false;
  while (frame != nullptr) {
    std::string_view module;
    PyObject* globals = frame_globals(frame);
    PyObject* name = find_str(globals, "__name__");  // borrowed from globals
    const bool named = utf8_view(name, module);
    if (!named || !is_skipped_module(module)) {
      PyCodeObject* code = PyFrame_GetCode(frame);
      out.set(named ? name : nullptr, code != nullptr ? code->co_filename : nullptr);
      out.line = frame_line(frame, code);
      Py_XDECREF(code);
      Py_XDECREF(globals);
      found = true;
      Py_DECREF(frame);
      break;
    }
    Py_XDECREF(globals);
    PyFrameObject* back = PyFrame_GetBack(frame);  // new reference
    Py_DECREF(frame);
    frame = back;
  }
  if (PyErr_Occurred()) PyErr_Clear();
  return found;
}

}  // namespace auditwall::events
