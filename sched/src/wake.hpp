// wake.hpp: the fiber half of Waker::wake() (the unpark state machine, see weft/sched/task.hpp).
#pragma once

namespace weft::sched {

class Task;

// wake_task: gives `t` its permit; a parked task becomes queued: on the calling worker's LIFO slot
// when the caller is a worker of the same scheduler (the fiber migrates to its waker, which is
// where the data it waits for is hot), else on its home worker's inbox. Any thread.
void wake_task(Task* t) noexcept;

}  // namespace weft::sched
