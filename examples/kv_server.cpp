// kv_server: an in-memory key-value server speaking the Redis protocol (RESP2).
//
//   kv_server [--port N] [--workers N]      (port 0: any free port)
//
// What it shows: state shared by fibers on every worker, guarded by weft::Mutex and sharded by
// key so that connections on different cores rarely contend; and pipelining done the cheap way:
// each connection's fiber executes every complete command in its buffer and sends all the
// replies with one write. redis-cli and redis-benchmark work against it unmodified.
//
// Commands: PING [msg], ECHO msg, SET key value, GET key, DEL key..., EXISTS key..., INCR key,
// MGET key..., MSET key value..., QUIT, plus what redis tools send on connecting: COMMAND (an
// empty array) and CONFIG GET save|appendonly (an empty save policy, appendonly "no"). Commands
// come as RESP arrays of bulk strings or as inline lines (`PING\r\n`, what redis-benchmark's
// PING_INLINE sends; words split on spaces, no quoting). Multi-key commands lock their shards in
// index order, so MSET and MGET are atomic and cannot deadlock with each other.
//
// Errors: a command error (unknown command, wrong number of arguments, INCR on a non-integer)
// gets `-ERR ...` and the connection goes on. A framing error (a bad array or bulk length, a
// missing `$`, a bulk not followed by CRLF, an over-long line, over 64 MiB buffered for one
// incomplete command) gets `-ERR Protocol error: ...` and the connection is closed, as Redis
// does: once framing is lost, the next byte cannot be known to start a command, and guessing
// could execute garbage.
//
// Listens on 127.0.0.1, prints the address, stops cleanly on SIGINT/SIGTERM.
#include "flags.hpp"
#include "stop_signal.hpp"

#include <weft/weft.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxArgs = 1024 * 1024;       // elements in one command array
constexpr std::size_t kMaxBulk = 16 * 1024 * 1024;  // bytes in one argument
constexpr std::size_t kMaxLine = 64 * 1024;         // an inline command, or a "*N" / "$N" line
constexpr std::size_t kMaxQuery = 64 * 1024 * 1024; // unparsed input held for one connection
constexpr std::size_t kFlushAt = 1 << 20;           // send replies early past this many bytes

std::atomic<unsigned long> g_connections{0};
std::atomic<unsigned long> g_commands{0};

// ---- the store ---------------------------------------------------------------------------------

// Store: string keys to string values in kShards maps, each behind its own weft::Mutex. A fiber
// that finds its shard locked suspends (its worker runs other connections) instead of spinning.
class Store {
 public:
  std::optional<std::string> get(std::string_view key) {
    Shard& s = shard(key);
    std::scoped_lock lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }

  void set(std::string_view key, std::string_view value) {
    Shard& s = shard(key);
    std::scoped_lock lock(s.mu);
    s.map.insert_or_assign(std::string(key), std::string(value));
  }

  // incr: adds one to the integer at `key` (0 when absent); nullopt if the value is not an
  // integer or would overflow.
  std::optional<std::int64_t> incr(std::string_view key) {
    Shard& s = shard(key);
    std::scoped_lock lock(s.mu);
    auto it = s.map.find(key);
    std::int64_t v = 0;
    if (it != s.map.end()) {
      const std::string& text = it->second;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || text[0] == '+') return std::nullopt;
    }
    if (v == INT64_MAX) return std::nullopt;
    ++v;
    s.map.insert_or_assign(std::string(key), std::to_string(v));
    return v;
  }

  // with_keys: runs f(find, erase, assign) with the shards of `keys` locked, in index order so
  // that two multi-key commands never wait for each other in a cycle.
  template <class F>
  void with_keys(std::span<const std::string_view> keys, F&& f) {
    std::vector<std::size_t> ids;
    for (auto k : keys) ids.push_back(shard_index(k));
    std::ranges::sort(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<std::unique_lock<weft::Mutex>> locks;  // released even if a lock() throws (cancelled)
    for (auto i : ids) locks.emplace_back(shards_[i].mu);
    f([this](std::string_view k) { return &shard(k).map; });
  }

 private:
  struct Hash {  // transparent, so lookups by string_view do not allocate
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::string, Hash, std::equal_to<>>;
  struct Shard {
    weft::Mutex mu;
    Map map;
  };
  static constexpr std::size_t kShards = 64;

  std::size_t shard_index(std::string_view key) const noexcept {
    // The map hashes the same bits; mixing them keeps shard choice and bucket choice apart.
    return (Hash{}(key) * 0x9E3779B97F4A7C15ull >> 32) % kShards;
  }
  Shard& shard(std::string_view key) noexcept { return shards_[shard_index(key)]; }

  std::array<Shard, kShards> shards_;
};

// ---- RESP replies ------------------------------------------------------------------------------

void reply_simple(std::string& out, std::string_view s) { out.append("+").append(s).append("\r\n"); }
void reply_error(std::string& out, std::string_view s) { out.append("-ERR ").append(s).append("\r\n"); }
void reply_int(std::string& out, std::int64_t v) { out.append(":").append(std::to_string(v)).append("\r\n"); }
void reply_array(std::string& out, std::size_t n) { out.append("*").append(std::to_string(n)).append("\r\n"); }
void reply_nil(std::string& out) { out.append("$-1\r\n"); }
void reply_bulk(std::string& out, std::string_view s) {
  out.append("$").append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
}

// ---- RESP parsing ------------------------------------------------------------------------------

struct Parse {
  enum Status { complete, incomplete, fatal } status;
  std::size_t consumed = 0;  // bytes of the command (when complete)
  std::string_view error{};  // why (when fatal)
};

// parse_number: the integer on the line starting at `pos` (after its type byte), which must end in
// CRLF within kMaxLine; sets `next` past the CRLF.
Parse::Status parse_number(std::string_view buf, std::size_t pos, long long& v, std::size_t& next) {
  const auto eol = buf.find("\r\n", pos);
  if (eol == std::string_view::npos) return buf.size() - pos > kMaxLine ? Parse::fatal : Parse::incomplete;
  const auto [end, ec] = std::from_chars(buf.data() + pos, buf.data() + eol, v);
  if (ec != std::errc{} || end != buf.data() + eol) return Parse::fatal;
  next = eol + 2;
  return Parse::complete;
}

// parse_command: one command from the front of `buf` into `args` (views into buf).
Parse parse_command(std::string_view buf, std::vector<std::string_view>& args) {
  args.clear();
  if (buf.empty()) return {Parse::incomplete};
  if (buf[0] != '*') {  // inline: words on one line
    const auto eol = buf.find('\n');
    if (eol == std::string_view::npos) {
      if (buf.size() > kMaxLine) return {Parse::fatal, 0, "Protocol error: too big inline request"};
      return {Parse::incomplete};
    }
    auto line = buf.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const auto start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) args.push_back(line.substr(start, i - start));
    }
    return {Parse::complete, eol + 1};
  }
  long long count = 0;
  std::size_t pos = 0;
  switch (parse_number(buf, 1, count, pos)) {
    case Parse::incomplete: return {Parse::incomplete};
    case Parse::fatal: return {Parse::fatal, 0, "Protocol error: invalid multibulk length"};
    case Parse::complete: break;
  }
  if (count > static_cast<long long>(kMaxArgs)) return {Parse::fatal, 0, "Protocol error: invalid multibulk length"};
  for (long long i = 0; i < count; ++i) {  // count <= 0: an empty command, skipped as Redis does
    if (pos >= buf.size()) return {Parse::incomplete};
    if (buf[pos] != '$') return {Parse::fatal, 0, "Protocol error: expected '$' before a bulk string"};
    long long len = 0;
    switch (parse_number(buf, pos + 1, len, pos)) {
      case Parse::incomplete: return {Parse::incomplete};
      case Parse::fatal: return {Parse::fatal, 0, "Protocol error: invalid bulk length"};
      case Parse::complete: break;
    }
    if (len < 0 || len > static_cast<long long>(kMaxBulk)) return {Parse::fatal, 0, "Protocol error: invalid bulk length"};
    const auto n = static_cast<std::size_t>(len);
    if (buf.size() - pos < n + 2) return {Parse::incomplete};
    if (buf.substr(pos + n, 2) != "\r\n") return {Parse::fatal, 0, "Protocol error: bulk string not followed by CRLF"};
    args.push_back(buf.substr(pos, n));
    pos += n + 2;
  }
  return {Parse::complete, pos};
}

// ---- commands ----------------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  auto upper = [](char c) { return std::toupper(static_cast<unsigned char>(c)); };  // no UB on bytes >= 0x80
  return a.size() == b.size() && std::ranges::equal(a, b, [&](char x, char y) { return upper(x) == upper(y); });
}

// kCommands: the commands and how many arguments each takes, its name included.
struct Command {
  std::string_view name;
  std::size_t min_args, max_args;
};
constexpr std::size_t kAny = SIZE_MAX;
constexpr Command kCommands[] = {
    {"PING", 1, 2},    {"ECHO", 2, 2},    {"GET", 2, 2},        {"SET", 3, kAny},     {"INCR", 2, 2},
    {"DEL", 2, kAny},  {"EXISTS", 2, kAny}, {"MGET", 2, kAny},  {"MSET", 3, kAny},    {"COMMAND", 1, kAny},
    {"CONFIG", 2, kAny}, {"QUIT", 1, 1},
};

// execute: runs one command and appends its reply. Returns false for QUIT (close after replying).
bool execute(Store& store, std::span<const std::string_view> args, std::string& out) {
  const auto it = std::ranges::find_if(kCommands, [&](const Command& c) { return iequals(c.name, args[0]); });
  if (it == std::end(kCommands)) {
    reply_error(out, "unknown command '" + std::string(args[0].substr(0, 64)) + "'");
    return true;
  }
  const std::string_view cmd = it->name;
  const std::size_t n = args.size();
  if (n < it->min_args || n > it->max_args || (cmd == "MSET" && n % 2 == 0)) {
    std::string lower(cmd);
    std::ranges::transform(lower, lower.begin(), [](char c) { return std::tolower(c); });
    reply_error(out, "wrong number of arguments for '" + lower + "' command");
    return true;
  }
  const auto keys = args.subspan(1);

  if (cmd == "PING") {
    if (n == 1) reply_simple(out, "PONG");
    else reply_bulk(out, args[1]);
  } else if (cmd == "ECHO") {
    reply_bulk(out, args[1]);
  } else if (cmd == "GET") {
    if (auto v = store.get(args[1])) reply_bulk(out, *v);
    else reply_nil(out);
  } else if (cmd == "SET") {
    if (n > 3) {
      reply_error(out, "syntax error (SET options are not supported)");
    } else {
      store.set(args[1], args[2]);
      reply_simple(out, "OK");
    }
  } else if (cmd == "INCR") {
    if (auto v = store.incr(args[1])) reply_int(out, *v);
    else reply_error(out, "value is not an integer or out of range");
  } else if (cmd == "DEL" || cmd == "EXISTS") {
    std::int64_t count = 0;
    store.with_keys(keys, [&](auto map_of) {
      for (auto k : keys) {
        auto* map = map_of(k);
        const auto found = map->find(k);  // GCC 12 has no erase(string_view) yet: find, then erase
        if (found == map->end()) continue;
        ++count;
        if (cmd == "DEL") map->erase(found);
      }
    });
    reply_int(out, count);
  } else if (cmd == "MGET") {
    reply_array(out, keys.size());
    store.with_keys(keys, [&](auto map_of) {
      for (auto k : keys) {
        const auto* map = map_of(k);
        const auto found = map->find(k);
        if (found == map->end()) reply_nil(out);
        else reply_bulk(out, found->second);
      }
    });
  } else if (cmd == "MSET") {
    std::vector<std::string_view> names;
    for (std::size_t i = 1; i < n; i += 2) names.push_back(args[i]);
    store.with_keys(names, [&](auto map_of) {
      for (std::size_t i = 1; i < n; i += 2) map_of(args[i])->insert_or_assign(std::string(args[i]), std::string(args[i + 1]));
    });
    reply_simple(out, "OK");
  } else if (cmd == "COMMAND") {
    reply_array(out, 0);  // redis-cli asks for command docs on start; it does without them
  } else if (cmd == "CONFIG") {
    if (n != 3 || !iequals(args[1], "GET")) {
      reply_error(out, "only CONFIG GET <parameter> is supported");
    } else if (iequals(args[2], "save") || iequals(args[2], "appendonly")) {
      // redis-benchmark reads these two at start and warns when it cannot: no persistence here.
      reply_array(out, 2);
      reply_bulk(out, iequals(args[2], "save") ? "save" : "appendonly");
      reply_bulk(out, iequals(args[2], "save") ? "" : "no");
    } else {
      reply_array(out, 0);  // an unknown parameter matches nothing, as in Redis
    }
  } else if (cmd == "QUIT") {
    reply_simple(out, "OK");
    return false;
  }
  return true;
}

// ---- one connection ----------------------------------------------------------------------------

// close_gracefully: ends our side, drains the client for up to a second, closes. Closing with
// unread input would make the kernel send a reset that can destroy the error reply in flight.
void close_gracefully(weft::io::TcpStream& conn) {
  (void)conn.shutdown(SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  std::array<std::byte, 4096> sink;
  for (;;) {
    auto n = conn.read_until(sink, deadline);
    if (!n || *n == 0) break;
  }
}

void serve(weft::io::TcpStream conn, Store& store) {
  std::string in, out;
  std::vector<std::string_view> args;
  std::array<std::byte, 16 * 1024> chunk;
  for (;;) {
    auto n = conn.read(chunk);
    if (!n || *n == 0) return;  // peer closed, error, or cancelled at shutdown
    in.append(reinterpret_cast<const char*>(chunk.data()), *n);

    // Execute every complete command received so far; reply to all of them with one write.
    std::size_t pos = 0;
    bool close_after = false;
    while (!close_after) {
      const Parse p = parse_command(std::string_view(in).substr(pos), args);
      if (p.status == Parse::incomplete) break;
      if (p.status == Parse::fatal) {
        reply_error(out, p.error);
        close_after = true;
        break;
      }
      pos += p.consumed;
      if (args.empty()) continue;  // a blank inline line or an empty array
      g_commands.fetch_add(1, std::memory_order_relaxed);
      close_after = !execute(store, args, out);
      if (out.size() >= kFlushAt && !conn.write_all(std::as_bytes(std::span(out)))) return;
      if (out.size() >= kFlushAt) out.clear();
    }
    in.erase(0, pos);
    if (!close_after && in.size() > kMaxQuery) {  // one command's worth of arguments, still incomplete
      reply_error(out, "Protocol error: query buffer over 64 MiB");
      close_after = true;
    }
    if (!out.empty()) {
      if (!conn.write_all(std::as_bytes(std::span(out)))) return;
      out.clear();
    }
    if (close_after) return close_gracefully(conn);
  }
}

}  // namespace

int main(int argc, char** argv) {
  weft::examples::StopSignal stop;  // first: the workers inherit the blocked signals
  const auto port = static_cast<unsigned short>(weft::examples::flag(argc, argv, "--port", 0));
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));
  (void)weft::examples::positional(argc, argv, {"--port", "--workers"});

  Store store;  // before the runtime: ~Runtime ends the connections that use it first
  weft::Runtime rt{weft::Config{.workers = workers}};
  auto listener = weft::io::TcpListener::bind("127.0.0.1", port);
  if (!listener) {
    std::fprintf(stderr, "kv_server: cannot listen on 127.0.0.1:%u: %s\n", port, listener.error().message().c_str());
    return 1;
  }
  std::printf("kv_server: listening on %s with %u workers\n", listener->local_address().value().to_string().c_str(),
              rt.workers());
  std::fflush(stdout);

  auto acceptor = rt.spawn(weft::SpawnOptions{.name = "acceptor"}, [&listener, &store] {
    for (;;) {
      auto conn = listener->accept();
      if (!conn) {
        if (conn.error() == weft::errc::cancelled) return;
        if (!weft::sleep_for(10ms)) return;  // EMFILE...: pause instead of spinning
        continue;
      }
      g_connections.fetch_add(1, std::memory_order_relaxed);
      weft::spawn([&store](weft::io::TcpStream c) { serve(std::move(c), store); }, std::move(*conn)).detach();
    }
  });

  const std::string why = rt.block_on([&] { return stop.wait(); });
  std::printf("kv_server: %s, stopping after %lu connections and %lu commands\n", why.c_str(), g_connections.load(),
              g_commands.load());
  acceptor.cancel();
  acceptor.join();
  return 0;  // ~Runtime cancels the connections still open, then `store` goes
}
