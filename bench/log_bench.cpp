// The logging cost benchmark: what recording a checked event costs the thread that raised it,
// and the whole process, with the records written to a log file.
//
//   auditwall_log_bench [--events N] [--file PATH] [--format json|text] [--max-ns NS] [--smoke]
//
// Prints one line per measure. --max-ns makes the run fail when the amortised cost per
// logged event, output included (from the first record until the last is flushed to the
// file), exceeds NS. --smoke runs a short run and checks that every record reached the file.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "recorder.hpp"

using namespace auditwall;

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::size_t count_lines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  long events = 1000000;
  double max_ns = 0;
  bool smoke = false;
  std::string file = "/tmp/auditwall-log-bench-" + std::to_string(getpid()) + ".jsonl";
  std::string format = "json";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") {
      smoke = true;
      events = 20000;
    } else if (arg == "--events" && i + 1 < argc) {
      events = std::atol(argv[++i]);
    } else if (arg == "--file" && i + 1 < argc) {
      file = argv[++i];
    } else if (arg == "--format" && i + 1 < argc) {
      format = argv[++i];
    } else if (arg == "--max-ns" && i + 1 < argc) {
      max_ns = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--events N] [--file PATH] [--format json|text] "
                           "[--max-ns NS] [--smoke]\n", argv[0]);
      return 2;
    }
  }
  std::remove(file.c_str());

  policy::LoadResult loaded = policy::load_string(R"YAML(
version: 1
rules:
  - id: bench-log
    on: bench.event
    action: log
  - id: bench-deny
    on: bench.flood
    action: deny
    mode: monitor
)YAML", "bench.yaml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s", loaded.report().c_str());
    return 1;
  }
  const policy::Policy& p = *loaded.policy;

  recorder::Config config;
  std::string error;
  if (!recorder::parse_spec("file:" + file + ",format=" + format + ",rate_limit=0", config, error) ||
      !recorder::configure(config, error)) {
    std::fprintf(stderr, "log_bench: %s\n", error.c_str());
    return 1;
  }

  // A typical file event: a path, a mode, a caller; the caller line varies as in a program.
  policy::Event ev;
  ev.name = "bench.event";
  ev.path = "/srv/app/data/reports/2026/11/summary.csv";
  ev.open_mode = "rb";
  const std::string call = "open('/srv/app/data/reports/2026/11/summary.csv', 'rb', 524288)";
  const policy::Decision decision = p.evaluate(ev);
  recorder::Caller caller{"app.reports", "/srv/app/app/reports.py", 0};

  // Warm up: the first record opens the output and starts the writer thread.
  recorder::record(p, decision, ev, call, caller);
  recorder::flush();

  // Two rounds: the first grows the buffers to their working size, the second is measured.
  double cpu0 = 0, cpu1 = 0, thread0 = 0, thread1 = 0;
  std::chrono::steady_clock::time_point t0, t1, t2;
  for (int round = 0; round < 2; ++round) {
    cpu0 = cpu_seconds();
    thread0 = thread_cpu_seconds();
    t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < events; ++i) {
      caller.line = static_cast<int>(i & 1023);
      recorder::record(p, decision, ev, call, caller);
    }
    t1 = std::chrono::steady_clock::now();
    thread1 = thread_cpu_seconds();
    recorder::flush();
    t2 = std::chrono::steady_clock::now();
    cpu1 = cpu_seconds();
  }
  const double n = static_cast<double>(events);
  const double producer = std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
  const double amortised = std::chrono::duration<double, std::nano>(t2 - t0).count() / n;
  const double cpu = (cpu1 - cpu0) * 1e9 / n;
  const double producer_cpu = (thread1 - thread0) * 1e9 / n;

  // The rate-limited path: one (rule, event, caller) repeated, almost every record dropped.
  policy::Event flood;
  flood.name = "bench.flood";
  const policy::Decision flood_decision = p.evaluate(flood);
  recorder::Config limited = config;
  limited.rate_limit = 100;
  if (!recorder::configure(limited, error)) {
    std::fprintf(stderr, "log_bench: %s\n", error.c_str());
    return 1;
  }
  const double t3 = thread_cpu_seconds();
  for (long i = 0; i < events; ++i) recorder::record(p, flood_decision, flood, "bench.flood()", caller);
  const double t4 = thread_cpu_seconds();
  recorder::flush();
  const double dropped = (t4 - t3) * 1e9 / n;

  std::printf("log_bench: %ld events, format %s, file %s\n", events, format.c_str(), file.c_str());
  std::printf("log_bench: producer   %.1f ns/event CPU, %.1f ns/event wall (the thread that "
              "raised the event)\n", producer_cpu, producer);
  std::printf("log_bench: amortised  %.1f ns/event (wall time until the last record is in the file)\n",
              amortised);
  std::printf("log_bench: cpu        %.1f ns/event (all threads: copy, format, write)\n", cpu);
  std::printf("log_bench: rate-limited %.1f ns/event CPU (identical records, counted not logged)\n",
              dropped);

  const recorder::Stats stats = recorder::stats();
  int status = 0;
  if (stats.sink_errors != 0) {
    std::fprintf(stderr, "log_bench: %llu sink errors: %s\n",
                 static_cast<unsigned long long>(stats.sink_errors), stats.last_error.c_str());
    status = 1;
  }
  const bool json = format == "json";
  const std::size_t logged = count_lines(file, json ? "\"bench.event\"" : "rule=bench-log");
  if (logged != 2 * static_cast<std::size_t>(events) + 1) {
    std::fprintf(stderr, "log_bench: %zu of %ld records reached the file\n", logged,
                 2 * events + 1);
    status = 1;
  }
  if (count_lines(file, json ? "\"auditwall.rate-limit\"" : "dropped") == 0) {
    std::fprintf(stderr, "log_bench: the rate-limited run reported no dropped records\n");
    status = 1;
  }
  if (max_ns > 0 && amortised > max_ns) {
    std::fprintf(stderr, "log_bench: %.1f ns/event is over the %.1f ns budget\n", amortised, max_ns);
    status = 1;
  }
  if (smoke) std::remove(file.c_str());
  return status;
}
