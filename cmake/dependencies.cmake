# Finds the system libraries auditwall builds against (Debian's -dev packages; see
# scripts/bootstrap). Debian 12 and 13 ship different versions; both are handled here.

find_package(yaml-cpp CONFIG REQUIRED)
# yaml-cpp 0.7 (Debian 12) exports the target `yaml-cpp`; 0.8 (Debian 13) `yaml-cpp::yaml-cpp`.
if(TARGET yaml-cpp::yaml-cpp)
  set(AUDITWALL_YAML_TARGET yaml-cpp::yaml-cpp)
elseif(TARGET yaml-cpp)
  set(AUDITWALL_YAML_TARGET yaml-cpp)
else()
  message(FATAL_ERROR "yaml-cpp was found but exports neither yaml-cpp nor yaml-cpp::yaml-cpp")
endif()

# The extension is loaded into every protected interpreter before it starts, so each shared
# library it links is paid at every start-up: spdlog and fmt are used header-only.
if(AUDITWALL_BUILD_EXTENSION OR AUDITWALL_BUILD_LAUNCHER)
  find_package(spdlog CONFIG REQUIRED)
  find_package(fmt CONFIG REQUIRED)
  add_library(auditwall_spdlog INTERFACE)
  target_link_libraries(auditwall_spdlog INTERFACE spdlog::spdlog_header_only fmt::fmt-header-only)
  # fmt::fmt, which spdlog's target names too, is not needed header-only: drop the library.
  target_link_options(auditwall_spdlog INTERFACE -Wl,--as-needed)
endif()

# libseccomp: the policy library checks seccomp syscall names with it at load time; the
# seccomp filters are installed by the launcher (first stage) and the extension (second).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBSECCOMP REQUIRED IMPORTED_TARGET libseccomp>=2.5)

if(AUDITWALL_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()

if(AUDITWALL_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
