#include "server/group_log.h"

#include <cinttypes>
#include <cstdio>

#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

using Steady = std::chrono::steady_clock;

// The seq of a log key (its last 20 characters), 0 if it is none.
uint64_t SeqOf(std::string_view key) {
  if (key.size() < 20) return 0;
  uint64_t seq = 0;
  for (char c : key.substr(key.size() - 20)) {
    if (c < '0' || c > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

}  // namespace

GroupLog::GroupLog(EtcdClient* etcd, Options options)
    : etcd_(etcd), options_(std::move(options)), leader_key_(options_.prefix + "leader") {}

std::string GroupLog::LogKey(uint64_t seq) const {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020" PRIu64, seq);
  return StrCat(options_.prefix, "log/", digits);
}

absl::Status GroupLog::Campaign() {
  if (leading()) return absl::OkStatus();
  VMS_ASSIGN_OR_RETURN(int64_t lease, etcd_->GrantLease(options_.lease));
  const Steady::time_point sent = Steady::now();
  auto won = etcd_->Campaign(leader_key_, StrCat(options_.node, " ", options_.address), lease);
  if (!won.ok()) {
    // The lease would hold nothing: let it go now (else it runs out).
    const absl::Status revoked = etcd_->RevokeLease(lease);
    if (!absl::IsFailedPrecondition(won.status())) return won.status();
    return absl::FailedPreconditionError(
        StrCat("node ", options_.node, " does not lead: ", won.status().message(),
               revoked.ok() ? "" : "; its own unused lease runs out by itself"));
  }
  MutexLock lock(&mu_);
  lease_ = lease;
  fence_ = *won;
  lease_until_ = sent + options_.lease;
  return absl::OkStatus();
}

absl::Status GroupLog::Renew() {
  int64_t lease;
  {
    MutexLock lock(&mu_);
    if (fence_ == 0) {
      return absl::FailedPreconditionError(StrCat("node ", options_.node, " does not lead"));
    }
    lease = lease_;
  }
  // The lease runs from when etcd renews it, which is after this.
  const Steady::time_point sent = Steady::now();
  absl::Status s = etcd_->KeepAlive(lease);
  MutexLock lock(&mu_);
  if (lease_ != lease) return s;  // resigned or lost meanwhile
  if (s.ok()) {
    lease_until_ = sent + options_.lease;
  } else if (absl::IsNotFound(s)) {
    fence_ = 0;
  }
  return s;
}

absl::Status GroupLog::Resign() {
  int64_t lease;
  {
    MutexLock lock(&mu_);
    lease = lease_;
    fence_ = 0;
    lease_ = 0;
  }
  if (lease == 0) return absl::OkStatus();
  return etcd_->RevokeLease(lease);
}

bool GroupLog::leading() const {
  MutexLock lock(&mu_);
  return fence_ != 0 && Steady::now() < lease_until_;
}

absl::StatusOr<std::optional<GroupLog::Leader>> GroupLog::WhoLeads() {
  VMS_ASSIGN_OR_RETURN(auto held, etcd_->Get(leader_key_));
  if (!held) return std::nullopt;
  const size_t space = held->value.find(' ');
  if (space == std::string::npos) return Leader{.node = held->value};
  return Leader{.node = held->value.substr(0, space), .address = held->value.substr(space + 1)};
}

absl::Status GroupLog::Depose(const std::string& node) {
  VMS_ASSIGN_OR_RETURN(auto held, etcd_->Get(leader_key_));
  if (!held || held->lease == 0) return absl::OkStatus();
  if (held->value.substr(0, held->value.find(' ')) != node) return absl::OkStatus();
  absl::Status s = etcd_->RevokeLease(held->lease);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status GroupLog::Append(uint64_t seq, const std::string& event) {
  if (seq == 0 || seq == UINT64_MAX) {
    return absl::InvalidArgumentError(StrCat("no event has seq ", seq));
  }
  int64_t fence;
  {
    MutexLock lock(&mu_);
    if (fence_ == 0 || Steady::now() >= lease_until_) {
      return absl::FailedPreconditionError(
          StrCat("node ", options_.node,
                 " does not lead (or its lease may have run out): ask the leader"));
    }
    fence = fence_;
  }
  absl::Status s =
      etcd_->PutFenced(leader_key_, fence, LogKey(seq), event, seq > 1 ? LogKey(seq - 1) : "");
  if (!absl::IsFailedPrecondition(s)) return s;
  // Refused: if because the leader key is no longer the one it won, this
  // node leads no more.
  auto held = etcd_->Get(leader_key_);
  if (held.ok() && (!held->has_value() || (*held)->create_revision != fence)) {
    MutexLock lock(&mu_);
    if (fence_ == fence) fence_ = 0;
  }
  return s;
}

absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> GroupLog::Read(uint64_t from,
                                                                             size_t limit) {
  VMS_ASSIGN_OR_RETURN(auto found, etcd_->Range(LogKey(from), StrCat(options_.prefix, "log0"),
                                                static_cast<int64_t>(limit)));
  std::vector<std::pair<uint64_t, std::string>> out;
  for (auto& [key, value] : found) out.emplace_back(SeqOf(key), std::move(value.value));
  return out;
}

absl::StatusOr<uint64_t> GroupLog::Head() {
  VMS_ASSIGN_OR_RETURN(auto newest, etcd_->Range(LogKey(0), StrCat(options_.prefix, "log0"), 1,
                                                 /*last_first=*/true));
  return newest.empty() ? 0 : SeqOf(newest[0].first);
}

absl::StatusOr<int64_t> GroupLog::Trim(uint64_t below) {
  VMS_ASSIGN_OR_RETURN(uint64_t head, Head());
  if (below > head) below = head;  // the newest stays: the next append's check
  if (below <= 1) return 0;
  return etcd_->DeleteRange(LogKey(0), LogKey(below));
}

Leadership::Leadership(GroupLog* log, std::function<void(bool)> on_change)
    : log_(log), on_change_(std::move(on_change)), task_([this] { return Step(); }) {}

Leadership::~Leadership() {
  task_.Stop();
  if (!leading_) return;
  leading_ = false;
  on_change_(false);
  if (absl::Status s = log_->Resign(); !s.ok()) {
    MasterLog()->warn("could not give the lead up ({}): another node leads once the lease runs out",
                      Sv(s.message()));
  }
}

PeriodicTask::Next Leadership::Step() {
  absl::Status s = log_->leading() ? log_->Renew() : log_->Campaign();
  const bool leading = log_->leading();
  if (!s.ok() && !absl::IsFailedPrecondition(s) && leading_) {
    MasterLog()->warn("leading, but could not renew the lease: {}", Sv(s.message()));
  }
  if (leading != leading_) {
    leading_ = leading;
    MasterLog()->info("node {} {}", log_->options().node,
                      leading ? "leads the group now" : "no longer leads the group");
    on_change_(leading);
  }
  return PeriodicTask::Next::In(
      std::chrono::duration_cast<std::chrono::milliseconds>(log_->options().lease) / 3);
}

}  // namespace vms
