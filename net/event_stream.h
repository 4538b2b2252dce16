// One long-lived Follow or Watch stream, kept open: the client side of a
// replica following its upstream and of a host watching its replicas.
//
// It owns what both need and used to hand-roll: connecting (to the first
// upstream, the next one after a stream breaks), reconnecting with
// exponential backoff (reset once a stream has worked for a while), and
// silence detection: a stream that waits longer than `silence` for a message
// (upstreams send heartbeats every second) is cut, so a hung or stopped
// upstream is left within seconds rather than at TCP keepalive's pace. Time
// spent handling a message does not count as silence.
//
// The handler's callbacks run on the stream's own thread, one at a time.
// Two threads: the stream and its silence guard. Stop() ends both.
#ifndef VMS_NET_EVENT_STREAM_H_
#define VMS_NET_EVENT_STREAM_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/sync.h"
#include "grpcpp/client_context.h"
#include "net/upstream_client.h"
#include "vms.pb.h"

namespace vms {

class EventStream {
 public:
  enum class Kind { kFollow, kWatch };
  struct Options {
    Kind kind = Kind::kFollow;
    // Zero: never cut. An upstream that announces slower heartbeats
    // (Heartbeat.interval_ms) gets kHeartbeatsOfSilence of them instead.
    std::chrono::milliseconds silence{5000};
    std::chrono::milliseconds min_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    // A stream that delivered and lasted this long worked: the next attempt
    // waits only min_backoff.
    std::chrono::milliseconds healthy{5000};
    // Non-zero: while a later upstream is streamed from, ask the earlier ones
    // this often whether they are back (Read.SiteInfo answers within a
    // second and they hold every event this stream delivered), and return
    // to the first that is. Needs a silence (the guard thread asks).
    std::chrono::milliseconds return_every{0};
    Clock* clock = Clock::Real();
    // kWatch: the watcher's site (WatchRequest.site): its first snapshot
    // holds what is in effect there.
    std::string watch_site;
  };
  struct Handler {
    // Before each connection: the seq to follow from (kFollow; kWatch ignores
    // it), or an error, which is retried after a backoff. Empty: from 0.
    std::function<absl::StatusOr<uint64_t>()> prepare;
    // Every message, in order. An error ends the stream; the next starts
    // after a backoff.
    std::function<absl::Status(const FollowMessage&)> on_message;
    // The first message of a stream from upstreams[i] arrived. May be empty.
    std::function<void(size_t i)> on_connected;
    // A stream from upstreams[i] ended, or could not start; `why` says how
    // (the handler's own error, the upstream's, or the silence). Not called
    // for Stop() or Restart(). May be empty.
    std::function<void(size_t i, const absl::Status& why)> on_ended;
    // Options::return_every found an earlier upstream back: the stream moves
    // from `from` to `to` (called on the guard thread). May be empty.
    std::function<void(UpstreamClient* from, UpstreamClient* to)> on_returned;
  };

  static constexpr int kHeartbeatsOfSilence = 4;

  // `upstreams`, in order of preference, must outlive the stream.
  EventStream(std::vector<UpstreamClient*> upstreams, Options options, Handler handler);
  ~EventStream();

  void Start();
  void Stop();
  // Ends the current stream; the next starts at once, on the same upstream,
  // after prepare() again.
  void Restart();
  // Ends the current stream; the next starts at once on upstreams[i] (e.g.
  // the preferred one, back after a failover).
  void SwitchTo(size_t i);

  // Replaces the upstreams (a host re-learned its site map) and starts again
  // on the first; each must outlive the stream.
  void SetUpstreams(std::vector<UpstreamClient*> upstreams);

  // The upstream streamed from now, or tried next: its index, and itself
  // (in the handler's callbacks: the one they are about).
  size_t current() const { return current_; }
  UpstreamClient* current_upstream() const { return current_upstream_; }

  // A stream is open and has delivered a message.
  bool connected() const { return connected_; }
  // Streams opened so far.
  uint64_t attempts() const { return attempts_; }
  // The highest event seq delivered so far.
  uint64_t last_seq() const { return last_seq_; }

 private:
  void Loop();
  // One stream from `upstream` (upstreams_[i]) until it ends; why it did.
  absl::Status StreamOnce(size_t i, UpstreamClient* upstream, uint64_t from_seq, bool* delivered);
  void Guard();
  // Return_every: an earlier upstream that is back (its index), if any.
  std::optional<std::pair<size_t, UpstreamClient*>> EarlierIsBack();
  // Sleeps `d` on the clock, or less when stopped or restarted.
  void Sleep(std::chrono::milliseconds d);

  std::vector<UpstreamClient*> upstreams_ ABSL_GUARDED_BY(mu_);
  const Options options_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> restart_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<size_t> current_{0};
  std::atomic<UpstreamClient*> current_upstream_{nullptr};
  static constexpr size_t kNoSwitch = SIZE_MAX;
  std::atomic<size_t> switch_to_{kNoSwitch};

  Mutex mu_;
  CondVar cv_{&mu_};
  std::shared_ptr<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);  // the stream in flight
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;                      // the stream thread is in Read()
  Clock::TimePoint waiting_since_ ABSL_GUARDED_BY(mu_);
  bool cut_for_silence_ ABSL_GUARDED_BY(mu_) = false;
  // The silence allowed on the stream in flight.
  std::chrono::milliseconds silence_ ABSL_GUARDED_BY(mu_){0};

  std::thread thread_;
  std::thread guard_;
};

}  // namespace vms

#endif  // VMS_NET_EVENT_STREAM_H_
