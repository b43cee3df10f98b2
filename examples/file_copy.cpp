// file_copy: copies a file with a window of reads and writes in flight, like `cp` but batched
// through io_uring.
//
//   file_copy SRC DST [--window 8] [--block-kib 1024] [--fsync] [--workers 1]
//
// What it shows: concurrency for throughput, not just for connections. `--window` fibers each
// take the next block of the file, read it at its offset and write it at the same offset. While
// one fiber waits for its read, the worker runs the others, and every operation they queued in
// that tick goes to the kernel in one io_uring_enter: several operations are in flight at once,
// with no thread per operation. The program prints how many SQEs each io_uring_enter carried.
//
// DST gets SRC's size and permission bits. --fsync flushes DST to the device before reporting
// success. Errors (a missing or unreadable SRC, SRC not a regular file, DST the same file as SRC,
// a failed read or write) print one line naming the file and the reason and exit 1; a copy that
// fails part-way removes the partial DST. Bad flags exit 2.
#include "flags.hpp"

#include <weft/io/uring_driver.hpp>  // current_uring_stats: SQEs per io_uring_enter
#include <weft/weft.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string src, dst;
  unsigned long window = 8;
  std::size_t block = 1 << 20;
  bool fsync = false;
};

// failure: the one-line message a failed step prints ("cannot open 'x': No such file...").
std::string failure(const std::string& what, const std::string& path, std::error_code ec) {
  return what + " '" + path + "': " + ec.message();
}

// copy_blocks: the window. Each fiber claims the next block with a fetch_add and copies it; the
// first error stops the others at their next block and is the one reported.
weft::Result<void> copy_blocks(weft::io::File& in, weft::io::File& out, std::uint64_t size, const Options& o) {
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  auto copier = [&]() -> weft::Result<void> {
    auto buf = std::make_unique_for_overwrite<std::byte[]>(o.block);
    for (;;) {
      const std::uint64_t offset = next.fetch_add(o.block, std::memory_order_relaxed);
      if (offset >= size || failed.load(std::memory_order_relaxed)) return {};
      const auto chunk = std::span(buf.get(), static_cast<std::size_t>(std::min<std::uint64_t>(o.block, size - offset)));
      auto r = in.read_exact_at(chunk, offset);  // EIO if the file shrank under us
      if (r) r = out.write_all_at(chunk, offset);
      if (!r) {
        failed.store(true, std::memory_order_relaxed);
        return r;
      }
    }
  };
  std::vector<weft::JoinHandle<weft::Result<void>>> fibers;
  for (unsigned long i = 0; i < o.window; ++i) fibers.push_back(weft::spawn(copier));
  weft::Result<void> result;
  for (auto& f : fibers) {
    auto r = f.join();
    if (!r && result) result = r;
  }
  return result;
}

// copy_file: checks the two paths, copies, optionally syncs. Returns the error line, or "".
std::string copy_file(const Options& o, std::uint64_t& copied) {
  auto in = weft::io::File::open(o.src.c_str(), O_RDONLY);
  if (!in) return failure("cannot open", o.src, in.error());
  struct statx st {};
  if (auto r = weft::io::statx(in->fd(), "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO, &st); !r)
    return failure("cannot stat", o.src, r.error());
  if (!S_ISREG(st.stx_mode)) return "'" + o.src + "' is not a regular file";
  // Opening DST with O_TRUNC when it is SRC would destroy the data before it is read.
  struct statx dst_st {};
  if (weft::io::statx(AT_FDCWD, o.dst.c_str(), 0, STATX_INO, &dst_st) && dst_st.stx_ino == st.stx_ino &&
      dst_st.stx_dev_major == st.stx_dev_major && dst_st.stx_dev_minor == st.stx_dev_minor)
    return "'" + o.src + "' and '" + o.dst + "' are the same file";

  auto out = weft::io::File::open(o.dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC, st.stx_mode & 07777);
  if (!out) return failure("cannot create", o.dst, out.error());
  auto r = copy_blocks(*in, *out, st.stx_size, o);
  if (r && o.fsync) r = out->sync();
  if (r) r = out->close();  // a deferred write error (NFS, quota) can surface only here
  if (!r) {
    (void)weft::io::unlinkat(AT_FDCWD, o.dst.c_str());  // no half-copied file left behind
    return failure("cannot copy to", o.dst, r.error());
  }
  copied = st.stx_size;
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  namespace ex = weft::examples;
  const auto paths = ex::positional(argc, argv, {"--window", "--block-kib", "--workers"}, {"--fsync"});
  Options o;
  o.window = ex::flag(argc, argv, "--window", 8);
  o.block = ex::flag(argc, argv, "--block-kib", 1024) * 1024;
  o.fsync = ex::has_flag(argc, argv, "--fsync");
  const auto workers = static_cast<unsigned>(ex::flag(argc, argv, "--workers", 1));
  if (paths.size() != 2 || o.window < 1 || o.window > 1024 || o.block < 4096 || o.block > (64u << 20) || workers < 1) {
    std::fprintf(stderr,
                 "usage: file_copy SRC DST [--window 1..1024] [--block-kib 4..65536] [--fsync] [--workers N>=1]\n");
    return 2;
  }
  o.src = paths[0];
  o.dst = paths[1];

  weft::Runtime rt{weft::Config{.workers = workers}};
  struct Outcome {
    std::string error;
    std::uint64_t bytes = 0;
    weft::io::UringStats ring;  // this worker's counters, before and after: batching per enter
  };
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome outcome = rt.block_on([&] {
    Outcome oc;
    const auto before = weft::io::current_uring_stats();
    oc.error = copy_file(o, oc.bytes);
    const auto after = weft::io::current_uring_stats();
    oc.ring = {after.enters - before.enters, after.sqes_submitted - before.sqes_submitted, 0, 0};
    return oc;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!outcome.error.empty()) {
    std::fprintf(stderr, "file_copy: %s\n", outcome.error.c_str());
    return 1;
  }
  std::printf("file_copy: copied %llu bytes in %.3f s (%.1f MB/s), %lu x %zu KiB in flight%s\n",
              static_cast<unsigned long long>(outcome.bytes), secs, static_cast<double>(outcome.bytes) / secs / 1e6,
              o.window, o.block / 1024, o.fsync ? ", fsynced" : "");
  // With one worker every fiber shares its ring, so these counters cover the whole copy.
  if (workers == 1 && outcome.ring.enters > 0) {
    std::printf("file_copy: %llu SQEs in %llu io_uring_enter calls (%.1f per call)\n",
                static_cast<unsigned long long>(outcome.ring.sqes_submitted),
                static_cast<unsigned long long>(outcome.ring.enters),
                static_cast<double>(outcome.ring.sqes_submitted) / static_cast<double>(outcome.ring.enters));
  }
  return 0;
}
