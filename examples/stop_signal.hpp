// stop_signal.hpp: SIGINT/SIGTERM as something a fiber can wait for (the examples' servers).
//
// The signals are blocked in the calling thread before the Runtime starts, so every worker
// inherits the mask and no thread is interrupted; a fiber then reads them from a signalfd
// through the ring, like any other fd. Construct it first thing in main().
#pragma once

#include <weft/weft.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

namespace weft::examples {

class StopSignal {
 public:
  StopSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("signalfd");
      std::exit(1);
    }
  }
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  ~StopSignal() { ::close(fd_); }

  // wait: suspends the calling fiber until SIGINT or SIGTERM arrives; returns the signal's name
  // (or why the wait ended early, e.g. the fiber was cancelled).
  std::string wait() {
    signalfd_siginfo info{};
    auto n = weft::io::read(fd_, std::as_writable_bytes(std::span(&info, 1)));
    if (!n) return "signal wait failed: " + n.error().message();
    return strsignal(static_cast<int>(info.ssi_signo));
  }

 private:
  sigset_t set_{};
  int fd_ = -1;
};

}  // namespace weft::examples
