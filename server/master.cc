#include "server/master.h"

#include <algorithm>
#include <chrono>

#include "core/strings.h"
#include "core/closure.h"
#include "core/coding.h"
#include "core/envelope.h"
#include "core/file_util.h"
#include "core/names.h"
#include "spdlog/spdlog.h"

namespace vms {

namespace {

constexpr char kReleases[] = "releases";  // app \0 version -> Envelope(Release)
constexpr char kEvents[] = "events";      // big-endian seq -> Event
constexpr char kApps[] = "apps";          // app -> AppState
constexpr char kLive[] = "live";          // app \0 big-endian live_seq -> Envelope(LiveRecord)
constexpr char kMeta[] = "meta";          // "head_seq" -> big-endian seq
constexpr char kHeadSeqKey[] = "head_seq";

std::string ReleaseKey(std::string_view app, std::string_view version) {
  return StrCat(app, std::string_view("\0", 1), version);
}

std::string LiveKey(std::string_view app, uint64_t seq) {
  return StrCat(app, std::string_view("\0", 1), EncodeBigEndian64(seq));
}

// How many earlier live versions successive rollbacks can return to.
constexpr int kBackStackLimit = 100;

std::shared_ptr<spdlog::logger> Log() {
  static auto logger = [] {
    auto l = spdlog::get("master");
    return l ? l : spdlog::default_logger()->clone("master");
  }();
  return logger;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Master>> Master::Open(MasterOptions options) {
  if (!options.now_ms) options.now_ms = WallClockMs;
  if (absl::Status s = MakeDirs(options.data_dir); !s.ok()) return s;
  auto key = SigningKey::LoadOrCreate(options.data_dir, "master");
  if (!key.ok()) return key.status();
  std::vector<std::string> families = ObjectStore::Families();
  families.insert(families.end(), {kReleases, kEvents, kApps, kLive, kMeta});
  auto db = Db::Open(options.data_dir + "/db", families);
  if (!db.ok()) return db.status();
  auto head = (*db)->Get(kMeta, kHeadSeqKey);
  if (!head.ok()) return head.status();
  uint64_t head_seq = 0;
  if (*head && !DecodeBigEndian64(**head, &head_seq)) {
    return absl::DataLossError("corrupt head_seq in the master database");
  }
  return std::unique_ptr<Master>(
      new Master(std::move(options), std::move(*db), std::move(*key), head_seq));
}

Master::Master(MasterOptions options, std::unique_ptr<Db> db, SigningKey key, uint64_t head)
    : options_(std::move(options)),
      db_(std::move(db)),
      objects_(db_.get()),
      key_(std::move(key)),
      head_seq_(head) {}

absl::StatusOr<std::vector<Hash>> Master::MissingObjects(std::span<const Hash> hashes) const {
  return objects_.Missing(hashes);
}

absl::StatusOr<std::vector<Hash>> Master::CompleteTrees(std::span<const Hash> hashes) const {
  auto known = objects_.CompleteTrees(hashes);
  if (!known.ok()) return known.status();
  std::vector<Hash> complete;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if ((*known)[i]) complete.push_back(hashes[i]);
  }
  return complete;
}

absl::StatusOr<IngestStats> Master::PutObjects(std::vector<StoredObject>* objects) {
  return objects_.Ingest(objects);
}

absl::StatusOr<std::optional<Envelope>> Master::FindRelease(const std::string& app,
                                                            const std::string& version) const {
  auto value = db_->Get(kReleases, ReleaseKey(app, version));
  if (!value.ok()) return value.status();
  if (!*value) return std::nullopt;
  Envelope env;
  if (!env.ParseFromString(**value)) {
    return absl::DataLossError(StrCat("stored release ", app, " ", version, " is corrupt"));
  }
  return env;
}

absl::StatusOr<CommitResult> Master::Commit(const CommitArgs& args) {
  if (absl::Status s = ValidateAppName(args.app); !s.ok()) return s;
  if (absl::Status s = ValidateVersionName(args.version); !s.ok()) return s;
  if (args.publisher.empty() || args.publisher.size() > 256) {
    return absl::InvalidArgumentError("publisher must be 1-256 bytes");
  }
  if (args.message.size() > 64 * 1024) {
    return absl::InvalidArgumentError("a release message is at most 64 KiB");
  }

  // Compares a stored release with this commit: same root is an idempotent
  // success, another root is refused because versions are immutable.
  auto same_or_refuse = [&](const Envelope& env) -> absl::StatusOr<CommitResult> {
    auto existing = ParseRelease(env);
    if (!existing.ok()) return existing.status();
    if (existing->root() != args.root.View()) {
      auto old_root = Hash::FromBytes(existing->root());
      return absl::FailedPreconditionError(StrCat(
          args.app, " ", args.version, " already exists with different content (root ",
          old_root.ok() ? old_root->Short() : "?", ", this push ", args.root.Short(),
          "); versions are immutable: push this content as a new version"));
    }
    return CommitResult{.created = false, .release = env};
  };

  auto existing = FindRelease(args.app, args.version);
  if (!existing.ok()) return existing.status();
  if (*existing) return same_or_refuse(**existing);

  // The closure walk is the expensive part; it runs before taking write_mu_.
  // Objects are never deleted, so what it found present stays present.
  auto closure = WalkClosure(objects_, args.root);
  if (!closure.ok()) return closure.status();
  if (!closure->missing.empty()) {
    return absl::FailedPreconditionError(StrCat(
        closure->missing.size(), " objects of ", args.app, " ", args.version,
        " are missing on the master (first: ", closure->missing.front().Short(),
        "); push again to upload them"));
  }

  Release release;
  release.set_app(args.app);
  release.set_version(args.version);
  release.set_root(std::string(args.root.View()));
  release.set_file_count(closure->totals.files);
  release.set_byte_count(closure->totals.bytes);
  release.set_created_unix_ms(options_.now_ms());
  release.set_publisher(args.publisher);
  release.set_message(args.message);
  Envelope env = SignEnvelope(kReleaseType, release.SerializeAsString(), key_);

  uint64_t seq;
  {
    std::lock_guard write_lock(write_mu_);
    // Another push of the same version may have committed while we walked.
    auto raced = FindRelease(args.app, args.version);
    if (!raced.ok()) return raced.status();
    if (*raced) return same_or_refuse(**raced);

    auto stored_state = LoadAppState(args.app);
    if (!stored_state.ok()) return stored_state.status();
    AppState state = stored_state->value_or(AppState());
    state.set_app(args.app);
    state.set_version_count(state.version_count() + 1);
    state.set_latest_version(args.version);
    state.set_latest_created_unix_ms(release.created_unix_ms());

    rocksdb::WriteBatch batch;
    seq = AppendEvent(&batch, Event::RELEASE_ADDED, args.app, args.version, env);
    batch.Put(db_->Family(kReleases), ReleaseKey(args.app, args.version), env.SerializeAsString());
    batch.Put(db_->Family(kApps), args.app, state.SerializeAsString());
    for (const auto& [tree, totals] : closure->newly_complete) {
      objects_.MarkComplete(&batch, tree, totals);
    }
    if (absl::Status s = Publish(&batch, seq); !s.ok()) return s;
  }
  Log()->info("release app={} version={} root={} files={} bytes={} seq={} publisher={}", args.app,
              args.version, args.root.Short(), closure->totals.files, closure->totals.bytes, seq,
              args.publisher);
  return CommitResult{.created = true, .release = std::move(env), .seq = seq};
}

absl::StatusOr<std::optional<AppState>> Master::LoadAppState(const std::string& app) const {
  auto value = db_->Get(kApps, app);
  if (!value.ok()) return value.status();
  if (!*value) return std::nullopt;
  AppState state;
  if (!state.ParseFromString(**value)) {
    return absl::DataLossError(StrCat("stored state of app ", app, " is corrupt"));
  }
  return state;
}

uint64_t Master::AppendEvent(rocksdb::WriteBatch* batch, Event::Type type, const std::string& app,
                             const std::string& version, const Envelope& env) {
  uint64_t seq = head_seq() + 1;
  Event event;
  event.set_seq(seq);
  event.set_type(type);
  event.set_app(app);
  event.set_version(version);
  *event.mutable_envelope() = env;
  batch->Put(db_->Family(kEvents), EncodeBigEndian64(seq), event.SerializeAsString());
  batch->Put(db_->Family(kMeta), kHeadSeqKey, EncodeBigEndian64(seq));
  return seq;
}

absl::Status Master::Publish(rocksdb::WriteBatch* batch, uint64_t seq) {
  if (absl::Status s = db_->Write(batch, /*sync=*/true); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    head_seq_ = seq;
  }
  Notify(seq);
  return absl::OkStatus();
}

absl::StatusOr<FlipResult> Master::SetLive(const FlipArgs& args) {
  if (absl::Status s = ValidateVersionName(args.version); !s.ok()) return s;
  return Flip(args, LiveRecord::LIVE);
}

absl::StatusOr<FlipResult> Master::Rollback(const FlipArgs& args) {
  if (!args.version.empty()) {
    if (absl::Status s = ValidateVersionName(args.version); !s.ok()) return s;
  }
  return Flip(args, LiveRecord::ROLLBACK);
}

absl::StatusOr<FlipResult> Master::Flip(const FlipArgs& args, LiveRecord::Kind kind) {
  if (absl::Status s = ValidateAppName(args.app); !s.ok()) return s;
  if (args.issuer.empty() || args.issuer.size() > 256) {
    return absl::InvalidArgumentError("issuer must be 1-256 bytes");
  }
  std::lock_guard write_lock(write_mu_);
  auto loaded = LoadAppState(args.app);
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) {
    return absl::NotFoundError(
        StrCat("no app named ", args.app, " has been pushed; `vms list` shows the apps"));
  }
  AppState state = std::move(**loaded);
  std::vector<std::string> stack(state.back_stack().begin(), state.back_stack().end());

  std::string target = args.version;
  if (kind == LiveRecord::ROLLBACK && target.empty()) {
    if (stack.empty()) {
      return absl::FailedPreconditionError(
          state.live_version().empty()
              ? StrCat(args.app, " has no live version yet: nothing to roll back")
              : StrCat("nothing to roll back to: ", state.live_version(),
                       " is the first live version of ", args.app,
                       "; `vms live ", args.app, " VERSION` makes another one live"));
    }
    target = stack.back();
  }

  auto release_env = FindRelease(args.app, target);
  if (!release_env.ok()) return release_env.status();
  if (!*release_env) {
    auto versions = ListVersions(args.app);
    std::string known;
    if (versions.ok()) {
      for (const Envelope& env : *versions) {
        if (auto r = ParseRelease(env); r.ok()) known += StrCat(known.empty() ? "" : ", ", r->version());
      }
    }
    return absl::NotFoundError(StrCat(args.app, " has no version ", target,
                                      "; its versions are: ", known));
  }

  if (state.live_version() == target) {
    FlipResult unchanged;
    auto current = db_->Get(kLive, LiveKey(args.app, state.live_seq()));
    if (!current.ok()) return current.status();
    if (*current && !unchanged.record.ParseFromString(**current)) {
      return absl::DataLossError(StrCat("stored live record of ", args.app, " is corrupt"));
    }
    return unchanged;
  }

  // The back stack: a live flip remembers the version it replaces; a
  // rollback returns to the newest remembered version (or to --to's, dropping
  // everything above it).
  auto in_stack = std::find(stack.begin(), stack.end(), target);
  if (kind == LiveRecord::ROLLBACK && in_stack != stack.end()) {
    stack.erase(in_stack, stack.end());
  } else if (!state.live_version().empty()) {
    stack.push_back(state.live_version());
    if (stack.size() > kBackStackLimit) stack.erase(stack.begin());
  }

  auto release = ParseRelease(**release_env);
  if (!release.ok()) return release.status();
  LiveRecord record;
  record.set_app(args.app);
  record.set_version(target);
  record.set_root(release->root());
  record.set_live_seq(state.live_seq() + 1);
  record.set_previous_version(state.live_version());
  record.set_issued_unix_ms(options_.now_ms());
  record.set_issuer(args.issuer);
  record.set_kind(kind);
  Envelope env = SignEnvelope(kLiveType, record.SerializeAsString(), key_);

  state.set_live_seq(record.live_seq());
  state.set_live_version(target);
  state.set_live_since_unix_ms(record.issued_unix_ms());
  state.clear_back_stack();
  for (std::string& v : stack) state.add_back_stack(std::move(v));

  rocksdb::WriteBatch batch;
  uint64_t seq = AppendEvent(&batch, Event::LIVE_CHANGED, args.app, target, env);
  batch.Put(db_->Family(kLive), LiveKey(args.app, record.live_seq()), env.SerializeAsString());
  batch.Put(db_->Family(kApps), args.app, state.SerializeAsString());
  if (absl::Status s = Publish(&batch, seq); !s.ok()) return s;
  Log()->info("{} app={} version={} previous={} live_seq={} seq={} issuer={}",
              kind == LiveRecord::LIVE ? "live" : "rollback", args.app, target,
              record.previous_version(), record.live_seq(), seq, args.issuer);
  return FlipResult{.changed = true, .record = std::move(env), .seq = seq};
}

absl::StatusOr<std::vector<Envelope>> Master::LiveHistory(std::string_view app) const {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return s;
  std::string prefix = ReleaseKey(app, "");
  std::vector<Envelope> out;
  auto it = db_->NewIterator(kLive);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Envelope env;
    if (!env.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(StrCat("stored live record of ", app, " is corrupt"));
    }
    out.push_back(std::move(env));
  }
  if (absl::Status s = FromRocks(it->status(), "read live history"); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<AppState>> Master::ListApps() const {
  std::vector<AppState> apps;
  auto it = db_->NewIterator(kApps);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AppState state;
    if (!state.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(StrCat("stored state of app ", it->key().ToString(),
                                              " is corrupt"));
    }
    apps.push_back(std::move(state));
  }
  if (absl::Status s = FromRocks(it->status(), "list apps"); !s.ok()) return s;
  return apps;
}

absl::StatusOr<std::vector<Envelope>> Master::ListVersions(std::string_view app) const {
  if (absl::Status s = ValidateAppName(app); !s.ok()) return s;
  std::string prefix = ReleaseKey(app, "");
  std::vector<std::pair<int64_t, Envelope>> found;
  auto it = db_->NewIterator(kReleases);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Envelope env;
    if (!env.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(StrCat("stored release ", it->key().ToString(),
                                              " is corrupt"));
    }
    auto release = ParseRelease(env);
    if (!release.ok()) return release.status();
    found.emplace_back(release->created_unix_ms(), std::move(env));
  }
  if (absl::Status s = FromRocks(it->status(), "list versions"); !s.ok()) return s;
  if (found.empty()) {
    return absl::NotFoundError(
        StrCat("no app named ", app, " has been pushed; `vms list` shows the apps"));
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Envelope> out;
  for (auto& [created, env] : found) out.push_back(std::move(env));
  return out;
}

absl::StatusOr<std::vector<Event>> Master::ReadEvents(uint64_t after_seq, size_t limit) const {
  std::vector<Event> events;
  auto it = db_->NewIterator(kEvents);
  for (it->Seek(EncodeBigEndian64(after_seq + 1)); it->Valid() && events.size() < limit;
       it->Next()) {
    Event event;
    if (!event.ParseFromString(it->value().ToString())) {
      return absl::DataLossError(StrCat("stored event is corrupt at ",
                                              it->key().ToString()));
    }
    events.push_back(std::move(event));
  }
  if (absl::Status s = FromRocks(it->status(), "read events"); !s.ok()) return s;
  return events;
}

uint64_t Master::head_seq() const {
  std::lock_guard lock(mu_);
  return head_seq_;
}

uint64_t Master::Subscribe(std::function<void(uint64_t)> fn) {
  std::lock_guard lock(subscribers_mu_);
  uint64_t id = next_subscriber_++;
  subscribers_[id] = std::move(fn);
  return id;
}

void Master::Unsubscribe(uint64_t id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

void Master::Notify(uint64_t seq) {
  std::lock_guard lock(subscribers_mu_);
  for (auto& [id, fn] : subscribers_) fn(seq);
}

}  // namespace vms
