// The master's logic: the one writer of vms.
//
// Holds objects, signed releases, per-app state and the append-only event log
// in one RocksDB. Every acknowledged change (a release, later a live flip) is
// one synced write batch holding the record, its event and the app state, so
// a crash leaves the old state or the new one. No gRPC here: master_service.h
// adapts this class to the wire.
//
// Thread-safe. Lock order: write_mu_, then mu_, then subscribers_mu_.
// write_mu_ serialises the writers of records and is held across their synced
// batch on purpose: the event log must be gapless and in commit order, and
// per-app state is read-modify-write. Readers never take it. mu_ guards only
// the head seq and is never held across I/O. Object ingestion takes neither.
#ifndef VMS_SERVER_MASTER_H_
#define VMS_SERVER_MASTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/object_store.h"
#include "records.pb.h"
#include "server/read_api.h"

namespace vms {

struct MasterOptions {
  std::string data_dir;
  // Wall-clock milliseconds since the epoch; tests inject their own.
  std::function<int64_t()> now_ms;
};

struct CommitArgs {
  std::string app;
  std::string version;
  Hash root;
  std::string publisher;
  std::string message;
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

struct CommitResult {
  bool created = false;  // false: this exact version was already there
  Envelope release;
  uint64_t seq = 0;      // the release's event seq (0 when !created)
};

class Master : public ReadApi {
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
  //  - OK with changed=false: it already is the live version.
  absl::StatusOr<FlipResult> SetLive(const FlipArgs& args);
  // A new live record (higher seq) naming the version live before the
  // current one (successive rollbacks keep going back), or args.version.
  // FailedPrecondition when there is nothing to go back to.
  absl::StatusOr<FlipResult> Rollback(const FlipArgs& args);

  // ReadApi.
  absl::StatusOr<std::vector<AppState>> ListApps() const override;
  absl::StatusOr<std::vector<Envelope>> ListVersions(std::string_view app) const override;
  absl::StatusOr<std::vector<Envelope>> LiveHistory(std::string_view app) const override;
  absl::StatusOr<std::vector<Event>> ReadEvents(uint64_t after_seq, size_t limit) const override;
  uint64_t head_seq() const override;
  const ObjectStore& objects() const override { return objects_; }
  uint64_t Subscribe(std::function<void(uint64_t)> fn) override;
  void Unsubscribe(uint64_t id) override;

  const PublicKey& public_key() const { return key_.public_key(); }

 private:
  Master(MasterOptions options, std::unique_ptr<Db> db, SigningKey key, uint64_t head);
  absl::StatusOr<std::optional<Envelope>> FindRelease(const std::string& app,
                                                      const std::string& version) const;
  absl::StatusOr<std::optional<AppState>> LoadAppState(const std::string& app) const;
  // Flip to `target` (or, for a rollback with an empty target, to the top of
  // the back stack). Holds write_mu_.
  absl::StatusOr<FlipResult> Flip(const FlipArgs& args, LiveRecord::Kind kind);
  // Adds the event to `batch` with the next seq; returns it. write_mu_ held.
  uint64_t AppendEvent(rocksdb::WriteBatch* batch, Event::Type type, const std::string& app,
                       const std::string& version, const Envelope& env);
  // Writes `batch` synced, then advances the head to `seq` and notifies.
  // write_mu_ held.
  absl::Status Publish(rocksdb::WriteBatch* batch, uint64_t seq);
  void Notify(uint64_t seq);

  MasterOptions options_;
  std::unique_ptr<Db> db_;
  ObjectStore objects_;
  SigningKey key_;

  std::mutex write_mu_;
  mutable std::mutex mu_;
  uint64_t head_seq_ ABSL_GUARDED_BY(mu_);

  std::mutex subscribers_mu_;  // never held with mu_
  uint64_t next_subscriber_ ABSL_GUARDED_BY(subscribers_mu_) = 1;
  std::map<uint64_t, std::function<void(uint64_t)>> subscribers_ ABSL_GUARDED_BY(subscribers_mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_MASTER_H_
