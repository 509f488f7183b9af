// libauditwall-loader.so: the YAML policy loader behind a C interface, for the extension.
//
// The extension is loaded into every protected interpreter before it starts, so it carries
// no YAML parser (yaml-cpp and the shared libstdc++ it needs cost more than the rest of
// arming). It loads this library only when it must read YAML itself: auditwall.activate(),
// auto-load, `auditwall policy check`, and a pre-init child whose environment carries no
// usable compiled policy. Only C types cross: the two sides may use different copies of the
// C++ runtime. Everything but the functions below is hidden (loader.map).
#include <cstdlib>
#include <cstring>
#include <string>

#include "auditwall/policy.hpp"
#include "loader_api.h"

namespace {

char* copy(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

}  // namespace

extern "C" int auditwall_loader_load(const char* ref, char** compiled, char** report) {
  *compiled = nullptr;
  *report = nullptr;
  try {
    auditwall::policy::LoadResult loaded = auditwall::policy::load_file(ref);
    *report = copy(loaded.report());
    if (loaded.ok()) *compiled = copy(auditwall::policy::serialise(*loaded.policy));
    if (*report == nullptr || (loaded.ok() && *compiled == nullptr)) {
      std::free(*report);
      std::free(*compiled);
      *report = *compiled = nullptr;
      return -1;
    }
    return loaded.ok() ? 1 : 0;
  } catch (...) {
    std::free(*report);
    std::free(*compiled);
    *report = *compiled = nullptr;
    return -1;
  }
}

extern "C" void auditwall_loader_free(char* text) { std::free(text); }
