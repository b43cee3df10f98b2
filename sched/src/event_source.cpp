#include <weft/sched/event_source.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft::sched {

EventSource::EventSource() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::system_category(), "weft: eventfd");
}

EventSource::~EventSource() { ::close(fd_); }

void EventSource::notify(std::uint64_t n) noexcept {
  for (;;) {
    if (::write(fd_, &n, sizeof n) == sizeof n) return;
    if (errno != EINTR) return;  // EAGAIN: the counter is saturated with pending wake-ups already
  }
}

std::uint64_t EventSource::try_consume() noexcept {
  std::uint64_t v = 0;
  for (;;) {
    if (::read(fd_, &v, sizeof v) == sizeof v) return v;
    if (errno != EINTR) return 0;
  }
}

std::uint64_t EventSource::wait() noexcept {
  for (;;) {
    if (std::uint64_t v = try_consume()) return v;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, -1);
  }
}

}  // namespace weft::sched
