// The built-in policies (builtin:strict, builtin:web-service, builtin:monitor-all), compiled in.
#include <iterator>

#include "auditwall/policy.hpp"

namespace auditwall::policy {
namespace {

// For code you do not trust: default deny, with the few allowances a normal program needs.
constexpr std::string_view kStrict = R"YAML(# builtin:strict: a hard sandbox for untrusted code.
version: 1
mode: enforce
default: deny        # every event the rules below select and do not allow is denied
rules:
  - id: strict-no-processes
    on: process
    action: deny
    message: untrusted code may not start or signal processes
  # Creating a socket is left alone (asyncio's event loop makes a socket pair for itself);
  # every use of the network is denied.
  - id: strict-no-network
    on: [network.connect, network.bind, network.send, network.resolve, network.url,
         socket.sethostname]
    action: deny
    message: untrusted code has no network access
  - id: strict-no-native-code
    on: native
    action: deny
    message: untrusted code may not use ctypes
  # types.coroutine (which asyncio applies to its own functions) replaces a function's __code__
  # by a copy with one more flag (code.replace):
  # its tamper events are allowed when the caller is the standard library's `types` module, by
  # name and by file. (Naming object.__setattr__ here would put every attribute under `default`.)
  - id: strict-stdlib-coroutine-flag
    on: tamper
    match: {all: [{caller: [types]}, {caller: [stdlib]}]}
    action: allow
  - id: strict-no-tampering
    on: tamper
    action: deny
    message: untrusted code may not tamper with the interpreter
  # dataclasses, namedtuple and enum generate code with exec; only the standard library may.
  - id: strict-stdlib-dynamic-code
    on: [exec, compile]
    match: {caller: [stdlib]}
    action: allow
  # shutil's events name what it is about to do, with the program's path objects, converted
  # only after the event; the work itself is done through open and os.* events carrying the
  # paths really used, which the next rule checks. So the intent events are let through here.
  - id: strict-shutil-intent
    on: [shutil.copyfile, shutil.copymode, shutil.copystat, shutil.copytree, shutil.move,
         shutil.rmtree, shutil.chown, shutil.make_archive, shutil.unpack_archive]
    action: allow
  # Writes, deletions, renames and permission changes only inside the temporary directories.
  - id: strict-temp-files
    on: [file.write, file.delete, file.rename, file.meta]
    match: {path: [/tmp/**, /var/tmp/**, /dev/shm/**, /dev/null]}
    action: allow
seccomp:
  deny: [ptrace, process_vm_readv, process_vm_writev, bpf, perf_event_open, userfaultfd,
         mount, umount2, pivot_root, unshare, setns, kexec_load, kexec_file_load,
         init_module, finit_module, delete_module, keyctl, add_key, request_key, swapon,
         swapoff, reboot, open_by_handle_at, name_to_handle_at]
  derive: true
)YAML";

// For a typical web service: the classic Python RCE and SSRF paths, everything else allowed.
constexpr std::string_view kWebService = R"YAML(# builtin:web-service: a typical service.
version: 1
mode: enforce
default: allow
rules:
  - id: web-no-shells
    on: process
    match: {shell: true}
    action: deny
    message: this service runs no shell commands
  - id: web-pickle-known-classes
    on: pickle.find_class
    match:
      not:
        global: [collections.OrderedDict, collections.defaultdict, collections.deque,
                 collections.Counter, datetime.date, datetime.datetime, datetime.time,
                 datetime.timedelta, datetime.timezone, decimal.Decimal, uuid.UUID,
                 builtins.set, builtins.frozenset, builtins.bytearray, builtins.complex,
                 builtins.slice, builtins.range]
    action: deny
    message: only plain data and well-known value classes may be unpickled
  - id: web-cloud-metadata
    on: [network.connect, network.send, network.url]
    match: {address: [169.254.0.0/16, "fd00:ec2::254/128", 100.100.100.200/32]}
    action: deny
    message: cloud metadata endpoints are out of bounds
  - id: web-cloud-metadata-names
    on: [network.connect, network.url, network.resolve]
    match: {host: [metadata.google.internal, metadata.goog, metadata, instance-data,
                   instance-data.ec2.internal, metadata.azure.internal]}
    action: deny
    message: cloud metadata endpoints are out of bounds
  # Extend this policy with allow rules (they come first) for the private services you use.
  - id: web-private-ranges
    on: [network.connect, network.send, network.url]
    match: {address: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10,
                      "fc00::/7", "fe80::/10"]}
    action: deny
    message: private networks are out of bounds unless the policy allows them
  - id: web-no-native-code
    on: native
    action: deny
    message: this service does not use ctypes
  - id: web-stdlib-coroutine-flag  # as in builtin:strict
    on: tamper
    match: {all: [{caller: [types]}, {caller: [stdlib]}]}
    action: allow
  - id: web-no-tampering
    on: tamper
    action: deny
    message: tampering with the interpreter is not allowed
seccomp:
  deny: [ptrace, process_vm_readv, process_vm_writev, bpf, userfaultfd, mount, umount2,
         kexec_load, kexec_file_load, init_module, finit_module, delete_module]
)YAML";

// For learning what a program does: every security-relevant event is logged, nothing blocked.
constexpr std::string_view kMonitorAll = R"YAML(# builtin:monitor-all: log, never block.
version: 1
mode: monitor
default: allow
rules:
  - id: monitor-all
    on: [code, deserialize, process, network, file, import, native, tamper, env]
    action: log
)YAML";

struct Builtin {
  std::string_view name;
  std::string_view text;
};

constexpr Builtin kBuiltins[] = {
    {"strict", kStrict},
    {"web-service", kWebService},
    {"monitor-all", kMonitorAll},
};

}  // namespace

std::vector<std::string_view> builtin_names() {
  std::vector<std::string_view> names;
  for (const Builtin& b : kBuiltins) names.push_back(b.name);
  return names;
}

std::string_view builtin_text(std::string_view name) noexcept {
  for (const Builtin& b : kBuiltins) {
    if (b.name == name) return b.text;
  }
  return std::string_view();
}

}  // namespace auditwall::policy
