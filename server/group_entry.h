// A write batch as rows and back: how the leader of a master group puts one
// write of hard state into the group's log, and how every node applies it
// (server/master_group.h). Rows name their column family, so that nodes
// whose stores were made at other times (family ids differ) agree.
#ifndef VMS_SERVER_GROUP_ENTRY_H_
#define VMS_SERVER_GROUP_ENTRY_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "core/db.h"
#include "group_records.pb.h"

namespace vms {

// Adds the puts and deletes of `batch` to `entry`'s rows, but none of a
// family in `local` (a node's own: objects, uploads, soft state).
// InvalidArgument for an operation a row cannot carry (a merge, a range).
absl::Status RowsOf(const Db& db, const rocksdb::WriteBatch& batch,
                    const std::set<std::string>& local, GroupEntry* entry);

// Puts `entry`'s rows into `batch`. DataLoss naming a family this store does
// not have, or one of `local` (no leader sends those).
absl::Status BatchOf(const Db& db, const GroupEntry& entry, const std::set<std::string>& local,
                     rocksdb::WriteBatch* batch);

}  // namespace vms

#endif  // VMS_SERVER_GROUP_ENTRY_H_
