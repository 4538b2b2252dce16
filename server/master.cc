#include "server/master.h"

#include <algorithm>
#include <limits>

#include "core/closure.h"
#include "core/coding.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/lifecycle.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/names.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/sync.h"
#include "server/group_entry.h"
#include "server/trust_store.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

// How many earlier live versions successive rollbacks can return to.
constexpr int kBackStackLimit = 100;

// The newest entry of a master group's log the store holds (meta).
constexpr char kGroupIndexMeta[] = "group_index";
// Set while the store takes a copy of another node's (Master::BeginCopy).
constexpr char kCopyingMeta[] = "group_copying";

absl::Status NoOwnershipYet(const std::string& app, const std::string& principal) {
  return absl::FailedPreconditionError(
      StrCat(app,
             " has no owners signed by an admin yet (this master has a root of trust, so "
             "an admin makes an app): an admin runs `vms owners ",
             app, " add ", principal, "`, then run this again"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Master>> Master::Open(MasterOptions options) {
  VMS_RETURN_IF_ERROR(MakeDirs(options.data_dir));
  VMS_ASSIGN_OR_RETURN(auto key, SigningKey::LoadOrCreate(options.data_dir, "master"));
  VMS_ASSIGN_OR_RETURN(auto authz, Authorizer::Create(options.authz));
  auto records =
      RecordStore::Open(options.data_dir + "/db",
                        {SiteRegistry::kFamily, kUploadsFamily, kOwnersFamily, kKeysFamily,
                         kPolicyFamily, AuditLog::kFamily, AuditLog::kAppFamily,
                         AuditLog::kRefusedFamily, AuditLog::kRefusedAppFamily},
                        options.env);
  if (!records.ok()) return records.status();
  VMS_ASSIGN_OR_RETURN(auto sites,
                       SiteRegistry::Load((*records)->db(), records->get(), options.clock));
  VMS_ASSIGN_OR_RETURN(auto audit, AuditLog::Load((*records)->db(), options.clock));
  if (options.group != nullptr) audit->KeepAppendsLocal();
  auto master =
      std::unique_ptr<Master>(new Master(std::move(options), std::move(authz), std::move(*records),
                                         std::move(sites), std::move(audit), std::move(key)));
  {
    // What each principal's uploads hold, as their entries say.
    auto it = master->records_->db()->NewIterator(kUploadsFamily);
    MutexLock lock(&master->quota_mu_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      UploadEntry e = DecodeUpload(it->value().ToStringView());
      if (!e.principal.empty()) master->unreferenced_[e.principal] += e.bytes;
    }
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "read uploads"));
  }
  VMS_ASSIGN_OR_RETURN(auto group_index, master->records_->GetMeta(kGroupIndexMeta));
  if (group_index) {
    MutexLock lock(&master->write_mu_);
    if (!DecodeBigEndian64(*group_index, &master->group_index_)) {
      return absl::DataLossError("the store's group log index (meta group_index) is malformed");
    }
  }
  // A data dir that holds a chain keeps it: a master started once without
  // --trust would sign records alone, which every replica refuses for good.
  VMS_ASSIGN_OR_RETURN(bool chain_stored, TrustStore(master->records_.get()).Held());
  if (!master->options_.trust_file.empty() || chain_stored) {
    VMS_RETURN_IF_ERROR(master->OpenTrust());
    VMS_RETURN_IF_ERROR(master->SignCheckpoint());
  }
  return master;
}

Master::Master(MasterOptions options, Authorizer authz, std::unique_ptr<RecordStore> records,
               std::unique_ptr<SiteRegistry> sites, std::unique_ptr<AuditLog> audit, SigningKey key)
    : options_(std::move(options)),
      records_(std::move(records)),
      sites_(std::move(sites)),
      audit_(std::move(audit)),
      authz_(std::move(authz)),
      key_(std::move(key)) {}

absl::StatusOr<std::vector<Hash>> Master::MissingObjects(std::span<const Hash> hashes) const {
  return records_->objects().Missing(hashes);
}

absl::StatusOr<std::vector<Hash>> Master::CompleteTrees(std::span<const Hash> hashes) const {
  VMS_ASSIGN_OR_RETURN(auto known, records_->objects().CompleteTrees(hashes));
  std::vector<Hash> complete;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (known[i]) complete.push_back(hashes[i]);
  }
  return complete;
}

std::string Master::EncodeUpload(const UploadEntry& e) {
  return StrCat(EncodeBigEndian64(e.at_ms), EncodeBigEndian64(e.bytes), e.principal);
}

Master::UploadEntry Master::DecodeUpload(std::string_view value) {
  UploadEntry e;
  if (value.size() < 8 || !DecodeBigEndian64(value.substr(0, 8), &e.at_ms)) return e;
  if (value.size() >= 16 && DecodeBigEndian64(value.substr(8, 8), &e.bytes)) {
    e.principal = std::string(value.substr(16));
  }
  return e;
}

uint64_t Master::UnreferencedUploadBytes(const std::string& principal) const {
  MutexLock lock(&quota_mu_);
  auto it = unreferenced_.find(principal);
  return it == unreferenced_.end() ? 0 : it->second;
}

void Master::Unreference(const std::vector<std::string>& values) {
  MutexLock lock(&quota_mu_);
  for (const std::string& v : values) {
    UploadEntry e = DecodeUpload(v);
    auto it = unreferenced_.find(e.principal);
    if (it == unreferenced_.end()) continue;
    it->second -= std::min(it->second, e.bytes);
    if (it->second == 0) unreferenced_.erase(it);
  }
}

absl::StatusOr<IngestStats> Master::PutObjects(std::vector<StoredObject>* objects,
                                               const std::string& principal) {
  uint64_t bytes = 0;
  for (const StoredObject& o : *objects) bytes += o.data.size();
  // Checked before a byte is written: a full disk fails every write after.
  // A batch may take twice its bytes while RocksDB's log holds it too, and
  // the batches other streams are writing now count as taken already: each
  // checking alone, parallel streams overshot the reserve.
  VMS_ASSIGN_OR_RETURN(uint64_t free, FreeBytes(options_.data_dir));
  const uint64_t need = 2 * bytes;
  {
    MutexLock lock(&quota_mu_);
    const uint64_t taken = uploading_ + need;
    if (free < taken || free - taken < options_.min_free_bytes) {
      return absl::ResourceExhaustedError(
          StrCat("the master's disk is nearly full (", free >> 20, " MiB free, and uploads leave ",
                 options_.min_free_bytes >> 20,
                 " MiB for its log): nothing was stored; an admin frees space (vms gc, retire old "
                 "versions) or grows the disk, then push again"));
    }
    uploading_ += need;
  }
  struct Done {
    Master* m;
    uint64_t need;
    ~Done() {
      MutexLock lock(&m->quota_mu_);
      m->uploading_ -= need;
    }
  } done{this, need};
  if (!principal.empty()) {
    MutexLock lock(&quota_mu_);
    const uint64_t held = unreferenced_.contains(principal) ? unreferenced_[principal] : 0;
    if (held + bytes > options_.upload_quota_bytes) {
      return absl::ResourceExhaustedError(
          StrCat(principal, " has uploaded ", held >> 20,
                 " MiB that no release names yet; the quota is ", options_.upload_quota_bytes >> 20,
                 " MiB (vms-master --upload-quota). Push (commit) what was uploaded, or wait for "
                 "uploads older than a day to be collected"));
    }
  }
  const uint64_t now = static_cast<uint64_t>(options_.clock->WallMs());
  std::map<Hash, uint64_t> sizes;
  for (const StoredObject& o : *objects) sizes[o.hash] = o.data.size();
  rocksdb::ColumnFamilyHandle* uploads = records_->db()->Family(kUploadsFamily);
  uint64_t stored = 0;
  auto stats =
      records_->mutable_objects().Ingest(objects, [&](rocksdb::WriteBatch* batch, const Hash& h) {
        const uint64_t size = sizes[h];
        stored += size;
        batch->Put(uploads, h.View(), EncodeUpload({now, size, principal}));
      });
  if (stats.ok()) {
    if (!principal.empty() && stored > 0) {
      MutexLock lock(&quota_mu_);
      unreferenced_[principal] += stored;
    }
    Count(options_.metrics.objects_received, stats->stored);
    Count(options_.metrics.bytes_received, stats->stored_bytes);
  }
  return stats;
}

const std::set<std::string>& Master::LocalFamilies() {
  static const auto* local = new std::set<std::string>{kObjectsFamily,
                                                       kObjectIndexFamily,
                                                       kCompleteFamily,
                                                       kUploadsFamily,
                                                       SiteRegistry::kFamily,
                                                       AuditLog::kRefusedFamily,
                                                       AuditLog::kRefusedAppFamily};
  return *local;
}

uint64_t Master::ObjectCountEstimate() const {
  uint64_t n = 0;
  Db* db = records_->db();
  db->raw()->GetIntProperty(db->Family(kObjectsFamily), "rocksdb.estimate-num-keys", &n);
  return n;
}

uint64_t Master::group_index() const {
  MutexLock lock(&write_mu_);
  return group_index_;
}

absl::Status Master::Durable(rocksdb::WriteBatch* batch, uint64_t new_head,
                             std::span<const Hash> roots) {
  if (options_.group == nullptr) return records_->Commit(batch, new_head);
  if (group_index_ == std::numeric_limits<uint64_t>::max()) {
    return absl::ResourceExhaustedError("the master group's log has used up its indexes");
  }
  GroupEntry entry;
  entry.set_index(group_index_ + 1);
  entry.set_event_seq(new_head);
  for (const Hash& root : roots) entry.add_roots(std::string(root.View()));
  VMS_RETURN_IF_ERROR(RowsOf(*records_->db(), *batch, LocalFamilies(), &entry));
  VMS_RETURN_IF_ERROR(options_.group->Append(entry));
  records_->PutMeta(batch, kGroupIndexMeta, EncodeBigEndian64(entry.index()));
  if (absl::Status s = records_->Commit(batch, new_head); !s.ok()) {
    // In the group's log, so it happened: this node applies it again from
    // there (MasterGroup) once its store can be written.
    return absl::UnknownError(
        StrCat("the write is in the master group's log (entry ", entry.index(),
               ") but this node could not store it (", s.message(),
               "); every node applies it from the log: `vms history` shows it there"));
  }
  group_index_ = entry.index();
  return absl::OkStatus();
}

absl::Status Master::ApplyEntry(const GroupEntry& entry) {
  MutexLock write_lock(&write_mu_);
  if (entry.index() <= group_index_) return absl::OkStatus();
  if (entry.index() != group_index_ + 1) {
    return absl::FailedPreconditionError(StrCat("entry ", entry.index(),
                                                " of the group's log follows ", entry.index() - 1,
                                                ", and this node holds up to ", group_index_));
  }
  if (entry.event_seq() != 0 && entry.event_seq() != records_->head_seq() + 1) {
    return absl::DataLossError(StrCat("entry ", entry.index(), " of the group's log appends event ",
                                      entry.event_seq(), ", and this node's log ends at ",
                                      records_->head_seq()));
  }
  rocksdb::WriteBatch batch;
  for (const std::string& raw : entry.roots()) {
    VMS_ASSIGN_OR_RETURN(Hash root, Hash::FromBytes(raw));
    VMS_ASSIGN_OR_RETURN(auto closure, WalkClosure(records_->objects(), root));
    if (!closure.missing.empty()) {
      return absl::UnavailableError(StrCat(closure.missing.size(), " objects of tree ",
                                           root.Short(), " (entry ", entry.index(),
                                           ") are not held here yet"));
    }
    for (const auto& [tree, totals] : closure.newly_complete) {
      records_->objects().MarkComplete(&batch, tree, totals);
    }
  }
  VMS_RETURN_IF_ERROR(BatchOf(*records_->db(), entry, LocalFamilies(), &batch));
  records_->PutMeta(&batch, kGroupIndexMeta, EncodeBigEndian64(entry.index()));
  VMS_RETURN_IF_ERROR(records_->Commit(&batch, entry.event_seq()));
  group_index_ = entry.index();
  // Its audit entries took seqs this node's audit log must go on from.
  return audit_->Reload();
}

Master::HardStateCursor::~HardStateCursor() {
  it_.reset();
  if (snapshot_ != nullptr) db_->raw()->ReleaseSnapshot(snapshot_);
}

absl::StatusOr<std::vector<GroupRow>> Master::HardStateCursor::Next(size_t max_bytes) {
  std::vector<GroupRow> rows;
  size_t bytes = 0;
  while (family_ < families_.size() && bytes < max_bytes) {
    if (it_ == nullptr) {
      rocksdb::ReadOptions options;
      options.snapshot = snapshot_;
      it_.reset(db_->raw()->NewIterator(options, db_->Family(families_[family_])));
      it_->SeekToFirst();
    }
    if (!it_->Valid()) {
      VMS_RETURN_IF_ERROR(FromRocks(it_->status(), "read a copy of the store"));
      it_.reset();
      ++family_;
      continue;
    }
    GroupRow& row = rows.emplace_back();
    row.set_family(families_[family_]);
    row.set_key(it_->key().ToString());
    row.set_value(it_->value().ToString());
    bytes += row.key().size() + row.value().size() + 16;
    it_->Next();
  }
  return rows;
}

absl::StatusOr<std::unique_ptr<Master::HardStateCursor>> Master::CopyHardState() {
  VMS_ASSIGN_OR_RETURN(bool copying, Copying());
  if (copying) {
    return absl::UnavailableError("this node is taking a copy itself: ask another node");
  }
  auto cursor = std::make_unique<HardStateCursor>();
  cursor->db_ = records_->db();
  for (std::string& f : cursor->db_->FamilyNames()) {
    if (!LocalFamilies().contains(f)) cursor->families_.push_back(std::move(f));
  }
  cursor->snapshot_ = cursor->db_->raw()->GetSnapshot();
  rocksdb::ReadOptions options;
  options.snapshot = cursor->snapshot_;
  std::string value;
  rocksdb::Status s =
      cursor->db_->raw()->Get(options, cursor->db_->Family("meta"), kGroupIndexMeta, &value);
  if (s.ok() && !DecodeBigEndian64(value, &cursor->index_)) {
    return absl::DataLossError("the store's group log index (meta group_index) is malformed");
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read the group log index");
  return cursor;
}

absl::StatusOr<bool> Master::Copying() const {
  VMS_ASSIGN_OR_RETURN(auto copying, records_->GetMeta(kCopyingMeta));
  return copying.has_value();
}

absl::Status Master::BeginCopy() {
  MutexLock write_lock(&write_mu_);
  Db* db = records_->db();
  for (const std::string& f : db->FamilyNames()) {
    if (LocalFamilies().contains(f)) continue;
    rocksdb::WriteBatch batch;
    auto it = db->NewIterator(f);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      batch.Delete(db->Family(f), it->key());
      if (batch.GetDataSize() > (4 << 20)) {
        VMS_RETURN_IF_ERROR(db->Write(&batch, /*sync=*/false));
        batch.Clear();
      }
    }
    VMS_RETURN_IF_ERROR(FromRocks(it->status(), "clear the store for a copy"));
    VMS_RETURN_IF_ERROR(db->Write(&batch, /*sync=*/false));
  }
  rocksdb::WriteBatch batch;
  records_->PutMeta(&batch, kCopyingMeta, "1");
  VMS_RETURN_IF_ERROR(db->Write(&batch, /*sync=*/true));
  group_index_ = 0;
  return absl::OkStatus();
}

absl::Status Master::AddCopy(const std::vector<GroupRow>& rows) {
  GroupEntry entry;
  for (const GroupRow& row : rows) {
    // The copy's own marks are not taken: this store's say it is copying.
    if (row.family() == "meta" && (row.key() == kCopyingMeta || row.key() == kGroupIndexMeta)) {
      continue;
    }
    *entry.add_rows() = row;
  }
  rocksdb::WriteBatch batch;
  VMS_RETURN_IF_ERROR(BatchOf(*records_->db(), entry, LocalFamilies(), &batch));
  return records_->db()->Write(&batch, /*sync=*/false);
}

absl::Status Master::FinishCopy(uint64_t index) {
  MutexLock write_lock(&write_mu_);
  rocksdb::WriteBatch batch;
  records_->PutMeta(&batch, kGroupIndexMeta, EncodeBigEndian64(index));
  records_->DeleteMeta(&batch, kCopyingMeta);
  VMS_RETURN_IF_ERROR(records_->db()->Write(&batch, /*sync=*/true));
  group_index_ = index;
  VMS_RETURN_IF_ERROR(records_->ReloadHead());
  return audit_->Reload();
}

absl::Status Master::MarkHeld(const Hash& root) {
  VMS_ASSIGN_OR_RETURN(auto closure, WalkClosure(records_->objects(), root));
  if (!closure.missing.empty()) {
    return absl::NotFoundError(StrCat(closure.missing.size(), " objects of tree ", root.Short(),
                                      " are not held (first: ", closure.missing.front().Short(),
                                      ")"));
  }
  rocksdb::WriteBatch batch;
  for (const auto& [tree, totals] : closure.newly_complete) {
    records_->objects().MarkComplete(&batch, tree, totals);
  }
  return records_->db()->Write(&batch, /*sync=*/false);
}

Event Master::NextEvent(Event::Type type, const std::string& app, const std::string& version,
                        const Envelope& env) const {
  Event event;
  event.set_seq(records_->head_seq() + 1);
  event.set_type(type);
  event.set_app(app);
  event.set_version(version);
  *event.mutable_envelope() = env;
  return event;
}

namespace {

// /dist/APP@NAME is a version or a label, never both.
absl::Status NotALabel(const AppState& state, const std::string& app, const std::string& version) {
  for (const AppState::Pointer& p : state.pointers()) {
    if (p.label() == version) {
      return absl::InvalidArgumentError(StrCat(app, " has a label named ", version,
                                               ": push this content under another version name"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommitResult> Master::Commit(const CommitArgs& args) {
  auto result = DoCommit(args);
  if (result.ok() && (result->to_sign || args.check_only)) return result;  // nothing written
  if (!result.ok()) {
    AuditAlone(Entry(args.principal, "push", args.app, args.version), result.status());
  } else if (!result->created) {
    AuditEntry entry = Entry(args.principal, "push", args.app, args.version);
    entry.set_outcome("ok: already there, nothing written");
    AuditAlone(std::move(entry), absl::OkStatus());
  }
  return result;
}

absl::StatusOr<CommitResult> Master::DoCommit(const CommitArgs& args) {
  VMS_RETURN_IF_ERROR(ValidateAppName(args.app));
  VMS_RETURN_IF_ERROR(ValidateVersionName(args.version));
  if (args.principal.empty() || args.principal.size() > kMaxPublisherBytes) {
    return absl::InvalidArgumentError(
        StrCat("principal must be 1-", kMaxPublisherBytes, " bytes, not ", args.principal.size()));
  }
  // Checked before any work (a closure walk is costly), and again under the
  // write lock, where the app may have been created meanwhile.
  {
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(args.app));
    if (chained_ && !owners) return NoOwnershipYet(args.app, args.principal);
    VMS_RETURN_IF_ERROR(authz_.Check(args.principal, Action::kPush, args.app, owners));
  }
  if (args.message.size() > kMaxReleaseMessageBytes) {
    return absl::InvalidArgumentError(StrCat("a release message is at most ",
                                             kMaxReleaseMessageBytes, " bytes, not ",
                                             args.message.size()));
  }

  // Compares a stored release with this commit: same root is an idempotent
  // success, another root is refused because versions are immutable.
  auto same_or_refuse = [&](const Envelope& env) -> absl::StatusOr<CommitResult> {
    VMS_ASSIGN_OR_RETURN(auto existing, ParseRelease(env));
    if (existing.root() != args.root.View()) {
      auto old_root = Hash::FromBytes(existing.root());
      return absl::FailedPreconditionError(
          StrCat(args.app, " ", args.version, " already exists with different content (root ",
                 old_root.ok() ? old_root->Short() : "?", ", this push ", args.root.Short(),
                 "); versions are immutable: push this content as a new version"));
    }
    VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(args.app));
    if (state && IsRetired(*state, args.version)) {
      return absl::FailedPreconditionError(
          StrCat(args.app, " ", args.version, " was retired (`vms history ", args.app,
                 "` says when): a retired version stays retired everywhere; push this content "
                 "as a new version"));
    }
    VMS_ASSIGN_OR_RETURN(auto seq, records_->ReleaseSeq(args.app, args.version));
    return CommitResult{.created = false, .release = env, .seq = seq};
  };
  // /dist/APP@NAME is a version or a label, never both: "live" (what
  // /dist/APP follows) is no version name; the app's labels are checked
  // under the write lock below.
  if (args.version == "live") {
    return absl::InvalidArgumentError(
        "\"live\" names the pointer /dist/APP follows (/dist/APP@live), not a version: push "
        "under another version name");
  }

  VMS_ASSIGN_OR_RETURN(auto existing, records_->FindRelease(args.app, args.version));
  if (existing) return same_or_refuse(*existing);
  if (args.check_only) {
    // Before the upload: refused now rather than after every byte is sent.
    VMS_ASSIGN_OR_RETURN(auto state, records_->LoadAppState(args.app));
    if (state) VMS_RETURN_IF_ERROR(NotALabel(*state, args.app, args.version));
    return CommitResult{};
  }

  // The closure walk is the expensive part; it runs before taking write_mu_.
  // What it found present stays present unless a garbage collection swept
  // meanwhile (it holds write_mu_ to sweep): then it walks again below.
  const uint64_t sweeps = sweeps_.load();
  auto closure = WalkClosure(records_->objects(), args.root, options_.limits.dir_entries);
  if (!closure.ok()) {
    return absl::Status(
        closure.status().code(),
        StrCat("cannot release ", args.app, " ", args.version, ": ", closure.status().message()));
  }
  if (!closure->missing.empty()) {
    return absl::FailedPreconditionError(
        StrCat(closure->missing.size(), " objects of ", args.app, " ", args.version,
               " are missing on the master (first: ", closure->missing.front().Short(),
               "); push again to upload them"));
  }
  if (closure->totals.files > options_.limits.files) {
    return absl::InvalidArgumentError(
        StrCat("cannot release ", args.app, " ", args.version, ": it has ", closure->totals.files,
               " files; this master allows at most ", options_.limits.files,
               " per version (vms-master --max-files)"));
  }

  // In a master group, enough nodes hold the objects before the release
  // counts (not under write_mu_: copying a large release takes long).
  if (options_.group != nullptr) VMS_RETURN_IF_ERROR(options_.group->HoldCopies(args.root));

  Release release;
  release.set_app(args.app);
  release.set_version(args.version);
  release.set_root(std::string(args.root.View()));
  release.set_file_count(closure->totals.files);
  release.set_byte_count(closure->totals.bytes);
  release.set_created_unix_ms(options_.clock->WallMs());
  release.set_publisher(args.principal);
  release.set_message(args.message);
  Envelope env;

  uint64_t seq;
  {
    MutexLock write_lock(&write_mu_);
    // Another push of the same version may have committed while we walked.
    VMS_ASSIGN_OR_RETURN(auto raced, records_->FindRelease(args.app, args.version));
    if (raced) return same_or_refuse(*raced);

    if (sweeps_.load() != sweeps) {
      closure = WalkClosure(records_->objects(), args.root, options_.limits.dir_entries);
      if (!closure.ok()) return closure.status();
      if (!closure->missing.empty()) {
        return absl::FailedPreconditionError(
            StrCat(closure->missing.size(), " objects of ", args.app, " ", args.version,
                   " were collected as garbage while this push ran (they belonged only to "
                   "retired versions); push again to upload them"));
      }
    }
    VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(args.app));
    if (chained_ && !owners) return NoOwnershipYet(args.app, args.principal);
    VMS_RETURN_IF_ERROR(authz_.Check(args.principal, Action::kPush, args.app, owners));
    VMS_ASSIGN_OR_RETURN(auto stored_state, records_->LoadAppState(args.app));
    AppState state = stored_state.value_or(AppState());
    VMS_RETURN_IF_ERROR(NotALabel(state, args.app, args.version));
    if (chained_) {
      // The owners sign; the master checks and sequences (DESIGN.md "Trust").
      if (!chain_->ownership(args.app)) return NoOwnershipYet(args.app, args.principal);
      release.set_ownership_seq(chain_->ownership(args.app)->record.ownership_seq());
      release.set_release_seq(state.version_count() + 1);
      Envelope prepared;
      prepared.set_payload_type(std::string(kReleaseType));
      prepared.set_payload(release.SerializeAsString());
      if (!args.signed_release) return CommitResult{.to_sign = std::move(prepared)};
      VMS_ASSIGN_OR_RETURN(
          env, CheckSigned(*args.signed_release, prepared, "push", args.principal, args, {}));
      if (!release.ParseFromString(env.payload())) {
        return absl::InvalidArgumentError("the signed release does not parse");
      }
    } else {
      env = SignEnvelope(kReleaseType, release.SerializeAsString(), key_);
    }
    AddReleaseToState(release, &state);

    Event event = NextEvent(Event::RELEASE_ADDED, args.app, args.version, env);
    seq = event.seq();
    rocksdb::WriteBatch batch;
    records_->PutEvent(&batch, event);
    records_->PutRelease(&batch, release, env);
    records_->PutAppState(&batch, state);
    // The first push of an app makes the pusher its owner.
    if (!owners) PutOwners(&batch, args.app, {args.principal});
    AuditEntry entry = Entry(args.principal, "push", args.app, args.version);
    entry.set_outcome(owners ? "ok" : "ok: created the app, owned by the pusher");
    audit_->Add(&batch, std::move(entry));
    for (const auto& [tree, totals] : closure->newly_complete) {
      records_->objects().MarkComplete(&batch, tree, totals);
    }
    // Whatever this release names is no longer an unreferenced upload.
    rocksdb::ColumnFamilyHandle* uploads = records_->db()->Family(kUploadsFamily);
    std::vector<rocksdb::Slice> keys;
    for (const Hash& h : closure->present) keys.emplace_back(h.View().data(), h.View().size());
    std::vector<std::string> values;
    std::vector<rocksdb::Status> found = records_->db()->raw()->MultiGet(
        rocksdb::ReadOptions(), std::vector<rocksdb::ColumnFamilyHandle*>(keys.size(), uploads),
        keys, &values);
    std::vector<std::string> referenced;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!found[i].ok()) continue;
      batch.Delete(uploads, keys[i]);
      referenced.push_back(std::move(values[i]));
    }
    VMS_RETURN_IF_ERROR(Durable(&batch, seq, {&args.root, 1}));
    Unreference(referenced);
  }
  Count(options_.metrics.pushes);
  MasterLog()->info("release app={} version={} root={} files={} bytes={} seq={} publisher={}",
                    args.app, args.version, args.root.Short(), closure->totals.files,
                    closure->totals.bytes, seq, args.principal);
  return CommitResult{.created = true, .release = std::move(env), .seq = seq};
}

absl::StatusOr<FlipResult> Master::SetLive(const FlipArgs& args) {
  absl::Status valid = ValidateVersionName(args.version);
  absl::StatusOr<FlipResult> result = valid.ok() ? Flip(args, LiveRecord::LIVE) : valid;
  if (!result.ok()) {
    AuditAlone(Entry(args.principal, "live", args.app, args.version), result.status());
  }
  return result;
}

absl::StatusOr<FlipResult> Master::Rollback(const FlipArgs& args) {
  absl::Status valid = args.version.empty() ? absl::OkStatus() : ValidateVersionName(args.version);
  absl::StatusOr<FlipResult> result = valid.ok() ? Flip(args, LiveRecord::ROLLBACK) : valid;
  if (!result.ok()) {
    AuditAlone(Entry(args.principal, "rollback", args.app, args.version), result.status());
  }
  return result;
}

namespace {

// What is in effect for `label` at `site` ("" : the world) by the app's state.
std::string EffectiveVersion(const AppState& state, const std::string& label,
                             const std::string& site) {
  std::string world = label.empty() ? state.live_version() : "";
  for (const AppState::Pointer& p : state.pointers()) {
    if (p.label() != label) continue;
    if (!site.empty() && p.site() == site) return p.version();
    if (p.site().empty()) world = p.version();
  }
  return world;
}

std::string FlipAction(LiveRecord::Kind kind, const std::string& label) {
  if (!label.empty()) return "label";
  return kind == LiveRecord::ROLLBACK ? "rollback" : "live";
}

// The audit target: "2.0", "beta=2.0", "2.0 at ldn,ny".
std::string FlipTarget(const std::string& label, const std::string& version,
                       const std::vector<std::string>& sites) {
  std::string out = label.empty() ? version : StrCat(label, "=", version);
  if (!sites.empty()) out += StrCat(" at ", Join(sites, ","));
  return out;
}

}  // namespace

absl::StatusOr<FlipResult> Master::Flip(const FlipArgs& args, LiveRecord::Kind kind) {
  VMS_RETURN_IF_ERROR(ValidateAppName(args.app));
  if (args.principal.empty() || args.principal.size() > kMaxPublisherBytes) {
    return absl::InvalidArgumentError(
        StrCat("principal must be 1-", kMaxPublisherBytes, " bytes, not ", args.principal.size()));
  }
  const std::string label = args.label == "live" ? "" : args.label;
  if (!label.empty()) VMS_RETURN_IF_ERROR(ValidateLabel(label));
  if (!label.empty() && kind != LiveRecord::LIVE) {
    return absl::InvalidArgumentError("a label moves with `vms label`, not with rollback");
  }
  std::vector<std::string> sites = args.sites;
  std::sort(sites.begin(), sites.end());
  sites.erase(std::unique(sites.begin(), sites.end()), sites.end());
  VMS_RETURN_IF_ERROR(ValidateScope(sites));
  if (!sites.empty()) {
    std::vector<std::string> known = sites_->Names();
    for (const std::string& site : sites) {
      if (!std::binary_search(known.begin(), known.end(), site)) {
        return absl::NotFoundError(StrCat("no site named ", site,
                                          "; known sites: ", known.empty() ? "none" : Join(known)));
      }
    }
  }
  const std::string action = FlipAction(kind, label);
  MutexLock write_lock(&write_mu_);
  VMS_ASSIGN_OR_RETURN(auto loaded, records_->LoadAppState(args.app));
  if (!loaded) {
    return absl::NotFoundError(
        StrCat("no app named ", args.app, " has been pushed; `vms list` shows the apps"));
  }
  VMS_ASSIGN_OR_RETURN(auto owners, LoadOwners(args.app));
  VMS_RETURN_IF_ERROR(authz_.Check(args.principal,
                                   kind == LiveRecord::LIVE ? Action::kSetLive : Action::kRollback,
                                   args.app, owners.value_or(std::vector<std::string>())));
  AppState state = std::move(*loaded);
  std::vector<std::string> stack(state.back_stack().begin(), state.back_stack().end());
  const bool world_live = label.empty() && sites.empty();

  std::string target = args.version;
  if (kind == LiveRecord::ROLLBACK && target.empty() && !sites.empty()) {
    // A canary ends: its sites return to what the world has.
    if (state.live_version().empty()) {
      return absl::FailedPreconditionError(
          StrCat(args.app, " has no live version for the world to return ", Join(sites), " to; ",
                 "`vms rollback ", args.app, " --sites ... --to VERSION` names one"));
    }
    target = state.live_version();
  } else if (kind == LiveRecord::ROLLBACK && target.empty()) {
    if (stack.empty()) {
      return absl::FailedPreconditionError(
          state.live_version().empty()
              ? StrCat(args.app, " has no live version yet: nothing to roll back")
              : StrCat("nothing to roll back to: ", state.live_version(),
                       " is the first live version of ", args.app, "; `vms live ", args.app,
                       " VERSION` makes another one live"));
    }
    target = stack.back();
  }

  VMS_ASSIGN_OR_RETURN(auto release_env, records_->FindRelease(args.app, target));
  if (!release_env) {
    std::vector<std::string> known;
    if (auto versions = records_->ListVersions(args.app); versions.ok()) {
      for (const Envelope& env : *versions) {
        if (auto r = ParseRelease(env); r.ok()) known.push_back(r->version());
      }
    }
    return absl::NotFoundError(
        StrCat(args.app, " has no version ", target, "; its versions are: ", Join(known)));
  }
  const auto& retired = state.retired();
  if (std::find(retired.begin(), retired.end(), target) != retired.end()) {
    return absl::FailedPreconditionError(
        StrCat(args.app, " ", target, " is retired: push it again as a new version"));
  }
  if (!label.empty()) {
    // /dist/APP@LABEL must name one thing.
    VMS_ASSIGN_OR_RETURN(auto clash, records_->FindRelease(args.app, label));
    if (clash) {
      return absl::InvalidArgumentError(StrCat(args.app, " has a version named ", label,
                                               ": a label cannot be named like a version"));
    }
  }

  // Nothing to do when every site in scope already has it (and, for the
  // world, no site has anything else).
  bool unchanged = true;
  if (sites.empty()) {
    unchanged = EffectiveVersion(state, label, "") == target;
    for (const AppState::Pointer& p : state.pointers()) {
      if (p.label() == label && !p.site().empty()) unchanged = false;
    }
  } else {
    for (const std::string& site : sites) {
      if (EffectiveVersion(state, label, site) != target) unchanged = false;
    }
  }
  if (unchanged) {
    std::optional<Envelope> current;
    if (world_live) {
      VMS_ASSIGN_OR_RETURN(current, records_->CurrentLive(args.app));
    } else {
      for (const AppState::Pointer& p : state.pointers()) {
        if (p.label() == label && (p.site().empty() || p.site() == sites.front())) {
          VMS_ASSIGN_OR_RETURN(current, records_->LoadLive(args.app, p.live_seq()));
        }
      }
      if (!current && label.empty()) {
        VMS_ASSIGN_OR_RETURN(current, records_->CurrentLive(args.app));
      }
    }
    AuditEntry entry = Entry(args.principal, action, args.app, FlipTarget(label, target, sites));
    entry.set_outcome("ok: already in effect, nothing written");
    AuditAlone(std::move(entry), absl::OkStatus());
    return FlipResult{.changed = false, .record = current.value_or(Envelope())};
  }

  // A site never flips to a version it does not hold, so neither does the
  // master: every known site in scope must hold it complete first.
  VMS_ASSIGN_OR_RETURN(auto lacking,
                       sites_->Lacking(args.app, target, sites.empty() ? nullptr : &sites));
  if (!lacking.empty()) {
    return absl::FailedPreconditionError(
        StrCat(args.app, " ", target, " is not complete at every site yet: ", Join(lacking),
               "; wait for them (--wait), or `vms sites remove` a decommissioned site"));
  }

  // The back stack (the world's live pointer only): a live flip remembers
  // the version it replaces; a rollback returns to the newest remembered
  // version (or to --to's, dropping everything above it).
  if (world_live) {
    auto in_stack = std::find(stack.begin(), stack.end(), target);
    if (kind == LiveRecord::ROLLBACK && in_stack != stack.end()) {
      stack.erase(in_stack, stack.end());
    } else if (!state.live_version().empty()) {
      stack.push_back(state.live_version());
      if (stack.size() > kBackStackLimit) stack.erase(stack.begin());
    }
  }

  VMS_ASSIGN_OR_RETURN(auto release, ParseRelease(*release_env));
  if (chained_ && !chain_->ownership(args.app)) return NoOwnershipYet(args.app, args.principal);
  if (state.live_seq() == std::numeric_limits<uint64_t>::max()) {
    return absl::ResourceExhaustedError(StrCat(args.app, " has used up its live_seq"));
  }
  LiveRecord record;
  record.set_app(args.app);
  record.set_version(target);
  record.set_root(release.root());
  record.set_live_seq(state.live_seq() + 1);
  record.set_previous_version(EffectiveVersion(state, label, sites.empty() ? "" : sites.front()));
  record.set_issued_unix_ms(options_.clock->WallMs());
  record.set_issuer(args.principal);
  record.set_kind(kind);
  for (const std::string& site : sites) record.add_sites(site);
  record.set_label(label);
  Envelope to_sign;
  VMS_ASSIGN_OR_RETURN(
      auto signed_env,
      SignLive(args, kind == LiveRecord::LIVE ? "live" : "rollback", &record, &to_sign));
  if (!signed_env) return FlipResult{.to_sign = std::move(to_sign)};
  Envelope env = *std::move(signed_env);

  AddLiveToState(record, &state);
  state.clear_back_stack();
  for (std::string& v : stack) state.add_back_stack(std::move(v));

  AuditEntry entry = Entry(args.principal, action, args.app, FlipTarget(label, target, sites));
  entry.set_outcome("ok");
  VMS_ASSIGN_OR_RETURN(const uint64_t seq, WriteLive(record, env, state, std::move(entry)));
  Count(options_.metrics.flips);
  MasterLog()->info("{} app={} version={} previous={} scope={} live_seq={} seq={} issuer={}",
                    action, args.app, target, record.previous_version(), ScopeText(record),
                    record.live_seq(), seq, args.principal);
  return FlipResult{.changed = true, .record = std::move(env), .seq = seq};
}

absl::StatusOr<std::optional<Envelope>> Master::SignLive(const FlipArgs& args,
                                                         const std::string& action,
                                                         LiveRecord* record, Envelope* to_sign) {
  if (!chained_) return SignEnvelope(kLiveType, record->SerializeAsString(), key_);
  record->set_ownership_seq(chain_->ownership(record->app())->record.ownership_seq());
  Envelope prepared;
  prepared.set_payload_type(std::string(kLiveType));
  prepared.set_payload(record->SerializeAsString());
  if (!args.signed_record) {
    *to_sign = std::move(prepared);
    return std::nullopt;
  }
  VMS_ASSIGN_OR_RETURN(
      auto env, CheckSigned(*args.signed_record, prepared, action, args.principal, {}, args));
  if (!record->ParseFromString(env.payload())) {
    return absl::InternalError("a checked live record does not parse");
  }
  return env;
}

absl::StatusOr<uint64_t> Master::WriteLive(const LiveRecord& record, const Envelope& env,
                                           const AppState& state, AuditEntry entry) {
  Event event = NextEvent(Event::LIVE_CHANGED, record.app(), record.version(), env);
  rocksdb::WriteBatch batch;
  records_->PutEvent(&batch, event);
  records_->PutLive(&batch, record, env);
  records_->PutAppState(&batch, state);
  audit_->Add(&batch, std::move(entry));
  VMS_RETURN_IF_ERROR(Durable(&batch, event.seq()));
  return event.seq();
}

}  // namespace vms
