#include "server/record_store.h"

#include <algorithm>
#include <limits>

#include "core/coding.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"

namespace vms {

namespace {

constexpr char kReleases[] = "releases";
constexpr char kLive[] = "live";
constexpr char kApps[] = "apps";
constexpr char kEvents[] = "events";
constexpr char kSeqs[] = "seqs";
constexpr char kMeta[] = "meta";
constexpr char kHeadSeqKey[] = "head_seq";
constexpr char kSeqsIndexedKey[] = "seqs_indexed";

// seqs keys: 'r' app \0 version -> BE seq of the release's event;
// 'l' app \0 BE seq -> LiveApplied (app, version, live_seq) of a flip.
std::string ReleaseSeqKey(std::string_view app, std::string_view version) {
  return StrCat("r", app, std::string_view("\0", 1), version);
}
std::string LiveSeqKey(std::string_view app, uint64_t seq) {
  return StrCat("l", app, std::string_view("\0", 1), EncodeBigEndian64(seq));
}

std::string AppPrefix(std::string_view app) { return StrCat(app, std::string_view("\0", 1)); }

template <typename T>
absl::StatusOr<T> ParseStored(const std::string& bytes, std::string_view what) {
  T value;
  if (!value.ParseFromString(bytes))
    return absl::DataLossError(StrCat("stored ", what, " is corrupt"));
  return value;
}

// All values under `prefix` in `family`, parsed as T, in key order.
template <typename T>
absl::StatusOr<std::vector<T>> ScanPrefix(const Db& db, const char* family,
                                          const std::string& prefix, std::string_view what) {
  std::vector<T> out;
  auto it = db.NewIterator(family);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    VMS_ASSIGN_OR_RETURN(auto value, ParseStored<T>(it->value().ToString(), what));
    out.push_back(std::move(value));
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), StrCat("read ", what)));
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(
    const std::string& path, const std::vector<std::string>& extra_families, rocksdb::Env* env) {
  std::vector<std::string> families = ObjectStore::Families();
  families.insert(families.end(), {kReleases, kLive, kApps, kEvents, kSeqs, kMeta});
  families.insert(families.end(), extra_families.begin(), extra_families.end());
  VMS_ASSIGN_OR_RETURN(auto db, Db::Open(path, families, env));
  VMS_ASSIGN_OR_RETURN(auto head, db->Get(kMeta, kHeadSeqKey));
  uint64_t head_seq = 0;
  if (head && !DecodeBigEndian64(*head, &head_seq)) {
    return absl::DataLossError(StrCat("corrupt head_seq in ", path));
  }
  auto store = std::unique_ptr<RecordStore>(new RecordStore(std::move(db), head_seq));
  VMS_RETURN_IF_ERROR(store->objects_.Recover());
  VMS_RETURN_IF_ERROR(store->BackfillSeqIndex());
  return store;
}

absl::Status RecordStore::BackfillSeqIndex() {
  VMS_ASSIGN_OR_RETURN(auto done, db_->Get(kMeta, kSeqsIndexedKey));
  if (done) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  auto it = db_->NewIterator(kEvents);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    VMS_ASSIGN_OR_RETURN(auto event, ParseStored<Event>(it->value().ToString(), "event"));
    PutSeqIndex(&batch, event);
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read events"));
  batch.Put(db_->Family(kMeta), kSeqsIndexedKey, "1");
  return db_->Write(&batch, /*sync=*/true);
}

void RecordStore::PutSeqIndex(rocksdb::WriteBatch* batch, const Event& event) {
  if (event.type() == Event::RELEASE_ADDED) {
    batch->Put(db_->Family(kSeqs), ReleaseSeqKey(event.app(), event.version()),
               EncodeBigEndian64(event.seq()));
  } else if (event.type() == Event::LIVE_CHANGED) {
    batch->Put(db_->Family(kSeqs), LiveSeqKey(event.app(), event.seq()),
               FlipOf(event).SerializeAsString());
  }
}

LiveApplied FlipOf(const Event& event) {
  auto record = ParseLiveRecord(event.envelope());
  LiveApplied flip;
  flip.set_app(event.app());
  flip.set_version(event.version());
  flip.set_live_seq(record.ok() ? record->live_seq() : 0);
  if (record.ok()) {
    *flip.mutable_sites() = record->sites();
    flip.set_label(record->label());
    flip.set_retire(record->kind() == LiveRecord::RETIRE);
  }
  return flip;
}

absl::StatusOr<uint64_t> RecordStore::ReleaseSeq(std::string_view app,
                                                 std::string_view version) const {
  VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kSeqs, ReleaseSeqKey(app, version)));
  uint64_t seq = 0;
  if (value && !DecodeBigEndian64(*value, &seq)) {
    return absl::DataLossError(StrCat("stored seq of ", app, " ", version, " is corrupt"));
  }
  return seq;
}

absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> RecordStore::ReleaseSeqs(
    std::string_view app) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const std::string prefix = ReleaseSeqKey(app, "");
  auto it = db_->NewIterator(kSeqs);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    uint64_t seq;
    if (!DecodeBigEndian64(it->value().ToString(), &seq)) {
      return absl::DataLossError(StrCat("stored release seqs of ", app, " are corrupt"));
    }
    out.emplace_back(it->key().ToString().substr(prefix.size()), seq);
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read release seqs"));
  return out;
}

absl::StatusOr<std::optional<LiveApplied>> RecordStore::LiveAsOf(std::string_view app,
                                                                 uint64_t seq) const {
  const std::string prefix = StrCat("l", app, std::string_view("\0", 1));
  auto it = db_->NewIterator(kSeqs);
  it->SeekForPrev(LiveSeqKey(app, seq));
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read flips"));
    return std::nullopt;
  }
  VMS_ASSIGN_OR_RETURN(auto flip,
                       ParseStored<LiveApplied>(it->value().ToString(), StrCat("flip of ", app)));
  return flip;
}

absl::StatusOr<std::optional<LiveApplied>> RecordStore::LiveAt(std::string_view app,
                                                               std::string_view site,
                                                               uint64_t seq) const {
  const std::string prefix = StrCat("l", app, std::string_view("\0", 1));
  auto it = db_->NewIterator(kSeqs);
  for (it->SeekForPrev(LiveSeqKey(app, seq)); it->Valid() && it->key().starts_with(prefix);
       it->Prev()) {
    VMS_ASSIGN_OR_RETURN(auto flip,
                         ParseStored<LiveApplied>(it->value().ToString(), StrCat("flip of ", app)));
    if (flip.retire() || !flip.label().empty()) continue;
    if (!flip.sites().empty() &&
        std::find(flip.sites().begin(), flip.sites().end(), site) == flip.sites().end()) {
      continue;
    }
    return flip;
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read flips"));
  return std::nullopt;
}

RecordStore::RecordStore(std::unique_ptr<Db> db, uint64_t head)
    : db_(std::move(db)), objects_(db_.get()), head_seq_(head) {}

absl::StatusOr<std::vector<AppState>> RecordStore::ListApps() const {
  return ScanPrefix<AppState>(*db_, kApps, "", "app state");
}

absl::StatusOr<std::vector<Envelope>> RecordStore::ListVersions(std::string_view app) const {
  VMS_RETURN_IF_ERROR(ValidateAppName(app));
  VMS_ASSIGN_OR_RETURN(auto envs, ScanPrefix<Envelope>(*db_, kReleases, AppPrefix(app), "release"));
  if (envs.empty()) {
    return absl::NotFoundError(
        StrCat("no app named ", app, " has been pushed; `vms list` shows the apps"));
  }
  std::vector<std::pair<int64_t, Envelope>> found;
  for (Envelope& env : envs) {
    VMS_ASSIGN_OR_RETURN(auto release, ParseRelease(env));
    found.emplace_back(release.created_unix_ms(), std::move(env));
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Envelope> out;
  for (auto& [created, env] : found) out.push_back(std::move(env));
  return out;
}

absl::StatusOr<std::vector<Envelope>> RecordStore::LiveHistory(std::string_view app) const {
  VMS_RETURN_IF_ERROR(ValidateAppName(app));
  auto records = ScanPrefix<Envelope>(*db_, kLive, AppPrefix(app), "live record");
  if (!records.ok() || !records->empty()) return records;
  // No flip yet: an app that was pushed has an empty history, an unknown one
  // is an error (as for its versions).
  VMS_ASSIGN_OR_RETURN(auto state, LoadAppState(app));
  if (!state) {
    return absl::NotFoundError(
        StrCat("no app named ", app, " has been pushed; `vms list` shows the apps"));
  }
  return records;
}

absl::StatusOr<std::vector<Event>> RecordStore::ReadEvents(uint64_t after_seq, size_t limit) const {
  std::vector<Event> events;
  // Nothing comes after the largest seq (and after_seq + 1 would wrap to 0).
  if (after_seq == std::numeric_limits<uint64_t>::max()) return events;
  auto it = db_->NewIterator(kEvents);
  for (it->Seek(EncodeBigEndian64(after_seq + 1)); it->Valid() && events.size() < limit;
       it->Next()) {
    VMS_ASSIGN_OR_RETURN(auto event, ParseStored<Event>(it->value().ToString(), "event"));
    events.push_back(std::move(event));
  }
  VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read events"));
  return events;
}

uint64_t RecordStore::head_seq() const {
  MutexLock lock(&mu_);
  return head_seq_;
}

uint64_t RecordStore::Subscribe(std::function<void(uint64_t)> fn) {
  MutexLock lock(&subscribers_mu_);
  uint64_t id = next_subscriber_++;
  subscribers_[id] = std::move(fn);
  return id;
}

void RecordStore::Unsubscribe(uint64_t id) {
  MutexLock lock(&subscribers_mu_);
  subscribers_.erase(id);
}

void RecordStore::Notify(uint64_t seq) {
  MutexLock lock(&subscribers_mu_);
  for (auto& [id, fn] : subscribers_) fn(seq);
}

absl::StatusOr<std::optional<Envelope>> RecordStore::FindRelease(std::string_view app,
                                                                 std::string_view version) const {
  VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kReleases, StrCat(AppPrefix(app), version)));
  if (!value) return std::nullopt;
  VMS_ASSIGN_OR_RETURN(auto env,
                       ParseStored<Envelope>(*value, StrCat("release ", app, " ", version)));
  return env;
}

absl::StatusOr<std::optional<AppState>> RecordStore::LoadAppState(std::string_view app) const {
  VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kApps, app));
  if (!value) return std::nullopt;
  VMS_ASSIGN_OR_RETURN(auto state, ParseStored<AppState>(*value, StrCat("state of app ", app)));
  return state;
}

absl::StatusOr<std::optional<Envelope>> RecordStore::CurrentLive(std::string_view app) const {
  VMS_ASSIGN_OR_RETURN(auto state, LoadAppState(app));
  if (!state || WorldLiveSeq(*state) == 0) return std::nullopt;
  VMS_ASSIGN_OR_RETURN(auto env, LoadLive(app, WorldLiveSeq(*state)));
  return env;
}

absl::StatusOr<Envelope> RecordStore::LoadLive(std::string_view app, uint64_t live_seq) const {
  VMS_ASSIGN_OR_RETURN(auto value,
                       db_->Get(kLive, StrCat(AppPrefix(app), EncodeBigEndian64(live_seq))));
  if (!value) {
    return absl::DataLossError(StrCat("live record ", live_seq, " of ", app, " is missing"));
  }
  return ParseStored<Envelope>(*value, StrCat("live record of ", app));
}

namespace {
std::string RetiredAheadKey(std::string_view app, std::string_view version) {
  return StrCat("retired-ahead", std::string_view("\0", 1), AppPrefix(app), version);
}
}  // namespace

absl::StatusOr<std::optional<Envelope>> RecordStore::Retirement(std::string_view app,
                                                                std::string_view version) const {
  VMS_ASSIGN_OR_RETURN(auto state, LoadAppState(app));
  if (!state || !IsRetired(*state, version)) return std::nullopt;
  for (int i = 0; i < state->retired_size() && i < state->retired_live_seq_size(); ++i) {
    if (state->retired(i) != version) continue;
    VMS_ASSIGN_OR_RETURN(auto env, LoadLive(app, state->retired_live_seq(i)));
    return env;
  }
  VMS_ASSIGN_OR_RETURN(auto ahead, GetMeta(RetiredAheadKey(app, version)));
  if (!ahead) {
    return absl::DataLossError(
        StrCat("the retirement of ", app, " ", version, " known ahead is missing"));
  }
  return ParseStored<Envelope>(*ahead, StrCat("retirement of ", app, " ", version));
}

void RecordStore::PutRetiredAhead(rocksdb::WriteBatch* batch, std::string_view app,
                                  std::string_view version, const Envelope& retire) {
  PutMeta(batch, RetiredAheadKey(app, version), retire.SerializeAsString());
}

void RecordStore::DeleteRetiredAhead(rocksdb::WriteBatch* batch, std::string_view app,
                                     std::string_view version) {
  DeleteMeta(batch, RetiredAheadKey(app, version));
}

absl::StatusOr<std::vector<Envelope>> RecordStore::RecordsInEffect(std::string_view app) const {
  VMS_ASSIGN_OR_RETURN(auto state, LoadAppState(app));
  std::vector<uint64_t> seqs;
  if (state) {
    if (uint64_t world = WorldLiveSeq(*state); world != 0) seqs.push_back(world);
    for (const AppState::Pointer& p : state->pointers()) seqs.push_back(p.live_seq());
    for (uint64_t seq : state->retired_live_seq()) seqs.push_back(seq);
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::vector<Envelope> out;
  for (uint64_t seq : seqs) {
    VMS_ASSIGN_OR_RETURN(auto env, LoadLive(app, seq));
    out.push_back(std::move(env));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> RecordStore::GetMeta(std::string_view name) const {
  return db_->Get(kMeta, name);
}

void RecordStore::PutRelease(rocksdb::WriteBatch* batch, const Release& release,
                             const Envelope& env) {
  batch->Put(db_->Family(kReleases), StrCat(AppPrefix(release.app()), release.version()),
             env.SerializeAsString());
}

void RecordStore::PutLive(rocksdb::WriteBatch* batch, const LiveRecord& live, const Envelope& env) {
  batch->Put(db_->Family(kLive), StrCat(AppPrefix(live.app()), EncodeBigEndian64(live.live_seq())),
             env.SerializeAsString());
}

void RecordStore::PutAppState(rocksdb::WriteBatch* batch, const AppState& state) {
  batch->Put(db_->Family(kApps), state.app(), state.SerializeAsString());
}

void RecordStore::PutMeta(rocksdb::WriteBatch* batch, std::string_view name,
                          std::string_view value) {
  batch->Put(db_->Family(kMeta), name, value);
}

void RecordStore::DeleteMeta(rocksdb::WriteBatch* batch, std::string_view name) {
  batch->Delete(db_->Family(kMeta), name);
}

void RecordStore::PutEvent(rocksdb::WriteBatch* batch, const Event& event) {
  batch->Put(db_->Family(kEvents), EncodeBigEndian64(event.seq()), event.SerializeAsString());
  batch->Put(db_->Family(kMeta), kHeadSeqKey, EncodeBigEndian64(event.seq()));
  PutSeqIndex(batch, event);
}

absl::Status RecordStore::ReloadHead() {
  VMS_ASSIGN_OR_RETURN(auto head, db_->Get(kMeta, kHeadSeqKey));
  uint64_t head_seq = 0;
  if (head && !DecodeBigEndian64(*head, &head_seq)) {
    return absl::DataLossError(StrCat("corrupt head_seq in ", db_->path()));
  }
  {
    MutexLock lock(&mu_);
    head_seq_ = head_seq;
  }
  Notify(head_seq);
  return absl::OkStatus();
}

absl::Status RecordStore::Commit(rocksdb::WriteBatch* batch, uint64_t new_head) {
  VMS_RETURN_IF_ERROR(db_->Write(batch, /*sync=*/true));
  if (new_head == 0) return absl::OkStatus();
  {
    MutexLock lock(&mu_);
    head_seq_ = new_head;
  }
  Notify(new_head);
  return absl::OkStatus();
}

}  // namespace vms
