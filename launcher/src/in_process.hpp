// Running the program's interpreter inside the front end's own process, when the interpreter
// is a shared-libpython build: one program started instead of two (see docs/activation.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace auditwall::front_end {

/// The libpython that the interpreter at `python` (a path) loads, found as the dynamic loader
/// would find it (DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH with $ORIGIN; else the loader's own
/// search, by name). Empty for an interpreter that links no shared libpython (a statically
/// linked one), and whenever that cannot be told for sure.
std::string find_libpython(const std::string& python);

/// `program` as execvp would find it: itself when it holds a '/', else the first executable
/// file of that name on PATH. Empty when there is none.
std::string find_on_path(const std::string& program);

/// An interpreter whose libpython is loaded into this process, not started.
struct Interpreter {
  std::string python;        ///< as given: argv[0] of the program
  int (*main)(int, char**);  ///< its Py_BytesMain
};

/// Loads the libpython that the interpreter `python` (a path, or a name on PATH) loads.
/// Nothing, having started nothing, when the interpreter cannot be run in this process (a
/// statically linked one, or one this cannot read as such): the caller then execs it.
std::optional<Interpreter> load_interpreter(const std::string& python);

/// Runs `python args...` in this process: arms the hook with the pre-init shim's own code and
/// the extension beside the shim `preload`, which reads and checks the policy AUDITWALL_POLICY
/// names and hands its compiled form down (ending the process when it cannot arm), and calls
/// Py_BytesMain with `python` as argv[0], as the interpreter's own main() would. Returns the
/// program's exit status. The process takes the interpreter's name (what ps shows), as exec
/// would give it.
int run_in_process(const Interpreter& interpreter, const std::string& preload,
                   const std::vector<std::string>& args);

}  // namespace auditwall::front_end
