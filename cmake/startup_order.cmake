# Start-up code placed together. The code of _core that runs when a protected interpreter starts
# (its loading, reading and compiling the policy, arming the hook) is a few hundred functions
# spread over more than a megabyte of text. Each first touch of a
# 64 KB stretch of it is a page fault, and the kernel maps and later unmaps the whole stretch.
# An order file (one input section per line, written by scripts/startup-order from a profile of
# real starts) lists those functions; a linker script generated from it places them in one
# output section, .text.auditwall_startup, ahead of the rest of the text. Every object is built
# with -ffunction-sections (the top-level CMakeLists.txt), and LTO code gets it again at link
# time, so each function has a section of its own to place.
#
# A line that names no section (code that changed since the file was written, or another
# compiler's names) places nothing and costs nothing: the function stays where the linker would
# have put it. AUDITWALL_LINK_MAPS=ON writes a link map beside each ordered target, which
# scripts/startup-order reads to turn a profile back into section names.
option(AUDITWALL_LINK_MAPS "Write a link map beside each target with a start-up order" OFF)

set(AUDITWALL_STARTUP_ORDER OFF)
if(NOT AUDITWALL_SANITIZE)
  # GNU ld and gold read INSERT; a linker that cannot gets no order.
  set(probe "${CMAKE_BINARY_DIR}/CMakeFiles/auditwall-order-probe.ld")
  file(WRITE "${probe}"
       "SECTIONS { .text.auditwall_startup : { *(.text.main) } } INSERT BEFORE .text;\n")
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-Wl,-T,${probe}" AUDITWALL_HAVE_INSERT_SCRIPTS)
  set(AUDITWALL_STARTUP_ORDER ${AUDITWALL_HAVE_INSERT_SCRIPTS})
endif()

# Links TARGET with the start-up order in ORDER_FILE (a path relative to the calling directory).
function(auditwall_startup_order target order_file)
  get_filename_component(order_file "${order_file}" ABSOLUTE)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${order_file}")
  if(AUDITWALL_LINK_MAPS)
    target_link_options(${target} PRIVATE "-Wl,-Map,$<TARGET_FILE:${target}>.map")
  endif()
  if(NOT AUDITWALL_STARTUP_ORDER)
    return()
  endif()
  file(STRINGS "${order_file}" sections REGEX "^\\.text[^ \t]*$")
  set(body "")
  foreach(section IN LISTS sections)
    string(APPEND body "    *(${section})\n")
  endforeach()
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}.order.ld")
  # Written only when it changes, so that an unchanged order relinks nothing.
  set(text "/* Generated from ${order_file}. */\nSECTIONS\n{\n  .text.auditwall_startup :\n")
  string(APPEND text "  {\n${body}  }\n}\nINSERT BEFORE .text;\n")
  file(CONFIGURE OUTPUT "${script}" @ONLY CONTENT "${text}")
  target_link_options(${target} PRIVATE "-Wl,-T,${script}" -ffunction-sections)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${script}")
endfunction()
