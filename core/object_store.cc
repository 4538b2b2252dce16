#include "core/object_store.h"

#include "core/strings.h"
#include "core/coding.h"

namespace vms {

absl::StatusOr<std::vector<std::optional<uint64_t>>> ObjectStore::Sizes(
    std::span<const Hash> hashes) const {
  std::vector<rocksdb::Slice> keys;
  keys.reserve(hashes.size());
  for (const Hash& h : hashes) keys.emplace_back(reinterpret_cast<const char*>(h.bytes.data()),
                                                 Hash::kSize);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->raw()->MultiGet(rocksdb::ReadOptions(), db_->Family(kObjectIndexFamily), keys.size(),
                       keys.data(), values.data(), statuses.data());
  std::vector<std::optional<uint64_t>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "read object index");
    std::string_view v = values[i].ToStringView();
    uint64_t size;
    if (!GetVarint(&v, &size)) {
      return absl::DataLossError(StrCat("corrupt index entry for ", hashes[i].Short()));
    }
    out[i] = size;
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> ObjectStore::Missing(std::span<const Hash> hashes) const {
  auto sizes = Sizes(hashes);
  if (!sizes.ok()) return sizes.status();
  std::vector<Hash> missing;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (!(*sizes)[i]) missing.push_back(hashes[i]);
  }
  return missing;
}

absl::StatusOr<IngestStats> ObjectStore::Ingest(std::vector<StoredObject>* objects) {
  std::vector<Hash> hashes;
  hashes.reserve(objects->size());
  for (const StoredObject& o : *objects) hashes.push_back(o.hash);
  auto sizes = Sizes(hashes);
  if (!sizes.ok()) return sizes.status();

  IngestStats stats;
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < objects->size(); ++i) {
    StoredObject& o = (*objects)[i];
    if ((*sizes)[i]) {
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
    std::string index;
    PutVarint(&index, o.raw_size);
    batch.Put(db_->Family(kObjectsFamily), key, value);
    batch.Put(db_->Family(kObjectIndexFamily), key, index);
    ++stats.stored;
    stats.stored_bytes += o.data.size();
    (*sizes)[i] = o.raw_size;  // a duplicate later in the same batch is "present"
  }
  if (stats.stored > 0) {
    if (absl::Status s = db_->Write(&batch, /*sync=*/false); !s.ok()) return s;
  }
  return stats;
}

absl::StatusOr<StoredObject> ObjectStore::GetEncoded(const Hash& hash) const {
  auto value = db_->Get(kObjectsFamily, hash.View());
  if (!value.ok()) return value.status();
  if (!*value) return absl::NotFoundError(StrCat("object ", hash.Short(), " not found"));
  auto index = db_->Get(kObjectIndexFamily, hash.View());
  if (!index.ok()) return index.status();
  StoredObject o;
  o.hash = hash;
  std::string_view iv = index->value_or("");
  if ((*value)->empty() || !GetVarint(&iv, &o.raw_size)) {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt"));
  }
  auto codec = CodecFromWire(static_cast<uint8_t>((**value)[0]));
  if (!codec.ok()) {
    return absl::DataLossError(StrCat("object ", hash.Short(), " is stored corrupt"));
  }
  o.codec = *codec;
  o.data = (*value)->substr(1);
  return o;
}

absl::StatusOr<std::string> ObjectStore::GetRaw(const Hash& hash) const {
  auto o = GetEncoded(hash);
  if (!o.ok()) return o.status();
  return Decode(hash, o->codec, o->raw_size, o->data);
}

}  // namespace vms
