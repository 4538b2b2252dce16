#include "server/group_entry.h"

#include "core/strings.h"

namespace vms {

namespace {

class RowCollector : public rocksdb::WriteBatch::Handler {
 public:
  RowCollector(const Db& db, const std::set<std::string>& local, GroupEntry* entry)
      : db_(db), local_(local), entry_(entry) {}

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return Add(family, key, &value);
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    return Add(family, key, nullptr);
  }
  rocksdb::Status SingleDeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    return Add(family, key, nullptr);
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::InvalidArgument("a merge cannot be carried by the group's log");
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::InvalidArgument("a range delete cannot be carried by the group's log");
  }

 private:
  rocksdb::Status Add(uint32_t id, const rocksdb::Slice& key, const rocksdb::Slice* value) {
    std::string family = db_.FamilyName(id);
    if (family.empty()) {
      return rocksdb::Status::InvalidArgument(StrCat("a write to unknown column family ", id));
    }
    if (local_.contains(family)) return rocksdb::Status::OK();
    GroupRow* row = entry_->add_rows();
    row->set_family(std::move(family));
    row->set_key(key.data(), key.size());
    if (value == nullptr) {
      row->set_deleted(true);
    } else {
      row->set_value(value->data(), value->size());
    }
    return rocksdb::Status::OK();
  }

  const Db& db_;
  const std::set<std::string>& local_;
  GroupEntry* entry_;
};

}  // namespace

absl::Status RowsOf(const Db& db, const rocksdb::WriteBatch& batch,
                    const std::set<std::string>& local, GroupEntry* entry) {
  RowCollector collector(db, local, entry);
  return FromRocks(batch.Iterate(&collector), "put a write into the group's log");
}

absl::Status BatchOf(const Db& db, const GroupEntry& entry, const std::set<std::string>& local,
                     rocksdb::WriteBatch* batch) {
  for (const GroupRow& row : entry.rows()) {
    rocksdb::ColumnFamilyHandle* family = db.FindFamily(row.family());
    if (family == nullptr || local.contains(row.family())) {
      return absl::DataLossError(StrCat(
          "entry ", entry.index(), " of the group's log writes column family \"", row.family(),
          "\", which this node ",
          family == nullptr ? "does not have (is it an older vms-master?)" : "keeps for itself"));
    }
    rocksdb::Status s = row.deleted() ? batch->Delete(family, row.key())
                                      : batch->Put(family, row.key(), row.value());
    if (!s.ok()) return FromRocks(s, "apply an entry of the group's log");
  }
  return absl::OkStatus();
}

}  // namespace vms
