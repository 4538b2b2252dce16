#include "server/publish_service.h"

#include <algorithm>
#include <chrono>

#include "core/codec.h"
#include "core/limits.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "grpcpp/alarm.h"
#include "server/rpc_util.h"

namespace vms {

namespace {

// Receives batches and ingests each on the pool before asking for the next,
// so a slow disk pushes back on the client through gRPC flow control. A
// batch past the client's decode budget waits on an alarm first (holding no
// worker), which pushes back the same way.
class PutObjectsReactor : public grpc::ServerReadReactor<ObjectBatch> {
 public:
  PutObjectsReactor(Master* master, ThreadPool* pool, UploadBudget* budget, std::string peer,
                    std::string principal, PutObjectsResponse* resp)
      : master_(master),
        pool_(pool),
        budget_(budget),
        peer_(std::move(peer)),
        principal_(std::move(principal)),
        client_(UploadBudget::ClientOf(peer_)),
        resp_(resp) {
    HappensBefore(&batch_);  // OnReadDone() comes through gRPC (core/sync.h)
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    HappensAfter(&batch_);
    if (!ok) {  // the client closed its side: everything arrived
      Finish(grpc::Status::OK);
      return;
    }
    // Declared sizes: what verifying the batch may cost (Decode refuses a
    // frame larger than it says).
    uint64_t raw = 0;
    for (const Object& o : batch_.objects())
      raw += std::min<uint64_t>(o.raw_size(), kMaxObjectSize);
    stream_raw_ += raw;
    if (stream_raw_ > kMaxUploadStreamRawBytes) {
      Finish(ToGrpc(absl::InvalidArgumentError(
          StrCat("one upload stream carries at most ", kMaxUploadStreamRawBytes,
                 " raw bytes; send the rest in another stream"))));
      return;
    }
    std::chrono::microseconds wait = budget_->Reserve(client_, raw);
    if (wait.count() == 0) return IngestOnPool();
    alarm_.Set(DeadlineAfter(std::chrono::duration_cast<std::chrono::milliseconds>(wait)),
               [this](bool fired) {
                 if (!fired)
                   return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled"));
                 IngestOnPool();
               });
  }

  // A client gone (or the server stopping) need not wait for its budget.
  void OnCancel() override { alarm_.Cancel(); }

  void OnDone() override { delete this; }

 private:
  void IngestOnPool() {
    pool_->Submit(peer_, [this] {
      absl::Status s = Ingest();
      if (!s.ok()) {
        Finish(ToGrpc(s));
        return;
      }
      HappensBefore(&batch_);  // OnReadDone() comes through gRPC (core/sync.h)
      StartRead(&batch_);
    });
  }

  absl::Status Ingest() {
    std::vector<StoredObject> objects;
    objects.reserve(batch_.objects_size());
    for (Object& o : *batch_.mutable_objects()) {
      VMS_ASSIGN_OR_RETURN(auto hash, Hash::FromBytes(o.hash()));
      VMS_ASSIGN_OR_RETURN(auto codec, CodecFromWire(o.codec()));
      resp_->set_bytes_received(resp_->bytes_received() + o.data().size());
      objects.push_back({hash, codec, o.raw_size(), std::move(*o.mutable_data())});
    }
    VMS_ASSIGN_OR_RETURN(auto stats, master_->PutObjects(&objects, principal_));
    resp_->set_objects_stored(resp_->objects_stored() + stats.stored);
    resp_->set_objects_present(resp_->objects_present() + stats.present);
    return absl::OkStatus();
  }

  Master* master_;
  ThreadPool* pool_;
  UploadBudget* budget_;
  const std::string peer_;       // the pool's fairness key
  const std::string principal_;  // whose quota the uploads count against
  const std::string client_;     // the budget's
  PutObjectsResponse* resp_;
  ObjectBatch batch_;
  uint64_t stream_raw_ = 0;
  grpc::Alarm alarm_;
};

}  // namespace

grpc::ServerUnaryReactor* PublishService::CompleteTrees(grpc::CallbackServerContext* ctx,
                                                        const CompleteTreesRequest* req,
                                                        CompleteTreesResponse* resp) {
  return Run(ctx, [this, req, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto hashes, ParseHashes(req->hashes()));
    VMS_ASSIGN_OR_RETURN(auto complete, master_->CompleteTrees(hashes));
    for (const Hash& h : complete) resp->add_complete(std::string(h.View()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::MissingObjects(grpc::CallbackServerContext* ctx,
                                                         const MissingObjectsRequest* req,
                                                         MissingObjectsResponse* resp) {
  return Run(ctx, [this, req, resp]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto hashes, ParseHashes(req->hashes()));
    VMS_ASSIGN_OR_RETURN(auto missing, master_->MissingObjects(hashes));
    for (const Hash& h : missing) resp->add_missing(std::string(h.View()));
    return absl::OkStatus();
  });
}

grpc::ServerReadReactor<ObjectBatch>* PublishService::PutObjects(grpc::CallbackServerContext* ctx,
                                                                 PutObjectsResponse* resp) {
  absl::Status s = writable_ ? writable_() : absl::OkStatus();
  if (s.ok()) s = master_->MayUpload(CallerOf(ctx));
  if (!s.ok()) {
    // Refused before a byte is read.
    class Refused : public grpc::ServerReadReactor<ObjectBatch> {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpc(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(s);
  }
  return new PutObjectsReactor(master_, pool_, budget_, FairnessKey(ctx), CallerOf(ctx), resp);
}

// The signed record a request carries, if any.
template <typename Request>
std::optional<Envelope> Signed(const Request* req) {
  if (!req->has_signed_()) return std::nullopt;
  return req->signed_();
}

grpc::ServerUnaryReactor* PublishService::Commit(grpc::CallbackServerContext* ctx,
                                                 const CommitRequest* req, CommitResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto root, Hash::FromBytes(req->root()));
    VMS_ASSIGN_OR_RETURN(auto result, master_->Commit({.app = req->app(),
                                                       .version = req->version(),
                                                       .root = root,
                                                       .principal = caller,
                                                       .message = req->message(),
                                                       .signed_release = Signed(req),
                                                       .check_only = req->check_only()}));
    if (result.to_sign) *resp->mutable_to_sign() = std::move(*result.to_sign);
    resp->set_created(result.created);
    *resp->mutable_release() = std::move(result.release);
    resp->set_seq(result.seq);
    return absl::OkStatus();
  });
}

namespace {
absl::Status FillFlip(absl::StatusOr<FlipResult> result, FlipResponse* resp) {
  if (!result.ok()) return result.status();
  resp->set_changed(result->changed);
  *resp->mutable_record() = std::move(result->record);
  resp->set_seq(result->seq);
  if (result->to_sign) *resp->mutable_to_sign() = std::move(*result->to_sign);
  return absl::OkStatus();
}
}  // namespace

grpc::ServerUnaryReactor* PublishService::SetLive(grpc::CallbackServerContext* ctx,
                                                  const SetLiveRequest* req, FlipResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)] {
    return FillFlip(master_->SetLive({.app = req->app(),
                                      .version = req->version(),
                                      .principal = caller,
                                      .signed_record = Signed(req),
                                      .sites = {req->sites().begin(), req->sites().end()},
                                      .label = req->label()}),
                    resp);
  });
}

grpc::ServerUnaryReactor* PublishService::Rollback(grpc::CallbackServerContext* ctx,
                                                   const RollbackRequest* req, FlipResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)] {
    return FillFlip(master_->Rollback({.app = req->app(),
                                       .version = req->to_version(),
                                       .principal = caller,
                                       .signed_record = Signed(req),
                                       .sites = {req->sites().begin(), req->sites().end()}}),
                    resp);
  });
}

grpc::ServerUnaryReactor* PublishService::ListSites(grpc::CallbackServerContext* ctx,
                                                    const ListSitesRequest* req,
                                                    ListSitesResponse* resp) {
  return Run(ctx, [this, req, resp]() -> absl::Status {
    resp->set_head_seq(master_->records().head_seq());
    for (std::string& w : master_->TrustWarnings()) resp->add_trust_warnings(std::move(w));
    if (!req->after().empty()) VMS_RETURN_IF_ERROR(ValidateSiteName(req->after()));
    VMS_ASSIGN_OR_RETURN(auto page, master_->sites().ListPage(req->app(), req->version(),
                                                              req->after(), kMaxSitesReplyBytes));
    for (SiteState& s : page.sites) *resp->add_sites() = std::move(s);
    resp->set_more(page.more);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::AddSite(grpc::CallbackServerContext* ctx,
                                                  const AddSiteRequest* req, AddSiteResponse*) {
  return Run(ctx, [this, req, caller = CallerOf(ctx)] {
    if (req->assign_networks()) {
      if (static_cast<size_t>(req->networks_size()) > kMaxSiteNetworks) {
        return absl::InvalidArgumentError(StrCat("a site serves at most ", kMaxSiteNetworks,
                                                 " networks, not ", req->networks_size()));
      }
      return master_->ServeSite(
          caller, req->site(),
          std::vector<std::string>(req->networks().begin(), req->networks().end()));
    }
    return master_->AddSite(caller, req->site());
  });
}

grpc::ServerUnaryReactor* PublishService::RemoveSite(grpc::CallbackServerContext* ctx,
                                                     const RemoveSiteRequest* req,
                                                     RemoveSiteResponse* resp) {
  return Run(ctx, [this, req, caller = CallerOf(ctx)] {
    return master_->RemoveSite(caller, req->site(), req->force());
  });
}

grpc::ServerUnaryReactor* PublishService::Owners(grpc::CallbackServerContext* ctx,
                                                 const OwnersRequest* req, OwnersResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    OwnersChange change = req->change() == OwnersRequest::ADD         ? OwnersChange::kAdd
                          : req->change() == OwnersRequest::REMOVE    ? OwnersChange::kRemove
                          : req->change() == OwnersRequest::THRESHOLD ? OwnersChange::kThreshold
                                                                      : OwnersChange::kList;
    VMS_ASSIGN_OR_RETURN(auto result, master_->Owners(caller, req->app(), change, req->principal(),
                                                      Signed(req), req->threshold()));
    for (std::string& o : result.owners) resp->add_owners(std::move(o));
    if (result.to_sign) *resp->mutable_to_sign() = std::move(*result.to_sign);
    if (result.ownership) *resp->mutable_ownership() = std::move(*result.ownership);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::Pending(grpc::CallbackServerContext* ctx,
                                                  const PendingRequest* req,
                                                  PendingResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_RETURN_IF_ERROR(ValidateAppName(req->app()));
    VMS_ASSIGN_OR_RETURN(auto pending, master_->Pending(caller, req->app()));
    for (Master::PendingInfo& p : pending) {
      PendingRecord* r = resp->add_records();
      r->set_action(p.action);
      r->set_principal(p.principal);
      *r->mutable_record() = std::move(p.record);
      r->set_since_unix_ms(p.since_ms);
      r->set_owners_signed(p.owners_signed);
      r->set_threshold(p.threshold);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::Cosign(grpc::CallbackServerContext* ctx,
                                                 const CosignRequest* req, CosignResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_RETURN_IF_ERROR(ValidateAppName(req->app()));
    VMS_ASSIGN_OR_RETURN(auto result, master_->Cosign(caller, req->app(), req->signed_()));
    resp->set_done(result.done);
    resp->set_seq(result.seq);
    resp->set_waiting(result.waiting);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::Retire(grpc::CallbackServerContext* ctx,
                                                 const RetireRequest* req, RetireResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto result,
                         master_->Retire({.app = req->app(),
                                          .version = req->version(),
                                          .principal = caller,
                                          .signed_record = Signed(req),
                                          .force = req->force(),
                                          .defer_collection = req->defer_collection()}));
    resp->set_changed(result.flip.changed);
    *resp->mutable_record() = std::move(result.flip.record);
    resp->set_seq(result.flip.seq);
    if (result.flip.to_sign) *resp->mutable_to_sign() = std::move(*result.flip.to_sign);
    for (std::string& h : result.in_use) resp->add_in_use(std::move(h));
    if (result.census.sites > 0) resp->set_census(DescribeFreshness(result.census));
    if (result.gc) *resp->mutable_gc() = std::move(*result.gc);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::Gc(grpc::CallbackServerContext* ctx, const GcRequest* req,
                                             GcResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(auto result, master_->Gc(caller, req->app(), !req->dry_run()));
    for (GcCandidate& c : result.candidates) *resp->add_candidates() = std::move(c);
    for (GcSummary& s : result.stores) *resp->add_stores() = std::move(s);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::Policy(grpc::CallbackServerContext* ctx,
                                                 const PolicyRequest* req, PolicyResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    std::optional<RetentionPolicy> set;
    if (req->set()) {
      set.emplace();
      set->set_keep_last(req->keep_last());
      set->set_keep_days(req->keep_days());
    }
    VMS_ASSIGN_OR_RETURN(*resp->mutable_policy(), master_->Policy(caller, req->app(), set));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PublishService::RegisterKey(grpc::CallbackServerContext* ctx,
                                                      const RegisterKeyRequest* req,
                                                      RegisterKeyResponse* resp) {
  return Run(ctx, [this, req, caller = CallerOf(ctx)] {
    return master_->RegisterKey(caller, req->key(), req->replace(), req->proof(),
                                req->for_principal());
  });
}

grpc::ServerUnaryReactor* PublishService::Audit(grpc::CallbackServerContext* ctx,
                                                const AuditRequest* req, AuditResponse* resp) {
  return Run(ctx, [this, req, resp, caller = CallerOf(ctx)]() -> absl::Status {
    size_t limit = req->limit() == 0 ? 100 : req->limit();
    VMS_ASSIGN_OR_RETURN(auto entries, master_->Audit(caller, req->app(), limit));
    for (AuditEntry& e : entries) *resp->add_entries() = std::move(e);
    return absl::OkStatus();
  });
}

}  // namespace vms
