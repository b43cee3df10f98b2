// dispatch.cpp: the dispatch point (dispatch.hpp).
#include "dispatch.hpp"

namespace weft::io {

bool offsets_need_position_check() noexcept {
  const sched::Driver* d = sched::current_driver();
  return d && d->kind() == &kUringKind;
}

}  // namespace weft::io
