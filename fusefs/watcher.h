// Keeps a host's live records current: a Watch stream to one replica at a
// time (failing over to the next when it breaks or goes silent), each record
// verified by the Catalog, and `on_flip(app)` called when an app's live
// version changed, so the kernel entry of /dist/APP can be invalidated.
#ifndef VMS_FUSEFS_WATCHER_H_
#define VMS_FUSEFS_WATCHER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/sync.h"
#include "fusefs/catalog.h"
#include "fusefs/remote.h"
#include "grpcpp/grpcpp.h"

namespace vms {

class Watcher {
 public:
  // `catalog` and `remote` must outlive the watcher.
  Watcher(Catalog* catalog, Remote* remote, std::function<void(const std::string&)> on_flip);
  ~Watcher();
  void Start();
  void Stop();
  bool connected() const { return connected_; }

 private:
  void Loop();
  void WatchOnce(size_t replica);

  Catalog* catalog_;
  Remote* remote_;
  std::function<void(const std::string&)> on_flip_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  Mutex mu_;
  CondVar cv_{&mu_};
  std::shared_ptr<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);  // the stream in flight
  std::thread thread_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_WATCHER_H_
