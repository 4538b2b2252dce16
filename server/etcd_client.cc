#include "server/etcd_client.h"

#include "absl/strings/match.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "net/rpc.h"

namespace vms {

namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

EtcdClient::Value ValueOf(const mvccpb::KeyValue& kv) {
  return {.value = kv.value(),
          .create_revision = kv.create_revision(),
          .mod_revision = kv.mod_revision(),
          .lease = kv.lease()};
}

// A compare of `key`'s create revision with `revision` (0: does not exist).
void CompareCreated(TxnRequest* txn, const std::string& key, int64_t revision) {
  Compare* c = txn->add_compare();
  c->set_key(key);
  c->set_target(Compare::CREATE);
  c->set_result(Compare::EQUAL);
  c->set_create_revision(revision);
}

// On failure, the transaction reads `key` back (what holds it now).
void ReadOnFailure(TxnRequest* txn, const std::string& key) {
  txn->add_failure()->mutable_request_range()->set_key(key);
}

// What the failure branch's reads found: the i-th one's key, if it exists.
std::optional<EtcdClient::Value> FoundOnFailure(const TxnResponse& resp, int i) {
  if (i >= resp.responses_size()) return std::nullopt;
  const RangeResponse& r = resp.responses(i).response_range();
  if (r.kvs().empty()) return std::nullopt;
  return ValueOf(r.kvs(0));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(Options options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("no etcd endpoint: pass --etcd HOST:PORT[,HOST:PORT...]");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  const bool tls =
      !options.ca_file.empty() || !options.cert_file.empty() || !options.key_file.empty();
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    for (auto [path, pem] : {std::pair{&options.ca_file, &ssl.pem_root_certs},
                             std::pair{&options.cert_file, &ssl.pem_cert_chain},
                             std::pair{&options.key_file, &ssl.pem_private_key}}) {
      if (path->empty()) {
        return absl::InvalidArgumentError(
            "etcd over TLS needs a CA, a certificate and a key: one of the three is missing");
      }
      auto bytes = ReadFile(*path);
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(
            StrCat("cannot read ", *path, " for etcd's TLS: ", bytes.status().message()));
      }
      *pem = *std::move(bytes);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::unique_ptr<EtcdClient> client(new EtcdClient(std::move(options)));
  for (const std::string& address : client->options_.endpoints) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    // A member that died is noticed on an idle connection within seconds.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 5000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    // A member back from a restart is used again within a second or two (by
    // default gRPC waits up to two minutes before it tries a failed one).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 3000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    auto channel = grpc::CreateCustomChannel(address, credentials, args);
    client->endpoints_.push_back({.address = address,
                                  .kv = etcdserverpb::KV::NewStub(channel),
                                  .lease = etcdserverpb::Lease::NewStub(channel),
                                  .maintenance = etcdserverpb::Maintenance::NewStub(channel)});
  }
  return client;
}

template <typename Resp, typename Call>
absl::StatusOr<Resp> EtcdClient::Ask(std::string_view what, const Call& call) {
  std::string failures;
  const size_t start = current_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t at = (start + i) % endpoints_.size();
    Endpoint& e = endpoints_[at];
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(options_.deadline));
    Resp resp;
    grpc::Status s = call(e, &ctx, &resp);
    if (s.ok()) {
      current_ = at;
      return resp;
    }
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      current_ = at;
      return FromGrpc(s, StrCat(what, " at etcd ", e.address));
    }
    failures += StrCat(failures.empty() ? "" : "; ", e.address, ": ", s.error_message());
  }
  return absl::UnavailableError(
      StrCat(what, ": no etcd member answered (", failures,
             "); a majority of the members must be up for the master group to write"));
}

absl::StatusOr<std::optional<EtcdClient::Value>> EtcdClient::Get(const std::string& key) {
  RangeRequest req;
  req.set_key(key);
  VMS_ASSIGN_OR_RETURN(auto resp,
                       Ask<RangeResponse>(StrCat("read ", key), [&](auto& e, auto* ctx, auto* r) {
                         return e.kv->Range(ctx, req, r);
                       }));
  if (resp.kvs().empty()) return std::nullopt;
  return ValueOf(resp.kvs(0));
}

absl::StatusOr<std::vector<std::pair<std::string, EtcdClient::Value>>> EtcdClient::Range(
    const std::string& from, const std::string& to, int64_t limit, bool last_first) {
  RangeRequest req;
  req.set_key(from);
  req.set_range_end(to);
  req.set_limit(limit);
  if (last_first) {
    req.set_sort_order(RangeRequest::DESCEND);
    req.set_sort_target(RangeRequest::KEY);
  }
  VMS_ASSIGN_OR_RETURN(
      auto resp, Ask<RangeResponse>(StrCat("read from ", from), [&](auto& e, auto* ctx, auto* r) {
        return e.kv->Range(ctx, req, r);
      }));
  std::vector<std::pair<std::string, Value>> out;
  for (const mvccpb::KeyValue& kv : resp.kvs()) out.emplace_back(kv.key(), ValueOf(kv));
  return out;
}

absl::Status EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  return Ask<etcdserverpb::PutResponse>(
             StrCat("write ", key),
             [&](auto& e, auto* ctx, auto* r) { return e.kv->Put(ctx, req, r); })
      .status();
}

absl::StatusOr<int64_t> EtcdClient::GrantLease(std::chrono::seconds ttl) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl.count());
  VMS_ASSIGN_OR_RETURN(auto resp, Ask<etcdserverpb::LeaseGrantResponse>(
                                      "grant a lease", [&](auto& e, auto* ctx, auto* r) {
                                        return e.lease->LeaseGrant(ctx, req, r);
                                      }));
  if (!resp.error().empty()) return absl::UnavailableError(StrCat("etcd: ", resp.error()));
  return resp.id();
}

absl::Status EtcdClient::KeepAlive(int64_t lease) {
  // One request on the keep-alive stream, and its answer.
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(lease);
  VMS_ASSIGN_OR_RETURN(auto resp,
                       Ask<etcdserverpb::LeaseKeepAliveResponse>(
                           "keep a lease alive", [&](auto& e, auto* ctx, auto* r) {
                             auto stream = e.lease->LeaseKeepAlive(ctx);
                             if (!stream->Write(req) || !stream->WritesDone() || !stream->Read(r)) {
                               grpc::Status s = stream->Finish();
                               return s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                            "the keep-alive stream closed")
                                             : s;
                             }
                             ctx->TryCancel();  // the stream is done with
                             stream->Finish();  // CANCELLED, as asked
                             return grpc::Status::OK;
                           }));
  if (resp.ttl() <= 0) {
    return absl::NotFoundError(StrCat("lease ", lease, " expired: its keys are gone"));
  }
  return absl::OkStatus();
}

absl::Status EtcdClient::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease);
  return Ask<etcdserverpb::LeaseRevokeResponse>(
             "revoke a lease",
             [&](auto& e, auto* ctx, auto* r) { return e.lease->LeaseRevoke(ctx, req, r); })
      .status();
}

absl::StatusOr<int64_t> EtcdClient::Campaign(const std::string& key, const std::string& value,
                                             int64_t lease) {
  TxnRequest txn;
  CompareCreated(&txn, key, 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  ReadOnFailure(&txn, key);
  VMS_ASSIGN_OR_RETURN(
      auto resp, Ask<TxnResponse>(StrCat("campaign for ", key), [&](auto& e, auto* ctx, auto* r) {
        return e.kv->Txn(ctx, txn, r);
      }));
  if (resp.succeeded()) return resp.header().revision();
  std::optional<Value> holder = FoundOnFailure(resp, 0);
  if (!holder) {
    // Gone between the compare and the read: not possible in one
    // transaction; said plainly if it ever is.
    return absl::FailedPreconditionError(StrCat(key, " is held, by no one known"));
  }
  // An earlier try of this very campaign took, and its answer was lost.
  if (holder->value == value && holder->lease == lease) return holder->create_revision;
  return absl::FailedPreconditionError(StrCat(key, " is held by ", Quote(holder->value)));
}

absl::Status EtcdClient::PutFenced(const std::string& fence_key, int64_t fence,
                                   const std::string& key, const std::string& value,
                                   const std::string& after) {
  TxnRequest txn;
  CompareCreated(&txn, fence_key, fence);
  CompareCreated(&txn, key, 0);
  if (!after.empty()) {
    Compare* c = txn.add_compare();
    c->set_key(after);
    c->set_target(Compare::CREATE);
    c->set_result(Compare::GREATER);
    c->set_create_revision(0);
  }
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  ReadOnFailure(&txn, fence_key);
  ReadOnFailure(&txn, key);
  VMS_ASSIGN_OR_RETURN(auto resp,
                       Ask<TxnResponse>(StrCat("write ", key), [&](auto& e, auto* ctx, auto* r) {
                         return e.kv->Txn(ctx, txn, r);
                       }));
  if (resp.succeeded()) return absl::OkStatus();
  std::optional<Value> holder = FoundOnFailure(resp, 0);
  std::optional<Value> taken = FoundOnFailure(resp, 1);
  if (taken && taken->value == value) return absl::OkStatus();  // an earlier try took
  if (!holder || holder->create_revision != fence) {
    return absl::FailedPreconditionError(
        StrCat("not written: ", fence_key, " is no longer the one created at revision ", fence,
               " (leadership was lost: its lease expired, or another took it)"));
  }
  if (taken) {
    return absl::FailedPreconditionError(
        StrCat("not written: ", key, " exists already (another write took it)"));
  }
  return absl::FailedPreconditionError(
      StrCat("not written: ", after, " does not exist (the write would leave a gap)"));
}

absl::StatusOr<int64_t> EtcdClient::DeleteRange(const std::string& from, const std::string& to) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(from);
  req.set_range_end(to);
  VMS_ASSIGN_OR_RETURN(
      auto resp, Ask<etcdserverpb::DeleteRangeResponse>(
                     StrCat("delete from ", from),
                     [&](auto& e, auto* ctx, auto* r) { return e.kv->DeleteRange(ctx, req, r); }));
  return resp.deleted();
}

absl::Status EtcdClient::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  auto resp = Ask<etcdserverpb::CompactionResponse>(
      "compact etcd", [&](auto& e, auto* ctx, auto* r) { return e.kv->Compact(ctx, req, r); });
  // Compacted there already (by another node): as good.
  if (!resp.ok() && absl::StrContains(resp.status().message(), "compacted")) {
    return absl::OkStatus();
  }
  return resp.status();
}

absl::StatusOr<etcdserverpb::StatusResponse> EtcdClient::Status() {
  etcdserverpb::StatusRequest req;
  return Ask<etcdserverpb::StatusResponse>("ask etcd's status", [&](auto& e, auto* ctx, auto* r) {
    return e.maintenance->Status(ctx, req, r);
  });
}

}  // namespace vms
