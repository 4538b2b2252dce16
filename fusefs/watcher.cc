#include "fusefs/watcher.h"

#include "core/envelope.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

Watcher::Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip,
                 Options options)
    : catalog_(catalog),
      remote_(remote),
      on_flip_(std::move(on_flip)),
      stream_(remote->clients(),
              {.kind = EventStream::Kind::kWatch,
               .silence = options.silence,
               .max_backoff = std::chrono::seconds(2),
               .clock = options.clock},
              {.on_message = [this](const FollowMessage& m) { return OnMessage(m); },
               .on_connected =
                   [this](size_t i) {
                     spdlog::info("watching replica={}", remote_->client(i)->address());
                     remote_->set_preferred(i);  // fetches go where the watch does
                   },
               .on_ended =
                   [this](size_t i, const absl::Status& why) {
                     spdlog::warn("watch on replica={} ended: {}; trying the next",
                                  remote_->client(i)->address(), Sv(why.message()));
                   }}) {}

absl::Status Watcher::OnMessage(const FollowMessage& msg) {
  if (!msg.has_event() || msg.event().type() != Event::LIVE_CHANGED) return absl::OkStatus();
  auto changed = catalog_->ApplyLive(msg.event().envelope());
  if (!changed.ok()) {
    if (!absl::IsFailedPrecondition(changed.status())) {
      spdlog::error("refusing live record app={}: {}", msg.event().app(),
                    Sv(changed.status().message()));
    }
    return absl::OkStatus();  // stale (a resend or a replay): the newer record stays
  }
  if (!*changed) return absl::OkStatus();
  spdlog::info("live app={} version={} seq={}", msg.event().app(), msg.event().version(),
               msg.event().seq());
  on_flip_(msg.event().app());
  // Remember the release too, so the version resolves with no network later.
  if (auto r = catalog_->Release(msg.event().app(), msg.event().version()); !r.ok()) {
    spdlog::warn("release {} {} not known yet: {}", msg.event().app(), msg.event().version(),
                 Sv(r.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace vms
