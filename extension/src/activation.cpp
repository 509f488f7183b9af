// Arming the hook from a policy reference: shared by pre-init, auto-load and the API.
#include "activation.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "policy_source.hpp"
#include "seccomp_stage.hpp"

namespace auditwall::activation {

namespace {
std::shared_ptr<const policy::Policy> g_as_loaded;  // set once, when arming succeeded
}  // namespace

int arm(const std::string& policy_ref, const std::string& mode, hook::How how,
         std::string& error, std::string* warnings, bool* read_file) {
  // The compiled policy handed down saves the YAML parser at every start-up; without a
  // usable one, the file is read.
  std::shared_ptr<const policy::Policy> policy = policy_source::inherited(policy_ref);
  if (policy == nullptr) {
    policy_source::Loaded loaded;
    if (!policy_source::load(policy_ref, loaded, error)) return kExitCannotRun;
    if (loaded.policy == nullptr) {
      error = loaded.report;
      return kExitPolicyError;
    }
    policy = loaded.policy;
    if (warnings != nullptr) *warnings = std::move(loaded.report);
    if (read_file != nullptr) *read_file = true;
  }
  std::shared_ptr<const policy::Policy> as_loaded = policy;
  if (mode == "monitor" || mode == "enforce") {
    policy::Mode wanted = mode == "monitor" ? policy::Mode::monitor : policy::Mode::enforce;
    if (wanted != policy->mode()) policy = policy->with_mode(wanted);
  } else if (!mode.empty()) {
    error = "unknown mode '" + mode + "'; use enforce or monitor";
    return kExitPolicyError;
  }
  if (!hook::arm(std::move(policy), how, error)) return kExitPolicyError;
  g_as_loaded = std::move(as_loaded);
  return 0;
}

std::string compiled_form() {
  return g_as_loaded != nullptr ? policy::serialise(*g_as_loaded) : std::string();
}

}  // namespace auditwall::activation

// 0 when armed, else the exit status, with the reason in `error`.
extern "C" int auditwall_preinit_arm(char* error, unsigned long size) {
  std::string message;
  int status = 0;
  try {
    const char* policy_ref = std::getenv("AUDITWALL_POLICY");
    const char* mode = std::getenv("AUDITWALL_MODE");
    std::string warnings;
    bool read_file = false;
    if (policy_ref == nullptr || *policy_ref == '\0') {
      message = "AUDITWALL_POLICY is not set";
      status = auditwall::activation::kExitPolicyError;
    } else {
      status = auditwall::activation::arm(policy_ref, mode != nullptr ? mode : "",
                                          auditwall::hook::How::pre_init, message, &warnings,
                                          &read_file);
    }
    if (status == 0 &&
        !auditwall::seccomp_stage::install(*auditwall::hook::armed_policy(), message)) {
      status = auditwall::seccomp_stage::kExitNoSeccomp;
    }
    if (status == 0 && read_file) {
      std::fputs(warnings.c_str(), stderr);
      // The program's children arm from it, as from a front end's, and read it no more.
      const std::string compiled = auditwall::activation::compiled_form();
      if (setenv(auditwall::policy::kCompiledVariable, compiled.c_str(), 1) != 0) {
        message = "cannot hand the compiled policy down: " + std::string(std::strerror(errno));
        status = 70;  // EX_SOFTWARE
      }
    }
  } catch (const std::exception& e) {
    message = std::string("internal error while arming: ") + e.what();
    status = 70;  // EX_SOFTWARE
  } catch (...) {
    message = "internal error while arming";
    status = 70;
  }
  if (status != 0 && error != nullptr && size > 0) {
    std::strncpy(error, message.c_str(), size - 1);
    error[size - 1] = '\0';
  }
  return status;
}
