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
#include "core/clock.h"
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

  // `clock` judges checkpoints and expiry (tests inject a FakeClock).
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(std::string path, TrustChain trust,
                                                       ReleaseSource source,
                                                       TrustSource trust_source = nullptr,
                                                       Clock* clock = Clock::Real());

  // A root, keyring or ownership record from the watch stream: true if new.
  // Errors as TrustChain::Accept (nothing changes).
  absl::StatusOr<bool> ApplyTrust(const Envelope& env);
  // A checkpoint from a heartbeat: true if newer than the one held.
  absl::StatusOr<bool> AcceptCheckpoint(const Envelope& env);
  CheckpointState checkpoint() const;
  Clock* clock() const { return clock_; }
  bool chained() const;

  // This host's site (core/lifecycle.h): records scoped to other sites do
  // not concern it. Set before the watch starts; "" (unknown) takes only
  // the world's records. Records held for another site are dropped.
  void SetSite(std::string site);
  std::string site() const;

  // Accepts a live record: true if it changed a pointer of this host (the
  // app's live version, a label, or a retirement), false if it is the one
  // already held (a resend) or does not concern this host's site.
  // Unauthenticated or FailedPrecondition (a stale seq for its pointer)
  // otherwise; nothing changes then.
  absl::StatusOr<bool> ApplyLive(const Envelope& env);
  std::map<std::string, LiveInfo> LiveApps() const;
  std::optional<LiveInfo> Live(const std::string& app) const;
  // /dist/APP@LABEL: what `label` points to here.
  std::optional<LiveInfo> Label(const std::string& app, const std::string& label) const;
  // Every pointer held (live and labels, every app).
  std::vector<LiveInfo> Pointers() const;
  // When app/version was retired (vms retire), if it was.
  std::optional<int64_t> RetiredAt(const std::string& app, const std::string& version) const;

  // Where an app's whole live history comes from (Read.LiveHistory), for
  // /dist/.at: every record is verified like a live one.
  using HistorySource =
      std::function<absl::StatusOr<std::vector<Envelope>>(const std::string& app)>;
  void SetHistorySource(HistorySource source);
  // What was live for this host's site at `unix_ms`, from the app's history
  // (fetched, verified, kept for kHistoryTtl): nullopt if nothing was, or
  // the version has been retired since. NotFound for an unknown app.
  static constexpr std::chrono::seconds kHistoryTtl{10};
  absl::StatusOr<std::optional<LiveInfo>> LiveAsOf(const std::string& app, int64_t unix_ms);

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
  Catalog(std::string path, TrustChain trust, ReleaseSource source, TrustSource trust_source,
          Clock* clock)
      : clock_(clock),
        path_(std::move(path)),
        chain_(std::move(trust)),
        source_(std::move(source)),
        trust_source_(std::move(trust_source)) {}
  // Takes a live record if it verifies and is newer than the one held for
  // its pointer; true if held now, false if it does not concern this site.
  absl::StatusOr<bool> AcceptLive(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddRelease(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether env was new here.
  absl::StatusOr<bool> AddNewRelease(const Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What Save() writes, numbered, taken under mu_.
  std::pair<std::string, uint64_t> Snapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes (and fsyncs) a snapshot without mu_ held; a snapshot older than
  // one already written is dropped.
  void Save(const std::pair<std::string, uint64_t>& snapshot);

  Clock* const clock_;
  const std::string path_;
  // Lock order: mu_ is never held with save_mu_.
  mutable Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  Mutex save_mu_;
  uint64_t saved_generation_ ABSL_GUARDED_BY(save_mu_) = 0;
  TrustChain chain_ ABSL_GUARDED_BY(mu_);
  std::string site_ ABSL_GUARDED_BY(mu_);
  // (app, label) -> the record in effect here; label "" is live.
  std::map<std::pair<std::string, std::string>, std::pair<LiveInfo, Envelope>> live_
      ABSL_GUARDED_BY(mu_);
  // (app, version) -> the retirement record.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, Envelope>> retired_
      ABSL_GUARDED_BY(mu_);
  struct History {
    std::vector<LiveRecord> records;
    std::chrono::steady_clock::time_point fetched;
  };
  std::map<std::string, History> history_ ABSL_GUARDED_BY(mu_);
  HistorySource history_source_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::pair<ReleaseInfo, Envelope>> releases_
      ABSL_GUARDED_BY(mu_);
  // When each app's releases were last fetched (steady clock).
  std::map<std::string, std::chrono::steady_clock::time_point> fetched_ ABSL_GUARDED_BY(mu_);
  ReleaseSource source_;
  TrustSource trust_source_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_CATALOG_H_
