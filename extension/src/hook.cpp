// The audit hook: looks the event up in the armed policy, decides, records, and blocks.
#include "hook.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "recorder.hpp"

namespace auditwall::hook {
namespace {

using policy::Decision;
using policy::Policy;

// The armed policy. Set once, never freed: the hook can run until the very end of
// interpreter finalisation, after every module has been torn down.
std::atomic<const Policy*> g_policy{nullptr};
How g_how = How::api;
PyObject* g_violation_type = nullptr;

// Events raised while the hook itself works (creating the exception, writing the log) are
// auditwall's own and must not recurse into the policy.
thread_local bool t_in_hook = false;

// Set when the hook sees auditwall's own self-test event, to prove it is registered.
bool g_selftest_seen = false;

constexpr std::size_t kMaxArgChars = 200;

void append_safe_repr(std::string& out, PyObject* obj, int depth);

// A repr that runs no user code: only exact built-in types are rendered by value; anything
// else (which could define __repr__) is shown by its type name.
void append_safe_repr(std::string& out, PyObject* obj, int depth) {
  if (obj == nullptr) {
    out += "NULL";
    return;
  }
  if (PyUnicode_CheckExact(obj) || PyBytes_CheckExact(obj) || PyLong_CheckExact(obj) ||
      PyFloat_CheckExact(obj) || PyBool_Check(obj) || obj == Py_None) {
    PyObject* repr = PyObject_Repr(obj);
    if (repr == nullptr) {
      PyErr_Clear();
      out += "<unprintable>";
      return;
    }
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(repr, &size);
    if (text == nullptr) {
      PyErr_Clear();
      out += "<unprintable>";
    } else if (static_cast<std::size_t>(size) > kMaxArgChars) {
      out.append(text, kMaxArgChars);
      out += "...";
    } else {
      out.append(text, static_cast<std::size_t>(size));
    }
    Py_DECREF(repr);
    return;
  }
  if ((PyTuple_CheckExact(obj) || PyList_CheckExact(obj)) && depth < 2) {
    const bool tuple = PyTuple_CheckExact(obj);
    out += tuple ? '(' : '[';
    Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
    for (Py_ssize_t i = 0; i < n && i < 8; ++i) {
      if (i > 0) out += ", ";
      append_safe_repr(out, PySequence_Fast_GET_ITEM(obj, i), depth + 1);
    }
    if (n > 8) out += ", ...";
    out += tuple ? ')' : ']';
    return;
  }
  out += '<';
  out += Py_TYPE(obj)->tp_name;
  out += '>';
}

// "os.system('id')"
std::string describe_call(const char* event, PyObject* args) {
  std::string out = event;
  out += '(';
  if (args != nullptr && PyTuple_Check(args)) {
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (i > 0) out += ", ";
      append_safe_repr(out, PyTuple_GET_ITEM(args, i), 1);
    }
  }
  out += ')';
  return out;
}

// Sets auditwall.PolicyViolation with the event, rule and reason as attributes.
void raise_violation(const char* event, const std::string& rule, const std::string& reason,
                     const std::string& message) {
  PyObject* type = violation_type();
  if (type == nullptr) return;  // a Python error is set; the hook still returns -1
  PyObject* exc = PyObject_CallFunction(type, "s#", message.data(),
                                        static_cast<Py_ssize_t>(message.size()));
  if (exc == nullptr) return;
  PyObject* value = nullptr;
  bool ok = (value = PyUnicode_FromString(event)) != nullptr &&
            PyObject_SetAttrString(exc, "event", value) == 0;
  Py_XDECREF(value);
  ok = ok && (value = PyUnicode_FromStringAndSize(rule.data(), static_cast<Py_ssize_t>(rule.size()))) != nullptr &&
       PyObject_SetAttrString(exc, "rule", value) == 0;
  Py_XDECREF(value);
  ok = ok && (value = PyUnicode_FromStringAndSize(reason.data(), static_cast<Py_ssize_t>(reason.size()))) != nullptr &&
       PyObject_SetAttrString(exc, "reason", value) == 0;
  Py_XDECREF(value);
  if (ok) PyErr_SetObject(type, exc);
  Py_DECREF(exc);
}

int decide(const Policy& policy, const char* event, PyObject* args,
           const policy::EventPlan* plan) {
  if (std::strcmp(event, policy::kSelfTestEvent) == 0) {
    g_selftest_seen = true;
    return 0;
  }
  policy::Event ev;
  ev.name = event;
  const Decision decision = policy.evaluate(ev, plan);
  if (decision.rule == nullptr && decision.action == policy::Action::allow) return 0;

  const std::string call = describe_call(event, args);
  const std::string rule_id = decision.rule != nullptr ? decision.rule->id : "default";
  recorder::record(policy, decision, ev, call);
  if (!decision.blocks()) return 0;

  std::string reason = decision.rule != nullptr && !decision.rule->message.empty()
                           ? decision.rule->message
                           : "denied by policy " + policy.source();
  std::string message = "auditwall: " + call + " blocked by rule " + rule_id;
  if (decision.rule != nullptr && !decision.rule->message.empty()) {
    message += ": " + decision.rule->message;
  }
  if (decision.action == policy::Action::kill) {
    recorder::flush();
    std::fprintf(stderr, "%s; killing the process\n", message.c_str());
    std::fflush(stderr);
    std::_Exit(137);
  }
  raise_violation(event, rule_id, reason, message);
  return -1;
}

int audit_hook(const char* event, PyObject* args, void* /*user_data*/) {
  const Policy* policy = g_policy.load(std::memory_order_acquire);
  const policy::EventPlan* plan = policy->lookup(event);
  if (plan == nullptr) return 0;  // fast path: no rule can apply to this event
  if (t_in_hook) return 0;
  t_in_hook = true;
  int result;
  try {
    result = decide(*policy, event, args, plan);
  } catch (...) {
    // Fail closed: an internal error in enforce mode denies the operation, loudly.
    if (policy->mode() == policy::Mode::enforce) {
      if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_PermissionError,
                     "auditwall: internal error while checking %s; denied (fail closed)", event);
      }
      result = -1;
    } else {
      PyErr_Clear();
      result = 0;
    }
  }
  t_in_hook = false;
  return result;
}

}  // namespace

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
  g_selftest_seen = false;
  if (PySys_AddAuditHook(audit_hook, nullptr) != 0) {
    g_policy.store(nullptr);
    error = "PySys_AddAuditHook failed";
    if (PyErr_Occurred()) PyErr_Clear();
    return false;
  }
  if (Py_IsInitialized()) {
    // PySys_AddAuditHook reports success without adding the hook when an earlier hook vetoes
    // it with RuntimeError. Prove the hook is in place before anyone relies on it.
    if (PySys_Audit(policy::kSelfTestEvent, nullptr) != 0) PyErr_Clear();
    if (!g_selftest_seen) {
      g_policy.store(nullptr);
      error = "another audit hook refused to let auditwall's hook be added";
      return false;
    }
  }
  recorder::prepare(*keep->get());
  return true;
}

const Policy* armed_policy() noexcept { return g_policy.load(std::memory_order_acquire); }
How armed_how() noexcept { return g_how; }

PyObject* violation_type() {
  if (g_violation_type == nullptr) {
    g_violation_type = PyErr_NewExceptionWithDoc(
        "auditwall.PolicyViolation",
        "Raised when auditwall's policy denies an operation. A PermissionError with the "
        "attributes event (the audit event), rule (the id of the rule that denied) and "
        "reason.",
        PyExc_PermissionError, nullptr);
  }
  return g_violation_type;
}

}  // namespace auditwall::hook
