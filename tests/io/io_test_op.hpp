// io_test_op.hpp: TestOp, an IoOp (io/src/io_op.hpp) that white-box tests drive without a fiber:
// its last reference claims a select of its own (the select-branch path of release_refs) instead
// of waking a task, so a plain test thread can watch it complete. Not thread-safe beyond what the
// op reference protocol itself allows.
#pragma once

#include "io_op.hpp"

#include <weft/sched/select_branch.hpp>

#include <atomic>

namespace weft::io::test {

struct TestOp {
  sched::SelectState select;  // its waker is the constructing thread
  SelectHook hook;
  IoOp op;

  TestOp() {
    hook.state = &select;
    hook.index = 0;
    hook.waker = select.waker().clone();
    op.select = &hook;
  }
  TestOp(const TestOp&) = delete;
  TestOp& operator=(const TestOp&) = delete;

  // done: the final completion was published (acquire: res and timed_out are visible).
  bool done() const noexcept { return op.done.load(std::memory_order_acquire); }
  // claimed: the last reference claimed the select exactly as a branch's op does.
  bool claimed() const noexcept { return select.winner() == 0; }
};

}  // namespace weft::io::test
