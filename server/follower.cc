#include "server/follower.h"

#include "core/envelope.h"
#include "core/limits.h"
#include "core/strings.h"
#include "core/sync.h"
#include "proto/wire.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<spdlog::logger> Log() {
  static auto logger = [] {
    auto l = spdlog::get("replica");
    return l ? l : spdlog::default_logger()->clone("replica");
  }();
  return logger;
}

}  // namespace

Follower::Follower(Replica* replica, FollowerOptions options)
    : replica_(replica),
      options_(std::move(options)),
      upstream_(options_.upstream, options_.fetch_streams, options_.fetch_rate) {}

Follower::~Follower() { Stop(); }

void Follower::Start(const std::string& address) {
  address_ = address;
  last_contact_ms_ = SteadyMs();
  follow_thread_ = std::thread([this] { FollowLoop(); });
  report_thread_ = std::thread([this] { ReportLoop(); });
}

void Follower::Stop() {
  if (stop_.exchange(true)) return;
  {
    MutexLock lock(&mu_);
    if (stream_ctx_) stream_ctx_->TryCancel();
  }
  cv_.SignalAll();
  if (follow_thread_.joinable()) follow_thread_.join();
  if (report_thread_.joinable()) report_thread_.join();
}

void Follower::RequestRecheck() {
  recheck_requested_ = true;
  MutexLock lock(&mu_);
  if (stream_ctx_) stream_ctx_->TryCancel();
}

void Follower::Touch() { last_contact_ms_ = SteadyMs(); }

void Follower::SleepFor(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  MutexLock lock(&mu_);
  while (!stop_ && cv_.WaitUntil(until)) {
  }
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

void Follower::FollowLoop() {
  auto backoff = std::chrono::milliseconds(100);
  while (!stop_) {
    if (replica_->needs_recheck()) {
      if (absl::Status s = replica_->Recheck(&upstream_); !s.ok()) {
        Log()->warn("recheck failed, will retry: {}", Sv(s.message()));
        SleepFor(backoff);
        continue;
      }
    }
    auto start = std::chrono::steady_clock::now();
    if (!FollowOnce()) return;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(5)) {
      backoff = std::chrono::milliseconds(100);  // it was working: retry soon
    }
    SleepFor(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
  }
}

bool Follower::FollowOnce() {
  auto ctx = std::make_shared<grpc::ClientContext>();
  {
    MutexLock lock(&mu_);
    if (stop_) return false;
    stream_ctx_ = ctx;
  }
  FollowRequest req;
  req.set_from_seq(replica_->applied_seq());
  auto stream = upstream_.read()->Follow(ctx.get(), req);
  FollowMessage msg;
  absl::Status apply_error;
  bool warned_behind = false;
  while (stream->Read(&msg)) {
    Touch();
    if (!connected_.exchange(true)) {
      Log()->info("following upstream={} from_seq={}", options_.upstream, req.from_seq());
      // Connected: an unreachable upstream is no longer the problem (one
      // applying an event stays so until an event applies).
      MutexLock lock(&mu_);
      if (!apply_failed_) last_error_.clear();
    }
    if (msg.has_heartbeat()) {
      upstream_head_ = msg.heartbeat().head_seq();
      // Failing over to a lagging replica: it streams nothing until it has
      // caught up with us. Said once per stream.
      if (upstream_head_ < replica_->applied_seq() && !warned_behind) {
        warned_behind = true;
        Log()->warn(
            "upstream={} is behind this replica (its head {}, applied here {}): waiting "
            "for it to catch up",
            options_.upstream, upstream_head_.load(), replica_->applied_seq());
      }
      continue;
    }
    const Event& event = msg.event();
    upstream_head_ = std::max(upstream_head_.load(), event.seq());
    if (event.seq() <= replica_->applied_seq()) continue;

    bool is_release = event.type() == Event::RELEASE_ADDED;
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
    absl::Status s = replica_->Apply(event, &upstream_, progress);
    if (!s.ok()) {
      apply_error = s;
      break;
    }
    {
      MutexLock lock(&mu_);
      if (apply_failed_) last_error_.clear();
      apply_failed_ = false;
    }
    if (is_release) {
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
  }
  if (!apply_error.ok()) ctx->TryCancel();
  grpc::Status finish = stream->Finish();
  connected_ = false;
  {
    MutexLock lock(&mu_);
    stream_ctx_.reset();
    if (stop_) return false;
  }
  std::string why;
  if (recheck_requested_.exchange(false)) return true;  // not a failure: go recheck
  if (!apply_error.ok()) {
    why = StrCat("cannot apply event ", replica_->applied_seq() + 1, ": ", apply_error.message());
    Log()->error("{}; will retry", why);
    // The version this site is stuck on is reported failed, with the reason.
    if (msg.has_event() && msg.event().type() == Event::RELEASE_ADDED) {
      VersionState v;
      v.set_app(msg.event().app());
      v.set_version(msg.event().version());
      v.set_state(VersionState::FAILED);
      v.set_error(std::string(apply_error.message()));
      SetVersion(std::move(v), true);
    }
  } else {
    why = StrCat("upstream ", options_.upstream, " unreachable: ", finish.error_message());
    Log()->warn("{}; serving what is held, retrying", why);
  }
  MutexLock lock(&mu_);
  last_error_ = why;
  apply_failed_ = !apply_error.ok();
  return true;
}

void Follower::ReportLoop() {
  while (!stop_) {
    SiteReport report;
    {
      const auto until = std::chrono::steady_clock::now() + options_.report_interval;
      MutexLock lock(&mu_);
      while (!stop_ && !urgent_ && cv_.WaitUntil(until)) {
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
    report.set_site(replica_->site());
    report.set_address(address_);
    report.set_upstream(options_.upstream);
    report.set_applied_seq(replica_->applied_seq());
    report.set_upstream_silent_ms(SteadyMs() - last_contact_ms_);
    {
      MutexLock lock(&mu_);
      report.set_problem(last_error_.substr(0, kMaxErrorBytes));
    }
    auto ack = upstream_.Report(report);
    MutexLock lock(&mu_);
    if (!ack.ok()) {
      // The next report, one interval later, is full; flips go again (the
      // master keeps the first), the newest few thousand of them.
      send_full_ = true;
      urgent_ = false;
      for (LiveApplied& l : *report.mutable_live()) pending_live_.push_back(std::move(l));
      while (pending_live_.size() > 4 * kMaxReportLive) pending_live_.pop_front();
      Log()->debug("report not delivered: {}", Sv(ack.status().message()));
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
  return upstream_.Report(report);
}

SiteInfoResponse Follower::Info() const {
  SiteInfoResponse info;
  info.set_site(replica_->site());
  info.set_upstream(options_.upstream);
  info.set_applied_seq(replica_->applied_seq());
  info.set_upstream_head_seq(std::max(upstream_head_.load(), replica_->applied_seq()));
  info.set_upstream_silent_ms(SteadyMs() - last_contact_ms_);
  info.set_upstream_connected(connected_);
  MutexLock lock(&mu_);
  info.set_last_error(last_error_);
  info.set_stuck(apply_failed_);
  return info;
}

}  // namespace vms
