#include "raw_nop.hpp"

#include <liburing.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace weft::bench {

double raw_nop_per_s(std::uint64_t total, unsigned batch) {
  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (int rc = io_uring_queue_init_params(256, &ring, &p); rc != 0) {
    std::fprintf(stderr, "raw_nop: io_uring_queue_init_params: %d\n", rc);
    std::exit(1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t done = 0;
  while (done < total) {
    for (unsigned i = 0; i < batch; ++i) io_uring_prep_nop(io_uring_get_sqe(&ring));
    io_uring_submit_and_wait(&ring, batch);
    io_uring_cqe* cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe) ++n;
    io_uring_cq_advance(&ring, n);
    done += n;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io_uring_queue_exit(&ring);
  return static_cast<double>(done) / s;
}

}  // namespace weft::bench
