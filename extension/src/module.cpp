// auditwall._core: the Python binding. Declarations only; the work is in hook and activation.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "activation.hpp"
#include "auditwall/seccomp.hpp"
#include "hook.hpp"
#include "log_status.hpp"

namespace py = pybind11;
using namespace auditwall;

namespace {

// (ok, report): whether the policy file loads, and every diagnostic, one per line.
py::tuple check_policy(const std::string& path) {
  policy::LoadResult loaded = policy::load_file(path);
  return py::make_tuple(loaded.ok(), loaded.report());
}

// Where the policy's audit rules and the seccomp filters built from it disagree, one
// sentence each; empty when the policy does not load (check_policy reports that).
std::vector<std::string> seccomp_notes(const std::string& path) {
  policy::LoadResult loaded = policy::load_file(path);
  if (!loaded.ok()) return {};
  return seccomp::contradictions(*loaded.policy);
}

void activate(const std::string& path, const std::string& mode, const std::string& how) {
  hook::How h = how == "auto-load" ? hook::How::auto_load : hook::How::api;
  std::string error;
  if (!activation::arm(path, mode, h, error)) {
    throw std::runtime_error("auditwall: cannot arm: " + error);
  }
}

py::dict status() {
  py::dict out;
  const policy::Policy* p = hook::armed_policy();
  out["armed"] = p != nullptr;
  if (p != nullptr) {
    out["how"] = hook::to_string(hook::armed_how());
    out["policy"] = p->source();
    out["hash"] = p->hash();
    out["mode"] = std::string(policy::to_string(p->mode()));
  }
  recorder::add_status(out, p);
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "auditwall's native core: the policy engine and the audit hook.";
  m.attr("__version__") = AUDITWALL_VERSION;
  PyObject* violation = hook::violation_type();
  if (violation == nullptr) throw py::error_already_set();
  m.attr("PolicyViolation") = py::handle(violation);
  m.attr("EXIT_POLICY_ERROR") = activation::kExitPolicyError;
  m.def("check_policy", &check_policy, py::arg("path"),
        "Loads a policy file without arming it: (ok, diagnostics report).");
  m.def("seccomp_notes", &seccomp_notes, py::arg("path"),
        "Where the policy's audit rules and its seccomp filters disagree, one note each.");
  m.def("activate", &activate, py::arg("path"), py::arg("mode") = "", py::arg("how") = "api",
        "Arms the audit hook with a policy file. Raises RuntimeError when it cannot.");
  m.def("status", &status, "Whether the hook is armed, how, and with which policy.");
}
