// The C audit hook and the state it decides with: arming, and the PolicyViolation type.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <memory>
#include <string>

#include "auditwall/policy.hpp"

namespace auditwall::hook {

/// How the hook was armed, for status() and the log.
enum class How { pre_init, auto_load, api };
const char* to_string(How how) noexcept;

/// Registers the audit hook with `policy`. Once armed, the hook stays for the life of the
/// process (in every interpreter of it) and the policy cannot be replaced: a second call
/// fails with `error` set. Refuses, with `error` set, when the policy denies native code and
/// ctypes is already imported. Callable before Py_Initialize (pre-init arming) and with the
/// interpreter lock held after it.
bool arm(std::shared_ptr<const policy::Policy> policy, How how, std::string& error);

/// The armed policy, or nullptr when the hook is not armed.
const policy::Policy* armed_policy() noexcept;
How armed_how() noexcept;

/// The current interpreter's auditwall.PolicyViolation type (an immutable PermissionError
/// subclass), created on first use and kept in the interpreter's state dict, so that each
/// sub-interpreter raises and catches its own. Needs the interpreter lock; returns a borrowed
/// reference, or nullptr with a Python error set.
PyObject* violation_type();

}  // namespace auditwall::hook
