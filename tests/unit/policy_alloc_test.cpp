// evaluate() allocates nothing: operator new is counted while a test asks for it.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cstdlib>
#include <new>

#include "test_support.hpp"

// The replacement pairs malloc with free throughout; GCC cannot see that across inlining.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
thread_local bool t_counting = false;
thread_local std::size_t t_allocations = 0;
}  // namespace

// Every ordinary form is replaced, so that all of them pair malloc with free (the library's
// std::stable_sort uses the nothrow form, for one).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size) {
  if (void* p = operator new(size, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace auditwall::policy {
namespace {

using testing::compile;
using testing::TestEvent;

std::size_t allocations_during(const Policy& p, const Event& e) {
  t_allocations = 0;
  t_counting = true;
  const EventPlan* plan = p.lookup(e.name);
  Decision d = p.evaluate(e, plan);
  (void)p.needs_caller(plan);
  t_counting = false;
  (void)d;
  return t_allocations;
}

TEST(Evaluate, AllocatesNothing) {
  auto p = compile(R"YAML(version: 1
extends: builtin:web-service
default: deny
rules:
  - {id: tmp, on: file, match: {path: ["/tmp/**", "**/.env"], access: [write]}, action: allow}
  - {id: code, on: code, match: {origin: dynamic, not: {caller: [stdlib, "app.*"]}}, action: deny}
  - {id: custom, on: "app.*", action: log}
)YAML");
  ASSERT_TRUE(p);
  Event conn;
  conn.name = "socket.connect";
  conn.host = "2852039166";
  conn.port = 80;
  conn.address_family = AF_INET;
  EXPECT_EQ(allocations_during(*p, conn), 0u);
  Event url;
  url.name = "urllib.Request";
  url.url = "http://user@[::ffff:10.0.0.1]:8080/x";
  EXPECT_EQ(allocations_during(*p, url), 0u);
  Event file;
  file.name = "open";
  file.path = "../../a/./b/.env";
  file.cwd = "/home/u/project";
  file.open_mode = "a";
  EXPECT_EQ(allocations_during(*p, file), 0u);
  TestEvent shell("subprocess.Popen");
  shell.event.executable = "/usr/bin/env";
  shell.argv({"env", "A=1", "sh", "-c", "id"});
  EXPECT_EQ(allocations_during(*p, shell.event), 0u);
  Event code;
  code.name = "exec";
  code.code_origin = CodeOrigin::dynamic;
  code.caller_module = "plugin.x";
  EXPECT_EQ(allocations_during(*p, code), 0u);
  EXPECT_EQ(allocations_during(*p, TestEvent("app.event").event), 0u);
  EXPECT_EQ(allocations_during(*p, TestEvent("sys._getframe").event), 0u);
  // the counter works: loading a policy allocates
  t_allocations = 0;
  t_counting = true;
  auto again = load_string("version: 1\n", "x.yaml");
  t_counting = false;
  EXPECT_GT(t_allocations, 0u);
}

}  // namespace
}  // namespace auditwall::policy
