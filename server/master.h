// The master's logic: the one writer of vms.
//
// Holds objects, signed releases, live records, per-app state and the
// append-only event log in one RecordStore, and the sites' reports in a
// SiteRegistry. Every acknowledged change (a release, a live flip) is one
// synced write batch holding the record, its event and the app state, so a
// crash leaves the old state or the new one. No gRPC here: the *_service.h
// adapters put this class on the wire.
//
// Thread-safe. write_mu_ serialises the writers of records and is held across
// their synced batch on purpose: the event log must be gapless and in commit
// order, and per-app state is read-modify-write. Readers never take it.
// Object ingestion does not take it either.
#ifndef VMS_SERVER_MASTER_H_
#define VMS_SERVER_MASTER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/limits.h"
#include "core/object_store.h"
#include "core/sync.h"
#include "records.pb.h"
#include "server/record_store.h"
#include "server/site_registry.h"

namespace vms {

struct MasterOptions {
  std::string data_dir;
  // A commit beyond these (entries per directory, files per version) is
  // refused; depth is the client's to check (core/limits.h).
  ShapeLimits limits;
  // Wall-clock milliseconds since the epoch; tests inject their own.
  std::function<int64_t()> now_ms;
  // The store's I/O (Db::Open); tests inject a power cut.
  rocksdb::Env* env = nullptr;
};

struct CommitArgs {
  std::string app;
  std::string version;
  Hash root;
  std::string publisher;
  std::string message;
};

struct CommitResult {
  bool created = false;  // false: this exact version was already there
  Envelope release;
  uint64_t seq = 0;  // the release's event seq (also when it existed)
};

struct FlipArgs {
  std::string app;
  std::string version;  // for Rollback: "" means the version live before
  std::string issuer;
};

struct FlipResult {
  bool changed = false;  // false: already live, nothing written
  Envelope record;       // the new live record, or the current one
  uint64_t seq = 0;      // event seq (0 when !changed)
};

class Master {
 public:
  // Opens DATA_DIR/db and loads or creates DATA_DIR/master.{key,pub}.
  static absl::StatusOr<std::unique_ptr<Master>> Open(MasterOptions options);

  absl::StatusOr<std::vector<Hash>> MissingObjects(std::span<const Hash> hashes) const;
  // The subset of `hashes` that are trees with a complete closure here.
  absl::StatusOr<std::vector<Hash>> CompleteTrees(std::span<const Hash> hashes) const;
  absl::StatusOr<IngestStats> PutObjects(std::vector<StoredObject>* objects);

  // Records a release once its whole closure is present and valid.
  //  - InvalidArgument: bad app/version name, bad publisher or message.
  //  - FailedPrecondition: objects are missing (the message says how many), or
  //    the version exists with other content (versions are immutable).
  //  - DataLoss: an object of the closure is corrupt or inconsistent.
  absl::StatusOr<CommitResult> Commit(const CommitArgs& args);

  // Makes `version` the live version of `app` with a signed live record
  // (live_seq + 1), its event and the app state in one synced batch.
  //  - NotFound: no such app, or no such version (the message lists those
  //    that exist).
  //  - FailedPrecondition: a known site does not hold the version complete
  //    (the message names them).
  //  - OK with changed=false: it already is the live version.
  absl::StatusOr<FlipResult> SetLive(const FlipArgs& args);
  // A new live record (higher seq) naming the version live before the
  // current one (successive rollbacks keep going back), or args.version.
  // FailedPrecondition when there is nothing to go back to, or when a site
  // lacks the version.
  absl::StatusOr<FlipResult> Rollback(const FlipArgs& args);

  // Uploads that no release names yet: new object -> when it came (BE unix
  // ms). A commit removes the entries of its closure; what stays is what
  // the lifecycle's garbage collection reclaims once older than
  // kUnreferencedUploadTtl.
  static constexpr char kUploadsFamily[] = "uploads";
  static constexpr std::chrono::hours kUnreferencedUploadTtl{24};

  const RecordStore& records() const { return *records_; }
  ReadApi* read_api() { return records_.get(); }
  SiteRegistry& sites() { return *sites_; }
  const PublicKey& public_key() const { return key_.public_key(); }

 private:
  Master(MasterOptions options, std::unique_ptr<RecordStore> records,
         std::unique_ptr<SiteRegistry> sites, SigningKey key);
  // Flip to `target` (or, for a rollback with an empty target, to the top of
  // the back stack). Takes write_mu_.
  absl::StatusOr<FlipResult> Flip(const FlipArgs& args, LiveRecord::Kind kind);
  // An event with the next seq for `batch`. write_mu_ held.
  Event NextEvent(Event::Type type, const std::string& app, const std::string& version,
                  const Envelope& env) const;

  MasterOptions options_;
  std::unique_ptr<RecordStore> records_;
  std::unique_ptr<SiteRegistry> sites_;
  SigningKey key_;
  Mutex write_mu_;
};

}  // namespace vms

#endif  // VMS_SERVER_MASTER_H_
