#include "fusefs/watcher.h"

#include "core/envelope.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {
// With heartbeats every second, this much silence means the replica is gone.
constexpr auto kSilence = std::chrono::seconds(5);
}  // namespace

Watcher::Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip)
    : catalog_(catalog), remote_(remote), on_flip_(std::move(on_flip)) {}

Watcher::~Watcher() { Stop(); }

void Watcher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Watcher::Stop() {
  if (stop_.exchange(true)) return;
  {
    MutexLock lock(&mu_);
    if (ctx_) ctx_->TryCancel();
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void Watcher::Loop() {
  auto backoff = std::chrono::milliseconds(100);
  while (!stop_) {
    size_t replica = remote_->preferred();
    auto start = std::chrono::steady_clock::now();
    WatchOnce(replica);
    if (stop_) return;
    // Next time, the next replica; a stream that had worked a while retries fast.
    remote_->set_preferred(replica + 1);
    if (std::chrono::steady_clock::now() - start > kSilence)
      backoff = std::chrono::milliseconds(100);
    {
      const auto until = std::chrono::steady_clock::now() + backoff;
      MutexLock lock(&mu_);
      while (!stop_ && cv_.WaitUntil(until)) {
      }
    }
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(2));
  }
}

void Watcher::WatchOnce(size_t replica) {
  auto ctx = std::make_shared<grpc::ClientContext>();
  {
    MutexLock lock(&mu_);
    if (stop_) return;
    ctx_ = ctx;
  }
  UpstreamClient* client = remote_->client(replica);
  auto stream = client->read()->Watch(ctx.get(), WatchRequest());

  // A silent stream (a hung replica) is cut after kSilence without a message.
  std::atomic<int64_t> last_message{std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<bool> done{false};
  std::thread guard([&] {
    MutexLock lock(&mu_);
    while (!done && !stop_) {
      cv_.WaitFor(std::chrono::milliseconds(250));
      auto last = std::chrono::steady_clock::time_point(
          std::chrono::steady_clock::duration(last_message.load()));
      if (std::chrono::steady_clock::now() - last > kSilence) {
        ctx->TryCancel();
        break;
      }
    }
  });

  FollowMessage msg;
  while (stream->Read(&msg)) {
    last_message = std::chrono::steady_clock::now().time_since_epoch().count();
    if (!connected_.exchange(true)) spdlog::info("watching replica={}", client->address());
    if (!msg.has_event() || msg.event().type() != Event::LIVE_CHANGED) continue;
    auto changed = catalog_->ApplyLive(msg.event().envelope());
    if (!changed.ok()) {
      if (!absl::IsFailedPrecondition(changed.status())) {
        spdlog::error("refusing live record from replica={}: {}", client->address(),
                      Sv(changed.status().message()));
      }
      continue;  // stale (a resend or a replay): the newer record stays
    }
    if (!*changed) continue;
    spdlog::info("live app={} version={} seq={}", msg.event().app(), msg.event().version(),
                 msg.event().seq());
    on_flip_(msg.event().app());
    // Remember the release too, so the version resolves with no network later.
    if (auto r = catalog_->Release(msg.event().app(), msg.event().version()); !r.ok()) {
      spdlog::warn("release {} {} not known yet: {}", msg.event().app(), msg.event().version(),
                   Sv(r.status().message()));
    }
  }
  grpc::Status status = stream->Finish();
  {
    MutexLock lock(&mu_);
    done = true;
    ctx_.reset();
  }
  cv_.SignalAll();
  guard.join();
  if (connected_.exchange(false) || !stop_) {
    if (!stop_) {
      spdlog::warn("watch on replica={} ended: {}; trying the next", client->address(),
                   status.error_message());
    }
  }
}

}  // namespace vms
