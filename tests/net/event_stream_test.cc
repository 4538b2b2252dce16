// EventStream against real gRPC servers on loopback, in this process, with a
// fake clock: silence, backoff and failover are tested by moving time by
// hand, not by sleeping through it.
#include "net/event_stream.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "core/sync.h"
#include "gtest/gtest.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/testing.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::WaitFor;

// A Read service whose Follow and Watch stream heartbeats every 10 ms of
// real time, or (silent) one heartbeat and then nothing until cancelled.
class FakeUpstream final : public Read::Service {
 public:
  FakeUpstream() {
    grpc::ServerBuilder builder;
    ConfigureServer(&builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~FakeUpstream() override { Shutdown(); }
  void Shutdown() {
    if (server_) server_->Shutdown(DeadlineAfter(0ms));
    server_.reset();
  }

  const std::string& address() const { return address_; }
  std::atomic<bool> silent{false};
  std::atomic<int64_t> interval_ms{0};  // what its heartbeats announce
  std::atomic<int> streams{0};
  std::atomic<uint64_t> last_from_seq{0};
  std::atomic<uint64_t> applied{0};    // what SiteInfo says it holds
  std::atomic<int> site_infos{0};      // SiteInfo calls
  std::atomic<uint64_t> event_seq{0};  // non-zero: each stream starts with this event

  grpc::Status SiteInfo(grpc::ServerContext*, const SiteInfoRequest*,
                        SiteInfoResponse* resp) override {
    ++site_infos;
    resp->set_applied_seq(applied);
    return grpc::Status::OK;
  }

  grpc::Status Follow(grpc::ServerContext* ctx, const FollowRequest* req,
                      grpc::ServerWriter<FollowMessage>* writer) override {
    last_from_seq = req->from_seq();
    return Serve(ctx, writer);
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const WatchRequest*,
                     grpc::ServerWriter<FollowMessage>* writer) override {
    return Serve(ctx, writer);
  }

 private:
  grpc::Status Serve(grpc::ServerContext* ctx, grpc::ServerWriter<FollowMessage>* writer) {
    ++streams;
    FollowMessage beat;
    beat.mutable_heartbeat()->set_head_seq(7);
    beat.mutable_heartbeat()->set_interval_ms(interval_ms);
    bool first = true;
    if (event_seq != 0) {
      FollowMessage event;
      event.mutable_event()->set_seq(event_seq);
      event.mutable_event()->set_type(Event::LIVE_CHANGED);
      if (!writer->Write(event)) return grpc::Status::OK;
    }
    // Bounded: a stream lives at most 60 s here.
    for (int i = 0; i < 6000 && !ctx->IsCancelled(); ++i) {
      if ((first || !silent) && !writer->Write(beat)) break;
      first = false;
      std::this_thread::sleep_for(10ms);
    }
    return grpc::Status::OK;
  }

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// What the handler saw, for the test to wait on.
struct Seen {
  Mutex mu;
  std::vector<size_t> connected ABSL_GUARDED_BY(mu);
  std::vector<std::pair<size_t, std::string>> ended ABSL_GUARDED_BY(mu);
  std::atomic<int> messages{0};

  EventStream::Handler Handler() {
    return {.on_message =
                [this](const FollowMessage&) {
                  ++messages;
                  return absl::OkStatus();
                },
            .on_connected =
                [this](size_t i) {
                  MutexLock lock(&mu);
                  connected.push_back(i);
                },
            .on_ended =
                [this](size_t i, const absl::Status& why) {
                  MutexLock lock(&mu);
                  ended.emplace_back(i, std::string(why.message()));
                }};
  }
  size_t connects() {
    MutexLock lock(&mu);
    return connected.size();
  }
  size_t ends() {
    MutexLock lock(&mu);
    return ended.size();
  }
};

TEST(EventStreamTest, ASilentUpstreamIsCutAfterTheSilenceAndTheNextOneIsTried) {
  FakeUpstream hung, healthy;
  hung.silent = true;
  UpstreamClient a(hung.address(), Credentials::Insecure()),
      b(healthy.address(), Credentials::Insecure());
  FakeClock clock;
  Seen seen;
  EventStream stream({&a, &b}, {.kind = EventStream::Kind::kWatch, .silence = 5s, .clock = &clock},
                     seen.Handler());
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 1; }));
  EXPECT_TRUE(stream.connected());
  // 4.9 s of silence is not enough; real time passing does not count.
  clock.Advance(4900ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(seen.ends(), 0u);
  clock.Advance(200ms);
  ASSERT_TRUE(WaitFor([&] { return seen.ends() == 1; }));
  {
    MutexLock lock(&seen.mu);
    EXPECT_EQ(seen.ended[0].first, 0u);
    EXPECT_NE(seen.ended[0].second.find("nothing arrived for 5000 ms"), std::string::npos)
        << seen.ended[0].second;
  }
  clock.Advance(100ms);  // the first backoff
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 2; }));
  MutexLock lock(&seen.mu);
  EXPECT_EQ(seen.connected[1], 1u) << "the next upstream";
}

TEST(EventStreamTest, ReturnsToAnEarlierUpstreamOnceItIsBackAndHoldsWhatWasDelivered) {
  FakeUpstream first, second;
  first.silent = true;
  second.event_seq = 9;
  UpstreamClient a(first.address(), Credentials::Insecure()),
      b(second.address(), Credentials::Insecure());
  FakeClock clock;
  Seen seen;
  std::atomic<int> returned{0};
  EventStream::Handler handler = seen.Handler();
  handler.on_returned = [&](UpstreamClient* from, UpstreamClient* to) {
    EXPECT_EQ(from, &b);
    EXPECT_EQ(to, &a);
    ++returned;
  };
  EventStream stream(
      {&a, &b},
      {.kind = EventStream::Kind::kWatch, .silence = 5s, .return_every = 2s, .clock = &clock},
      handler);
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 1; }));
  clock.Advance(5100ms);  // the first is cut for its silence
  ASSERT_TRUE(WaitFor([&] { return seen.ends() == 1; }));
  clock.Advance(100ms);  // the backoff
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 2 && stream.last_seq() == 9; }));
  EXPECT_EQ(stream.current(), 1u);

  // The first answers again, but holds less than the stream delivered.
  first.silent = false;
  first.applied = 5;
  const int asked = first.site_infos;
  clock.Advance(2100ms);
  ASSERT_TRUE(WaitFor([&] { return first.site_infos > asked; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(stream.current(), 1u) << "not back while it lacks what was delivered";
  EXPECT_EQ(returned, 0);

  first.applied = 9;
  clock.Advance(2100ms);
  ASSERT_TRUE(WaitFor([&] { return returned == 1 && seen.connects() == 3; }));
  EXPECT_EQ(stream.current(), 0u);
  MutexLock lock(&seen.mu);
  EXPECT_EQ(seen.connected.back(), 0u);
}

TEST(EventStreamTest, AnUpstreamWithSlowHeartbeatsGetsSeveralOfThemOfSilence) {
  // A master run with --heartbeat-ms 10000 is not hung after 5 s.
  FakeUpstream slow;
  slow.silent = true;
  slow.interval_ms = 10000;
  UpstreamClient client(slow.address(), Credentials::Insecure());
  FakeClock clock;
  Seen seen;
  EventStream stream({&client}, {.silence = 5s, .clock = &clock}, seen.Handler());
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 1; }));
  clock.Advance(39s);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(seen.ends(), 0u) << "cut before four of its heartbeats were missed";
  clock.Advance(2s);
  ASSERT_TRUE(WaitFor([&] { return seen.ends() == 1; }));
  MutexLock lock(&seen.mu);
  EXPECT_NE(seen.ended[0].second.find("nothing arrived for 40000 ms"), std::string::npos)
      << seen.ended[0].second;
}

TEST(EventStreamTest, AFlowingStreamIsNeverCutHoweverLongItLasts) {
  FakeUpstream up;
  UpstreamClient client(up.address(), Credentials::Insecure());
  FakeClock clock;
  Seen seen;
  EventStream stream({&client}, {.silence = 5s, .clock = &clock}, seen.Handler());
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return seen.connects() == 1; }));
  // A minute of fake time in steps shorter than the silence, messages
  // arriving in between.
  for (int i = 0; i < 30; ++i) {
    int before = seen.messages;
    ASSERT_TRUE(WaitFor([&] { return seen.messages > before; }));
    clock.Advance(2s);
  }
  EXPECT_EQ(seen.ends(), 0u);
  EXPECT_EQ(up.streams, 1);
}

TEST(EventStreamTest, TimeSpentHandlingAMessageIsNotSilence) {
  // A replica applying a release fetches for minutes without reading the
  // stream: that must not count as the upstream going silent.
  FakeUpstream up;
  UpstreamClient client(up.address(), Credentials::Insecure());
  FakeClock clock;
  std::atomic<bool> busy{true}, in_handler{false};
  std::atomic<int> messages{0};
  EventStream stream({&client}, {.silence = 5s, .clock = &clock},
                     {.on_message = [&](const FollowMessage&) {
                       if (++messages == 1) {
                         in_handler = true;
                         while (busy) std::this_thread::sleep_for(1ms);
                       }
                       return absl::OkStatus();
                     }});
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return in_handler.load(); }));
  clock.Advance(60s);
  std::this_thread::sleep_for(50ms);
  busy = false;
  ASSERT_TRUE(WaitFor([&] { return messages > 5; }));
  EXPECT_EQ(up.streams, 1) << "the stream was never cut";
}

TEST(EventStreamTest, BackoffDoublesWhileNothingAnswersUpToItsBound) {
  // A port where nothing listens: every attempt fails at once.
  std::string address;
  {
    FakeUpstream gone;
    address = gone.address();
  }
  UpstreamClient client(address, Credentials::Insecure());
  FakeClock clock;
  Seen seen;
  EventStream stream({&client}, {.min_backoff = 100ms, .max_backoff = 400ms, .clock = &clock},
                     seen.Handler());
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return stream.attempts() == 1 && seen.ends() == 1; }));
  // Each wait is the last doubled: 100, 200, 400, then 400 (the bound).
  uint64_t attempts = 1;
  for (auto wait : {100ms, 200ms, 400ms, 400ms}) {
    clock.Advance(wait - 1ms);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(stream.attempts(), attempts) << "retried before " << wait.count() << " ms";
    clock.Advance(1ms);
    ++attempts;
    ASSERT_TRUE(WaitFor([&] { return stream.attempts() == attempts && seen.ends() == attempts; }))
        << "no retry after " << wait.count() << " ms";
  }
  EXPECT_EQ(seen.connects(), 0u);
  EXPECT_FALSE(stream.connected());
}

TEST(EventStreamTest, FollowResumesFromWhatPrepareSaysAndRestartNeedsNoBackoff) {
  FakeUpstream up;
  UpstreamClient client(up.address(), Credentials::Insecure());
  FakeClock clock;
  std::atomic<uint64_t> from{41};
  EventStream stream({&client}, {.kind = EventStream::Kind::kFollow, .clock = &clock},
                     {.prepare = [&]() -> absl::StatusOr<uint64_t> { return ++from; },
                      .on_message = [](const FollowMessage&) { return absl::OkStatus(); }});
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return up.streams == 1 && stream.connected(); }));
  EXPECT_EQ(up.last_from_seq, 42u);
  stream.Restart();  // no clock movement: a restart does not back off
  ASSERT_TRUE(WaitFor([&] { return up.streams == 2 && stream.connected(); }));
  EXPECT_EQ(up.last_from_seq, 43u);
}

TEST(EventStreamTest, AHandlerErrorEndsTheStreamWhichComesBackAfterABackoff) {
  FakeUpstream up;
  UpstreamClient client(up.address(), Credentials::Insecure());
  FakeClock clock;
  std::atomic<int> messages{0};
  Seen seen;
  EventStream::Handler handler = seen.Handler();
  handler.on_message = [&](const FollowMessage&) {
    return ++messages == 1 ? absl::DataLossError("cannot apply") : absl::OkStatus();
  };
  EventStream stream({&client}, {.clock = &clock}, handler);
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return seen.ends() == 1; }));
  {
    MutexLock lock(&seen.mu);
    EXPECT_EQ(seen.ended[0].second, "cannot apply");
  }
  clock.Advance(100ms);
  ASSERT_TRUE(WaitFor([&] { return up.streams == 2 && messages > 1; }));
}

TEST(EventStreamTest, StopEndsAnOpenStreamPromptly) {
  FakeUpstream up;
  up.silent = true;
  UpstreamClient client(up.address(), Credentials::Insecure());
  Seen seen;
  EventStream stream({&client}, {}, seen.Handler());  // the real clock
  stream.Start();
  ASSERT_TRUE(WaitFor([&] { return stream.connected(); }));
  auto start = std::chrono::steady_clock::now();
  stream.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(seen.ends(), 0u) << "Stop() is not an ending to report";
}

}  // namespace
}  // namespace vms
