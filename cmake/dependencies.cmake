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

# Every start of auditwall-launch, and every interpreter that loads _core or
# libauditwall-loader.so, pays the dynamic loader for relocating the shared libraries they
# link: about 2 M instructions for libstdc++, yaml-cpp and libseccomp, more than the work
# itself. So they link the C++ runtime statically (auditwall_static_runtime) and, where the
# system has the archive, yaml-cpp and libseccomp too, and export only their own entry points
# (version scripts), so that these private copies never meet the shared ones other code
# loads into the same process. Where an archive is missing, the shared library is linked
# instead; an archive built for executables only (Debian's libyaml-cpp.a is PIE code, not
# PIC) goes into the executables only. Sanitizer builds keep everything shared, as their own
# runtimes expect.
include(CheckCXXSourceCompiles)
# Sets VAR when ARCHIVE links into a shared object, with SOURCE using it.
function(auditwall_archive_is_pic var archive includes source)
  set(CMAKE_POSITION_INDEPENDENT_CODE OFF)  # -fPIC, not the -fPIE of executables
  set(CMAKE_REQUIRED_FLAGS -fPIC)
  set(CMAKE_REQUIRED_LINK_OPTIONS -shared -Wl,--no-undefined -static-libstdc++ -static-libgcc)
  set(CMAKE_REQUIRED_LIBRARIES ${archive})
  set(CMAKE_REQUIRED_INCLUDES ${includes})
  set(CMAKE_REQUIRED_QUIET ON)
  check_cxx_source_compiles("${source}" ${var})
endfunction()

add_library(auditwall_static_runtime INTERFACE)
add_library(auditwall_yaml INTERFACE)
add_library(auditwall_libseccomp INTERFACE)
if(NOT AUDITWALL_SANITIZE)
  target_link_options(auditwall_static_runtime INTERFACE -static-libstdc++ -static-libgcc
                      -Wl,--gc-sections)
  # Relative relocations packed (DT_RELR, glibc 2.36 and later): the dynamic loader applies the
  # thousands a static C++ runtime brings in a few instructions each.
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" AUDITWALL_HAVE_PACK_RELATIVE_RELOCS)
  if(AUDITWALL_HAVE_PACK_RELATIVE_RELOCS)
    target_link_options(auditwall_static_runtime INTERFACE -Wl,-z,pack-relative-relocs)
  endif()
  find_library(AUDITWALL_YAML_ARCHIVE NAMES libyaml-cpp.a)
  find_library(AUDITWALL_SECCOMP_ARCHIVE NAMES libseccomp.a HINTS ${LIBSECCOMP_LIBRARY_DIRS})
endif()
get_target_property(AUDITWALL_YAML_INCLUDES ${AUDITWALL_YAML_TARGET} INTERFACE_INCLUDE_DIRECTORIES)
if(NOT AUDITWALL_YAML_INCLUDES)
  set(AUDITWALL_YAML_INCLUDES "")
endif()
if(AUDITWALL_YAML_ARCHIVE)
  auditwall_archive_is_pic(AUDITWALL_YAML_ARCHIVE_PIC ${AUDITWALL_YAML_ARCHIVE}
    "${AUDITWALL_YAML_INCLUDES}"
    "#include <yaml-cpp/yaml.h>\nint f(const char* s) { return YAML::Load(s).IsMap(); }")
  target_include_directories(auditwall_yaml INTERFACE ${AUDITWALL_YAML_INCLUDES})
  if(AUDITWALL_YAML_ARCHIVE_PIC)
    target_link_libraries(auditwall_yaml INTERFACE ${AUDITWALL_YAML_ARCHIVE})
  else()
    # Evaluated for the target that links the policy library: executables take the archive.
    target_link_libraries(auditwall_yaml INTERFACE
      "$<IF:$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>,${AUDITWALL_YAML_ARCHIVE},${AUDITWALL_YAML_TARGET}>")
  endif()
else()
  target_link_libraries(auditwall_yaml INTERFACE ${AUDITWALL_YAML_TARGET})
endif()
# The runtime of the programs that read YAML (auditwall-launch, auditwall, auditwall-policy):
# static only with the static yaml-cpp. The shared yaml-cpp needs the shared libstdc++, and a
# program must not carry a second, private C++ runtime beside it.
add_library(auditwall_yaml_runtime INTERFACE)
if(AUDITWALL_YAML_ARCHIVE)
  target_link_libraries(auditwall_yaml_runtime INTERFACE auditwall_static_runtime)
endif()
if(AUDITWALL_SECCOMP_ARCHIVE)
  auditwall_archive_is_pic(AUDITWALL_SECCOMP_ARCHIVE_PIC ${AUDITWALL_SECCOMP_ARCHIVE}
    "${LIBSECCOMP_INCLUDE_DIRS}"
    "#include <seccomp.h>\nint f() { return seccomp_init(SCMP_ACT_ALLOW) != nullptr; }")
endif()
if(AUDITWALL_SECCOMP_ARCHIVE_PIC)
  target_include_directories(auditwall_libseccomp INTERFACE ${LIBSECCOMP_INCLUDE_DIRS})
  target_link_libraries(auditwall_libseccomp INTERFACE ${AUDITWALL_SECCOMP_ARCHIVE})
else()
  target_link_libraries(auditwall_libseccomp INTERFACE PkgConfig::LIBSECCOMP)
endif()
message(STATUS "auditwall: static yaml-cpp: ${AUDITWALL_YAML_ARCHIVE} "
               "(in shared objects: ${AUDITWALL_YAML_ARCHIVE_PIC}); static libseccomp: "
               "${AUDITWALL_SECCOMP_ARCHIVE_PIC}")

if(AUDITWALL_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()

if(AUDITWALL_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
