// The event log's outputs: spdlog sinks for stderr, a rotating file and syslog.
#include "log_sinks.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>

namespace auditwall::log {
namespace {

using spdlog::details::null_mutex;

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// A file descriptor that receives each message, a chunk of many records from the recorder, in
// one writev() with its newline: with O_APPEND, lines from several processes sharing the
// output never mix. The message is written as it is, without spdlog's pattern formatting
// (the recorder formats) and without a copy. Only the recorder's writer uses it, under its
// own lock.
class FdSink final : public spdlog::sinks::base_sink<null_mutex> {
 public:
  FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  ~FdSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    char newline = '\n';
    iovec parts[2] = {{const_cast<char*>(msg.payload.data()), msg.payload.size()}, {&newline, 1}};
    iovec* part = parts;
    int left = 2;
    int err = fd_ < 0 ? EBADF : 0;
    while (err == 0 && left > 0) {
      const ssize_t n = ::writev(fd_, part, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
        break;
      }
      // A short write: go on from where it stopped.
      auto done = static_cast<std::size_t>(n);
      while (left > 0 && done >= part->iov_len) {
        done -= part->iov_len;
        ++part;
        --left;
      }
      if (left > 0) {
        part->iov_base = static_cast<char*>(part->iov_base) + done;
        part->iov_len -= done;
      }
    }
    if (err != 0) throw spdlog::spdlog_ex(errno_text("cannot write the log to " + what_, err));
  }

  void flush_() override {}

 private:
  int fd_;
  std::string what_;
};

// RFC 3164 datagrams on a unix socket: /dev/log, or the socket given as syslog:PATH. One
// datagram per record; a send that cannot complete within half a second fails (and is
// counted) rather than stalling the log.
class SyslogSink final : public spdlog::sinks::base_sink<null_mutex> {
 public:
  explicit SyslogSink(std::string path) : path_(std::move(path)) {}
  ~SyslogSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connect_socket(std::string& error) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error = errno_text("cannot create a syslog socket", errno);
      return false;
    }
    timeval timeout{0, 500000};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) {
      error = "syslog socket path too long: " + path_;
      return false;
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error = errno_text("cannot connect to syslog at " + path_, errno);
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    return true;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    // LOG_USER; deny and kill are warnings, would-deny a notice, everything else info.
    const int severity = msg.level >= spdlog::level::warn ? 4 : msg.level == spdlog::level::info ? 5 : 6;
    char head[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::snprintf(head, sizeof head, "<%d>%s auditwall[%d]: ", 8 + severity, stamp,
                  static_cast<int>(::getpid()));
    std::string datagram = head;
    datagram.append(msg.payload.data(), msg.payload.size());
    std::string error;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect_socket(error)) break;
      if (::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) >= 0) return;
      error = errno_text("cannot send to syslog at " + path_, errno);
      // The daemon may have restarted: connect again once.
      ::close(fd_);
      fd_ = -1;
    }
    throw spdlog::spdlog_ex(error);
  }

  void flush_() override {}

 private:
  std::string path_;
  int fd_ = -1;
};

// Stdio buffers for log files: 1 MiB, so that a batch of records reaches the file in one
// write (and, with O_APPEND, never interleaves with another process's lines).
spdlog::file_event_handlers big_buffers() {
  auto buffers = std::make_shared<std::vector<std::unique_ptr<char[]>>>();
  spdlog::file_event_handlers handlers;
  handlers.after_open = [buffers](const spdlog::filename_t&, std::FILE* file) {
    buffers->push_back(std::make_unique<char[]>(1u << 20));
    std::setvbuf(file, buffers->back().get(), _IOFBF, 1u << 20);
  };
  handlers.after_close = [buffers](const spdlog::filename_t&) {
    if (!buffers->empty()) buffers->erase(buffers->begin());
  };
  return handlers;
}

std::shared_ptr<spdlog::sinks::sink> stderr_sink(Output& out, std::string& error) {
  // A private copy of fd 2: records keep reaching the original stderr if the program closes
  // fd 2, and never land in a file that later reuses that number.
  const int fd = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) error = errno_text("stderr is not open", errno);
  out.tty = fd >= 0 && ::isatty(fd) == 1;
  out.fd = fd;
  return std::make_shared<FdSink>(fd, "stderr");
}

// A log file opened for appending, its directories created first. Throws spdlog_ex.
std::shared_ptr<spdlog::sinks::sink> append_sink(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    ::mkdir(path.substr(0, slash).c_str(), 0777);  // an existing one is fine; open() says the rest
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw spdlog::spdlog_ex(errno_text("cannot open the log file " + path, errno));
  return std::make_shared<FdSink>(fd, path);
}

}  // namespace

bool open_output(const recorder::Config& config,
                 std::function<void(const std::string&)> on_error, Output& out,
                 std::string& error) {
  using Sink = recorder::Config::Sink;
  std::shared_ptr<spdlog::sinks::sink> sink;
  bool ok = true;
  out.tty = false;
  out.fd = -1;
  try {
    switch (config.sink) {
      case Sink::none:
        sink = std::make_shared<spdlog::sinks::null_sink_st>();
        out.name = "none";
        break;
      case Sink::file:
        out.name = "file:" + config.path;
        if (config.max_bytes > 0) {
          sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
              config.path, static_cast<std::size_t>(config.max_bytes), config.keep, false,
              big_buffers());
        } else {
          sink = append_sink(config.path);
        }
        break;
      case Sink::syslog: {
        const std::string path = config.path.empty() ? "/dev/log" : config.path;
        auto syslog = std::make_shared<SyslogSink>(path);
        out.name = "syslog:" + path;
        std::string why;
        if (!syslog->connect_socket(why)) {
          error = why;  // kept: the sink connects again at the next record
          ok = false;
        }
        sink = syslog;
        break;
      }
      case Sink::stderr_:
        out.name = "stderr";
        sink = stderr_sink(out, error);
        ok = error.empty();
        break;
    }
  } catch (const std::exception& e) {
    // An unusable file: say so, and log to stderr rather than nowhere.
    error = std::string(e.what()) + "; logging to stderr instead";
    out.name = "stderr";
    std::string ignored;
    sink = stderr_sink(out, ignored);
    ok = false;
  }
  out.logger = std::make_shared<spdlog::logger>("auditwall", std::move(sink));
  out.logger->set_pattern("%v");
  out.logger->set_level(spdlog::level::trace);
  out.logger->flush_on(spdlog::level::off);
  out.logger->set_error_handler(std::move(on_error));
  return ok;
}

}  // namespace auditwall::log
