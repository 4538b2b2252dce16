// A client of etcd's v3 API (its own gRPC stubs, proto/CMakeLists.txt): what
// a master group keeps its log and its election in (issue 36). etcd gives a
// linearisable key-value store; its leases and locks are not mutexes (a
// paused holder wakes up believing it still holds one), so nothing here
// trusts leadership alone: every write a leader makes is an etcd transaction
// that compares the revision its leader key was created with (Fenced).
//
// Each request goes to the endpoints in turn, from the last that answered,
// until one answers. A write is tried again only where that is safe: a put
// of the same value, or a compare that an earlier try which took makes fail,
// after which the key is read back (Campaign, PutFenced). Thread-safe.
#ifndef VMS_SERVER_ETCD_CLIENT_H_
#define VMS_SERVER_ETCD_CLIENT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace vms {

class EtcdClient {
 public:
  struct Options {
    std::vector<std::string> endpoints;        // host:port of each member
    std::chrono::milliseconds deadline{2000};  // each request
    // TLS (PEM files) to etcd; all empty: plain TCP (loopback, tests).
    std::string ca_file, cert_file, key_file;
  };
  // InvalidArgument for no endpoint or unreadable TLS files; connects lazily.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(Options options);

  // The value of `key` and the revision it was created at, or nullopt.
  struct Value {
    std::string value;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    int64_t lease = 0;
  };
  absl::StatusOr<std::optional<Value>> Get(const std::string& key);
  // Keys in [from, to) in key order (the last first when `last_first`), at
  // most `limit` (0: no limit).
  absl::StatusOr<std::vector<std::pair<std::string, Value>>> Range(const std::string& from,
                                                                   const std::string& to,
                                                                   int64_t limit = 0,
                                                                   bool last_first = false);
  absl::Status Put(const std::string& key, const std::string& value, int64_t lease = 0);

  // A lease of `ttl`; its keys go when it is not kept alive for that long.
  absl::StatusOr<int64_t> GrantLease(std::chrono::seconds ttl);
  // Renews `lease` once; NotFound when it expired (its keys are gone).
  absl::Status KeepAlive(int64_t lease);
  absl::Status RevokeLease(int64_t lease);

  // Creates `key` = `value` bound to `lease` if no one holds it: the
  // revision it was created at (the fence of everything the winner writes).
  // FailedPrecondition naming the holder's value when someone does.
  absl::StatusOr<int64_t> Campaign(const std::string& key, const std::string& value, int64_t lease);
  // Puts `key` = `value` only if `fence_key` still exists with create
  // revision `fence`, `key` does not exist yet and `after` (unless empty)
  // does: a leader that lost its lease (paused, partitioned) or whose key
  // another took can never write, no two writes take one key, and none
  // leaves a gap. OK too when `key` holds `value` already (an earlier try
  // took). FailedPrecondition when the compare failed (saying which part),
  // Unavailable when no member answered.
  absl::Status PutFenced(const std::string& fence_key, int64_t fence, const std::string& key,
                         const std::string& value, const std::string& after = "");
  // Deletes the keys in [from, to); how many went.
  absl::StatusOr<int64_t> DeleteRange(const std::string& from, const std::string& to);

  // Drops the history before `revision` (deleted keys' old values).
  absl::Status Compact(int64_t revision);
  // The member that answered's view: its id, the leader's, the raft term.
  absl::StatusOr<etcdserverpb::StatusResponse> Status();

 private:
  struct Endpoint {
    std::string address;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  };
  explicit EtcdClient(Options options) : options_(std::move(options)) {}

  // Calls `call` on each endpoint from the last that answered until one
  // answers (any status but Unavailable or DeadlineExceeded).
  template <typename Resp, typename Call>
  absl::StatusOr<Resp> Ask(std::string_view what, const Call& call);

  const Options options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> current_{0};
};

}  // namespace vms

#endif  // VMS_SERVER_ETCD_CLIENT_H_
