// auditwall._core: the Python binding. Declarations only; the work is in hook and activation.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "activation.hpp"
#include "auditwall/seccomp.hpp"
#include "events.hpp"
#include "hook.hpp"
#include "log_status.hpp"
#include "policy_source.hpp"
#include "recorder.hpp"

namespace py = pybind11;
using namespace auditwall;

namespace {

policy_source::Loaded load(const std::string& path) {
  policy_source::Loaded loaded;
  std::string error;
  if (!policy_source::load(path, loaded, error)) throw std::runtime_error("auditwall: " + error);
  return loaded;
}

// (ok, report, compiled): whether the policy file loads, every diagnostic, one per line, and
// its compiled form for AUDITWALL_COMPILED (None when it does not load).
py::tuple compile_policy(const std::string& path) {
  policy_source::Loaded loaded = load(path);
  const bool ok = loaded.policy != nullptr;
  return py::make_tuple(ok, loaded.report,
                        ok ? py::object(py::str(policy::serialise(*loaded.policy)))
                           : py::object(py::none()));
}

// (ok, report): whether the policy file loads, and every diagnostic, one per line.
py::tuple check_policy(const std::string& path) {
  policy_source::Loaded loaded = load(path);
  return py::make_tuple(loaded.policy != nullptr, loaded.report);
}

// Where the policy's audit rules and the seccomp filters built from it disagree, one
// sentence each; empty when the policy does not load (check_policy reports that).
std::vector<std::string> seccomp_notes(const std::string& path) {
  policy_source::Loaded loaded = load(path);
  if (loaded.policy == nullptr) return {};
  return seccomp::contradictions(*loaded.policy);
}

void activate(const std::string& path, const std::string& mode, const std::string& how) {
  hook::How h = how == "auto-load" ? hook::How::auto_load : hook::How::api;
  std::string error;
  if (activation::arm(path, mode, h, error) != 0) {
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

py::object text_or_none(std::string_view text) {
  if (text.data() == nullptr) return py::none();
  return py::bytes(text.data(), text.size());
}

py::object int_or_none(std::int64_t value) {
  if (value < 0) return py::none();
  return py::int_(value);
}

// The typed fields the hook reads from an event, for tests and `auditwall` debugging: text
// fields as bytes (as the policy sees them), absent fields as None.
py::dict event_fields(const std::string& name, py::tuple args, int skip_frames) {
  events::EventData data;
  events::extract(name.c_str(), args.ptr(), data, skip_frames);
  const policy::Event& ev = data.event;
  py::dict out;
  out["path"] = text_or_none(ev.path);
  out["path2"] = text_or_none(ev.path2);
  out["open_mode"] = text_or_none(ev.open_mode);
  out["open_flags"] = int_or_none(ev.open_flags);
  out["cwd"] = text_or_none(ev.cwd);
  out["executable"] = text_or_none(ev.executable);
  py::list argv;
  for (std::size_t i = 0; i < ev.argc; ++i) argv.append(text_or_none(ev.argv[i]));
  out["argv"] = ev.argv != nullptr ? py::object(argv) : py::object(py::none());
  out["command"] = text_or_none(ev.command);
  out["host"] = text_or_none(ev.host);
  out["port"] = int_or_none(ev.port);
  out["address_family"] = int_or_none(ev.address_family);
  out["url"] = text_or_none(ev.url);
  out["global"] = text_or_none(ev.global);
  out["module"] = text_or_none(ev.module);
  static const char* origins[] = {"unknown", "module", "dynamic"};
  out["code_origin"] = origins[static_cast<int>(ev.code_origin)];
  out["env_key"] = text_or_none(ev.env_key);
  out["attribute"] = text_or_none(ev.attribute);
  out["opaque"] = data.opaque;
  return out;
}

// (module, file, line) of the caller as the hook finds it, or None.
py::object caller(int skip_frames) {
  events::Caller found;
  if (!events::find_caller(found, skip_frames)) return py::none();
  return py::make_tuple(found.module, found.file, found.line);
}

}  // namespace

// Multi-phase initialisation (PEP 489), usable in sub-interpreters that have their own GIL:
// the hook's state is process-wide and lock-free, and PolicyViolation is per interpreter
// (hook::violation_type()). PyInit__core below is the entry point; it guards this one.
PYBIND11_MODULE_PYINIT(_core_impl, py::multiple_interpreters::per_interpreter_gil())

PYBIND11_PLUGIN_DECL(_core)
extern "C" PYBIND11_EXPORT PyObject* PyInit__core() {
#if PY_VERSION_HEX < 0x030C0000
  // Before 3.12, pybind11 takes the GIL through PyGILState_Ensure, which belongs to the main
  // interpreter: importing in a sub-interpreter would deadlock. The hook needs no import to
  // work there (it is process-wide), so refuse the import cleanly.
  if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
    PyErr_SetString(PyExc_ImportError,
                    "auditwall._core can be imported in a sub-interpreter from CPython 3.12 on; "
                    "the audit hook checks this sub-interpreter's events without it");
    return nullptr;
  }
#endif
  return PyInit__core_impl();
}

PYBIND11_MODULE_EXEC(_core_impl, m) {
  m.doc() = "auditwall's native core: the policy engine and the audit hook.";
  m.attr("__version__") = AUDITWALL_VERSION;
  PyObject* violation = hook::violation_type();
  if (violation == nullptr) throw py::error_already_set();
  m.attr("PolicyViolation") = py::handle(violation);
  m.attr("EXIT_POLICY_ERROR") = activation::kExitPolicyError;
  m.def("check_policy", &check_policy, py::arg("path"),
        "Loads a policy file without arming it: (ok, diagnostics report).");
  m.def("compile_policy", &compile_policy, py::arg("path"),
        "Loads a policy file without arming it: (ok, diagnostics report, compiled form or None).");
  m.attr("COMPILED_VARIABLE") = policy::kCompiledVariable;
  m.def("seccomp_notes", &seccomp_notes, py::arg("path"),
        "Where the policy's audit rules and its seccomp filters disagree, one note each.");
  m.def("activate", &activate, py::arg("path"), py::arg("mode") = "", py::arg("how") = "api",
        "Arms the audit hook with a policy file. Raises RuntimeError when it cannot.");
  m.def("compiled_form", [] { return activation::compiled_form(); },
        "The compiled form of the armed policy as loaded, for AUDITWALL_COMPILED; '' before arming.");
  m.def("status", &status, "Whether the hook is armed, how, and with which policy.");
  // Without the GIL: the write may block on the sink, and the writer thread needs no GIL.
  m.def("flush", [] { recorder::flush(); }, py::call_guard<py::gil_scoped_release>(),
        "Writes every buffered record to the log sink and flushes it, then returns.");
  m.def("_event_fields", &event_fields, py::arg("event"), py::arg("args"), py::arg("skip_frames") = 0,
        "The typed fields auditwall reads from an audit event's arguments (for tests).");
  m.def("_caller", &caller, py::arg("skip_frames") = 0, "The calling module as the hook would find it (for tests).");
  m.def("_in_stdlib", [](const std::string& file) { return events::in_stdlib(file); }, py::arg("file"),
        "Whether the hook counts a code object's file as the standard library's (for tests).");
  // pybind11's function-record type ends the process (an exception through a C slot) when
  // Python code calls it, as a search of gc.get_objects() for callables may: with no tp_new,
  // calling it raises TypeError instead. pybind11 makes its records without tp_new.
  PyObject* self = PyCFunction_GetSelf(m.attr("status").ptr());
  if (self != nullptr && (Py_TYPE(self)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
    Py_TYPE(self)->tp_new = nullptr;
    PyType_Modified(Py_TYPE(self));
  }
}
