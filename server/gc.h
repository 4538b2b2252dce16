// Garbage collection of a store's objects (../shared/DESIGN.md,
// "Lifecycle"): mark every object reachable from a release that is not
// retired, sweep every other one. The master and every replica run it on
// their RecordStore.
//
// Safe against concurrent writers in two phases: the mark and the list of
// candidates are made with no lock; then, holding the lock that keeps the
// store's writers out (GcOptions::exclusive: the master's commits, a
// replica's applies), releases recorded meanwhile are marked too and the
// rest goes in synced batches of kSweepSlice objects (ObjectStore::Sweep),
// the lock taken again for each, so that a writer waits for one batch at
// most; `keep` (uploads for a commit in progress) was asked before. The
// space comes back after, with no lock held (ObjectStore::Reclaim). A
// commit whose closure walk raced a batch walks again (Master::Commit).
// A tree of a kept release
// that cannot be read stops the collection before anything is removed: a
// crash or an error never loses anything still referenced.
#ifndef VMS_SERVER_GC_H_
#define VMS_SERVER_GC_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hash.h"
#include "server/record_store.h"

namespace vms {

// Objects swept per hold of the writers' lock.
inline constexpr size_t kSweepSlice = 1024;

struct GcOptions {
  bool dry_run = false;
  // Unreferenced objects to leave (the master's recent uploads); may be
  // empty.
  std::function<bool(const Hash&)> keep;
  // Runs its argument holding the writers' lock; empty: no writers.
  std::function<absl::Status(const std::function<absl::Status()>&)> exclusive;
  // Releases to count as retired though they are not (a dry run of what a
  // policy would retire).
  std::set<std::pair<std::string, std::string>> also_retired;
};

struct GcReport {
  uint64_t versions_kept = 0;
  uint64_t versions_retired = 0;
  uint64_t objects_kept = 0;     // marked
  uint64_t objects_removed = 0;  // or that would go (dry run)
  uint64_t bytes_removed = 0;    // stored bytes
  double mark_seconds = 0;       // the mark and the candidates, no lock held
  double locked_seconds = 0;     // writers kept out, the longest hold
  double seconds = 0;            // all of it
};

class Marker {
 public:
  explicit Marker(const ObjectStore& objects) : objects_(objects) {}
  // Marks `root` and everything below it. DataLoss/NotFound when a tree or
  // chunk list cannot be read (then nothing may be swept).
  absl::Status Mark(const Hash& root);
  bool marked(const Hash& h) const { return marked_.contains(h); }
  size_t size() const { return marked_.size(); }

 private:
  const ObjectStore& objects_;
  std::unordered_set<Hash, HashHasher> marked_;
};

// Every release not retired, (app, version) -> root; `retired` counts the
// others.
absl::StatusOr<std::map<std::pair<std::string, std::string>, Hash>> KeptRoots(
    const RecordStore& store, uint64_t* retired = nullptr,
    const std::set<std::pair<std::string, std::string>>* also_retired = nullptr);

absl::StatusOr<GcReport> CollectGarbage(RecordStore* store, const GcOptions& options);

}  // namespace vms

#endif  // VMS_SERVER_GC_H_
