// The records every vms store holds, master or replica: objects, signed
// releases and live records, per-app state, and the event log, in one
// RocksDB. It serves the read API (ReadApi) and offers the pieces writers put
// into one atomic batch; Commit() makes a batch durable, then advances the
// head seq and wakes subscribers.
//
// Families: releases (app \0 version -> Envelope), live (app \0 BE live_seq
// -> Envelope), apps (app -> AppState), events (BE seq -> Event), seqs (the
// seq of each release's and each flip's event, see ReleaseSeq and LiveAsOf),
// meta (name -> bytes), plus the object store's and any the owner adds.
//
// Thread-safe. Callers serialise their writers (the event log must be
// appended in order); reads never block on them. Lock order: mu_, then
// subscribers_mu_.
#ifndef VMS_SERVER_RECORD_STORE_H_
#define VMS_SERVER_RECORD_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/db.h"
#include "core/object_store.h"
#include "core/sync.h"
#include "records.pb.h"
#include "server/read_api.h"

namespace vms {

// The flip a LIVE_CHANGED event carries: app, version and live_seq (0 if
// its record does not parse).
LiveApplied FlipOf(const Event& event);

class RecordStore : public ReadApi {
 public:
  // `env`: see Db::Open().
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(
      const std::string& path, const std::vector<std::string>& extra_families = {},
      rocksdb::Env* env = nullptr);

  Db* db() { return db_.get(); }
  ObjectStore& mutable_objects() { return objects_; }

  // ReadApi.
  absl::StatusOr<std::vector<AppState>> ListApps() const override;
  absl::StatusOr<std::vector<Envelope>> ListVersions(std::string_view app) const override;
  absl::StatusOr<std::vector<Envelope>> LiveHistory(std::string_view app) const override;
  const ObjectStore& objects() const override { return objects_; }
  absl::StatusOr<std::vector<Event>> ReadEvents(uint64_t after_seq, size_t limit) const override;
  uint64_t head_seq() const override;
  uint64_t Subscribe(std::function<void(uint64_t)> fn) override;
  void Unsubscribe(uint64_t id) override;

  absl::StatusOr<std::optional<Envelope>> FindRelease(std::string_view app,
                                                      std::string_view version) const;
  absl::StatusOr<std::optional<AppState>> LoadAppState(std::string_view app) const;
  // The world's live record.
  absl::StatusOr<std::optional<Envelope>> CurrentLive(std::string_view app) const override;
  // Every record in effect somewhere (the world's live record, scoped ones,
  // labels), live_seq ascending (core/lifecycle.h).
  absl::StatusOr<std::vector<Envelope>> RecordsInEffect(std::string_view app) const override;
  absl::StatusOr<Envelope> LoadLive(std::string_view app, uint64_t live_seq) const;
  absl::StatusOr<std::optional<Envelope>> Retirement(std::string_view app,
                                                     std::string_view version) const override;
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view name) const;

  // The seq of the event that added app/version; 0 if there is none. A
  // store that applied the log up to seq S holds every release whose seq is
  // at most S: that is how the master knows what each site holds.
  absl::StatusOr<uint64_t> ReleaseSeq(std::string_view app, std::string_view version) const;
  // Every release of `app` as (version, seq), in version-name order.
  absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> ReleaseSeqs(
      std::string_view app) const;
  // What was live for `app` once the log was applied up to `seq`: app,
  // version and live_seq of the last flip at or before it; nullopt if none.
  absl::StatusOr<std::optional<LiveApplied>> LiveAsOf(std::string_view app, uint64_t seq) const;
  // What was live for `app` at `site` once the log was applied up to `seq`
  // (label "" records that apply there, core/lifecycle.h).
  absl::StatusOr<std::optional<LiveApplied>> LiveAt(std::string_view app, std::string_view site,
                                                    uint64_t seq) const;

  // Batch builders. `release` and `live` must be what `env` carries.
  void PutRelease(rocksdb::WriteBatch* batch, const Release& release, const Envelope& env);
  void PutLive(rocksdb::WriteBatch* batch, const LiveRecord& live, const Envelope& env);
  void PutAppState(rocksdb::WriteBatch* batch, const AppState& state);
  void PutMeta(rocksdb::WriteBatch* batch, std::string_view name, std::string_view value);
  void DeleteMeta(rocksdb::WriteBatch* batch, std::string_view name);
  // The RETIRE record of a version retired ahead of the log (a replica
  // catching up, AppState.retired_ahead), until its own event applies.
  void PutRetiredAhead(rocksdb::WriteBatch* batch, std::string_view app, std::string_view version,
                       const Envelope& retire);
  void DeleteRetiredAhead(rocksdb::WriteBatch* batch, std::string_view app,
                          std::string_view version);
  // Appends `event` (its seq must be head_seq() + 1 when committed).
  void PutEvent(rocksdb::WriteBatch* batch, const Event& event);

  // Reads the head seq again after the store's log was replaced wholesale (a
  // master group's node taking a copy of another's, server/master_group.h),
  // and tells subscribers.
  absl::Status ReloadHead();

  // Writes `batch` synced; if it holds an event, `new_head` is its seq and
  // subscribers hear of it. Pass 0 for batches without an event.
  absl::Status Commit(rocksdb::WriteBatch* batch, uint64_t new_head);

 private:
  RecordStore(std::unique_ptr<Db> db, uint64_t head);
  void Notify(uint64_t seq);
  // Puts the seqs-family entries of `event` into `batch`.
  void PutSeqIndex(rocksdb::WriteBatch* batch, const Event& event);
  // Indexes the events of a store written before the seqs family existed.
  absl::Status BackfillSeqIndex();

  std::unique_ptr<Db> db_;
  ObjectStore objects_;

  mutable Mutex mu_;
  uint64_t head_seq_ ABSL_GUARDED_BY(mu_);

  Mutex subscribers_mu_;
  uint64_t next_subscriber_ ABSL_GUARDED_BY(subscribers_mu_) = 1;
  std::map<uint64_t, std::function<void(uint64_t)>> subscribers_ ABSL_GUARDED_BY(subscribers_mu_);
};

}  // namespace vms

#endif  // VMS_SERVER_RECORD_STORE_H_
