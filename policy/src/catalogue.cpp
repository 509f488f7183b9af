// The catalogue of CPython audit events auditwall knows, by family, and file access kinds.
#include <fcntl.h>

#include <algorithm>
#include <array>
#include <iterator>

#include "auditwall/policy.hpp"
#include "internal.hpp"

namespace auditwall::policy {
namespace {

using Entry = EventClass;

// CPython 3.10 to 3.13 audit events, sorted by name (a unit test checks the order). "open" is
// file.read or file.write (or both) by its access kind; see selects() in policy.cpp.
constexpr Entry kCatalogue[] = {
    {"code.__new__", Family::tamper, ""},
    {"compile", Family::code, ""},
    {"cpython.PyInterpreterState_New", Family::tamper, ""},
    {"cpython.run_command", Family::code, ""},
    {"cpython.run_interactivehook", Family::code, ""},
    {"cpython.run_startup", Family::code, ""},
    {"cpython.run_stdin", Family::code, ""},
    {"ctypes.PyObj_FromPtr", Family::native, ""},
    {"ctypes.addressof", Family::native, ""},
    {"ctypes.call_function", Family::native, ""},
    {"ctypes.cdata", Family::native, ""},
    {"ctypes.cdata/buffer", Family::native, ""},
    {"ctypes.create_string_buffer", Family::native, ""},
    {"ctypes.create_unicode_buffer", Family::native, ""},
    {"ctypes.dlopen", Family::native, ""},
    {"ctypes.dlsym", Family::native, ""},
    {"ctypes.dlsym/handle", Family::native, ""},
    {"ctypes.get_errno", Family::native, ""},
    {"ctypes.get_last_error", Family::native, ""},
    {"ctypes.seh_exception", Family::native, ""},
    {"ctypes.set_errno", Family::native, ""},
    {"ctypes.set_exception", Family::native, ""},
    {"ctypes.set_last_error", Family::native, ""},
    {"ctypes.string_at", Family::native, ""},
    {"ctypes.wstring_at", Family::native, ""},
    {"exec", Family::code, ""},
    {"ftplib.connect", Family::network, "connect"},
    {"ftplib.sendcmd", Family::network, "send"},
    {"function.__new__", Family::tamper, ""},
    {"gc.get_objects", Family::tamper, ""},
    {"gc.get_referents", Family::tamper, ""},
    {"gc.get_referrers", Family::tamper, ""},
    {"glob.glob", Family::file, "list"},
    {"glob.glob/2", Family::file, "list"},
    {"http.client.connect", Family::network, "connect"},
    {"http.client.send", Family::network, "send"},
    {"imaplib.open", Family::network, "connect"},
    {"imaplib.send", Family::network, "send"},
    {"import", Family::import, ""},
    {"marshal.load", Family::deserialize, ""},
    {"marshal.loads", Family::deserialize, ""},
    {"nntplib.connect", Family::network, "connect"},
    {"nntplib.putline", Family::network, "send"},
    {"object.__delattr__", Family::tamper, ""},
    {"object.__setattr__", Family::tamper, ""},
    {"open", Family::file, "open"},
    {"os.chflags", Family::file, "meta"},
    {"os.chmod", Family::file, "meta"},
    {"os.chown", Family::file, "meta"},
    {"os.exec", Family::process, "exec"},
    {"os.fork", Family::process, "fork"},
    {"os.forkpty", Family::process, "fork"},
    {"os.getxattr", Family::file, "list"},
    {"os.kill", Family::process, "signal"},
    {"os.killpg", Family::process, "signal"},
    {"os.lchflags", Family::file, "meta"},
    {"os.link", Family::file, "rename"},
    {"os.listdir", Family::file, "list"},
    {"os.listxattr", Family::file, "list"},
    {"os.mkdir", Family::file, "write"},
    {"os.posix_spawn", Family::process, "exec"},
    {"os.putenv", Family::env, ""},
    {"os.remove", Family::file, "delete"},
    {"os.removexattr", Family::file, "meta"},
    {"os.rename", Family::file, "rename"},
    {"os.rmdir", Family::file, "delete"},
    {"os.scandir", Family::file, "list"},
    {"os.setxattr", Family::file, "meta"},
    {"os.spawn", Family::process, "exec"},
    {"os.startfile", Family::process, "exec"},
    {"os.startfile/2", Family::process, "exec"},
    {"os.symlink", Family::file, "rename"},
    {"os.system", Family::process, "exec"},
    {"os.truncate", Family::file, "write"},
    {"os.unsetenv", Family::env, ""},
    {"os.utime", Family::file, "meta"},
    {"pickle.find_class", Family::deserialize, ""},
    {"poplib.connect", Family::network, "connect"},
    {"poplib.putline", Family::network, "send"},
    {"pty.spawn", Family::process, "exec"},
    {"shutil.chown", Family::file, "meta"},
    {"shutil.copyfile", Family::file, "write"},
    {"shutil.copymode", Family::file, "meta"},
    {"shutil.copystat", Family::file, "meta"},
    {"shutil.copytree", Family::file, "write"},
    {"shutil.make_archive", Family::file, "write"},
    {"shutil.move", Family::file, "rename"},
    {"shutil.rmtree", Family::file, "delete"},
    {"shutil.unpack_archive", Family::file, "write"},
    {"signal.pthread_kill", Family::process, "signal"},
    {"smtplib.connect", Family::network, "connect"},
    {"smtplib.send", Family::network, "send"},
    {"socket.__new__", Family::network, "socket"},
    {"socket.bind", Family::network, "bind"},
    {"socket.connect", Family::network, "connect"},
    {"socket.getaddrinfo", Family::network, "resolve"},
    {"socket.gethostbyaddr", Family::network, "resolve"},
    {"socket.gethostbyname", Family::network, "resolve"},
    {"socket.getnameinfo", Family::network, "resolve"},
    {"socket.getservbyname", Family::network, "resolve"},
    {"socket.getservbyport", Family::network, "resolve"},
    {"socket.sendmsg", Family::network, "send"},
    {"socket.sendto", Family::network, "send"},
    {"socket.sethostname", Family::network, "socket"},
    {"subprocess.Popen", Family::process, "exec"},
    {"sys._current_exceptions", Family::tamper, ""},
    {"sys._current_frames", Family::tamper, ""},
    {"sys.addaudithook", Family::tamper, ""},
    {"sys.monitoring.register_callback", Family::tamper, ""},
    {"sys.setprofile", Family::tamper, ""},
    {"sys.settrace", Family::tamper, ""},
    {"telnetlib.Telnet.open", Family::network, "connect"},
    {"telnetlib.Telnet.write", Family::network, "send"},
    {"tempfile.mkdtemp", Family::file, "write"},
    {"tempfile.mkstemp", Family::file, "write"},
    {"urllib.Request", Family::network, "url"},
    {"webbrowser.open", Family::network, "url"},
};

constexpr std::string_view kFamilyNames[] = {"other",  "code",   "deserialize",
                                             "process", "network", "file",
                                             "import", "native", "tamper", "env"};

const Entry* find(std::string_view name) noexcept {
  const Entry* end = std::end(kCatalogue);
  const Entry* it = std::lower_bound(std::begin(kCatalogue), end, name,
                                     [](const Entry& e, std::string_view n) { return e.name < n; });
  return it != end && it->name == name ? it : nullptr;
}

}  // namespace

std::string_view to_string(Family family) noexcept {
  auto i = static_cast<std::size_t>(family);
  return i < std::size(kFamilyNames) ? kFamilyNames[i] : "other";
}

bool family_from_string(std::string_view word, Family& out) noexcept {
  for (std::size_t i = 1; i < std::size(kFamilyNames); ++i) {
    if (kFamilyNames[i] == word) {
      out = static_cast<Family>(i);
      return true;
    }
  }
  return false;
}

Family family_of(std::string_view event_name) noexcept {
  const Entry* e = find(event_name);
  return e != nullptr ? e->family : Family::other;
}

const EventClass* catalogue_begin() noexcept { return std::begin(kCatalogue); }
const EventClass* catalogue_end() noexcept { return std::end(kCatalogue); }

EventClass classify_event(std::string_view event_name) noexcept {
  const Entry* e = find(event_name);
  return e != nullptr ? *e : EventClass{event_name, Family::other, {}};
}

const std::vector<std::string_view>& catalogue() noexcept {
  // Built on first use; the catalogue is small and this is for tools, not the hot path.
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const Entry& e : kCatalogue) out.push_back(e.name);
    return out;
  }();
  return names;
}

const std::vector<std::string_view>& sub_families(Family family) {
  // Worked out once: the loader asks for every `on` entry that names a sub-family.
  static const auto table = [] {
    std::array<std::vector<std::string_view>, static_cast<std::size_t>(Family::env) + 1> out;
    for (const Entry& e : kCatalogue) {
      if (e.sub.empty()) continue;
      std::vector<std::string_view>& subs = out[static_cast<std::size_t>(e.family)];
      const auto add = [&](std::string_view s) {
        if (std::find(subs.begin(), subs.end(), s) == subs.end()) subs.push_back(s);
      };
      if (e.sub == "open") {  // file.read and file.write select opens by their access
        add("read");
        add("write");
      } else {
        add(e.sub);
      }
    }
    for (auto& subs : out) std::sort(subs.begin(), subs.end());
    return out;
  }();
  return table[static_cast<std::size_t>(family)];
}

unsigned access_of(const Event& event) noexcept {
  if (event.open_mode.data() != nullptr) {
    unsigned access = 0;
    for (char c : event.open_mode) {
      switch (c) {
        case 'r': access |= kAccessRead; break;
        case 'w': access |= kAccessWrite | kAccessCreate | kAccessTruncate; break;
        case 'a': access |= kAccessWrite | kAccessCreate | kAccessAppend; break;
        case 'x': access |= kAccessWrite | kAccessCreate; break;
        case '+': access |= kAccessRead | kAccessWrite; break;
        default: break;  // 'b', 't' and anything else change no access
      }
    }
    // open() reads when the mode names no access ("", "b", "t").
    return access != 0 ? access : unsigned{kAccessRead};
  }
  if (event.open_flags < 0) return 0;
  const auto flags = static_cast<long long>(event.open_flags);
  unsigned access = 0;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: access |= kAccessRead; break;
    case O_WRONLY: access |= kAccessWrite; break;
    default: access |= kAccessRead | kAccessWrite; break;  // O_RDWR, and the invalid 3
  }
  // Linux truncates even with O_RDONLY, and O_TMPFILE creates: both are writes.
  if (flags & O_CREAT) access |= kAccessCreate | kAccessWrite;
  if (flags & O_TRUNC) access |= kAccessTruncate | kAccessWrite;
  if (flags & O_APPEND) access |= kAccessAppend;
#ifdef O_TMPFILE
  if ((flags & O_TMPFILE) == O_TMPFILE) access |= kAccessCreate | kAccessWrite;
#endif
  return access;
}

}  // namespace auditwall::policy
