// Where the armed policy comes from: the compiled form a front end handed down, or the YAML.
#include "policy_source.hpp"

#include <cstdlib>
#include <cstring>

#include "loader_api.h"

namespace auditwall::policy_source {

namespace {

struct LoaderLibrary {
  auditwall_loader_load_fn load = nullptr;
  auditwall_loader_free_fn free = nullptr;
};

// The loader library next to this extension; loaded once and kept.
bool loader_library(LoaderLibrary& out, std::string& error) {
  static LoaderLibrary library;
  if (library.load != nullptr) {
    out = library;
    return true;
  }
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&loader_library), &self) == 0 || self.dli_fname == nullptr) {
    error = "cannot locate the auditwall extension";
    return false;
  }
  std::string path = self.dli_fname;
  const auto slash = path.rfind('/');
  path = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) +
         "/libauditwall-loader.so";
  auditwall_loader_load_fn load = nullptr;
  auditwall_loader_free_fn release = nullptr;
  if (const char* why = auditwall_loader_open(path.c_str(), &load, &release)) {
    error = "cannot load the policy loader " + path + ": " + why;
    return false;
  }
  library.free = release;
  library.load = load;
  out = library;
  return true;
}

}  // namespace

bool load(const std::string& ref, Loaded& out, std::string& error) {
  // The policies people write are read here, without yaml-cpp: loading the loader library
  // (with its C++ runtime and yaml-cpp) costs more than reading most policies.
  if (auto fast = policy::load_file_fast(ref)) {
    out.policy = std::move(fast->policy);
    out.report.clear();
    return true;
  }
  LoaderLibrary library;
  if (!loader_library(library, error)) return false;
  char* compiled = nullptr;
  char* report = nullptr;
  const int status = library.load(ref.c_str(), &compiled, &report);
  if (status < 0) {
    error = "internal error in the policy loader";
    return false;
  }
  out.report = report != nullptr ? report : "";
  const std::string text = compiled != nullptr ? compiled : "";
  library.free(report);
  library.free(compiled);
  out.policy = nullptr;
  if (status == 1) {
    std::string why;
    out.policy = policy::deserialise(text, why);
    if (out.policy == nullptr) {
      error = "the policy loader's output does not read back: " + why;
      return false;
    }
  }
  return true;
}

std::shared_ptr<const policy::Policy> inherited(const std::string& ref) {
  const char* compiled = std::getenv(policy::kCompiledVariable);
  if (compiled == nullptr || *compiled == '\0') return nullptr;
  std::string why;
  std::shared_ptr<const policy::Policy> policy = policy::deserialise(compiled, why);
  if (policy == nullptr || policy->source() != ref || !policy::source_unchanged(*policy)) {
    return nullptr;
  }
  return policy;
}

}  // namespace auditwall::policy_source
