// Every matcher: what it matches, how it normalises, and when a rule applies at all.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <cstdlib>

#include "test_support.hpp"

namespace auditwall::policy {
namespace {

using testing::compile;
using testing::TestEvent;
using testing::verdict;

Event open_event(std::string_view path, std::string_view mode) {
  Event e;
  e.name = "open";
  e.path = path;
  e.open_mode = mode;
  e.cwd = "/home/user/project";
  return e;
}

TEST(PathMatcher, GlobsNormalisationAndHome) {
  setenv("HOME", "/home/user", 1);
  auto p = compile(R"YAML(version: 1
rules:
  - id: secrets
    on: file.read
    match: {path: ["~/.aws/**", "**/.env", "/etc/shadow", "/srv/*/key.pem"]}
    action: deny
)YAML");
  EXPECT_EQ(verdict(*p, open_event("/home/user/.aws/credentials", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("/home/user/.aws", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("/home/user/.awsx/credentials", "r")), "default:allow");
  EXPECT_EQ(verdict(*p, open_event("/app/.env", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event(".env", "r")), "secrets:deny");  // relative to cwd
  EXPECT_EQ(verdict(*p, open_event("/app/.envrc", "r")), "default:allow");
  // attackers' spellings of /etc/shadow
  EXPECT_EQ(verdict(*p, open_event("//etc///shadow", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("/etc/./shadow", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("/tmp/../etc/shadow", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("../../../../../../etc/shadow", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event(std::string_view("/etc/shadow\0.txt", 16), "r")),
            "secrets:deny");  // the kernel stops at the NUL byte
  // '*' stays inside one directory, '**' crosses them
  EXPECT_EQ(verdict(*p, open_event("/srv/a/key.pem", "r")), "secrets:deny");
  EXPECT_EQ(verdict(*p, open_event("/srv/a/b/key.pem", "r")), "default:allow");
  // file.read does not select writes
  EXPECT_EQ(verdict(*p, open_event("/etc/shadow", "w")), "default:allow");
}

TEST(PathMatcher, AllowRulesNeedEveryPathRestrictingRulesAny) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: tmp-ok
    on: file.rename
    match: {path: ["/tmp/**"]}
    action: allow
  - id: no-ssh
    on: file.rename
    match: {path: ["/root/.ssh/**"]}
    action: deny
)YAML");
  Event e;
  e.name = "os.rename";
  e.path = "/tmp/x";
  e.path2 = "/root/.ssh/authorized_keys";
  EXPECT_EQ(verdict(*p, e), "no-ssh:deny");  // allow needs both paths in /tmp
  e.path2 = "/tmp/y";
  EXPECT_EQ(verdict(*p, e), "tmp-ok:allow");
  e.path = "/root/.ssh/id_rsa";
  EXPECT_EQ(verdict(*p, e), "no-ssh:deny");  // deny needs either
}

TEST(PathMatcher, NotFlipsThePolarity) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: writes-outside-tmp
    on: file.rename
    match: {not: {path: ["/tmp/**"]}}
    action: deny
)YAML");
  Event e;
  e.name = "os.rename";
  e.path = "/tmp/x";
  e.path2 = "/etc/cron.d/job";
  EXPECT_EQ(verdict(*p, e), "writes-outside-tmp:deny");
  e.path2 = "/tmp/y";
  EXPECT_EQ(verdict(*p, e), "default:allow");
}

TEST(PathMatcher, OverlongPathFailsClosed) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: tmp-ok, on: file.write, match: {path: "/tmp/**"}, action: allow}
  - {id: no-writes, on: file.write, action: deny}
)YAML");
  std::string huge = "/tmp/" + std::string(9000, 'a');
  EXPECT_EQ(verdict(*p, open_event(huge, "w")), "no-writes:deny");
  EXPECT_EQ(verdict(*p, open_event("/tmp/a", "w")), "tmp-ok:allow");
}

TEST(AccessMatcher, ModeStringAndOsOpenFlags) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: no-truncate
    on: open
    match: {access: [truncate, append]}
    action: deny
  - id: writes
    on: file.write
    action: log
  - id: reads
    on: file.read
    action: allow
)YAML");
  EXPECT_EQ(verdict(*p, open_event("/x", "w")), "no-truncate:deny");
  EXPECT_EQ(verdict(*p, open_event("/x", "ab")), "no-truncate:deny");
  EXPECT_EQ(verdict(*p, open_event("/x", "r+")), "writes:log");
  EXPECT_EQ(verdict(*p, open_event("/x", "rb")), "reads:allow");
  Event os_open;  // os.open gives flags, no mode string
  os_open.name = "open";
  os_open.path = "/x";
  os_open.open_flags = O_WRONLY | O_CREAT;
  EXPECT_EQ(verdict(*p, os_open), "writes:log");
  os_open.open_flags = O_RDONLY | O_TRUNC;
  EXPECT_EQ(verdict(*p, os_open), "no-truncate:deny");
  os_open.open_flags = O_RDONLY;
  EXPECT_EQ(verdict(*p, os_open), "reads:allow");
  os_open.open_flags = -1;  // neither: both file.read and file.write select it
  EXPECT_EQ(verdict(*p, os_open), "writes:log");
}

TEST(AccessMatcher, AnOpenOfUnknownAccessIsNotCoveredByAllowingReads) {
  auto p = compile(R"YAML(version: 1
default: deny
rules:
  - id: reads
    on: file.read
    action: allow
)YAML");
  Event unknown;  // no mode string, no flags: it may read and write
  unknown.name = "open";
  unknown.path = "/x";
  EXPECT_EQ(verdict(*p, unknown), "default:deny");
  unknown.open_mode = "r";
  EXPECT_EQ(verdict(*p, unknown), "reads:allow");
  auto both = compile(R"YAML(version: 1
default: deny
rules:
  - id: any-access
    on: [file.read, file.write]
    action: allow
)YAML");
  unknown.open_mode = {};
  EXPECT_EQ(verdict(*both, unknown), "any-access:allow");
}

TEST(ProcessMatchers, ExecutableArgvAndCommand) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: no-curl-output
    on: process
    match: {executable: [curl, wget], argv: ["-o", "--output*"]}
    action: deny
  - id: no-bin-nc
    on: process
    match: {executable: ["/usr/bin/nc*"]}
    action: deny
  - id: no-rm-rf
    on: process
    match: {command: ["*rm -rf*"]}
    action: deny
)YAML");
  TestEvent curl("subprocess.Popen");
  curl.event.executable = "/usr/bin/curl";
  curl.argv({"curl", "-o", "/tmp/x", "http://example.com"});
  EXPECT_EQ(verdict(*p, curl.event), "no-curl-output:deny");
  curl.argv({"curl", "http://example.com"});
  EXPECT_EQ(verdict(*p, curl.event), "default:allow");
  TestEvent nc("os.exec");
  nc.event.executable = "/usr/bin/../bin/ncat";
  nc.argv({"ncat"});
  EXPECT_EQ(verdict(*p, nc.event), "no-bin-nc:deny");
  Event system;
  system.name = "os.system";
  system.command = "cd /; rm -rf /home";
  EXPECT_EQ(verdict(*p, system), "no-rm-rf:deny");
  TestEvent shell("subprocess.Popen");  // the command behind sh -c counts too
  shell.event.executable = "/bin/sh";
  shell.argv({"/bin/sh", "-c", "rm -rf /"});
  EXPECT_EQ(verdict(*p, shell.event), "no-rm-rf:deny");
}

TEST(ProcessMatchers, ShellDetectionInAnySpelling) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: no-shells, on: process, match: {shell: true}, action: deny}
  - {id: other, on: process, match: {shell: false}, action: log}
)YAML");
  auto popen = [&](std::string exe, std::vector<std::string> argv) {
    TestEvent e("subprocess.Popen");
    std::string keep = exe;
    if (!keep.empty()) e.event.executable = keep;
    e.argv(std::move(argv));
    return verdict(*p, e.event);
  };
  EXPECT_EQ(popen("/bin/sh", {"/bin/sh", "-c", "id"}), "no-shells:deny");
  EXPECT_EQ(popen("", {"bash", "-lc", "id"}), "no-shells:deny");
  EXPECT_EQ(popen("/usr/bin/env", {"env", "-i", "A=1", "dash", "-ec", "id"}), "no-shells:deny");
  EXPECT_EQ(popen("/bin/busybox", {"busybox", "sh", "-c", "id"}), "no-shells:deny");
  EXPECT_EQ(popen("/usr/bin/nice", {"nice", "-n", "5", "zsh", "-c", "id"}), "no-shells:deny");
  EXPECT_EQ(popen("/bin//./bash5.2", {"bash5.2", "script.sh"}), "no-shells:deny");
  EXPECT_EQ(popen("/usr/bin/fish", {"fish", "--command=id"}), "no-shells:deny");
  EXPECT_EQ(popen("/usr/bin/python3", {"python3", "-c", "print(1)"}), "other:log");
  EXPECT_EQ(popen("/bin/true", {"true"}), "other:log");
  Event system;  // os.system always runs a shell
  system.name = "os.system";
  system.command = "id";
  EXPECT_EQ(verdict(*p, system), "no-shells:deny");
}

Event connect(std::string_view host, std::int64_t port) {
  Event e;
  e.name = "socket.connect";
  e.host = host;
  e.port = port;
  e.address_family = AF_INET;
  return e;
}

TEST(NetworkMatchers, CidrsInEverySpelling) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: loopback
    on: network.connect
    match: {address: [127.0.0.0/8, "::1"]}
    action: deny
  - id: metadata
    on: network.connect
    match: {address: [169.254.169.254, "fd00:ec2::254/128"]}
    action: deny
)YAML");
  for (const char* spelling : {"127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
                               "0x7f.1", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "::1", "[::1]",
                               "0:0:0:0:0:0:0:1", "127.0.0.1 trailing"}) {
    EXPECT_EQ(verdict(*p, connect(spelling, 80)), "loopback:deny") << spelling;
  }
  EXPECT_EQ(verdict(*p, connect("169.254.169.254", 80)), "metadata:deny");
  EXPECT_EQ(verdict(*p, connect("2852039166", 80)), "metadata:deny");
  EXPECT_EQ(verdict(*p, connect("::ffff:a9fe:a9fe", 80)), "metadata:deny");
  EXPECT_EQ(verdict(*p, connect("fd00:ec2:0::254", 80)), "metadata:deny");
  EXPECT_EQ(verdict(*p, connect("128.0.0.1", 80)), "default:allow");
  EXPECT_EQ(verdict(*p, connect("fe80::1%eth0", 80)), "default:allow");
  // a name carries no address: an address rule does not apply to it
  EXPECT_EQ(verdict(*p, connect("localhost", 80)), "default:allow");
}

TEST(NetworkMatchers, HostsPortsAndUrls) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: example
    on: [network.connect, network.url]
    match: {host: ["*.example.com", api.test], port: [443, "8000-8100"]}
    action: allow
  - id: metadata-url
    on: network.url
    match: {address: 169.254.0.0/16}
    action: deny
  - id: no-connect
    on: [network.connect, network.url]
    action: deny
)YAML");
  EXPECT_EQ(verdict(*p, connect("www.Example.COM.", 443)), "example:allow");
  EXPECT_EQ(verdict(*p, connect("a.b.example.com", 8080)), "example:allow");
  EXPECT_EQ(verdict(*p, connect("example.com", 443)), "no-connect:deny");
  EXPECT_EQ(verdict(*p, connect("api.test", 80)), "no-connect:deny");
  EXPECT_EQ(verdict(*p, connect("api.test", 8100)), "example:allow");
  Event url;
  url.name = "urllib.Request";
  url.url = "https://api.test/v1?x=1";
  EXPECT_EQ(verdict(*p, url), "example:allow");
  url.url = "http://api.test/v1";  // port 80 by scheme
  EXPECT_EQ(verdict(*p, url), "no-connect:deny");
  url.url = "http://user:pw@api.test:8000/";
  EXPECT_EQ(verdict(*p, url), "example:allow");
  url.url = "http://api.test@169.254.169.254/latest/meta-data";  // credentials are not the host
  EXPECT_EQ(verdict(*p, url), "metadata-url:deny");
  url.url = "http://[::ffff:169.254.169.254]:80/";
  EXPECT_EQ(verdict(*p, url), "metadata-url:deny");
}

TEST(NetworkMatchers, UnixSockets) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: no-docker
    on: network.connect
    match: {unix: ["/var/run/docker.sock", "/run/docker.sock", "@/containerd*"]}
    action: deny
)YAML");
  Event e;
  e.name = "socket.connect";
  e.address_family = AF_UNIX;
  e.path = "/var/run/../run/docker.sock";
  EXPECT_EQ(verdict(*p, e), "no-docker:deny");
  e.path = std::string_view("\0/containerd-shim", 17);
  EXPECT_EQ(verdict(*p, e), "no-docker:deny");
  e.path = "/tmp/app.sock";
  EXPECT_EQ(verdict(*p, e), "default:allow");
  Event inet = connect("127.0.0.1", 80);  // no AF_UNIX path: the rule does not apply
  EXPECT_EQ(verdict(*p, inet), "default:allow");
}

TEST(OtherMatchers, GlobalsModulesCallersOriginEnvAttribute) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: pickle-ok
    on: deserialize
    match: {global: ["collections.OrderedDict", "myapp.models.*"]}
    action: allow
  - id: pickle-other
    on: pickle.find_class
    action: deny
  - id: no-yaml-c
    on: import
    match: {module: ["_yaml", "yaml.*"]}
    action: deny
  - id: requests-only
    on: network.connect
    match: {not: {caller: ["requests.*", "urllib3.*", stdlib]}}
    action: deny
  - id: no-dynamic-code
    on: code
    match: {origin: dynamic, not: {caller: [stdlib]}}
    action: deny
  - id: no-ld-preload
    on: env
    match: {env: ["LD_*", "PYTHON*"]}
    action: deny
  - id: code-swap
    on: tamper
    match: {attribute: [__code__]}
    action: kill
)YAML");
  Event g;
  g.name = "pickle.find_class";
  g.global = "myapp.models.User";
  EXPECT_EQ(verdict(*p, g), "pickle-ok:allow");
  g.global = "os.system";
  EXPECT_EQ(verdict(*p, g), "pickle-other:deny");
  Event m;  // marshal.loads has no global: pickle-ok does not apply, and the family is not
  m.name = "marshal.loads";  // pickle-other's
  EXPECT_EQ(verdict(*p, m), "default:allow");
  Event imp;
  imp.name = "import";
  imp.module = "yaml.cyaml";
  EXPECT_EQ(verdict(*p, imp), "no-yaml-c:deny");
  imp.module = "yamlish";
  EXPECT_EQ(verdict(*p, imp), "default:allow");
  Event c = connect("10.0.0.1", 80);
  c.caller_module = "requests.adapters";
  EXPECT_EQ(verdict(*p, c), "default:allow");
  c.caller_module = "evil";
  EXPECT_EQ(verdict(*p, c), "requests-only:deny");
  c.caller_module = "http.client";
  c.caller_in_stdlib = true;
  EXPECT_EQ(verdict(*p, c), "default:allow");
  EXPECT_TRUE(p->needs_caller(p->lookup("socket.connect")));
  EXPECT_FALSE(p->needs_caller(p->lookup("import")));
  Event ex;
  ex.name = "exec";
  ex.code_origin = CodeOrigin::dynamic;
  ex.caller_module = "plugin";
  EXPECT_EQ(verdict(*p, ex), "no-dynamic-code:deny");
  ex.caller_module = "dataclasses";
  ex.caller_in_stdlib = true;
  EXPECT_EQ(verdict(*p, ex), "default:allow");
  ex.caller_in_stdlib = false;
  ex.code_origin = CodeOrigin::module;
  EXPECT_EQ(verdict(*p, ex), "default:allow");
  Event env;
  env.name = "os.putenv";
  env.env_key = "LD_PRELOAD";
  EXPECT_EQ(verdict(*p, env), "no-ld-preload:deny");
  env.env_key = "HOME";
  EXPECT_EQ(verdict(*p, env), "default:allow");
  Event set;
  set.name = "object.__setattr__";
  set.attribute = "__code__";
  EXPECT_EQ(verdict(*p, set), "code-swap:kill");
  set.attribute = "value";  // an ordinary class attribute is outside the tamper family
  EXPECT_EQ(p->evaluate(set).rule, nullptr);
}

TEST(Combinators, NotAnyAllAndApplicability) {
  auto p = compile(R"YAML(version: 1
rules:
  - id: combo
    on: process
    match:
      all:
        - any: [{executable: [curl]}, {executable: [wget]}]
        - not: {argv: ["--version"]}
    action: deny
  - id: needs-path
    on: process
    match: {not: {path: ["/x"]}}
    action: deny
)YAML");
  TestEvent e("subprocess.Popen");
  e.event.executable = "/usr/bin/wget";
  e.argv({"wget", "http://x"});
  EXPECT_EQ(verdict(*p, e.event), "combo:deny");
  e.argv({"wget", "--version"});
  // `not` negates the test, not the applicability: process events carry no path, so
  // needs-path never applies to them
  EXPECT_EQ(verdict(*p, e.event), "default:allow");
}

TEST(Messages, PerRuleMessage) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: r, on: os.system, action: deny, message: "no shells, please"}
)YAML");
  Event e;
  e.name = "os.system";
  e.command = "id";
  Decision d = p->evaluate(e);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->message, "no shells, please");
}

TEST(Selection, FamiliesSubFamiliesNamesAndGlobs) {
  auto p = compile(R"YAML(version: 1
rules:
  - {id: ctypes, on: "ctypes.*", action: deny}
  - {id: custom, on: "myapp.*", action: log}
  - {id: binds, on: network.bind, action: deny}
  - {id: net, on: network, action: log}
)YAML");
  EXPECT_EQ(verdict(*p, TestEvent("ctypes.dlopen").event), "ctypes:deny");
  EXPECT_EQ(verdict(*p, TestEvent("myapp.payment").event), "custom:log");
  EXPECT_EQ(verdict(*p, TestEvent("socket.bind").event), "binds:deny");
  EXPECT_EQ(verdict(*p, TestEvent("socket.getaddrinfo").event), "net:log");
  EXPECT_EQ(p->lookup("otherapp.thing"), nullptr);
  EXPECT_EQ(p->lookup("os.system"), nullptr);
  EXPECT_NE(p->lookup("myapp.x"), nullptr);
}

TEST(PolicyDefault, DenyClosesWhatRulesSelect) {
  auto p = compile(R"YAML(version: 1
default: deny
rules:
  - id: local-only
    on: network.connect
    match: {address: [127.0.0.0/8]}
    action: allow
  - id: tmp-writes
    on: file.write
    match: {path: ["/tmp/**"]}
    action: allow
  - id: stdlib-code
    on: code
    match: {caller: [stdlib]}
    action: allow
  - id: imports
    on: import
    match: {module: [evil]}
    action: deny
)YAML");
  EXPECT_EQ(verdict(*p, connect("127.0.0.1", 80)), "local-only:allow");
  EXPECT_EQ(verdict(*p, connect("10.0.0.1", 80)), "default:deny");
  EXPECT_EQ(verdict(*p, connect("example.com", 80)), "default:deny");
  EXPECT_TRUE(p->evaluate(connect("10.0.0.1", 80)).blocks());
  EXPECT_EQ(verdict(*p, open_event("/tmp/x", "w")), "tmp-writes:allow");
  EXPECT_EQ(verdict(*p, open_event("/etc/x", "w")), "default:deny");
  EXPECT_EQ(verdict(*p, open_event("/etc/x", "r")), "default:allow");  // reads: exempt
  Event ex;
  ex.name = "exec";
  ex.caller_module = "plugin";
  ex.code_origin = CodeOrigin::module;  // module code: exempt
  EXPECT_EQ(verdict(*p, ex), "default:allow");
  ex.code_origin = CodeOrigin::dynamic;
  EXPECT_EQ(verdict(*p, ex), "default:deny");
  Event imp;
  imp.name = "import";
  imp.module = "json";
  EXPECT_EQ(verdict(*p, imp), "default:allow");  // imports: exempt
  imp.module = "evil";
  EXPECT_EQ(verdict(*p, imp), "imports:deny");
  // an event no rule selects is never denied by default
  EXPECT_EQ(verdict(*p, TestEvent("os.system").event), "default:allow");
}

}  // namespace
}  // namespace auditwall::policy
