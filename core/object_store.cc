#include "core/object_store.h"

#include <unordered_set>

#include "core/coding.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

std::vector<std::string> ObjectStore::Families() {
  return {kObjectsFamily, kObjectIndexFamily, kCompleteFamily};
}

namespace {

// An index entry: varint(raw size), then, for a compressed object, the
// SHA-256 of its stored bytes. A server checks what it is about to send
// against that: a hash over the compressed bytes, with no decompression,
// instead of decoding the object and hashing all of its raw bytes.
std::string EncodeIndex(uint64_t raw_size, const std::optional<Hash>& stored_digest) {
  std::string out;
  PutVarint(&out, raw_size);
  if (stored_digest) out.append(stored_digest->View());
  return out;
}

// Consumes the whole entry; false if it is malformed. Entries written before
// the digest existed have none (*digest stays empty).
bool DecodeIndex(std::string_view* in, uint64_t* raw_size, std::optional<Hash>* digest) {
  if (!GetVarint(in, raw_size)) return false;
  if (in->empty()) return true;
  if (in->size() != Hash::kSize) return false;
  if (digest != nullptr) *digest = Hash::FromBytes(*in).value();
  in->remove_prefix(Hash::kSize);
  return true;
}

// MultiGet of hash keys in `family`, parsing each value found with `parse`
// (false: corrupt).
template <typename T, typename Parse>
absl::StatusOr<std::vector<std::optional<T>>> MultiGetHashes(const Db& db, const char* family,
                                                             std::span<const Hash> hashes,
                                                             Parse parse) {
  std::vector<rocksdb::Slice> keys;
  keys.reserve(hashes.size());
  for (const Hash& h : hashes) {
    keys.emplace_back(reinterpret_cast<const char*>(h.bytes.data()), Hash::kSize);
  }
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db.raw()->MultiGet(rocksdb::ReadOptions(), db.Family(family), keys.size(), keys.data(),
                     values.data(), statuses.data());
  std::vector<std::optional<T>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], StrCat("read ", family));
    std::string_view v = values[i].ToStringView();
    T parsed;
    if (!parse(&v, &parsed) || !v.empty()) {
      return absl::DataLossError(StrCat("corrupt ", family, " entry for ", hashes[i].Short()));
    }
    out[i] = parsed;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::optional<uint64_t>>> ObjectStore::Sizes(
    std::span<const Hash> hashes) const {
  return MultiGetHashes<uint64_t>(
      *db_, kObjectIndexFamily, hashes,
      [](std::string_view* in, uint64_t* v) { return DecodeIndex(in, v, nullptr); });
}

absl::StatusOr<std::vector<std::optional<TreeTotals>>> ObjectStore::CompleteTrees(
    std::span<const Hash> hashes) const {
  return MultiGetHashes<TreeTotals>(*db_, kCompleteFamily, hashes,
                                    [](std::string_view* in, TreeTotals* t) {
                                      return GetVarint(in, &t->files) && GetVarint(in, &t->bytes) &&
                                             GetVarint(in, &t->dirs) && GetVarint(in, &t->symlinks);
                                    });
}

void ObjectStore::MarkComplete(rocksdb::WriteBatch* batch, const Hash& tree,
                               const TreeTotals& totals) const {
  std::string value;
  PutVarint(&value, totals.files);
  PutVarint(&value, totals.bytes);
  PutVarint(&value, totals.dirs);
  PutVarint(&value, totals.symlinks);
  batch->Put(db_->Family(kCompleteFamily), tree.View(), value);
}

absl::StatusOr<std::vector<Hash>> ObjectStore::Missing(std::span<const Hash> hashes) const {
  VMS_ASSIGN_OR_RETURN(auto sizes, Sizes(hashes));
  std::vector<Hash> missing;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (!sizes[i]) missing.push_back(hashes[i]);
  }
  return missing;
}

absl::StatusOr<IngestStats> ObjectStore::Ingest(std::vector<StoredObject>* objects,
                                                const OnNewObject& on_new) {
  std::vector<Hash> hashes;
  hashes.reserve(objects->size());
  for (const StoredObject& o : *objects) hashes.push_back(o.hash);
  VMS_ASSIGN_OR_RETURN(auto sizes, Sizes(hashes));

  IngestStats stats;
  rocksdb::WriteBatch batch;
  std::unordered_set<Hash, HashHasher> added;  // a duplicate later in the batch is "present"
  for (size_t i = 0; i < objects->size(); ++i) {
    StoredObject& o = (*objects)[i];
    if (sizes[i] || !added.insert(o.hash).second) {
      ++stats.present;
      continue;
    }
    // Decode only to check: what is stored is the encoded form as received.
    if (auto raw = Decode(o.hash, o.codec, o.raw_size, o.data); !raw.ok()) return raw.status();
    std::string key(o.hash.View());
    std::string value;
    value.reserve(1 + o.data.size());
    value.push_back(static_cast<char>(o.codec));
    value.append(o.data);
    std::string index = EncodeIndex(
        o.raw_size, o.codec == Codec::kRaw ? std::nullopt : std::optional<Hash>(Sha256(o.data)));
    batch.Put(db_->Family(kObjectsFamily), key, value);
    batch.Put(db_->Family(kObjectIndexFamily), key, index);
    if (on_new) on_new(&batch, o.hash);
    ++stats.stored;
    stats.stored_bytes += o.data.size();
  }
  if (stats.stored > 0) {
    VMS_RETURN_IF_ERROR(db_->Write(&batch, /*sync=*/false));
  }
  return stats;
}

absl::StatusOr<StoredObject> ObjectStore::GetEncoded(const Hash& hash) const {
  return Load(hash, nullptr);
}

absl::StatusOr<StoredObject> ObjectStore::Load(const Hash& hash,
                                               std::optional<Hash>* stored_digest) const {
  VMS_ASSIGN_OR_RETURN(auto value, db_->Get(kObjectsFamily, hash.View()));
  if (!value) return absl::NotFoundError(StrCat("object ", hash.Short(), " not found"));
  VMS_ASSIGN_OR_RETURN(auto index, db_->Get(kObjectIndexFamily, hash.View()));
  StoredObject o;
  o.hash = hash;
  const std::string index_value = index.value_or("");
  std::string_view iv = index_value;
  if (value->empty() || !DecodeIndex(&iv, &o.raw_size, stored_digest)) {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt"));
  }
  auto codec = CodecFromWire(static_cast<uint8_t>((*value)[0]));
  if (!codec.ok()) {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt"));
  }
  o.codec = *codec;
  o.data = value->substr(1);
  return o;
}

absl::StatusOr<StoredObject> ObjectStore::GetVerified(const Hash& hash) const {
  std::optional<Hash> stored_digest;
  auto o = Load(hash, &stored_digest);
  if (!o.ok()) return o.status();
  if (o->codec != Codec::kRaw && stored_digest) {
    // The bytes are those that decoded to `hash` at Ingest (and still say
    // the size they decode to): checked without decoding them again.
    if (Sha256(o->data) != *stored_digest || EncodedRawSize(o->codec, o->data) != o->raw_size) {
      return absl::DataLossError(
          StrCat("object ", hash.Short(), " does not match its hash (corrupt or altered)"));
    }
    return o;
  }
  if (auto raw = Decode(hash, o->codec, o->raw_size, o->data); !raw.ok()) return raw.status();
  return o;
}

absl::Status ObjectStore::Remove(const Hash& hash) {
  rocksdb::WriteBatch batch;
  batch.Delete(db_->Family(kObjectsFamily), hash.View());
  batch.Delete(db_->Family(kObjectIndexFamily), hash.View());
  // Which marks cover the object is unknown; they are only a shortcut.
  std::string first(Hash::kSize, '\0'), last(Hash::kSize, '\xff');
  batch.DeleteRange(db_->Family(kCompleteFamily), first, last);
  batch.Delete(db_->Family(kCompleteFamily), last);
  return db_->Write(&batch, /*sync=*/true);
}

absl::StatusOr<std::string> ObjectStore::GetRaw(const Hash& hash) const {
  VMS_ASSIGN_OR_RETURN(auto o, GetEncoded(hash));
  return Decode(hash, o.codec, o.raw_size, o.data);
}

}  // namespace vms
