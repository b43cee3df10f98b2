// pipeline: counts the words of every file under a directory with a pipeline of fibers joined by
// bounded channels, and prints the most frequent words.
//
//   pipeline [--dir /usr/include] [--stages N] [--workers N] [--top 10] [--metrics]
//
// The pipeline (each arrow a bounded channel):
//
//   walk (blocking pool) --paths(64)--> N readers (weft IO) --chunks(2N)--> N counters --> merge
//
// - walk: std::filesystem's recursive_directory_iterator makes plain blocking syscalls (getdents,
//   stat) that no IO backend offers as operations, so it runs through weft::spawn_blocking on the
//   runtime's blocking pool, not in a fiber, where each call would stall the whole worker and every
//   fiber queued on it. The pool thread sends each regular file's path into `paths` itself:
//   channels work from plain threads (a full channel blocks that thread on a futex), so the walk
//   never gets more than 64 paths ahead of the readers, and no list of all files is ever built.
// - readers: open each file with weft::io::File and read it in 256 KiB blocks with read_at,
//   through the worker's ring (or epoll); a read that waits suspends only its fiber. Each block,
//   cut after its last non-word byte (the tail is carried into the next block so no word is split),
//   goes into `chunks`.
// - counters: CPU work; each counts words into its own hash map, so they share nothing.
// - merge: the source fiber joins the counters and adds their maps on the blocking pool (CPU work
//   too long for a worker: it would stall every fiber queued behind it); main sorts the top words.
//
// Back-pressure: both channels are bounded. When the counters fall behind, `chunks` fills and the
// readers wait in send() instead of reading more (memory stays at 2N chunks in flight); when the
// readers fall behind, `paths` fills and the walk waits. The program reports how many sends found
// their channel full and had to wait: that is the back-pressure at work.
//
// A word is a maximal run of ASCII letters, digits and '_' that contains at least one letter or
// '_' (so C identifiers are words and numbers are not); case matters. Ties in the top list are in
// byte order of the word.
//
// Runs longer than a second print a progress line on stderr each second.
//
// Errors: a --dir that does not exist or is not a directory prints one line and exits 1. Files
// that cannot be opened or read (permissions, vanished meanwhile) are skipped and counted; the
// walk skips directories it may not enter. Bad flags exit 2.
#include "flags.hpp"
#include "metrics_table.hpp"

#include <weft/weft.hpp>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBlock = 256 * 1024;
constexpr std::size_t kPathsCapacity = 64;

// WordHash: lets Counts be searched with a string_view (heterogeneous lookup).
struct WordHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Counts = std::unordered_map<std::string, std::uint64_t, WordHash, std::equal_to<>>;

bool is_word_byte(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// count_words: adds the words of `text` to `counts`; `text` must not end inside a word.
void count_words(std::string_view text, Counts& counts) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    bool has_letter = false;
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) {
      has_letter = has_letter || !(text[i] >= '0' && text[i] <= '9');
      ++i;
    }
    if (has_letter) {
      const std::string_view word = text.substr(start, i - start);
      if (auto it = counts.find(word); it != counts.end()) {
        ++it->second;  // found by string_view: no allocation for a word already seen
      } else {
        counts.emplace(word, 1);
      }
    }
  }
}

// Totals: what the stages did, shared by all of them (relaxed: read only after every stage joined).
struct Totals {
  std::atomic<std::uint64_t> files{0}, bytes{0}, skipped{0}, walk_errors{0};
  std::atomic<std::uint64_t> paths_full{0}, chunks_full{0};  // sends that found their channel full
};

// send_counting: sends v, counting in `full` when the channel was full and the send had to wait.
// Returns false when the channel is closed (or the task cancelled).
template <class T>
bool send_counting(const weft::Sender<T>& tx, T v, std::atomic<std::uint64_t>& full) {
  auto r = tx.try_send(std::move(v));
  if (r) return true;
  if (r.error().code != weft::channel_errc::full) return false;
  full.fetch_add(1, std::memory_order_relaxed);
  return tx.send(std::move(r.error().value)).has_value();
}

// walk: on a blocking-pool thread; every regular file under `dir` (symlinks not followed, so each
// file is counted once) into `paths`. Stops early when the channel closes.
void walk(const fs::path& dir, const weft::Sender<std::string>& paths, Totals& t) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) continue;
    if (!send_counting(paths, it->path().string(), t.paths_full)) return;
  }
  if (ec) t.walk_errors.fetch_add(1, std::memory_order_relaxed);  // e.g. a directory removed meanwhile
}

// read_file: one file into `chunks`, in blocks cut at word boundaries. Returns false when the
// file could not be opened or read (it is skipped), or when `chunks` closed.
bool read_file(const std::string& path, const weft::Sender<std::string>& chunks, Totals& t, std::byte* buf) {
  auto file = weft::io::File::open(path.c_str(), O_RDONLY);
  if (!file) return false;
  std::string carry;  // the word the previous block ended in
  std::uint64_t offset = 0;
  for (;;) {
    auto n = file->read_at(std::span(buf, kBlock), offset);
    if (!n) return false;
    if (*n == 0) break;
    offset += *n;
    carry.append(reinterpret_cast<const char*>(buf), *n);
    std::size_t cut = carry.size();
    while (cut > 0 && is_word_byte(static_cast<unsigned char>(carry[cut - 1]))) --cut;
    if (cut == 0) continue;  // one long word so far: keep reading
    std::string rest = carry.substr(cut);
    carry.resize(cut);
    if (!send_counting(chunks, std::move(carry), t.chunks_full)) return false;
    carry = std::move(rest);
  }
  if (!carry.empty() && !send_counting(chunks, std::move(carry), t.chunks_full)) return false;
  t.bytes.fetch_add(offset, std::memory_order_relaxed);
  return true;
}

struct Options {
  std::string dir;
  unsigned long stages = 2;
  unsigned long top = 10;
};

// run_pipeline: the whole pipeline in the calling fiber; returns the merged counts.
Counts run_pipeline(const Options& o, Totals& t) {
  auto [paths_tx, paths_rx] = weft::make_channel<std::string>(kPathsCapacity);
  auto [chunks_tx, chunks_rx] = weft::make_channel<std::string>(2 * o.stages);

  std::vector<weft::JoinHandle<void>> readers;
  for (unsigned long i = 0; i < o.stages; ++i) {
    readers.push_back(weft::spawn([paths_rx, chunks_tx, &t] {
      auto buf = std::make_unique_for_overwrite<std::byte[]>(kBlock);
      for (const std::string& path : paths_rx) {
        if (read_file(path, chunks_tx, t, buf.get())) {
          t.files.fetch_add(1, std::memory_order_relaxed);
        } else if (chunks_tx.is_closed()) {
          return;
        } else {
          t.skipped.fetch_add(1, std::memory_order_relaxed);
        }
        weft::this_fiber::yield();  // reads from the page cache may complete without suspending
      }
    }));
  }
  std::vector<weft::JoinHandle<Counts>> counters;
  for (unsigned long i = 0; i < o.stages; ++i) {
    counters.push_back(weft::spawn([chunks_rx] {
      Counts counts;
      // Growing a map of hundreds of thousands of words rehashes all of them at once, which can
      // hold the worker for over 100 ms (the stall monitor reports it): start with room for a
      // large vocabulary (/usr/include has 600,000 words; 8 MiB of buckets per counter).
      counts.reserve(1 << 20);
      for (const std::string& chunk : chunks_rx) {
        count_words(chunk, counts);
        // recv() does not suspend while chunks are waiting: let the worker's other fibers in
        // after each chunk (about a millisecond of work), or a busy counter would starve them.
        weft::this_fiber::yield();
      }
      return counts;
    }));
  }
  // The stages hold their own copies of the handles; drop ours, so that each channel closes when
  // its last real user is gone: `paths` when the walk ends, `chunks` when the last reader ends, and
  // a stage that dies early closes its side instead of leaving the others waiting forever.
  {
    auto drop_paths_rx = std::move(paths_rx);
    auto drop_chunks_rx = std::move(chunks_rx);
    auto drop_chunks_tx = std::move(chunks_tx);
  }
  // The walk owns the only Sender of `paths`: when it returns (and the lambda goes), `paths`
  // closes, and the readers drain it and end.
  weft::spawn_blocking([&o, &t, tx = std::move(paths_tx)] { walk(o.dir, tx, t); });
  for (auto& r : readers) r.join();  // the readers' senders went with them: `chunks` closes

  std::vector<Counts> parts;
  for (auto& c : counters) parts.push_back(c.join());
  // Merging (and freeing) hundreds of thousands of words is CPU work of a tenth of a second or
  // more: on the blocking pool, so this worker keeps running fibers meanwhile.
  return weft::spawn_blocking([&parts] {
    Counts total = std::move(parts.front());
    for (std::size_t i = 1; i < parts.size(); ++i) {
      for (auto& [word, n] : parts[i]) total[word] += n;
      Counts().swap(parts[i]);
    }
    return total;
  });
}

}  // namespace

int main(int argc, char** argv) {
  namespace ex = weft::examples;
  const auto extra = ex::positional(argc, argv, {"--dir", "--stages", "--workers", "--top"}, {"--metrics"});
  Options o;
  o.dir = ex::text_flag(argc, argv, "--dir", "/usr/include");
  o.stages = ex::flag(argc, argv, "--stages", 2);
  o.top = ex::flag(argc, argv, "--top", 10);
  const auto workers = static_cast<unsigned>(ex::flag(argc, argv, "--workers", 0));
  const bool metrics = ex::has_flag(argc, argv, "--metrics");
  if (!extra.empty() || o.stages < 1 || o.stages > 256 || o.top < 1) {
    std::fprintf(stderr,
                 "usage: pipeline [--dir DIR] [--stages 1..256] [--workers N (0: all cores)] [--top N>=1] "
                 "[--metrics]\n");
    return 2;
  }
  std::error_code ec;
  const auto status = fs::status(o.dir, ec);
  if (ec || !fs::is_directory(status)) {
    const std::string why = ec ? ec.message() : (fs::exists(status) ? "not a directory" : "No such file or directory");
    std::fprintf(stderr, "pipeline: cannot walk '%s': %s\n", o.dir.c_str(), why.c_str());
    return 1;
  }

  weft::Runtime rt{weft::Config{.workers = workers}};
  Totals t;
  const weft::Metrics before = rt.metrics();
  const auto t0 = std::chrono::steady_clock::now();
  const Counts counts = rt.block_on([&] {
    // A progress line on stderr every second, for long walks; cancelled when the work is done
    // (sleep_for then returns errc::cancelled).
    auto progress = weft::spawn([&t] {
      while (weft::sleep_for(std::chrono::seconds(1))) {
        std::fprintf(stderr, "pipeline: ... %llu files, %llu bytes so far\n",
                     static_cast<unsigned long long>(t.files.load(std::memory_order_relaxed)),
                     static_cast<unsigned long long>(t.bytes.load(std::memory_order_relaxed)));
      }
    });
    Counts merged = run_pipeline(o, t);
    progress.cancel();
    progress.join();
    return merged;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const weft::Metrics used = rt.metrics() - before;

  std::vector<std::pair<std::string_view, std::uint64_t>> top(counts.begin(), counts.end());
  const std::size_t k = std::min<std::size_t>(o.top, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(k), top.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });

  const auto files = t.files.load(), bytes = t.bytes.load();
  std::printf("pipeline: %llu files, %llu bytes in %.3f s (%.0f files/s, %.1f MB/s), %lu readers + %lu counters on "
              "%u workers\n",
              static_cast<unsigned long long>(files), static_cast<unsigned long long>(bytes), secs,
              static_cast<double>(files) / secs, static_cast<double>(bytes) / secs / 1e6, o.stages, o.stages,
              rt.workers());
  std::printf("pipeline: %zu distinct words; %llu files skipped (unreadable)%s\n", counts.size(),
              static_cast<unsigned long long>(t.skipped.load()),
              t.walk_errors.load() ? "; the walk stopped early on an error" : "");
  std::printf("pipeline: back-pressure: %llu path sends and %llu chunk sends found their channel full and waited\n",
              static_cast<unsigned long long>(t.paths_full.load()),
              static_cast<unsigned long long>(t.chunks_full.load()));
  std::printf("pipeline: top %zu words\n", k);
  for (std::size_t i = 0; i < k; ++i) {
    std::printf("%12llu  %.*s\n", static_cast<unsigned long long>(top[i].second), static_cast<int>(top[i].first.size()),
                top[i].first.data());
  }
  if (metrics) ex::print_metrics("pipeline", used);
  return 0;
}
