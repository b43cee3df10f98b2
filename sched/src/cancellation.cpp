// cancellation.cpp: CancellationSource on std::stop_source, and the link that makes a source the
// child of a token.
//
// Why std::stop_source: its callback protocol is exactly what propagation needs and is subtle to
// get right: request_stop() runs every registered callback once, on the cancelling thread, without
// holding its lock while a callback runs, and a callback's deregistration (~stop_callback) waits if
// that callback is running on another thread right now, so a callback never runs on a freed object.
// weft registers two kinds of callbacks: a child source's ParentLink (below: cancels the child), and
// a spawned task's TokenLink (task_token.hpp: Task::request_cancel, which wakes it if parked).
#include <weft/sched/cancellation.hpp>

#include <utility>

namespace weft {

// ParentLink: registered on the parent's token; cancels the child. It holds a copy of the child's
// stop_source (shared state), so it is valid whatever happens to the CancellationSource object.
struct CancellationSource::ParentLink {
  struct Forward {
    std::stop_source child;
    void operator()() noexcept { child.request_stop(); }
  };
  ParentLink(const std::stop_token& parent, std::stop_source child) : callback(parent, Forward{std::move(child)}) {}
  std::stop_callback<Forward> callback;
};

CancellationSource::CancellationSource() = default;

CancellationSource::CancellationSource(const CancellationToken& parent) {
  // A parent that nothing can cancel needs no link (the common case of a root task's token).
  if (parent.can_be_cancelled()) parent_link_ = std::make_unique<ParentLink>(parent.stop_token(), source_);
}

CancellationSource::~CancellationSource() = default;
CancellationSource::CancellationSource(CancellationSource&&) noexcept = default;

CancellationSource& CancellationSource::operator=(CancellationSource&& other) noexcept {
  if (this != &other) {
    parent_link_ = std::move(other.parent_link_);  // unlinks ours first
    source_ = std::move(other.source_);
  }
  return *this;
}

void CancellationSource::cancel() noexcept { source_.request_stop(); }

}  // namespace weft
