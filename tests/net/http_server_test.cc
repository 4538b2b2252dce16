// The read-only HTTP server on its own, over real loopback sockets: what it
// answers, and that slow or many clients cannot take it from the others.
// Counts and orderings only, no timings asserted.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/http.h"

namespace vms {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<HttpServer> Serve(const HttpServer::Limits& limits = {}) {
  auto server = HttpServer::Start("127.0.0.1:0", TlsFiles{.insecure = true},
                                  {{.path = "/metrics",
                                    .content_type = "text/plain",
                                    .body = [] { return std::string("up 1\n"); }}},
                                  "metrics", "", limits);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

Fd Connect(const std::string& address) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Fd();
  timeval tv{.tv_sec = 30, .tv_usec = 0};  // a bound on a broken test, not a timing
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends `request` and reads until the server closes (or 64 KiB).
std::string Exchange(const std::string& address, const std::string& request) {
  Fd fd = Connect(address);
  if (!fd.valid()) return "no connection";
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return "send failed";
  std::string out;
  char buf[4096];
  for (ssize_t n; out.size() < 65536 && (n = recv(fd.get(), buf, sizeof buf, 0)) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(HttpServerTest, AnswersGetAndHeadOfItsPathsAndRefusesTheRest) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  testing::HttpResult ok = testing::HttpGet(server->address(), "/metrics");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, "up 1\n");
  EXPECT_EQ(testing::HttpGet(server->address(), "/metrics?name=up").status, 200);
  EXPECT_EQ(testing::HttpGet(server->address(), "/other").status, 404);
  std::string head = Exchange(server->address(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;  // no body
  EXPECT_TRUE(
      Exchange(server->address(), "POST /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 405 "));
  EXPECT_TRUE(Exchange(server->address(), "GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
                  .starts_with("HTTP/1.1 413 "));
  EXPECT_TRUE(Exchange(server->address(), "nonsense\r\n\r\n").starts_with("HTTP/1.1 400 "));
  std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'x') + "\r\n\r\n";
  EXPECT_TRUE(Exchange(server->address(), huge).starts_with("HTTP/1.1 431 "));
}

TEST(HttpServerTest, KeepsAConnectionForSeveralRequestsAndPipelinedOnes) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  std::string two = Exchange(server->address(),
                             "GET /metrics HTTP/1.1\r\n\r\n"
                             "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  size_t first = two.find("HTTP/1.1 200 OK");
  ASSERT_NE(first, std::string::npos) << two;
  EXPECT_NE(two.find("HTTP/1.1 200 OK", first + 1), std::string::npos) << two;
}

// Attack run 2, fault 13: 8 connections trickling bytes held all 4 threads,
// and each byte put the idle timeout off again.
TEST(HttpServerTest, TricklingConnectionsDoNotBlockOtherClients) {
  // A deadline past the trickle's 10 s: the tricklers are still at it when
  // the others are served.
  auto server = Serve({.request_deadline = milliseconds(60000)});
  ASSERT_NE(server, nullptr);
  constexpr int kTricklers = 16, kBytes = 200;
  std::atomic<int> done{0};
  std::vector<std::thread> tricklers;
  for (int i = 0; i < kTricklers; ++i) {
    tricklers.emplace_back([&] {
      Fd fd = Connect(server->address());
      const std::string start = "GET /metrics HTTP/1.1\r\nX-Slow: ";
      send(fd.get(), start.data(), start.size(), MSG_NOSIGNAL);
      for (int b = 0; b < kBytes; ++b) {
        if (send(fd.get(), "a", 1, MSG_NOSIGNAL) != 1) break;  // cut off
        std::this_thread::sleep_for(milliseconds(50));
      }
      ++done;
    });
  }
  std::this_thread::sleep_for(milliseconds(200));  // all of them connected and trickling
  // Five clients served while every trickler is still at it: before, they
  // waited for the tricklers.
  int served = 0;
  for (int i = 0; i < 5; ++i)
    served += testing::HttpGet(server->address(), "/metrics").status == 200;
  const int finished_before = done.load();
  for (auto& t : tricklers) t.join();
  EXPECT_EQ(served, 5);
  EXPECT_EQ(finished_before, 0) << "the clients were served only after the tricklers finished";
}

TEST(HttpServerTest, ARequestThatTricklesPastItsDeadlineIsCutOff) {
  auto server = Serve({.request_deadline = milliseconds(300)});
  ASSERT_NE(server, nullptr);
  Fd fd = Connect(server->address());
  ASSERT_TRUE(fd.valid());
  const std::string start = "GET /metrics HTTP/1.1\r\nX-Slow: ";
  ASSERT_GT(send(fd.get(), start.data(), start.size(), MSG_NOSIGNAL), 0);
  // Each byte well within any idle timeout; 100 of them take 5 s, far past
  // the 300 ms the whole request has.
  int sent = 0;
  for (; sent < 100; ++sent) {
    if (send(fd.get(), "a", 1, MSG_NOSIGNAL) != 1) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_LT(sent, 100) << "the server kept reading a request that never ends";
}

TEST(HttpServerTest, ConnectionsAreBoundedPerPeerAndTheNextIsServedWhenOneCloses) {
  auto server = Serve({.max_per_peer = 3});
  ASSERT_NE(server, nullptr);
  std::vector<Fd> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect(server->address()));
  // The fourth is closed at once: it reads end of file, not an answer.
  std::string refused = Exchange(server->address(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(refused, "");
  held.pop_back();
  // The server notices the close on its own time: ask until it has.
  std::string answer;
  for (int i = 0; i < 100 && !answer.starts_with("HTTP/1.1 200"); ++i) {
    answer = Exchange(server->address(), "GET /metrics HTTP/1.0\r\n\r\n");
    if (!answer.starts_with("HTTP/1.1 200")) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
}

}  // namespace
}  // namespace vms
