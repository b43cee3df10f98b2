// http_hello: a minimal HTTP/1.1 server, one fiber per connection, that answers "Hello, World!".
//
//   http_hello [--port N] [--workers N] [--idle-ms 5000] [--max-header-bytes 8192]   (port 0: any free port)
//
// What it shows: a protocol server written as plain blocking code. Each connection's fiber reads
// with a deadline (read_until), so an idle or slow client is dropped after --idle-ms without a
// timer of its own; it answers every complete request in its buffer with one write (pipelining
// costs no extra syscalls); and it bounds what a client can make it hold.
//
// The HTTP it speaks: GET and HEAD (other methods get 405), keep-alive by default in HTTP/1.1 and
// on request in HTTP/1.0, `Connection: close` honoured, request bodies with Content-Length read
// and discarded (up to 1 MiB, else 413), no chunked request bodies (501). A malformed request gets
// 400, a request head over --max-header-bytes gets 431, and both close the connection: after a
// framing error the rest of the byte stream cannot be trusted.
//
// Listens on 127.0.0.1, prints the address, stops cleanly on SIGINT/SIGTERM.
#include "flags.hpp"
#include "stop_signal.hpp"

#include <weft/weft.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Limits {
  std::chrono::milliseconds idle;
  std::size_t max_header_bytes;
  static constexpr std::size_t max_body_bytes = 1 << 20;
};

std::atomic<unsigned long> g_connections{0};
std::atomic<unsigned long> g_requests{0};

// ---- parsing -----------------------------------------------------------------------------------

struct Request {
  std::string_view method;
  bool keep_alive = true;
  std::size_t content_length = 0;
};

bool is_tchar(char c) {  // RFC 9110 token characters
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").contains(c);
}
bool is_token(std::string_view s) { return !s.empty() && std::ranges::all_of(s, is_tchar); }

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };  // no UB on bytes >= 0x80
  return a.size() == b.size() && std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// has_option: whether a comma-separated header value (Connection) lists `option`.
bool has_option(std::string_view value, std::string_view option) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), option)) return true;
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
  }
  return false;
}

// parse_head: parses a request head (the bytes before the blank line) into `req`. Returns 0 when
// it is well formed, else the status code to answer with.
int parse_head(std::string_view head, Request& req) {
  auto next_line = [&head] {
    const auto eol = head.find("\r\n");
    const auto line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
    return line;
  };
  // Request line: METHOD SP TARGET SP HTTP/1.x
  const auto line = next_line();
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return 400;
  req.method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(req.method) || target.empty() || target.contains(' ')) return 400;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return version.starts_with("HTTP/") ? 505 : 400;
  const bool http11 = version == "HTTP/1.1";
  req.keep_alive = http11;

  bool has_host = false, has_length = false;
  while (!head.empty()) {
    const auto field = next_line();
    const auto colon = field.find(':');
    // No name, whitespace before the colon, or an obsolete folded line: all malformed (RFC 9112 5).
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) return 400;
    const auto name = field.substr(0, colon);
    const auto value = trim(field.substr(colon + 1));
    if (iequals(name, "host")) {
      has_host = true;
    } else if (iequals(name, "connection")) {
      if (has_option(value, "close")) req.keep_alive = false;
      if (has_option(value, "keep-alive")) req.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty()) return 400;
      if (has_length && n != req.content_length) return 400;  // conflicting lengths: request smuggling
      if (n > Limits::max_body_bytes) return 413;
      has_length = true;
      req.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return 501;  // chunked request bodies are not supported by this small server
    }
  }
  if (http11 && !has_host) return 400;  // RFC 9112 3.2: a 1.1 request without Host is a 400
  return 0;
}

// ---- responses ---------------------------------------------------------------------------------

constexpr std::string_view kBody = "Hello, World!";

void append_response(std::string& out, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    out += "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n";
  } else {
    out += "HTTP/1.1 200 OK\r\nServer: weft\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n";
  }
  if (!req.keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (req.method == "GET") out += kBody;
}

std::string_view reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

void append_error(std::string& out, int status) {
  out += "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason(status)) +
         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

// ---- one connection ----------------------------------------------------------------------------

// write_all_until: writes all of `data` or fails, at the latest at `deadline`. TcpStream has no
// deadline form of write_all, so this loops on io::send_until with the stream's fd: a client that
// stops reading cannot hold the fiber forever.
weft::Result<void> write_all_until(weft::io::TcpStream& conn, std::string_view data, Clock::time_point deadline) {
  auto bytes = std::as_bytes(std::span(data));
  while (!bytes.empty()) {
    auto n = weft::io::send_until(conn.fd(), bytes, deadline, MSG_NOSIGNAL);
    if (!n) return std::unexpected(n.error());
    bytes = bytes.subspan(*n);
  }
  return {};
}

// close_gracefully: ends our side, then drains what the client still sends for up to a second
// before closing. Closing with unread bytes in the socket makes the kernel send a reset, which
// can destroy the response the client has not read yet (the 400 it should see).
void close_gracefully(weft::io::TcpStream& conn) {
  (void)conn.shutdown(SHUT_WR);
  const auto deadline = Clock::now() + 1s;
  std::array<std::byte, 4096> sink;
  for (;;) {
    auto n = conn.read_until(sink, deadline);
    if (!n || *n == 0) break;
  }
}

void serve(weft::io::TcpStream conn, Limits limits) {
  std::string in;   // bytes received and not yet parsed
  std::string out;  // responses to send with one write
  std::size_t body_left = 0;  // bytes of a request body still to discard
  std::array<std::byte, 16 * 1024> chunk;
  for (;;) {
    // Answer every complete request already received (pipelining) before reading again.
    std::size_t pos = 0;
    bool close_after = false;
    for (;;) {
      const auto skip = std::min(body_left, in.size() - pos);
      pos += skip;
      body_left -= skip;
      if (body_left > 0) break;
      const auto end = in.find("\r\n\r\n", pos);
      const auto head_size = (end == std::string::npos ? in.size() : end) - pos;
      if (head_size > limits.max_header_bytes) {
        append_error(out, 431);
        close_after = true;
        break;
      }
      if (end == std::string::npos) break;  // incomplete: read more
      Request req;
      const int status = parse_head(std::string_view(in).substr(pos, head_size), req);
      pos = end + 4;
      if (status != 0) {
        append_error(out, status);
        close_after = true;
        break;
      }
      g_requests.fetch_add(1, std::memory_order_relaxed);
      append_response(out, req);
      body_left = req.content_length;
      if (!req.keep_alive) {
        close_after = true;
        break;
      }
    }
    in.erase(0, pos);
    if (!out.empty()) {
      if (!write_all_until(conn, out, Clock::now() + limits.idle)) return;
      out.clear();
    }
    if (close_after) return close_gracefully(conn);

    auto n = conn.read_until(chunk, Clock::now() + limits.idle);
    if (!n || *n == 0) return;  // idle timeout, peer closed, error, or cancelled at shutdown
    in.append(reinterpret_cast<const char*>(chunk.data()), *n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  weft::examples::StopSignal stop;  // first: the workers inherit the blocked signals
  const auto port = static_cast<unsigned short>(weft::examples::flag(argc, argv, "--port", 0));
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));
  const Limits limits{std::chrono::milliseconds(weft::examples::flag(argc, argv, "--idle-ms", 5000)),
                      weft::examples::flag(argc, argv, "--max-header-bytes", 8192)};
  (void)weft::examples::positional(argc, argv, {"--port", "--workers", "--idle-ms", "--max-header-bytes"});
  if (limits.idle.count() == 0 || limits.max_header_bytes < 64) {
    std::fprintf(stderr, "http_hello: --idle-ms must be > 0 and --max-header-bytes at least 64\n");
    return 2;
  }

  weft::Runtime rt{weft::Config{.workers = workers}};
  auto listener = weft::io::TcpListener::bind("127.0.0.1", port);
  if (!listener) {
    std::fprintf(stderr, "http_hello: cannot listen on 127.0.0.1:%u: %s\n", port, listener.error().message().c_str());
    return 1;
  }
  std::printf("http_hello: listening on %s with %u workers\n", listener->local_address().value().to_string().c_str(),
              rt.workers());
  std::fflush(stdout);

  auto acceptor = rt.spawn(weft::SpawnOptions{.name = "acceptor"}, [&listener, limits] {
    for (;;) {
      auto conn = listener->accept();
      if (!conn) {
        if (conn.error() == weft::errc::cancelled) return;
        // EMFILE, ECONNABORTED...: this connection is lost; pause so a lack of fds is not a busy loop.
        if (!weft::sleep_for(10ms)) return;
        continue;
      }
      g_connections.fetch_add(1, std::memory_order_relaxed);
      weft::spawn(serve, std::move(*conn), limits).detach();
    }
  });

  const std::string why = rt.block_on([&] { return stop.wait(); });
  std::printf("http_hello: %s, stopping after %lu connections and %lu requests\n", why.c_str(), g_connections.load(),
              g_requests.load());
  acceptor.cancel();
  acceptor.join();
  return 0;  // ~Runtime cancels the connections still open
}
