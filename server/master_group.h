// One node of a master group (issue 36; README "Running a master group"):
// vms-master --etcd URL,... --node NAME. The group's log lives in etcd
// (server/group_log.h): the node that leads appends each write of hard state
// there, fenced by its leadership, before it stores it and answers; every
// other node (a standby) follows that log into its own store, fetching the
// objects a release names, and serves reads from what it applied.
//
// Before a release is appended, --commit-copies nodes (the leader
// included) hold all of its objects verified (Hold), so that losing the
// leader right after loses no byte. A node that wins the lead first applies
// the whole log, then takes writes. The leader trims what every node
// applied and compacts etcd.
//
// Each node says where it is under P nodes/NAME (GroupNode) every second:
// what `vms masters` shows, and what trimming waits for. Thread-safe.
#ifndef VMS_SERVER_MASTER_GROUP_H_
#define VMS_SERVER_MASTER_GROUP_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/hash.h"
#include "core/periodic.h"
#include "core/sync.h"
#include "group.pb.h"
#include "net/tls.h"
#include "server/etcd_client.h"
#include "server/group_log.h"
#include "server/master.h"

namespace vms {

struct MasterGroupOptions {
  EtcdClient::Options etcd;
  std::string prefix = "/vms/";  // the group's keys in etcd
  std::string node;              // this node's name, unique in the group
  std::chrono::seconds lease{3};
  // How many nodes (the leader included) hold a release's objects before
  // it is committed.
  int commit_copies = 2;
  // How long a push waits for enough nodes to hold it.
  std::chrono::milliseconds copies_wait{std::chrono::seconds(30)};
  // To reach the other nodes (Hold, fetches).
  Credentials credentials = Credentials::Insecure();
  // A node silent for longer is not asked to hold a release.
  std::chrono::milliseconds node_silence{std::chrono::seconds(10)};
  // The log keeps what a node silent for up to this long still needs
  // (restarts, upgrades); one away longer starts again from a copy.
  std::chrono::milliseconds keep_for_absent{std::chrono::minutes(10)};
};

class MasterGroup : public GroupWriter {
 public:
  // Checks the options and connects to etcd lazily.
  static absl::StatusOr<std::unique_ptr<MasterGroup>> Create(MasterGroupOptions options);
  ~MasterGroup() override;

  // Waits until etcd answers (a member that is not ready yet holds
  // requests); Unavailable after `wait`, naming the endpoints.
  absl::Status WaitForEtcd(std::chrono::milliseconds wait);
  // Without a root of trust every node signs with one key: the first node
  // puts its public key (PEM) in etcd; a node with another one is refused,
  // FailedPrecondition saying what to copy.
  absl::Status CheckKey(const std::string& pem, const std::string& keyid);
  // The master opened with this group (MasterOptions.group); before it
  // serves.
  void Bind(Master* master) { master_ = master; }
  Master* master() const { return master_; }
  // Before the bound master serves: a store that does not reach the group's
  // log (a new node once the log was trimmed, a data dir lost, a node away
  // past the trim, a copy cut short) takes a copy of a healthy node's store
  // and every object its releases name. OK when none was needed; waits up
  // to `wait` for a node to copy from.
  absl::Status Bootstrap(std::chrono::milliseconds wait);
  // Starts following the log and campaigning; the bound master serves at
  // `address`.
  void Start(const std::string& address);
  // Stops both, giving the lead up if held (another node wins at once).
  void Stop();

  // GroupWriter.
  absl::Status HoldCopies(const Hash& root) override;
  absl::Status Append(const GroupEntry& entry) override;

  // OK when this node takes writes now; else Unavailable saying who leads
  // ("the leader is at ADDRESS": vms retries there).
  absl::Status Writable() const;
  // A standby's part of HoldCopies: fetches the closure of `root` from
  // `from` (the leader) until it is held whole here.
  absl::Status Hold(const Hash& root, const std::string& from);
  // The group as etcd and this node see it (vms masters).
  absl::StatusOr<GroupNodesResponse> Nodes();

  bool leading() const { return started_ && log_->leading() && caught_up_; }
  const std::string& node() const { return options_.node; }

  // What vms says before "the leader is at ADDRESS" (client/master_client.cc).
  static constexpr char kLeaderIsAt[] = "the leader is at ";
  // What every refusal of a write that was not made says: vms may then send
  // it to another node (any other Unavailable may come after the write).
  static constexpr char kNotWritten[] = "nothing was written";

 private:
  MasterGroup(MasterGroupOptions options, std::unique_ptr<EtcdClient> etcd);
  PeriodicTask::Next Follow();
  // Applies entries from group_index() + 1 until `until` (0: what there is,
  // a batch at a time). OK when there was nothing more.
  absl::Status ApplyFrom(uint64_t until);
  // Whether `entry` retires a version (its live record is a RETIRE): then
  // this node collects its garbage after applying it, as the leader did.
  static bool RetiresAVersion(const GroupEntry& entry);
  void CollectAfterRetirement();
  // Takes a copy of the store of the node at `address` (Bootstrap).
  absl::Status CopyFrom(const std::string& address);
  // Fetches the closure of `root` from the first of `from` that has it.
  absl::Status FetchTree(const Hash& root, const std::vector<std::string>& from);
  // The nodes that said where they are within `silence`.
  absl::StatusOr<std::vector<GroupNode>> LiveNodes(std::chrono::milliseconds silence);
  // A standby: whether the leader's process is certainly gone (nothing
  // listens at its address, twice in a row); then it is deposed at once
  // rather than when its lease runs out.
  void ProbeLeader(const GroupLog::Leader& leader);
  void Announce();
  void TrimAndCompact();

  const MasterGroupOptions options_;
  const std::unique_ptr<EtcdClient> etcd_;
  // A fault seam for tests: $VMS_FAULT_KILL_AFTER_APPENDS=N makes the node
  // SIGKILL itself right after its Nth append to the group's log, before it
  // stores the entry or answers (DEVELOPING.md, "Seams for faults").
  std::atomic<int> kill_after_appends_{0};
  // Set by Start(), then constant.
  std::unique_ptr<GroupLog> log_;
  Master* master_ = nullptr;
  std::string address_;
  std::atomic<bool> started_{false};  // log_ and address_ are set
  std::atomic<bool> caught_up_{false};
  mutable Mutex mu_;
  std::string leader_address_ ABSL_GUARDED_BY(mu_);
  std::string follow_error_ ABSL_GUARDED_BY(mu_);  // said once
  // The follow task's.
  std::chrono::steady_clock::time_point next_announce_{}, next_trim_{}, next_compact_{},
      next_probe_{};
  int refused_ = 0;  // probes of the leader refused in a row
  std::unique_ptr<Leadership> leadership_;
  std::unique_ptr<PeriodicTask> follower_;
};

}  // namespace vms

#endif  // VMS_SERVER_MASTER_GROUP_H_
