// One master node's part in a master group's log, kept in etcd (issue 36).
// A node campaigns for the leader key with a lease it keeps alive; the one
// that wins appends events, each in a transaction fenced by the revision it
// won with and by the previous event's key, so that a leader that lost its
// lease (paused past it, cut off from etcd) can never append, no seq is
// taken twice and none is skipped. Leadership alone is never trusted: the
// fence is checked by etcd at each append.
//
// Keys, under the group's prefix P:
//   P leader              "NODE ADDRESS" of the leader, bound to its lease
//   P log/SEQ             one event, SEQ as 20 decimal digits (key order)
// Entries every node has applied are trimmed (Trim); the newest stays, for
// the next append's gap check. Thread-safe.
#ifndef VMS_SERVER_GROUP_LOG_H_
#define VMS_SERVER_GROUP_LOG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/periodic.h"
#include "core/sync.h"
#include "server/etcd_client.h"

namespace vms {

class GroupLog {
 public:
  struct Options {
    std::string prefix = "/vms/";
    std::string node;     // this node's name
    std::string address;  // where clients reach it (told to those who ask who leads)
    std::chrono::seconds lease{3};
  };
  // `etcd` must outlive the log.
  GroupLog(EtcdClient* etcd, Options options);

  struct Leader {
    std::string node, address;
  };
  // Tries once to lead: OK when this node leads (now or already);
  // FailedPrecondition naming the leader when another does.
  absl::Status Campaign();
  // Renews the lease. NotFound (and no longer leading) when it expired.
  absl::Status Renew();
  // Gives leadership up at once (a node stopping): another may win now.
  absl::Status Resign();
  // Whether this node leads: it won, and its lease cannot have expired yet
  // by its own clock (counted from the last renewal it sent). A node past
  // that stops acting as the leader before etcd says so.
  bool leading() const;
  // Who leads, as etcd says (nullopt: no one).
  absl::StatusOr<std::optional<Leader>> WhoLeads();
  // Ends the leadership of `node` (its lease goes, and the leader key with
  // it) if it still leads: what a standby does when the leader's process is
  // certainly gone, rather than wait for its lease to run out. Safe even if
  // it was not gone: every append is fenced by the key it won.
  absl::Status Depose(const std::string& node);

  // Appends `event` as `seq`, the one after the newest in the log (1 for an
  // empty log). FailedPrecondition when this node does not lead (it steps
  // down when the fence says so), or when `seq` is taken or would leave a gap.
  absl::Status Append(uint64_t seq, const std::string& event);
  // Events from `from` on, in order, at most `limit`.
  absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> Read(uint64_t from, size_t limit);
  // The newest seq in the log (0: empty).
  absl::StatusOr<uint64_t> Head();
  // Deletes the events before `below` (never the newest); how many went.
  absl::StatusOr<int64_t> Trim(uint64_t below);

  std::string LogKey(uint64_t seq) const;
  const Options& options() const { return options_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  EtcdClient* const etcd_;
  const Options options_;
  const std::string leader_key_;
  mutable Mutex mu_;
  int64_t lease_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t fence_ ABSL_GUARDED_BY(mu_) = 0;  // 0: not leading
  SteadyTime lease_until_ ABSL_GUARDED_BY(mu_);
};

// Keeps a node in the race, on a thread of its own: while no one leads it
// campaigns, while it leads it renews its lease, each a third of the lease
// apart; `on_change(true)` when it wins, `on_change(false)` when it loses
// (its lease ran out, or it could not renew it in time). Destroying it
// resigns if it leads, so that another node wins at once.
class Leadership {
 public:
  // `log` must outlive it.
  Leadership(GroupLog* log, std::function<void(bool leading)> on_change);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Campaigns (or renews) now rather than at the next step: the leader was
  // found gone.
  void Wake() { task_.Wake(); }

 private:
  PeriodicTask::Next Step();

  GroupLog* const log_;
  const std::function<void(bool)> on_change_;
  bool leading_ = false;  // as last told; the task's (then the destructor's)
  PeriodicTask task_;     // last: runs once the rest is made
};

}  // namespace vms

#endif  // VMS_SERVER_GROUP_LOG_H_
