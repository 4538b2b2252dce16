// What a host knows about apps: the live record of each (verified, never
// going back in live_seq), the releases it has looked up (verified), and,
// under a root of trust, the chain they are verified against (core/chain.h)
// and the newest checkpoint. Persisted in one file, replaced atomically,
// re-verified when loaded, so that after a restart cached content is served
// with no network at all. Thread-safe.
#ifndef VMS_FUSEFS_CATALOG_H_
#define VMS_FUSEFS_CATALOG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/chain.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/sync.h"
#include "records.pb.h"

namespace vms {

struct LiveInfo {
  std::string version;
  uint64_t live_seq = 0;
  Hash root;
  int64_t issued_ms = 0;
};

struct ReleaseInfo {
  Hash root;
  int64_t created_ms = 0;
  uint64_t files = 0, bytes = 0;
  std::string publisher;
};

class Catalog {
 public:
  // Where releases come from when they are not known yet.
  using ReleaseSource =
      std::function<absl::StatusOr<std::vector<Envelope>>(const std::string& app)>;

  // The chain as a replica holds it (Read.Trust): asked when a release does
  // not verify for want of a record (an app made a moment ago).
  using TrustSource = std::function<absl::StatusOr<TrustSnapshot>()>;

  static absl::StatusOr<std::unique_ptr<Catalog>> Open(std::string path, TrustChain trust,
                                                       ReleaseSource source,
                                                       TrustSource trust_source = nullptr);

  // A root, keyring or ownership record from the watch stream: true if new.
  // Errors as TrustChain::Accept (nothing changes).
  absl::StatusOr<bool> ApplyTrust(const Envelope& env);
  // A checkpoint from a heartbeat: true if newer than the one held.
  absl::StatusOr<bool> AcceptCheckpoint(const Envelope& env);
  CheckpointState checkpoint(int64_t now_ms) const;
  bool chained() const;

  // Accepts a live record: true if it changed the app's live version, false
  // if it is the one already held (a resend). Unauthenticated or
  // FailedPrecondition (stale seq) otherwise; nothing changes then.
  absl::StatusOr<bool> ApplyLive(const Envelope& env);
  std::map<std::string, LiveInfo> LiveApps() const;
  std::optional<LiveInfo> Live(const std::string& app) const;

  // A release: known, or fetched from the source (all of the app's releases
  // are verified and remembered). nullopt when the app has no such version.
  // After a fetch, a miss for the same app is answered from memory for
  // kMissTtl: a thousand lookups of names that do not exist cost one
  // request, and the file is rewritten only when a fetch brought something
  // new.
  static constexpr std::chrono::seconds kMissTtl{5};
  absl::StatusOr<std::optional<ReleaseInfo>> Release(const std::string& app,
                                                     const std::string& version);

 private:
  Catalog(std::string path, TrustChain trust, ReleaseSource source, TrustSource trust_source)
      : path_(std::move(path)),
        chain_(std::move(trust)),
        source_(std::move(source)),
        trust_source_(std::move(trust_source)) {}
  // Takes a live record if it verifies and is newer than the one held for
  // its app (`replace`: then it is held).
  absl::StatusOr<LiveRecord> AcceptLive(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddRelease(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether env was new here.
  absl::StatusOr<bool> AddNewRelease(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What Save() writes, numbered, taken under mu_.
  std::pair<std::string, uint64_t> Snapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes (and fsyncs) a snapshot without mu_ held; a snapshot older than
  // one already written is dropped.
  void Save(const std::pair<std::string, uint64_t>& snapshot);

  const std::string path_;
  // Lock order: mu_ is never held with save_mu_.
  mutable Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  Mutex save_mu_;
  uint64_t saved_generation_ ABSL_GUARDED_BY(save_mu_) = 0;
  TrustChain chain_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<LiveInfo, Envelope>> live_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::pair<ReleaseInfo, Envelope>> releases_
      ABSL_GUARDED_BY(mu_);
  // When each app's releases were last fetched (steady clock).
  std::map<std::string, std::chrono::steady_clock::time_point> fetched_ ABSL_GUARDED_BY(mu_);
  ReleaseSource source_;
  TrustSource trust_source_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_CATALOG_H_
