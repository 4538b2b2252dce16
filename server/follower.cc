#include "server/follower.h"

#include "core/clock.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/sync.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

std::vector<std::unique_ptr<UpstreamClient>> MakeClients(const FollowerOptions& o) {
  std::vector<std::unique_ptr<UpstreamClient>> out;
  for (const std::string& a : o.upstreams) {
    out.push_back(
        std::make_unique<UpstreamClient>(a, o.credentials, o.fetch_streams, o.fetch_rate));
  }
  return out;
}

std::vector<UpstreamClient*> Pointers(const std::vector<std::unique_ptr<UpstreamClient>>& v) {
  std::vector<UpstreamClient*> out;
  for (const auto& c : v) out.push_back(c.get());
  return out;
}

}  // namespace

Follower::Follower(Replica* replica, FollowerOptions options)
    : replica_(replica),
      options_(std::move(options)),
      clients_(MakeClients(options_)),
      stream_(Pointers(clients_),
              {.kind = EventStream::Kind::kFollow,
               .silence = options_.silence,
               .return_every = options_.probe_interval,
               .clock = options_.clock},
              {.prepare = [this] { return Prepare(); },
               .on_message = [this](const FollowMessage& m) { return OnMessage(m); },
               .on_connected = [this](size_t) { OnConnected(); },
               .on_ended = [this](size_t, const absl::Status& why) { OnEnded(why); },
               .on_returned =
                   [](UpstreamClient* from, UpstreamClient* to) {
                     ReplicaLog()->info(
                         "preferred upstream={} is back and caught up: following it again "
                         "instead of upstream={}",
                         to->address(), from->address());
                   }}) {
  if (options_.site_map_file.empty()) return;
  // The map held before a restart: hosts find this site even while its
  // upstream is away.
  auto stored = ReadFile(options_.site_map_file);
  auto map = std::make_shared<SiteMap>();
  if (stored.ok() && map->ParseFromString(*stored)) {
    site_map_version_ = map->version();
    MutexLock lock(&mu_);
    site_map_ = std::move(map);
  }
}

Follower::~Follower() { Stop(); }

int64_t Follower::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             options_.clock->Now().time_since_epoch())
      .count();
}

void Follower::Start(const std::string& address) {
  address_ = address;
  last_contact_ms_ = NowMs();
  stream_.Start();
  report_thread_ = std::thread([this] { ReportLoop(); });
  gc_thread_ = std::thread([this] { GcLoop(); });
}

void Follower::GcLoop() {
  // The wish is persisted (Replica::CollectIfWanted): one left by a failed
  // collection, or by a run that stopped before it, is tried again, a
  // minute apart after a failure.
  constexpr int kRetryTicks = 60;
  int wait_ticks = 0;
  while (!stop_) {
    {
      MutexLock lock(&mu_);
      if (!stop_) cv_.WaitFor(std::chrono::seconds(1));  // real time: a retirement is rare
    }
    if (stop_ || (wait_ticks > 0 && --wait_ticks > 0)) continue;
    if (auto gc = replica_->CollectIfWanted(); !gc.ok()) {
      ReplicaLog()->error("garbage collection: {}; trying again in {} s", Sv(gc.status().message()),
                          kRetryTicks);
      wait_ticks = kRetryTicks;
    }
  }
}

void Follower::Stop() {
  if (stop_.exchange(true)) return;
  stream_.Stop();
  cv_.SignalAll();
  if (report_thread_.joinable()) report_thread_.join();
  if (gc_thread_.joinable()) gc_thread_.join();
}

void Follower::RequestRecheck() { stream_.Restart(); }

void Follower::Touch() { last_contact_ms_ = NowMs(); }

void Follower::NoteLag() {
  if (upstream_head_ <= replica_->applied_seq()) {
    behind_since_ms_ = kInStep;
  } else if (behind_since_ms_ == kInStep) {
    behind_since_ms_ = NowMs();
  }
}

Follower::Lag Follower::lag() const {
  Lag out;
  const uint64_t applied = replica_->applied_seq(), head = upstream_head_;
  out.events = head > applied ? head - applied : 0;
  const int64_t since = behind_since_ms_;
  if (out.events > 0 && since != kInStep) out.ms = std::max<int64_t>(0, NowMs() - since);
  MutexLock lock(&mu_);
  for (const auto& [key, v] : in_flight_) {
    if (v.state() == VersionState::FETCHING) ++out.fetching;
    if (v.state() == VersionState::FAILED) ++out.failed;
  }
  return out;
}

void Follower::SetVersion(VersionState v, bool urgent) {
  if (v.error().size() > kMaxErrorBytes) v.mutable_error()->resize(kMaxErrorBytes);
  {
    MutexLock lock(&mu_);
    VersionKey key{v.app(), v.version()};
    if (v.state() == VersionState::COMPLETE) {
      in_flight_.erase(key);
    } else {
      in_flight_[key] = v;
    }
    pending_versions_[key] = std::move(v);
    urgent_ |= urgent;
  }
  if (urgent) cv_.SignalAll();
}

absl::StatusOr<uint64_t> Follower::Prepare() {
  apply_error_ = absl::OkStatus();
  recheck_failed_ = false;
  // After a Quarantine() (RequestRecheck() restarted the stream to get here).
  if (replica_->needs_recheck()) {
    if (absl::Status s = replica_->Recheck(Current()); !s.ok()) {
      recheck_failed_ = true;
      return absl::Status(s.code(), StrCat("recheck of quarantined objects failed: ", s.message()));
    }
  }
  from_seq_ = replica_->applied_seq();
  warned_behind_ = false;
  return from_seq_;
}

void Follower::OnConnected() {
  ReplicaLog()->info("following upstream={} from_seq={}", Current()->address(), from_seq_);
  // Connected: an unreachable upstream is no longer the problem (one
  // applying an event stays so until an event applies).
  MutexLock lock(&mu_);
  if (!apply_failed_) last_error_.clear();
}

absl::Status Follower::OnMessage(const FollowMessage& msg) {
  Touch();
  if (msg.has_heartbeat()) {
    upstream_head_ = msg.heartbeat().head_seq();
    RefreshSiteMap(msg.heartbeat().site_map_version());
    if (msg.heartbeat().has_checkpoint()) {
      auto accepted = replica_->AcceptCheckpoint(msg.heartbeat().checkpoint());
      if (!accepted.ok() && accepted.status().message() != last_checkpoint_error_) {
        // Once per distinct reason: an upstream replaying one says so every second.
        last_checkpoint_error_ = std::string(accepted.status().message());
        ReplicaLog()->error("refusing a checkpoint from upstream={}: {}", Current()->address(),
                            last_checkpoint_error_);
      }
      FrozenProblem();  // logs a freeze, or its end, as soon as it is seen
    }
    // Failing over to a lagging replica: it streams nothing until it has
    // caught up with us. Said once per stream.
    if (upstream_head_ < replica_->applied_seq() && !warned_behind_) {
      warned_behind_ = true;
      ReplicaLog()->warn(
          "upstream={} is behind this replica (its head {}, applied here {}): waiting "
          "for it to catch up",
          Current()->address(), upstream_head_.load(), replica_->applied_seq());
    }
    NoteLag();
    return absl::OkStatus();
  }
  const Event& event = msg.event();
  upstream_head_ = std::max(upstream_head_.load(), event.seq());
  NoteLag();
  if (event.seq() <= replica_->applied_seq()) return absl::OkStatus();

  auto progress = [this](const std::string& app, const std::string& version, uint64_t done,
                         uint64_t total) {
    Touch();
    VersionState v;
    v.set_app(app);
    v.set_version(version);
    v.set_state(VersionState::FETCHING);
    v.set_bytes_done(done);
    v.set_bytes_total(total);
    SetVersion(std::move(v), false);
  };
  const Envelope* retired_later = msg.has_retired_later() ? &msg.retired_later() : nullptr;
  if (absl::Status s = replica_->Apply(event, Current(), progress, retired_later); !s.ok()) {
    apply_error_ = s;
    failed_event_ = event;
    return s;
  }
  NoteLag();
  {
    MutexLock lock(&mu_);
    if (apply_failed_) last_error_.clear();
    apply_failed_ = false;
  }
  if (event.type() == Event::RELEASE_ADDED && replica_->last_applied_retired()) {
    // Nothing to report or wait for; whatever was said of it is withdrawn.
    MutexLock lock(&mu_);
    in_flight_.erase(VersionKey{event.app(), event.version()});
    pending_versions_.erase(VersionKey{event.app(), event.version()});
  } else if (event.type() == Event::RELEASE_ADDED) {
    VersionState v;
    v.set_app(event.app());
    v.set_version(event.version());
    v.set_state(VersionState::COMPLETE);
    SetVersion(std::move(v), true);
  } else if (event.type() == Event::LIVE_CHANGED) {
    MutexLock lock(&mu_);
    pending_live_.push_back(FlipOf(event));
    if (pending_live_.size() > 4 * kMaxReportLive) pending_live_.pop_front();
    urgent_ = true;
    cv_.SignalAll();
  }
  return absl::OkStatus();
}

void Follower::OnEnded(const absl::Status& why) {
  std::string problem;
  if (!apply_error_.ok()) {
    problem =
        StrCat("cannot apply event ", replica_->applied_seq() + 1, ": ", apply_error_.message());
    ReplicaLog()->error("{}; will retry", problem);
    // The version this site is stuck on is reported failed, with the reason.
    if (failed_event_.type() == Event::RELEASE_ADDED) {
      VersionState v;
      v.set_app(failed_event_.app());
      v.set_version(failed_event_.version());
      v.set_state(VersionState::FAILED);
      v.set_error(std::string(apply_error_.message()));
      SetVersion(std::move(v), true);
    }
  } else if (recheck_failed_) {
    problem = std::string(why.message());
    ReplicaLog()->warn("{}; will retry", problem);
  } else {
    problem = StrCat("upstream ", Current()->address(), " unreachable: ", why.message());
    ReplicaLog()->warn("{}; serving what is held, retrying", problem);
  }
  MutexLock lock(&mu_);
  last_error_ = problem;
  apply_failed_ = !apply_error_.ok();
}

void Follower::ReportLoop() {
  while (!stop_) {
    SiteReport report;
    {
      const Clock::TimePoint until = options_.clock->Now() + options_.report_interval;
      MutexLock lock(&mu_);
      while (!stop_ && !urgent_ && options_.clock->WaitUntil(&cv_, until)) {
      }
      if (stop_) return;
      urgent_ = false;
      // Within the master's limits; what does not fit goes in the next one.
      if (send_full_) {
        report.set_full(true);
        for (const auto& [key, v] : in_flight_) {
          if (static_cast<size_t>(report.versions_size()) == kMaxReportVersions) break;
          *report.add_versions() = v;
        }
        pending_versions_.clear();
      } else {
        while (!pending_versions_.empty() &&
               static_cast<size_t>(report.versions_size()) < kMaxReportVersions) {
          *report.add_versions() = std::move(pending_versions_.begin()->second);
          pending_versions_.erase(pending_versions_.begin());
        }
      }
      while (!pending_live_.empty() && static_cast<size_t>(report.live_size()) < kMaxReportLive) {
        *report.add_live() = std::move(pending_live_.front());
        pending_live_.pop_front();
      }
      urgent_ = !pending_versions_.empty() || !pending_live_.empty();
    }
    if (options_.usage) {
      // The census goes up when it changed, and now and then in case the
      // master restarted.
      SiteReport usage;
      for (VersionUsage& v : options_.usage()) *usage.add_usage() = std::move(v);
      std::string bytes = usage.SerializeAsString();
      const Clock::TimePoint now = options_.clock->Now();
      if (bytes != last_usage_ || now - last_usage_sent_ >= options_.census_resend) {
        *report.mutable_usage() = std::move(*usage.mutable_usage());
        report.set_has_usage(true);
        last_usage_ = std::move(bytes);
        last_usage_sent_ = now;
      }
    }
    report.set_site(replica_->site());
    report.set_address(address_);
    report.set_upstream(Current()->address());
    for (const std::string& u : options_.upstreams) report.add_upstreams(u);
    for (const std::string& n : options_.networks) report.add_networks(n);
    report.set_applied_seq(replica_->applied_seq());
    report.set_upstream_silent_ms(NowMs() - last_contact_ms_);
    std::string frozen = FrozenProblem();
    report.set_checkpoint_issued_unix_ms(replica_->checkpoint().checkpoint.issued_unix_ms());
    {
      MutexLock lock(&mu_);
      report.set_problem((last_error_.empty() ? frozen : last_error_).substr(0, kMaxErrorBytes));
    }
    auto ack = Current()->Report(report);
    MutexLock lock(&mu_);
    if (!ack.ok()) {
      // The next report, one interval later, is full; flips go again (the
      // master keeps the first), the newest few thousand of them.
      send_full_ = true;
      urgent_ = false;
      last_usage_.clear();  // sent again with the next
      for (LiveApplied& l : *report.mutable_live()) pending_live_.push_back(std::move(l));
      while (pending_live_.size() > 4 * kMaxReportLive) pending_live_.pop_front();
      ReplicaLog()->debug("report not delivered: {}", Sv(ack.status().message()));
      continue;
    }
    if (report.full()) send_full_ = false;
    if (ack->need_full()) {
      send_full_ = true;
      urgent_ = true;
    }
  }
}

absl::StatusOr<ReportAck> Follower::Relay(const SiteReport& report) {
  return Current()->Report(report);
}

SiteInfoResponse Follower::Info() const {
  SiteInfoResponse info;
  info.set_site(replica_->site());
  info.set_upstream(Current()->address());
  for (const std::string& u : options_.upstreams) info.add_upstreams(u);
  info.set_applied_seq(replica_->applied_seq());
  info.set_upstream_head_seq(std::max(upstream_head_.load(), replica_->applied_seq()));
  info.set_upstream_silent_ms(NowMs() - last_contact_ms_);
  info.set_upstream_connected(stream_.connected());
  MutexLock lock(&mu_);
  info.set_last_error(last_error_);
  info.set_stuck(apply_failed_);
  CheckpointState c = replica_->checkpoint();
  info.set_checkpoint_issued_unix_ms(c.checkpoint.issued_unix_ms());
  info.set_checkpoint_expires_unix_ms(c.checkpoint.expires_unix_ms());
  info.set_frozen(replica_->chained() && !c.fresh);
  return info;
}

std::shared_ptr<const SiteMap> Follower::site_map() const {
  MutexLock lock(&mu_);
  return site_map_;
}

void Follower::RefreshSiteMap(uint64_t version) {
  if (version == 0 || version == site_map_version_ || NowMs() < site_map_retry_ms_) return;
  auto map = Current()->SiteMap(std::chrono::milliseconds(2000));
  if (!map.ok()) {
    site_map_retry_ms_ = NowMs() + 5000;
    ReplicaLog()->warn("cannot fetch the site map from upstream={}: {}", Current()->address(),
                       Sv(map.status().message()));
    return;
  }
  if (!options_.site_map_file.empty()) {
    if (absl::Status s = WriteFileAtomic(options_.site_map_file, map->SerializeAsString());
        !s.ok()) {
      ReplicaLog()->warn("cannot keep the site map: {}", Sv(s.message()));
    }
  }
  ReplicaLog()->info("site map version={} sites={}", map->version(), map->sites_size());
  site_map_version_ = map->version();
  MutexLock lock(&mu_);
  site_map_ = std::make_shared<const SiteMap>(*std::move(map));
}

std::string Follower::FrozenProblem() {
  if (!replica_->chained()) return "";
  CheckpointState c = replica_->checkpoint();
  bool frozen = !c.fresh;
  std::string problem;
  if (frozen) {
    problem = c.held ? StrCat("no fresh checkpoint since ", IsoTime(c.checkpoint.issued_unix_ms()),
                              " (expired ", IsoTime(c.checkpoint.expires_unix_ms()),
                              "): the master, or the way to it, may be frozen; serving what "
                              "is held")
                     : "no checkpoint from the master yet";
  }
  if (was_frozen_.exchange(frozen) != frozen) {
    if (frozen) {
      ReplicaLog()->warn("{}", problem);
    } else {
      ReplicaLog()->info("fresh checkpoint again: seq={} issued={}", c.checkpoint.head_seq(),
                         IsoTime(c.checkpoint.issued_unix_ms()));
    }
  }
  return problem;
}

}  // namespace vms
