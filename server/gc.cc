#include "server/gc.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/low_priority.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/tree.h"

namespace vms {

namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

absl::Status Marker::Mark(const Hash& root) {
  std::vector<Hash> trees;
  if (marked_.insert(root).second) trees.push_back(root);
  while (!trees.empty()) {
    Hash tree = trees.back();
    trees.pop_back();
    auto raw = objects_.GetRaw(tree);
    if (!raw.ok()) {
      return absl::Status(
          raw.status().code(),
          StrCat("tree ", tree.Short(), " of a kept version: ", raw.status().message()));
    }
    VMS_ASSIGN_OR_RETURN(auto entries, DecodeTree(*raw));
    for (const TreeEntry& e : entries) {
      if (e.type == EntryType::kSymlink) continue;
      if (!marked_.insert(e.hash).second) continue;
      if (e.type == EntryType::kDir) {
        trees.push_back(e.hash);
      } else if (e.chunked) {
        auto list = objects_.GetRaw(e.hash);
        if (!list.ok()) {
          return absl::Status(list.status().code(),
                              StrCat("chunk list ", e.hash.Short(), ": ", list.status().message()));
        }
        VMS_ASSIGN_OR_RETURN(auto chunks, DecodeChunkList(*list));
        for (const ChunkRef& c : chunks) marked_.insert(c.hash);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::pair<std::string, std::string>, Hash>> KeptRoots(
    const RecordStore& store, uint64_t* retired,
    const std::set<std::pair<std::string, std::string>>* also_retired) {
  std::map<std::pair<std::string, std::string>, Hash> out;
  if (retired) *retired = 0;
  VMS_ASSIGN_OR_RETURN(auto apps, store.ListApps());
  for (const AppState& a : apps) {
    VMS_ASSIGN_OR_RETURN(auto envs, store.ListVersions(a.app()));
    for (const Envelope& env : envs) {
      VMS_ASSIGN_OR_RETURN(auto r, ParseRelease(env));
      if (IsRetired(a, r.version()) ||
          (also_retired && also_retired->contains({a.app(), r.version()}))) {
        if (retired) ++*retired;
        continue;
      }
      VMS_ASSIGN_OR_RETURN(auto root, Hash::FromBytes(r.root()));
      out[{a.app(), r.version()}] = root;
    }
  }
  return out;
}

absl::StatusOr<GcReport> CollectGarbage(RecordStore* store, const GcOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  GcReport report;
  const ObjectStore& objects = store->objects();
  Marker marker(objects);
  std::map<std::pair<std::string, std::string>, Hash> kept;
  ObjectStore::SweepPlan plan;
  // The mark and the plan: seconds of CPU and reads, at low priority so that
  // the pushes and flips going on meanwhile keep their speed.
  VMS_RETURN_IF_ERROR(RunAtLowPriority([&]() -> absl::Status {
    VMS_ASSIGN_OR_RETURN(kept, KeptRoots(*store, &report.versions_retired, &options.also_retired));
    for (const auto& [key, root] : kept) VMS_RETURN_IF_ERROR(marker.Mark(root));
    std::vector<Hash> candidates;
    VMS_RETURN_IF_ERROR(objects.ForEachObject([&](const Hash& h) {
      if (!marker.marked(h) && !(options.keep && options.keep(h))) candidates.push_back(h);
      return true;
    }));
    // What sweeping them takes is looked up now, with writers going on.
    VMS_ASSIGN_OR_RETURN(plan, objects.PlanSweep(candidates));
    return absl::OkStatus();
  }));
  report.mark_seconds = Since(start);

  // One slice of the plan, holding the writers' lock: what was released
  // meanwhile references objects too.
  std::vector<ObjectStore::SweepPlan> slices(
      plan.hashes.empty() ? 1 : (plan.hashes.size() + kSweepSlice - 1) / kSweepSlice);
  for (size_t i = 0; i < plan.hashes.size(); ++i) {
    ObjectStore::SweepPlan& slice = slices[i / kSweepSlice];
    slice.hashes.push_back(plan.hashes[i]);
    slice.bytes.push_back(plan.bytes[i]);
    slice.large.push_back(plan.large[i]);
  }
  auto sweep = [&](const ObjectStore::SweepPlan& slice) -> absl::Status {
    const auto locked = std::chrono::steady_clock::now();
    VMS_ASSIGN_OR_RETURN(auto now_kept, KeptRoots(*store, nullptr, &options.also_retired));
    for (const auto& [key, root] : now_kept) {
      if (kept.emplace(key, root).second) VMS_RETURN_IF_ERROR(marker.Mark(root));
    }
    auto spare = [&](const Hash& h) { return marker.marked(h); };
    report.versions_kept = now_kept.size();
    report.objects_kept = marker.size();
    for (size_t i = 0; i < slice.hashes.size(); ++i) {
      if (spare(slice.hashes[i])) continue;
      ++report.objects_removed;
      if (options.dry_run) report.bytes_removed += slice.bytes[i];
    }
    if (!options.dry_run) {
      VMS_ASSIGN_OR_RETURN(uint64_t bytes, store->mutable_objects().Sweep(slice, spare));
      report.bytes_removed += bytes;
    }
    report.locked_seconds = std::max(report.locked_seconds, Since(locked));
    return absl::OkStatus();
  };
  for (const ObjectStore::SweepPlan& slice : slices) {
    if (options.exclusive && !options.dry_run) {
      const auto taken = std::chrono::steady_clock::now();
      VMS_RETURN_IF_ERROR(options.exclusive([&] { return sweep(slice); }));
      // As long again without the lock before the next slice: a writer woken
      // as it was let go would otherwise often find it taken again (a mutex
      // is not a queue) and wait for slice after slice.
      if (&slice != &slices.back()) {
        std::this_thread::sleep_for(std::chrono::steady_clock::now() - taken);
      }
    } else {
      VMS_RETURN_IF_ERROR(sweep(slice));
    }
  }
  // Big files give their space back here, with writers going on.
  if (!options.dry_run && report.objects_removed > 0) {
    VMS_RETURN_IF_ERROR(RunAtLowPriority([&] { return store->mutable_objects().Reclaim(); }));
  }
  report.seconds = Since(start);
  return report;
}

}  // namespace vms
