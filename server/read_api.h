// What the Read service serves, whoever holds the data: the master, or a
// replica that follows it (so a replica can follow another replica).
#ifndef VMS_SERVER_READ_API_H_
#define VMS_SERVER_READ_API_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/object_store.h"
#include "records.pb.h"

namespace vms {

class ReadApi {
 public:
  virtual ~ReadApi() = default;

  virtual absl::StatusOr<std::vector<AppState>> ListApps() const = 0;
  // Signed releases of `app`, oldest first; NotFound if none.
  virtual absl::StatusOr<std::vector<Envelope>> ListVersions(std::string_view app) const = 0;
  // The world's current live record of `app`, if it has one.
  virtual absl::StatusOr<std::optional<Envelope>> CurrentLive(std::string_view app) const = 0;
  // Every live record of `app` in effect somewhere: the world's, those
  // scoped to sites, labels (core/lifecycle.h), and the retirements;
  // live_seq ascending.
  virtual absl::StatusOr<std::vector<Envelope>> RecordsInEffect(std::string_view app) const = 0;
  // Signed live records of `app`, live_seq ascending (empty if never live;
  // NotFound for an app never pushed).
  virtual absl::StatusOr<std::vector<Envelope>> LiveHistory(std::string_view app) const = 0;
  // The signed RETIRE record of app/version if this store knows it is
  // retired (applied, or known ahead of the log: core/lifecycle.h).
  virtual absl::StatusOr<std::optional<Envelope>> Retirement(std::string_view app,
                                                             std::string_view version) const = 0;
  virtual const ObjectStore& objects() const = 0;
  // Events with seq > after_seq, at most `limit`, in seq order; none when
  // after_seq is at or beyond the head (any value, up to the largest seq).
  virtual absl::StatusOr<std::vector<Event>> ReadEvents(uint64_t after_seq, size_t limit) const = 0;
  virtual uint64_t head_seq() const = 0;
  // Calls `fn` with the new head seq after every durable event, on the
  // writer's thread with the subscription lock held (so once Unsubscribe()
  // returns, `fn` is never called again). `fn` must be quick and must not
  // call Subscribe() or Unsubscribe(). Returns an id for Unsubscribe().
  virtual uint64_t Subscribe(std::function<void(uint64_t)> fn) = 0;
  virtual void Unsubscribe(uint64_t id) = 0;
};

}  // namespace vms

#endif  // VMS_SERVER_READ_API_H_
