#include "server/read_service.h"

#include "core/strings.h"
#include "proto/wire.h"
#include "core/clock.h"
#include "server/rpc_util.h"

namespace vms {

namespace {

// Streams the requested objects, as stored, in batches of about kBatchBytes.
class GetObjectsReactor : public grpc::ServerWriteReactor<ObjectBatch> {
 public:
  GetObjectsReactor(const ReadApi* api, ThreadPool* pool, const GetObjectsRequest* req)
      : api_(api), pool_(pool), req_(req) {
    pool_->Submit([this] { Next(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    pool_->Submit([this] { Next(); });
  }

  void OnDone() override { delete this; }

 private:
  void Next() {
    batch_.Clear();
    size_t bytes = 0;
    while (next_ < req_->hashes_size() && (bytes < kBatchBytes || batch_.objects_size() == 0)) {
      auto hash = Hash::FromBytes(req_->hashes(next_));
      if (!hash.ok()) return Finish(ToGrpc(hash.status()));
      auto o = api_->objects().GetEncoded(*hash);
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
    StartWrite(&batch_);
  }

  const ReadApi* api_;
  ThreadPool* pool_;
  const GetObjectsRequest* req_;
  int next_ = 0;
  ObjectBatch batch_;
};

}  // namespace

// Sends the event log from a position, then waits for new events. At most
// one write or one Pump() is in flight at a time (busy_); Wake() from another
// thread while busy only sets again_, so no wake-up is lost.
class FollowReactor : public grpc::ServerWriteReactor<FollowMessage> {
 public:
  FollowReactor(ReadService* service, uint64_t from_seq)
      : service_(service), sent_seq_(from_seq) {}

  void Wake(bool tick) {
    std::lock_guard lock(mu_);
    if (tick) tick_ = true;
    if (finishing_) return;
    if (busy_) {
      again_ = true;
      return;
    }
    busy_ = true;
    service_->pool_->Submit([this] { Pump(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "follower went away"));
    if (msg_.has_event()) sent_seq_ = msg_.event().seq();
    service_->pool_->Submit([this] { Pump(); });
  }

  void OnCancel() override {
    {
      std::lock_guard lock(mu_);
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
      std::lock_guard lock(mu_);
      cancel = finishing_ = cancelled_;
      tick = tick_;
      tick_ = false;
      again_ = false;
    }
    if (cancel) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    if (service_->shutting_down_) {
      return FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }

    auto events = service_->api_->ReadEvents(sent_seq_, 1);
    if (!events.ok()) return FinishOnce(ToGrpc(events.status()));
    msg_.Clear();
    if (!events->empty()) {
      *msg_.mutable_event() = std::move(events->front());
      last_write_ = std::chrono::steady_clock::now();
      return StartWrite(&msg_);
    }
    if (tick && std::chrono::steady_clock::now() - last_write_ >= service_->heartbeat_) {
      Heartbeat* hb = msg_.mutable_heartbeat();
      hb->set_head_seq(service_->api_->head_seq());
      hb->set_sent_unix_ms(WallClockMs());
      last_write_ = std::chrono::steady_clock::now();
      return StartWrite(&msg_);
    }
    std::lock_guard lock(mu_);
    if (again_ || cancelled_) {
      service_->pool_->Submit([this] { Pump(); });
    } else {
      busy_ = false;
    }
  }

  void FinishOnce(const grpc::Status& status) {
    {
      std::lock_guard lock(mu_);
      finishing_ = true;
    }
    Finish(status);
  }

  ReadService* service_;
  uint64_t sent_seq_;  // touched only by the one Pump/OnWriteDone in flight
  std::chrono::steady_clock::time_point last_write_{};
  FollowMessage msg_;

  std::mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool again_ ABSL_GUARDED_BY(mu_) = false;
  bool tick_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

ReadService::ReadService(ReadApi* api, ThreadPool* pool, std::chrono::milliseconds heartbeat)
    : api_(api), pool_(pool), heartbeat_(heartbeat) {
  subscription_ = api_->Subscribe([this](uint64_t) {
    std::lock_guard lock(mu_);
    for (FollowReactor* r : followers_) r->Wake(false);
  });
  ticker_ = std::thread([this] { Tick(); });
}

ReadService::~ReadService() {
  api_->Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  ticker_.join();
}

void ReadService::BeginShutdown() {
  shutting_down_ = true;
  std::lock_guard lock(mu_);
  for (FollowReactor* r : followers_) r->Wake(false);
}

void ReadService::Tick() {
  std::unique_lock lock(mu_);
  // Ticking at a quarter of the interval keeps heartbeats within 1.25 of it.
  while (!stop_cv_.wait_for(lock, heartbeat_ / 4, [this] { return stopping_; })) {
    for (FollowReactor* r : followers_) r->Wake(true);
  }
}

void ReadService::Remove(FollowReactor* r) {
  std::lock_guard lock(mu_);
  followers_.erase(r);
}

grpc::ServerUnaryReactor* ReadService::ListApps(grpc::CallbackServerContext* ctx,
                                                const ListAppsRequest* req,
                                                ListAppsResponse* resp) {
  return RunUnary(ctx, pool_, [this, resp]() -> absl::Status {
    auto apps = api_->ListApps();
    if (!apps.ok()) return apps.status();
    for (AppState& a : *apps) *resp->add_apps() = std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::ListVersions(grpc::CallbackServerContext* ctx,
                                                    const ListVersionsRequest* req,
                                                    ListVersionsResponse* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    auto versions = api_->ListVersions(req->app());
    if (!versions.ok()) return versions.status();
    for (Envelope& e : *versions) *resp->add_releases() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ReadService::LiveHistory(grpc::CallbackServerContext* ctx,
                                                   const LiveHistoryRequest* req,
                                                   LiveHistoryResponse* resp) {
  return RunUnary(ctx, pool_, [this, req, resp]() -> absl::Status {
    auto records = api_->LiveHistory(req->app());
    if (!records.ok()) return records.status();
    for (Envelope& e : *records) *resp->add_records() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<ObjectBatch>* ReadService::GetObjects(grpc::CallbackServerContext* ctx,
                                                               const GetObjectsRequest* req) {
  return new GetObjectsReactor(api_, pool_, req);
}

grpc::ServerWriteReactor<FollowMessage>* ReadService::Follow(grpc::CallbackServerContext* ctx,
                                                             const FollowRequest* req) {
  auto* r = new FollowReactor(this, req->from_seq());
  {
    std::lock_guard lock(mu_);
    followers_.insert(r);
  }
  r->Wake(true);
  return r;
}

}  // namespace vms
