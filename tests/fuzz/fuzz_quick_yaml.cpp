// libFuzzer target: the fast policy reader accepts a text only when yaml-cpp reads the same
// tree from it (same types, text and positions); anything else it must decline.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "yaml_difference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string why = auditwall::policy::testing::check_against_yaml_cpp(text);
  if (!why.empty()) {
    std::fprintf(stderr, "fast reader and yaml-cpp differ: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
