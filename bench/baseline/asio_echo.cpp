// asio_echo: the epoll reference for W8 (bench/latency.sh): the classic Boost.Asio echo server,
// one thread running one io_context (Asio's epoll reactor on Linux), one async_read_some ->
// async_write chain per connection. It stands for what a mature readiness-based event loop
// gives, against which weft's epoll backend is measured.
//
//   asio_echo [--port N]      prints "asio_echo: listening on 127.0.0.1:PORT"
// Stops on SIGINT/SIGTERM (asio::signal_set stops the io_context).
//
// Invariants: a session owns its buffer and is kept alive by the shared_ptr its pending handler
// holds, so the buffer outlives every operation on it; a read is issued only after the previous
// write has completed, so the echo keeps the stream's order.
#include "flags.hpp"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility> (C++20 mode).
#include <utility>

#include <boost/asio.hpp>

#include <sys/resource.h>

#include <array>
#include <cstdio>
#include <memory>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { read(); }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (!ec) self->write(n);  // any error (EOF, reset, stop) drops the session
    });
  }
  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buf_, n), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (!ec) self->read();
    });
  }

  tcp::socket socket_;
  std::array<char, 16 * 1024> buf_;  // as raw_echo_server and weft's echo_server
};

class Server {
 public:
  Server(asio::io_context& io, unsigned short port) : acceptor_(io) {
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(at.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(4096);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  unsigned long accepted() const { return accepted_; }
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // stopping
      if (!ec) {
        ++accepted_;
        socket.set_option(tcp::no_delay(true));  // as weft's TcpStream and raw_echo_server
        std::make_shared<Session>(std::move(socket))->start();
      } else if (errors_printed_++ < 10) {
        std::fprintf(stderr, "asio_echo: accept: %s\n", ec.message().c_str());
      }
      accept();
    });
  }

 private:
  tcp::acceptor acceptor_;
  unsigned long accepted_ = 0;
  int errors_printed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  weft::examples::positional(argc, argv, {"--port"});
  const auto port = weft::examples::flag(argc, argv, "--port", 0);
  if (port > 65535) {
    std::fprintf(stderr, "asio_echo: --port must be below 65536\n");
    return 2;
  }
  // Up to the hard fd limit: 10,000 connections do not fit the usual soft 1024.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  try {
    asio::io_context io{1};  // concurrency hint 1: one thread runs it
    Server server(io, static_cast<unsigned short>(port));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    std::printf("asio_echo: listening on 127.0.0.1:%u\n", server.port());
    std::fflush(stdout);
    server.accept();
    io.run();
    std::printf("asio_echo: stopping after %lu connections\n", server.accepted());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
