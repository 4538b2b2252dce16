// Keeps a host's live records current: a Watch stream to one replica at a
// time through an EventStream (net/event_stream.h: failover to the next
// replica when one breaks or goes silent, backoff), each record verified by
// the Catalog, and `on_flip(app)` called when an app's live version changed,
// so the kernel entry of /dist/APP can be invalidated.
#ifndef VMS_FUSEFS_WATCHER_H_
#define VMS_FUSEFS_WATCHER_H_

#include <functional>
#include <string>

#include "core/clock.h"
#include "fusefs/catalog.h"
#include "fusefs/remote.h"
#include "net/event_stream.h"

namespace vms {

class Watcher {
 public:
  struct Options {
    // With heartbeats every second, this much silence means the replica is
    // gone.
    std::chrono::milliseconds silence{5000};
    // While a later replica is watched, how often the earlier ones (this
    // host's own site's first) are asked whether they are back.
    std::chrono::milliseconds return_every{5000};
    Clock* clock = Clock::Real();
    // Each heartbeat's site map version (vms-fuse --discover re-learns the
    // map when it changes); may be empty.
    std::function<void(uint64_t)> on_site_map_version;
    // A version was retired (its root): the host drops it from its cache.
    std::function<void(const std::string& app, const std::string& version, const Hash& root)>
        on_retire;
  };
  // `catalog` and `remote` must outlive the watcher.
  Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip,
          Options options);
  Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip)
      : Watcher(catalog, remote, std::move(on_flip), Options()) {}
  ~Watcher() { Stop(); }
  void Start() { stream_.Start(); }
  void Stop() { stream_.Stop(); }
  bool connected() const { return stream_.connected(); }
  // The Remote's list changed: watch the first of the new one.
  void ReplicasChanged() { stream_.SetUpstreams(remote_->clients()); }

 private:
  absl::Status OnMessage(const FollowMessage& msg);
  // Logs when the newest checkpoint goes stale, and fresh again.
  void LogFreeze();

  // The stream's thread's.
  std::string last_checkpoint_error_;
  bool frozen_ = false;

  Catalog* catalog_;
  Remote* remote_;
  std::function<void(const std::string&)> on_flip_;
  std::function<void(uint64_t)> on_site_map_version_;
  std::function<void(const std::string&, const std::string&, const Hash&)> on_retire_;
  EventStream stream_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_WATCHER_H_
