#include "server/read_service.h"

#include <map>

#include "core/chain.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "net/rpc.h"
#include "net/tls.h"
#include "server/rpc_util.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

// A stream that ends at once with an error.
class FailedStream : public grpc::ServerWriteReactor<FollowMessage> {
 public:
  explicit FailedStream(grpc::Status s) { Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

// Streams the requested objects, as stored and freshly verified, in batches
// of about kBatchBytes.
class GetObjectsReactor : public grpc::ServerWriteReactor<ObjectBatch> {
 public:
  GetObjectsReactor(ReadService* service, std::string peer, const GetObjectsRequest* req)
      : service_(service), peer_(std::move(peer)), req_(req) {
    service_->pool_->Submit(peer_, [this] {
      if (absl::Status s = CheckHashCount(req_->hashes_size()); !s.ok()) {
        return Finish(ToGrpc(s));
      }
      Next();
    });
  }

  void OnWriteDone(bool ok) override {
    HappensAfter(&batch_);
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    service_->pool_->Submit(peer_, [this] { Next(); });
  }

  void OnDone() override { delete this; }

 private:
  void Next() {
    batch_.Clear();
    size_t bytes = 0;
    while (next_ < req_->hashes_size() && (bytes < kBatchBytes || batch_.objects_size() == 0)) {
      auto hash = Hash::FromBytes(req_->hashes(next_));
      if (!hash.ok()) return Finish(ToGrpc(hash.status()));
      auto o = service_->api_->objects().GetVerified(*hash);
      if (absl::IsDataLoss(o.status()) && service_->options_.on_corrupt) {
        service_->options_.on_corrupt(*hash);
      }
      if (!o.ok()) return Finish(ToGrpc(o.status()));
      ++next_;
      bytes += o->data.size();
      Object* out = batch_.add_objects();
      out->set_hash(std::string(hash->View()));
      out->set_codec(static_cast<uint32_t>(o->codec));
      out->set_raw_size(o->raw_size);
      out->set_data(std::move(o->data));
    }
    if (batch_.objects_size() == 0) return Finish(grpc::Status::OK);
    Count(service_->options_.objects_served, batch_.objects_size());
    Count(service_->options_.bytes_served, static_cast<double>(bytes));
    HappensBefore(&batch_);  // OnWriteDone() comes through gRPC (core/sync.h)
    StartWrite(&batch_);
  }

  ReadService* service_;
  const std::string peer_;  // the pool's fairness key
  const GetObjectsRequest* req_;
  int next_ = 0;
  ObjectBatch batch_;
};

// Sends the event log from a position (for Watch: live changes only, after a
// snapshot of the current live records), then waits for new events. At most
// one write or one Pump() is in flight at a time (busy_); Wake() from another
// thread while busy only sets again_, so no wake-up is lost.
class FollowReactor : public grpc::ServerWriteReactor<FollowMessage> {
 public:
  FollowReactor(ReadService* service, std::string peer, std::string caller, uint64_t from_seq,
                bool live_only, std::deque<Event> snapshot)
      : service_(service),
        peer_(std::move(peer)),
        caller_(std::move(caller)),
        live_only_(live_only),
        sent_seq_(from_seq),
        pending_(std::move(snapshot)) {}

  bool live_only() const { return live_only_; }
  const std::string& caller() const { return caller_; }
  // What is left of the snapshot; only once the reactor is done.
  size_t unsent_snapshot_bytes() const {
    size_t bytes = 0;
    for (const Event& e : pending_) bytes += e.ByteSizeLong();
    return bytes;
  }

  void Wake(bool tick) {
    MutexLock lock(&mu_);
    if (tick) tick_ = true;
    if (finishing_) return;
    if (busy_) {
      again_ = true;
      return;
    }
    busy_ = true;
    service_->pool_->Submit(peer_, [this] { Pump(); });
  }

  void OnWriteDone(bool ok) override {
    HappensAfter(&msg_);
    if (!ok) return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "follower went away"));
    if (msg_.has_event()) sent_seq_ = std::max(sent_seq_, msg_.event().seq());
    service_->pool_->Submit(peer_, [this] { Pump(); });
  }

  void OnCancel() override {
    {
      MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Wake(false);
  }

  void OnDone() override {
    service_->Remove(this);
    delete this;
  }

 private:
  void Pump() {
    bool tick, cancel;
    {
      MutexLock lock(&mu_);
      cancel = finishing_ = cancelled_;
      tick = tick_;
      tick_ = false;
      again_ = false;
    }
    if (cancel) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    if (service_->shutting_down_) {
      return FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
    msg_.Clear();
    if (!pending_.empty()) {
      service_->SnapshotSent(caller_, pending_.front().ByteSizeLong());
      *msg_.mutable_event() = std::move(pending_.front());
      pending_.pop_front();
      return Write();
    }
    // Watchers skip everything but live changes, a bounded run at a time.
    auto events = service_->api_->ReadEvents(sent_seq_, live_only_ ? 256 : 1);
    if (!events.ok()) return FinishOnce(ToGrpc(events.status()));
    for (Event& e : *events) {
      if (live_only_ && e.type() != Event::LIVE_CHANGED && e.type() != Event::TRUST_CHANGED) {
        sent_seq_ = e.seq();
        continue;
      }
      // Retirement is a rule of the log (core/lifecycle.h): a follower
      // hears that this version is retired further along; a host never
      // sees a live record of it (a later one, before the retirement,
      // replaced it).
      if (e.type() == Event::RELEASE_ADDED || e.type() == Event::LIVE_CHANGED) {
        auto retire = service_->api_->Retirement(e.app(), e.version());
        if (!retire.ok()) return FinishOnce(ToGrpc(retire.status()));
        if (*retire && (*retire)->SerializeAsString() != e.envelope().SerializeAsString()) {
          if (live_only_) {
            sent_seq_ = e.seq();
            continue;
          }
          *msg_.mutable_retired_later() = **std::move(retire);
        }
      }
      *msg_.mutable_event() = std::move(e);
      return Write();
    }
    // A heartbeat when idle for an interval, or, caught up, as soon as there
    // is a checkpoint this stream has not carried yet.
    std::optional<Envelope> checkpoint;
    if (tick && service_->options_.checkpoint) checkpoint = service_->options_.checkpoint();
    bool new_checkpoint = checkpoint && checkpoint->payload() != sent_checkpoint_;
    if (tick && (new_checkpoint ||
                 service_->options_.clock->Now() - last_write_ >= service_->options_.heartbeat)) {
      Heartbeat* hb = msg_.mutable_heartbeat();
      hb->set_head_seq(service_->api_->head_seq());
      hb->set_sent_unix_ms(service_->options_.clock->WallMs());
      hb->set_interval_ms(service_->options_.heartbeat.count());
      if (service_->options_.site_map_version) {
        hb->set_site_map_version(service_->options_.site_map_version());
      }
      if (checkpoint) {
        sent_checkpoint_ = checkpoint->payload();
        *hb->mutable_checkpoint() = *std::move(checkpoint);
      }
      return Write();
    }
    MutexLock lock(&mu_);
    if (again_ || cancelled_ || events->size() == 256) {
      service_->pool_->Submit(peer_, [this] { Pump(); });
    } else {
      busy_ = false;
    }
  }

  void Write() {
    last_write_ = service_->options_.clock->Now();
    HappensBefore(&msg_);  // OnWriteDone() comes through gRPC (core/sync.h)
    StartWrite(&msg_);
  }

  void FinishOnce(const grpc::Status& status) {
    {
      MutexLock lock(&mu_);
      finishing_ = true;
    }
    Finish(status);
  }

  ReadService* service_;
  const std::string peer_;    // the pool's fairness key
  const std::string caller_;  // its principal: what its bounds count
  const bool live_only_;
  // Touched only by the one Pump/OnWriteDone in flight.
  uint64_t sent_seq_;
  std::deque<Event> pending_;
  std::chrono::steady_clock::time_point last_write_{};
  std::string sent_checkpoint_;  // payload of the last checkpoint sent
  FollowMessage msg_;

  Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool again_ ABSL_GUARDED_BY(mu_) = false;
  bool tick_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

ReadService::ReadService(ReadApi* api, ThreadPool* pool, ReadServiceOptions options)
    : api_(api), pool_(pool), options_(std::move(options)) {
  subscription_ = api_->Subscribe([this](uint64_t) {
    MutexLock lock(&mu_);
    for (FollowReactor* r : followers_) r->Wake(false);
  });
  ticker_ = std::thread([this] { Tick(); });
}

ReadService::~ReadService() {
  api_->Unsubscribe(subscription_);
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  ticker_.join();
}

ReadService::Streams ReadService::streams() {
  Streams out;
  MutexLock lock(&mu_);
  for (FollowReactor* r : followers_) ++(r->live_only() ? out.watchers : out.followers);
  return out;
}

void ReadService::BeginShutdown() {
  shutting_down_ = true;
  MutexLock lock(&mu_);
  for (FollowReactor* r : followers_) r->Wake(false);
}

void ReadService::Tick() {
  MutexLock lock(&mu_);
  // Ticking at a quarter of the interval keeps heartbeats within 1.25 of it.
  while (!stopping_) {
    const auto tick = options_.clock->Now() + options_.heartbeat / 4;
    while (!stopping_ && options_.clock->WaitUntil(&stop_cv_, tick)) {
    }
    if (stopping_) break;
    for (FollowReactor* r : followers_) r->Wake(true);
  }
}

absl::Status ReadService::MayOpen(const std::string& caller, size_t snapshot_bytes) {
  auto it = callers_.find(caller);
  const Caller held = it == callers_.end() ? Caller{} : it->second;
  if (caller != kAnonymous && held.streams >= kMaxStreamsPerCaller) {
    return absl::ResourceExhaustedError(
        StrCat(caller, " has ", held.streams, " Follow and Watch streams open here, the most ",
               "one caller may: close some (one per host or replica is what they need)"));
  }
  if (caller != kAnonymous && held.snapshot_bytes + snapshot_bytes > kMaxSnapshotBytesPerCaller) {
    return absl::ResourceExhaustedError(
        StrCat(caller, " has ", held.snapshot_bytes >> 20, " MiB of Watch snapshots not read yet ",
               "here: read them (or close the streams) before opening more"));
  }
  if (snapshot_bytes_ + snapshot_bytes > kMaxSnapshotBytes) {
    return absl::ResourceExhaustedError(
        StrCat(snapshot_bytes_ >> 20, " MiB of Watch snapshots are waiting for their hosts to ",
               "read them here: try another replica, or again shortly"));
  }
  return absl::OkStatus();
}

void ReadService::SnapshotSent(const std::string& caller, size_t bytes) {
  MutexLock lock(&mu_);
  auto it = callers_.find(caller);
  if (it == callers_.end()) return;
  bytes = std::min(bytes, it->second.snapshot_bytes);
  it->second.snapshot_bytes -= bytes;
  snapshot_bytes_ -= std::min(bytes, snapshot_bytes_);
}

void ReadService::Remove(FollowReactor* r) {
  const size_t unsent = r->unsent_snapshot_bytes();
  MutexLock lock(&mu_);
  followers_.erase(r);
  auto it = callers_.find(r->caller());
  if (it == callers_.end()) return;
  const size_t bytes = std::min(unsent, it->second.snapshot_bytes);
  it->second.snapshot_bytes -= bytes;
  snapshot_bytes_ -= std::min(bytes, snapshot_bytes_);
  if (--it->second.streams == 0) callers_.erase(it);
}

grpc::ServerUnaryReactor* ReadService::ListApps(grpc::CallbackServerContext* ctx,
                                                const ListAppsRequest* req,
                                                ListAppsResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto apps, api_->ListApps());
    for (AppState& a : apps) *resp->add_apps() = std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::ListVersions(grpc::CallbackServerContext* ctx,
                                                    const ListVersionsRequest* req,
                                                    ListVersionsResponse* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto versions, api_->ListVersions(req->app()));
    for (Envelope& e : versions) *resp->add_releases() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::LiveHistory(grpc::CallbackServerContext* ctx,
                                                   const LiveHistoryRequest* req,
                                                   LiveHistoryResponse* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto records, api_->LiveHistory(req->app()));
    for (Envelope& e : records) *resp->add_records() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::SiteInfo(grpc::CallbackServerContext* ctx,
                                                const SiteInfoRequest* req,
                                                SiteInfoResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    if (options_.site_info) {
      *resp = options_.site_info();
    } else {
      resp->set_applied_seq(api_->head_seq());
      resp->set_upstream_head_seq(api_->head_seq());
      resp->set_upstream_connected(true);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::SiteMap(grpc::CallbackServerContext* ctx,
                                               const SiteMapRequest* req, vms::SiteMap* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    std::shared_ptr<const vms::SiteMap> map;
    if (options_.site_map) map = options_.site_map();
    if (!map) {
      return absl::UnavailableError(
          "no site map here yet (a replica fetches it from its upstream): ask the master or "
          "another replica");
    }
    *resp = *map;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::Trust(grpc::CallbackServerContext* ctx,
                                             const TrustRequest* req, TrustResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    if (options_.trust) *resp->mutable_chain() = options_.trust();
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<ObjectBatch>* ReadService::GetObjects(grpc::CallbackServerContext* ctx,
                                                               const GetObjectsRequest* req) {
  return new GetObjectsReactor(this, ctx->peer(), req);
}

grpc::ServerWriteReactor<FollowMessage>* ReadService::StartFollower(
    grpc::CallbackServerContext* ctx, const std::string& caller, uint64_t from_seq, bool live_only,
    std::deque<Event> snapshot) {
  size_t bytes = 0;
  for (const Event& e : snapshot) bytes += e.ByteSizeLong();
  FollowReactor* r;
  {
    MutexLock lock(&mu_);
    if (absl::Status s = MayOpen(caller, bytes); !s.ok()) {
      spdlog::warn("refused a {} stream: {}", live_only ? "Watch" : "Follow", Sv(s.message()));
      return new FailedStream(ToGrpc(s));
    }
    Caller& c = callers_[caller];
    ++c.streams;
    c.snapshot_bytes += bytes;
    snapshot_bytes_ += bytes;
    r = new FollowReactor(this, ctx->peer(), caller, from_seq, live_only, std::move(snapshot));
    followers_.insert(r);
  }
  r->Wake(true);
  return r;
}

grpc::ServerWriteReactor<FollowMessage>* ReadService::Follow(grpc::CallbackServerContext* ctx,
                                                             const FollowRequest* req) {
  const std::string caller = PeerPrincipal(*ctx->auth_context());
  {
    MutexLock lock(&mu_);
    if (absl::Status s = MayOpen(caller, 0); !s.ok()) return new FailedStream(ToGrpc(s));
  }
  return StartFollower(ctx, caller, req->from_seq(), /*live_only=*/false, {});
}

grpc::ServerWriteReactor<FollowMessage>* ReadService::Watch(grpc::CallbackServerContext* ctx,
                                                            const WatchRequest* req) {
  uint64_t from = req->from_seq();
  if (!req->site().empty()) {
    if (absl::Status s = ValidateSiteName(req->site()); !s.ok()) {
      return new FailedStream(ToGrpc(s));
    }
  }
  // Refused before the snapshot is read, when the caller has all its
  // streams open already.
  const std::string caller = PeerPrincipal(*ctx->auth_context());
  {
    MutexLock lock(&mu_);
    if (absl::Status s = MayOpen(caller, 0); !s.ok()) return new FailedStream(ToGrpc(s));
  }
  std::deque<Event> snapshot;
  if (from == 0) {
    // The head first: a flip racing with the snapshot is then sent twice at
    // worst, never missed, and watchers ignore a live_seq they already hold.
    from = api_->head_seq();
    // A snapshot that cannot be read whole is an error, never a partial or
    // empty one: the host would learn nothing until the next flip. It tries
    // another replica instead.
    // Under a root of trust, the chain comes first: what the live records
    // after it are checked against.
    if (options_.trust) {
      TrustSnapshot chain = options_.trust();
      for (Envelope& env : *chain.mutable_records()) {
        Event e;
        e.set_seq(from);
        e.set_type(Event::TRUST_CHANGED);
        if (OwnershipRecord o;
            env.payload_type() == kOwnershipType && o.ParseFromString(env.payload())) {
          e.set_app(o.app());
        }
        *e.mutable_envelope() = std::move(env);
        snapshot.push_back(std::move(e));
      }
    }
    absl::Status failed;
    auto apps = api_->ListApps();
    if (!apps.ok()) failed = apps.status();
    for (const AppState& a : apps.ok() ? *apps : std::vector<AppState>()) {
      // Per label, the one record in effect at the watcher's site.
      auto records = api_->RecordsInEffect(a.app());
      if (!records.ok()) {
        failed = records.status();
        break;
      }
      std::vector<LiveRecord> parsed;
      std::map<uint64_t, Envelope*> by_seq;
      for (Envelope& env : *records) {
        auto r = ParseLiveRecord(env);
        if (!r.ok()) continue;
        by_seq[r->live_seq()] = &env;
        parsed.push_back(*std::move(r));
      }
      std::map<uint64_t, std::string> wanted;  // live_seq ascending
      for (const auto& [label, r] : InEffect(parsed, req->site())) {
        // At a replica catching up, a pointer may still name a version
        // retired ahead: the next records move it on.
        if (IsRetired(a, r.version())) continue;
        wanted[r.live_seq()] = r.version();
      }
      for (const LiveRecord& r : parsed) {
        if (r.kind() == LiveRecord::RETIRE) wanted[r.live_seq()] = r.version();
      }
      for (const auto& [live_seq, version] : wanted) {
        Event e;
        e.set_seq(from);
        e.set_type(Event::LIVE_CHANGED);
        e.set_app(a.app());
        e.set_version(version);
        *e.mutable_envelope() = std::move(*by_seq[live_seq]);
        snapshot.push_back(std::move(e));
      }
    }
    if (!failed.ok()) {
      spdlog::error("watch snapshot: {}", Sv(failed.message()));
      return new FailedStream(ToGrpc(absl::Status(
          failed.code(), StrCat("cannot read the live records here: ", failed.message()))));
    }
  }
  return StartFollower(ctx, caller, from, /*live_only=*/true, std::move(snapshot));
}

}  // namespace vms
