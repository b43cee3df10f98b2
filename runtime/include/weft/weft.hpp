// weft/weft.hpp: the whole public API.
//
//   #include <weft/weft.hpp>
//   int main() { return weft::run([] { return weft::spawn([] { return 0; }).join(); }); }
#pragma once

#include <weft/channels/broadcast.hpp>
#include <weft/channels/channel.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/channels/select.hpp>
#include <weft/channels/watch.hpp>
#include <weft/io/file.hpp>
#include <weft/io/link.hpp>
#include <weft/io/ops.hpp>
#include <weft/io/pipe.hpp>
#include <weft/io/process.hpp>
#include <weft/io/select.hpp>
#include <weft/io/tcp.hpp>
#include <weft/io/udp.hpp>
#include <weft/io/unix.hpp>
#include <weft/runtime/config.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/metrics.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/spawn_blocking.hpp>
#include <weft/runtime/task_group.hpp>
#include <weft/sched/cancellation.hpp>
#include <weft/sched/error.hpp>
#include <weft/sched/spawn_options.hpp>
#include <weft/sched/this_fiber.hpp>
#include <weft/sync/barrier.hpp>
#include <weft/sync/condition_variable.hpp>
#include <weft/sync/event.hpp>
#include <weft/sync/latch.hpp>
#include <weft/sync/mutex.hpp>
#include <weft/sync/once.hpp>
#include <weft/sync/semaphore.hpp>
#include <weft/sync/shared_mutex.hpp>
#include <weft/sync/wait_group.hpp>
#include <weft/sync/wait_queue.hpp>
