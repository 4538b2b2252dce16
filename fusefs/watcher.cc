#include "fusefs/watcher.h"

#include "core/clock.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/strings.h"
#include "spdlog/spdlog.h"

namespace vms {

Watcher::Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip,
                 Options options)
    : catalog_(catalog),
      remote_(remote),
      on_flip_(std::move(on_flip)),
      on_site_map_version_(options.on_site_map_version),
      on_retire_(options.on_retire),
      stream_(remote->clients(),
              {.kind = EventStream::Kind::kWatch,
               .silence = options.silence,
               .max_backoff = std::chrono::seconds(2),
               .return_every = options.return_every,
               .clock = options.clock,
               .watch_site = catalog->site()},
              {.on_message = [this](const FollowMessage& m) { return OnMessage(m); },
               .on_connected =
                   [this](size_t) {
                     UpstreamClient* c = stream_.current_upstream();
                     FuseLog()->info("watching replica={}", c->address());
                     remote_->Prefer(c);  // fetches go where the watch does
                   },
               .on_ended =
                   [this](size_t, const absl::Status& why) {
                     FuseLog()->warn("watch on replica={} ended: {}; trying the next",
                                     stream_.current_upstream()->address(), Sv(why.message()));
                   },
               .on_returned =
                   [](UpstreamClient* from, UpstreamClient* to) {
                     FuseLog()->info("replica={} is back: watching it again instead of replica={}",
                                     to->address(), from->address());
                   }}) {}

absl::Status Watcher::OnMessage(const FollowMessage& msg) {
  if (msg.has_heartbeat() && on_site_map_version_ && msg.heartbeat().site_map_version() != 0) {
    on_site_map_version_(msg.heartbeat().site_map_version());
  }
  if (msg.has_heartbeat() && msg.heartbeat().has_checkpoint()) {
    auto accepted = catalog_->AcceptCheckpoint(msg.heartbeat().checkpoint());
    if (!accepted.ok() && accepted.status().message() != last_checkpoint_error_) {
      last_checkpoint_error_ = std::string(accepted.status().message());
      FuseLog()->error("refusing a checkpoint: {}", last_checkpoint_error_);
    }
    LogFreeze();
    return absl::OkStatus();
  }
  if (msg.has_event() && msg.event().type() == Event::TRUST_CHANGED) {
    auto accepted = catalog_->ApplyTrust(msg.event().envelope());
    if (!accepted.ok()) {
      FuseLog()->error("refusing a trust record app={}: {}", msg.event().app(),
                       Sv(accepted.status().message()));
    } else if (*accepted) {
      FuseLog()->info("trust record {} app={} seq={}", msg.event().envelope().payload_type(),
                      msg.event().app(), msg.event().seq());
    }
    return absl::OkStatus();
  }
  if (!msg.has_event() || msg.event().type() != Event::LIVE_CHANGED) return absl::OkStatus();
  auto changed = catalog_->ApplyLive(msg.event().envelope());
  if (!changed.ok()) {
    // The record held stays (a resend of it is not an error: ApplyLive
    // says false). An older one is a replay.
    FuseLog()->error("refusing live record app={}: {}", msg.event().app(),
                     Sv(changed.status().message()));
    return absl::OkStatus();
  }
  if (!*changed) return absl::OkStatus();
  auto record = ParseLiveRecord(msg.event().envelope());
  if (!record.ok()) return absl::OkStatus();  // it verified: cannot happen
  if (record->kind() == LiveRecord::RETIRE) {
    FuseLog()->info("retired app={} version={} seq={}", record->app(), record->version(),
                    msg.event().seq());
    on_flip_(StrCat(record->app(), "@", record->version()));
    if (auto root = Hash::FromBytes(record->root()); root.ok() && on_retire_) {
      on_retire_(record->app(), record->version(), *root);
    }
    return absl::OkStatus();
  }
  const std::string name = PointerName(record->app(), record->label());
  FuseLog()->info("{} {} version={} seq={} scope={}", record->label().empty() ? "live" : "label",
                  name, record->version(), msg.event().seq(), ScopeText(*record));
  on_flip_(name);
  // Remember the release too, so the version resolves with no network later.
  if (auto r = catalog_->Release(msg.event().app(), msg.event().version()); !r.ok()) {
    FuseLog()->warn("release {} {} not known yet: {}", msg.event().app(), msg.event().version(),
                    Sv(r.status().message()));
  }
  return absl::OkStatus();
}

void Watcher::LogFreeze() {
  if (!catalog_->chained()) return;
  CheckpointState c = catalog_->checkpoint();
  if (c.fresh == !frozen_) return;
  frozen_ = !c.fresh;
  if (frozen_) {
    FuseLog()->warn(
        "no fresh checkpoint since {}: the master, or the way to it, may be frozen; "
        "serving what is held",
        c.held ? IsoTime(c.checkpoint.issued_unix_ms()) : std::string("ever"));
  } else {
    FuseLog()->info("fresh checkpoint: seq={} issued={}", c.checkpoint.head_seq(),
                    IsoTime(c.checkpoint.issued_unix_ms()));
  }
}

}  // namespace vms
