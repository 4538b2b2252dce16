// vms push: scan, ask what is missing, upload it, commit.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <unordered_set>

#include "client/commands.h"
#include "client/master_client.h"
#include "client/progress.h"
#include "client/scan.h"
#include "client/signer.h"
#include "client/site_wait.h"
#include "client/stat_cache.h"
#include "client/uploader.h"
#include "core/envelope.h"
#include "core/names.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "nlohmann/json.hpp"

namespace vms {

namespace {

using Clock = std::chrono::steady_clock;

std::string Rate(uint64_t bytes, Clock::time_point since) {
  double s = std::chrono::duration<double>(Clock::now() - since).count();
  return s > 0 ? HumanBytes(static_cast<uint64_t>(bytes / s)) + "/s" : "";
}

// Refuses early, before uploading anything, what the master would refuse
// at commit without needing the objects: a caller who may not push the app,
// an app with no owners yet, a version name taken by other content, a
// retired version or a label. The master checks again at commit.
absl::Status CheckCommittable(MasterClient* master, const PushOptions& o, const Hash& root) {
  CommitRequest req;
  req.set_app(o.app);
  req.set_version(o.version);
  req.set_root(std::string(root.View()));
  req.set_check_only(true);
  return master->Commit(req).status();
}

}  // namespace

int RunPush(const GlobalOptions& global, const PushOptions& o) {
  if (absl::Status s = ValidateAppName(o.app); !s.ok()) return Fail(Sv(s.message()));
  if (absl::Status s = ValidateVersionName(o.version); !s.ok()) return Fail(Sv(s.message()));
  const auto start = Clock::now();
  const int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();

  PushProgress progress;
  ThreadPool pool(o.jobs > 0 ? o.jobs : CpuCount());
  StatCache cache(o.stat_cache, start_ns);
  cache.Load();

  std::atomic<int> phase{0};  // 0 hashing, 1 uploading
  std::atomic<Clock::time_point> upload_start{start};
  LineReporter reporter(
      [&] {
        if (phase == 0) {
          return StrCat("hashing: ", progress.files_hashed.load(), "/", progress.files_total.load(),
                        " files, ", HumanBytes(progress.bytes_hashed), " (",
                        Rate(progress.bytes_hashed, start), ")");
        }
        return StrCat("sending: ", progress.objects_sent.load(), "/",
                      progress.objects_to_send.load(), " objects, ",
                      HumanBytes(progress.bytes_sent), "/", HumanBytes(progress.bytes_to_send),
                      ", ", HumanBytes(progress.wire_bytes), " on the wire (",
                      Rate(progress.wire_bytes, upload_start.load()), ")");
      },
      std::chrono::milliseconds(200));

  auto snap =
      ScanTree(o.dir, {.pool = &pool, .cache = &cache, .progress = &progress, .limits = o.limits});
  if (!snap.ok()) return Fail(Sv(snap.status().message()));
  const double scan_s = std::chrono::duration<double>(Clock::now() - start).count();
  // Saved while the master is asked and fed; joined before we return.
  std::jthread save_cache([&cache] {
    if (absl::Status s = cache.Save(); !s.ok()) {
      std::cerr << "vms: warning: stat cache not saved: " << s.message() << "\n";
    }
  });

  MasterClient master(global.master, global.credentials);
  if (absl::Status s = CheckCommittable(&master, o, snap->root); !s.ok()) {
    return Fail(Sv(s.message()));
  }

  const auto query_start = Clock::now();
  // Subtrees an earlier release proved complete need no further questions:
  // ask about trees first, then only about objects outside those subtrees.
  std::vector<Hash> tree_hashes;
  for (const TreeInfo& t : snap->trees) tree_hashes.push_back(snap->objects[t.object].hash);
  auto complete = master.CompleteTrees(tree_hashes);
  if (!complete.ok()) return Fail(Sv(complete.status().message()));
  std::vector<bool> covered = CoveredObjects(*snap, *complete);
  std::vector<Hash> hashes;
  for (size_t i = 0; i < snap->objects.size(); ++i) {
    if (!covered[i]) hashes.push_back(snap->objects[i].hash);
  }
  auto missing = master.Missing(hashes);
  if (!missing.ok()) return Fail(Sv(missing.status().message()));
  std::unordered_set<Hash, HashHasher> missing_set(missing->begin(), missing->end());
  std::vector<size_t> to_send;
  for (size_t i = 0; i < snap->objects.size(); ++i) {
    if (!covered[i] && missing_set.count(snap->objects[i].hash)) {
      to_send.push_back(i);
      progress.bytes_to_send += snap->objects[i].size;
    }
  }
  progress.objects_to_send = to_send.size();
  const double query_s = std::chrono::duration<double>(Clock::now() - query_start).count();
  upload_start.store(Clock::now());
  phase = 1;

  auto sent = UploadObjects(&master, *snap, to_send,
                            {.streams = pool.size(),
                             .zstd_level = o.zstd_level,
                             .limit_rate = o.limit_rate,
                             .progress = &progress});
  if (!sent.ok()) return Fail(Sv(sent.status().message()));

  const auto commit_start = Clock::now();
  const double upload_s = std::chrono::duration<double>(commit_start - upload_start.load()).count();
  CommitRequest req;
  req.set_app(o.app);
  req.set_version(o.version);
  req.set_root(std::string(snap->root.View()));
  req.set_message(o.message);
  auto committed = SignedCall<CommitResponse>(
      global.key_dir,
      [&](const Envelope* signed_env) {
        if (signed_env) *req.mutable_signed_() = *signed_env;
        return master.Commit(req);
      },
      [&](const Envelope& to_sign) -> absl::Status {
        auto r = ParseRelease(to_sign);
        if (!r.ok()) return r.status();
        if (r->app() != o.app || r->version() != o.version || r->root() != snap->root.View()) {
          return absl::InternalError(StrCat("the master asked to sign a release of ", r->app(), " ",
                                            r->version(), " that is not this push: refused"));
        }
        return absl::OkStatus();
      });
  reporter.Stop();
  if (!committed.ok()) return Fail(Sv(committed.status().message()));

  const double commit_s = std::chrono::duration<double>(Clock::now() - commit_start).count();
  const double pushed_s = std::chrono::duration<double>(Clock::now() - start).count();
  // The summary says what was pushed as soon as it is; the sites' progress
  // follows it.
  if (!o.json) {
    std::string what = committed->created()
                           ? StrCat("pushed ", o.app, " ", o.version)
                           : StrCat(o.app, " ", o.version, " unchanged (identical content)");
    char secs[64];
    std::snprintf(secs, sizeof secs, "%.2f s (scan %.2f s)", pushed_s, scan_s);
    std::cout << what << ": " << snap->files << " files, " << HumanBytes(snap->bytes) << "; sent "
              << sent->objects << " objects (" << HumanBytes(sent->raw_bytes) << ", "
              << HumanBytes(sent->wire_bytes) << " on the wire), "
              << snap->objects.size() - sent->objects << " already present; " << secs << "; root "
              << snap->root.Short() << std::endl;
  }
  double wait_s = 0;
  absl::Status waited;
  if (o.wait) {
    auto wait_start = Clock::now();
    waited = WaitForVersion(&master, o.app, o.version, std::chrono::seconds(o.timeout_s),
                            "The version stays pushed");
    wait_s = std::chrono::duration<double>(Clock::now() - wait_start).count();
  }
  if (o.json) {
    const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
    nlohmann::json out = {{"app", o.app},
                          {"version", o.version},
                          {"created", committed->created()},
                          {"root", snap->root.Hex()},
                          {"files", snap->files},
                          {"bytes", snap->bytes},
                          {"objects", snap->objects.size()},
                          {"objects_sent", sent->objects},
                          {"bytes_sent", sent->raw_bytes},
                          {"wire_bytes", sent->wire_bytes},
                          {"scan_seconds", scan_s},
                          {"query_seconds", query_s},
                          {"upload_seconds", upload_s},
                          {"commit_seconds", commit_s},
                          {"sites_seconds", wait_s},
                          {"sites_complete", o.wait && waited.ok()},
                          {"seconds", total_s}};
    std::cout << out.dump(2) << "\n";
  }
  if (!waited.ok()) return Fail(Sv(waited.message()));
  return 0;
}

}  // namespace vms
