#include "server/master_group.h"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <future>
#include <thread>

#include "core/closure.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "group.grpc.pb.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "net/upstream_client.h"

namespace vms {

namespace {

using Steady = std::chrono::steady_clock;

// Entries applied per read of the log.
constexpr size_t kApplyBatch = 64;
// etcd takes requests of at most 1.5 MiB by default; an entry stays well
// below.
constexpr size_t kMaxEntryBytes = 1 << 20;
// Rounds of a tree fetch (each fetches one more level of what is missing).
constexpr int kMaxFetchRounds = 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MasterGroup>> MasterGroup::Create(MasterGroupOptions options) {
  if (options.node.empty() || options.node.find_first_of(" /\n") != std::string::npos ||
      options.node.size() > 64) {
    return absl::InvalidArgumentError(
        StrCat("a node name is 1-64 characters without spaces or slashes, not \"", options.node,
               "\" (vms-master --node)"));
  }
  if (options.commit_copies < 1 || options.commit_copies > 9) {
    return absl::InvalidArgumentError(
        StrCat("--commit-copies is 1-9, not ", options.commit_copies));
  }
  VMS_ASSIGN_OR_RETURN(auto etcd, EtcdClient::Create(options.etcd));
  auto group = std::unique_ptr<MasterGroup>(new MasterGroup(std::move(options), std::move(etcd)));
  if (const char* n = std::getenv("VMS_FAULT_KILL_AFTER_APPENDS"); n != nullptr) {
    group->kill_after_appends_ = std::atoi(n);
  }
  return group;
}

MasterGroup::MasterGroup(MasterGroupOptions options, std::unique_ptr<EtcdClient> etcd)
    : options_(std::move(options)), etcd_(std::move(etcd)) {}

MasterGroup::~MasterGroup() { Stop(); }

absl::Status MasterGroup::WaitForEtcd(std::chrono::milliseconds wait) {
  const Steady::time_point until = Steady::now() + wait;
  absl::Status last;
  do {
    auto status = etcd_->Status();
    if (status.ok()) return absl::OkStatus();
    last = status.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (Steady::now() < until);
  return absl::UnavailableError(
      StrCat("etcd (", Join(options_.etcd.endpoints, ","), ") did not answer: ", last.message()));
}

absl::Status MasterGroup::CheckKey(const std::string& pem, const std::string& keyid) {
  const std::string key = options_.prefix + "master.pub";
  VMS_ASSIGN_OR_RETURN(auto held, etcd_->Get(key));
  if (!held) {
    VMS_RETURN_IF_ERROR(etcd_->Put(key, pem));
    VMS_ASSIGN_OR_RETURN(held, etcd_->Get(key));  // another node may have raced
    if (!held) return absl::UnavailableError("etcd lost the group's master.pub");
  }
  if (held->value == pem) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat("this node's master.pub (key id ", keyid.substr(0, 16),
             ") is not the key the master group signs with (etcd ", key,
             "): every node of a group without a root of trust signs with one key; copy "
             "DATA/master.key and DATA/master.pub from a node of the group to this node's data "
             "directory, then start it"));
}

absl::Status MasterGroup::Bootstrap(std::chrono::milliseconds wait) {
  VMS_ASSIGN_OR_RETURN(bool copying, master_->Copying());
  GroupLog reader(etcd_.get(), {.prefix = options_.prefix, .node = options_.node});
  VMS_ASSIGN_OR_RETURN(auto oldest, reader.Read(0, 1));
  const uint64_t first = oldest.empty() ? 0 : oldest.front().first;
  const uint64_t have = master_->group_index();
  if (!copying && (first <= have + 1)) return absl::OkStatus();
  MasterLog()->warn(
      "node {}: its store holds the group's log up to entry {} and etcd keeps it from entry {}{}: "
      "taking a copy of another node's store",
      options_.node, have, first, copying ? " (a copy was cut short)" : "");
  const Steady::time_point until = Steady::now() + wait;
  std::string tried;
  do {
    auto nodes = LiveNodes(options_.node_silence);
    if (nodes.ok()) {
      std::sort(nodes->begin(), nodes->end(),
                [](const GroupNode& a, const GroupNode& b) { return a.applied() > b.applied(); });
      for (const GroupNode& n : *nodes) {
        if (n.node() == options_.node || n.applied() + 1 < first) continue;
        absl::Status s = CopyFrom(n.address());
        if (s.ok()) {
          MasterLog()->info("node {}: took a copy of {}'s store, up to entry {}", options_.node,
                            n.node(), master_->group_index());
          return s;
        }
        tried = StrCat(n.node(), ": ", s.message());
        MasterLog()->warn("node {}: no copy from {}: {}", options_.node, n.node(), Sv(s.message()));
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  } while (Steady::now() < until);
  return absl::UnavailableError(
      StrCat("node ", options_.node,
             " needs a copy of a healthy node's store (its own reaches "
             "entry ",
             have, ", etcd keeps the log from ", first, ") and none gave one",
             tried.empty() ? " (no other node is up)" : StrCat(" (", tried, ")"),
             ": start another node of the group, then this one"));
}

absl::Status MasterGroup::CopyFrom(const std::string& address) {
  auto channel = MakeChannel(address, options_.credentials, {PrincipalKind::kMaster});
  auto stub = Group::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(std::chrono::hours(1)));
  auto reader = stub->Snapshot(&ctx, SnapshotRequest());
  VMS_RETURN_IF_ERROR(master_->BeginCopy());
  SnapshotChunk chunk;
  std::optional<uint64_t> index;
  uint64_t rows = 0;
  while (reader->Read(&chunk)) {
    VMS_RETURN_IF_ERROR(master_->AddCopy({chunk.rows().begin(), chunk.rows().end()}));
    rows += chunk.rows_size();
    if (chunk.last()) index = chunk.index();
  }
  VMS_RETURN_IF_ERROR(FromGrpc(reader->Finish(), StrCat("copy the store of ", address)));
  if (!index) return absl::UnavailableError(StrCat("the copy from ", address, " ended early"));
  // Every object the copied releases name, before the copy counts.
  VMS_ASSIGN_OR_RETURN(auto apps, master_->records().ListApps());
  uint64_t releases = 0;
  for (const AppState& app : apps) {
    VMS_ASSIGN_OR_RETURN(auto versions, master_->records().ListVersions(app.app()));
    for (const Envelope& env : versions) {
      VMS_ASSIGN_OR_RETURN(Release release, ParseRelease(env));
      if (IsRetired(app, release.version())) continue;  // collected
      VMS_ASSIGN_OR_RETURN(Hash root, Hash::FromBytes(release.root()));
      VMS_RETURN_IF_ERROR(FetchTree(root, {address}));
      VMS_RETURN_IF_ERROR(master_->MarkHeld(root));
      ++releases;
    }
  }
  MasterLog()->info("node {}: copied {} rows and the objects of {} releases from {}", options_.node,
                    rows, releases, address);
  return master_->FinishCopy(*index);
}

void MasterGroup::Start(const std::string& address) {
  address_ = address;
  // The leader key names this node's address (who leads, for clients).
  log_ = std::make_unique<GroupLog>(etcd_.get(), GroupLog::Options{.prefix = options_.prefix,
                                                                   .node = options_.node,
                                                                   .address = address,
                                                                   .lease = options_.lease});
  follower_ = std::make_unique<PeriodicTask>([this] { return Follow(); });
  leadership_ = std::make_unique<Leadership>(log_.get(), [this](bool leading) {
    // A new leader applies the whole log before it takes a write.
    caught_up_ = false;
    if (leading) follower_->Wake();
  });
  started_ = true;
}

void MasterGroup::Stop() {
  // The follow loop first: it wakes the leadership (ProbeLeader).
  if (follower_) follower_->Stop();
  leadership_.reset();  // resigns
}

absl::Status MasterGroup::Writable() const {
  // Every refusal says kNotWritten: vms then knows it may ask another node.
  auto refuse = [this](std::string_view why) {
    return absl::UnavailableError(
        StrCat("vms-master ", options_.node, " ", why, " (", kNotWritten, ")"));
  };
  if (!started_) return refuse("is starting");
  if (log_->leading() && caught_up_) return absl::OkStatus();
  if (log_->leading()) return refuse("has just become the group's leader and is applying its log");
  // Asked now: the follow loop's view may be older than a failover.
  std::string leader;
  if (auto who = log_->WhoLeads(); who.ok()) {
    leader = *who ? (*who)->address : "";
  } else {
    MutexLock lock(&mu_);
    leader = leader_address_;
  }
  if (leader.empty() || leader == address_) {
    return refuse(
        "is a standby and no node of the group leads now (one is elected within seconds)");
  }
  return refuse(StrCat("is a standby of the master group; ", kLeaderIsAt, leader));
}

absl::StatusOr<std::vector<GroupNode>> MasterGroup::LiveNodes(std::chrono::milliseconds silence) {
  VMS_ASSIGN_OR_RETURN(auto found,
                       etcd_->Range(options_.prefix + "nodes/", options_.prefix + "nodes0", 1000));
  std::vector<GroupNode> nodes;
  const int64_t now = NowMs();
  for (const auto& [key, value] : found) {
    GroupNode node;
    if (!node.ParseFromString(value.value)) continue;
    if (now - node.unix_ms() > silence.count()) continue;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

absl::Status MasterGroup::HoldCopies(const Hash& root) {
  const int others = options_.commit_copies - 1;
  if (others <= 0) return absl::OkStatus();
  const Steady::time_point until = Steady::now() + options_.copies_wait;
  std::string why;
  for (;;) {
    VMS_RETURN_IF_ERROR(Writable());
    std::vector<GroupNode> peers;
    if (auto nodes = LiveNodes(options_.node_silence); nodes.ok()) {
      for (GroupNode& n : *nodes) {
        if (n.node() != options_.node && !n.address().empty()) peers.push_back(std::move(n));
      }
    } else {
      why = StrCat("etcd: ", nodes.status().message());
    }
    // Every standby up fetches it at once; enough of them must succeed.
    std::vector<std::future<absl::Status>> holds;
    for (const GroupNode& peer : peers) {
      holds.push_back(std::async(std::launch::async, [this, &root, address = peer.address()] {
        auto channel = MakeChannel(address, options_.credentials, {PrincipalKind::kMaster});
        auto stub = Group::NewStub(channel);
        HoldRequest req;
        req.set_root(std::string(root.View()));
        req.set_from(address_);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            options_.copies_wait + std::chrono::minutes(10));
        return Unary<HoldResponse>(stub.get(), &Group::Stub::Hold, req, left,
                                   StrCat("hold a release at ", address))
            .status();
      }));
    }
    int held = 0;
    std::vector<std::string> failed;
    for (size_t i = 0; i < holds.size(); ++i) {
      absl::Status s = holds[i].get();
      if (s.ok()) {
        ++held;
      } else {
        failed.push_back(StrCat(peers[i].node(), ": ", s.message()));
      }
    }
    if (held >= others) return absl::OkStatus();
    if (why.empty() || !failed.empty() || !peers.empty()) {
      why = StrCat(held + 1, " of the ", options_.commit_copies,
                   " nodes a release needs hold it (--commit-copies); nodes up besides this one: ",
                   peers.size(), failed.empty() ? "" : StrCat(" (", Join(failed, "; "), ")"));
    }
    if (Steady::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return absl::FailedPreconditionError(
      StrCat("the release is not committed: ", why,
             ". Pushes wait until enough master nodes are up (vms masters shows them); flips go "
             "on. Push again once they are"));
}

absl::Status MasterGroup::Append(const GroupEntry& entry) {
  const std::string value = entry.SerializeAsString();
  if (value.size() > kMaxEntryBytes) {
    return absl::ResourceExhaustedError(StrCat(
        "this write would be an entry of ", value.size() >> 10, " KiB in the group's log; at most ",
        kMaxEntryBytes >> 10, " KiB fit: make it in smaller parts"));
  }
  absl::Status s = log_->Append(entry.index(), value);
  if (s.ok() && kill_after_appends_ > 0 && --kill_after_appends_ == 0) {
    MasterLog()->warn("VMS_FAULT_KILL_AFTER_APPENDS: killed after entry {}", entry.index());
    raise(SIGKILL);
  }
  if (s.ok()) return s;
  // Whatever happened, this node applies the log again before its next
  // write: the entry may be there (an answer lost), or another's.
  caught_up_ = false;
  follower_->Wake();
  if (absl::IsFailedPrecondition(s)) {
    return absl::UnavailableError(StrCat("vms-master ", options_.node,
                                         " could not append to the group's log (", s.message(),
                                         "): nothing was written; retry, at the leader"));
  }
  return absl::DeadlineExceededError(
      StrCat("etcd did not say whether it took this write (", s.message(),
             "): it may or may not have happened; `vms history APP` shows the log"));
}

absl::Status MasterGroup::FetchTree(const Hash& root, const std::vector<std::string>& from) {
  ObjectStore& store = master_->mutable_objects();
  absl::Status last = absl::UnavailableError("no node to fetch from");
  for (const std::string& address : from) {
    if (address.empty() || address == address_) continue;
    UpstreamClient upstream(address, options_.credentials);
    absl::Status s;
    for (int round = 0; round < kMaxFetchRounds; ++round) {
      auto closure = WalkClosure(store, root);
      if (!closure.ok()) {
        s = closure.status();
        break;
      }
      if (closure->missing.empty()) return absl::OkStatus();
      s = upstream.Fetch(closure->missing, [&](std::vector<StoredObject>* batch) {
        return store.Ingest(batch).status();
      });
      if (!s.ok()) break;
    }
    last = s.ok() ? absl::DataLossError(StrCat("tree ", root.Short(), " never completed")) : s;
  }
  return last;
}

absl::Status MasterGroup::Hold(const Hash& root, const std::string& from) {
  if (!started_) return absl::UnavailableError("this node is starting");
  return FetchTree(root, {from});
}

absl::Status MasterGroup::ApplyFrom(uint64_t until) {
  for (;;) {
    const uint64_t next = master_->group_index() + 1;
    if (until != 0 && next > until) return absl::OkStatus();
    VMS_ASSIGN_OR_RETURN(auto entries, log_->Read(next, kApplyBatch));
    if (entries.empty()) {
      return until == 0 || next > until
                 ? absl::OkStatus()
                 : absl::UnavailableError(StrCat("the group's log ends before ", until));
    }
    if (entries.front().first != next) {
      return absl::DataLossError(
          StrCat("the group's log starts at entry ", entries.front().first,
                 " and this node holds up to ", next - 1,
                 ": the entries between were trimmed. Give this node a copy of a healthy "
                 "node's store (vms-master backup, then restore) and start it again"));
    }
    for (const auto& [index, value] : entries) {
      GroupEntry entry;
      if (!entry.ParseFromString(value) || entry.index() != index) {
        return absl::DataLossError(StrCat("entry ", index, " of the group's log does not parse"));
      }
      for (const std::string& raw : entry.roots()) {
        VMS_ASSIGN_OR_RETURN(Hash root, Hash::FromBytes(raw));
        auto complete = master_->records().objects().CompleteTrees({&root, 1});
        if (complete.ok() && (*complete)[0]) continue;
        std::vector<std::string> from;
        {
          MutexLock lock(&mu_);
          from.push_back(leader_address_);
        }
        if (auto nodes = LiveNodes(options_.node_silence); nodes.ok()) {
          for (const GroupNode& n : *nodes) from.push_back(n.address());
        }
        VMS_RETURN_IF_ERROR(FetchTree(root, from));
      }
      VMS_RETURN_IF_ERROR(master_->ApplyEntry(entry));
      if (RetiresAVersion(entry)) CollectAfterRetirement();
    }
    if (entries.size() < kApplyBatch && until == 0) return absl::OkStatus();
  }
}

bool MasterGroup::RetiresAVersion(const GroupEntry& entry) {
  for (const GroupRow& row : entry.rows()) {
    if (row.family() != "live" || row.deleted()) continue;
    Envelope env;
    LiveRecord record;
    if (env.ParseFromString(row.value()) && record.ParseFromString(env.payload()) &&
        record.kind() == LiveRecord::RETIRE) {
      return true;
    }
  }
  return false;
}

void MasterGroup::CollectAfterRetirement() {
  // As the leader did when it retired the version: its objects go here too.
  auto gc = master_->CollectGarbage(/*dry_run=*/false);
  if (!gc.ok()) {
    MasterLog()->warn("node {}: garbage collection after a retirement: {}", options_.node,
                      Sv(gc.status().message()));
    return;
  }
  MasterLog()->info("node {}: collected after a retirement objects_removed={} bytes_removed={}",
                    options_.node, gc->objects_removed(), gc->bytes_removed());
}

PeriodicTask::Next MasterGroup::Follow() {
  const bool leading = log_->leading();
  absl::Status s;
  if (leading && !caught_up_) {
    auto head = log_->Head();
    s = head.ok() ? ApplyFrom(*head) : head.status();
    if (s.ok() && log_->leading()) {
      caught_up_ = true;
      MasterLog()->info("node {} leads the group, its log applied up to entry {}", options_.node,
                        master_->group_index());
    }
  } else if (!leading) {
    if (auto who = log_->WhoLeads(); who.ok()) {
      {
        MutexLock lock(&mu_);
        leader_address_ = *who ? (*who)->address : "";
      }
      if (started_ && *who && (*who)->node != options_.node) ProbeLeader(**who);
    }
    s = ApplyFrom(0);
  }
  {
    MutexLock lock(&mu_);
    const std::string said = s.ok() ? "" : std::string(s.message());
    if (said != follow_error_ && !said.empty()) {
      MasterLog()->warn("node {} cannot apply the group's log: {}", options_.node, said);
    }
    follow_error_ = said;
  }
  const Steady::time_point now = Steady::now();
  if (now >= next_announce_) {
    Announce();
    next_announce_ = now + std::chrono::seconds(1);
  }
  if (leading && now >= next_trim_) {
    TrimAndCompact();
    next_trim_ = now + std::chrono::seconds(10);
  }
  return PeriodicTask::Next::In(std::chrono::milliseconds(s.ok() ? 50 : 500));
}

namespace {

// Whether a TCP connection to `address` (host:port) is refused: nothing
// listens there (a process that is gone), as opposed to a host that does not
// answer (which may be a partition, and proves nothing).
bool ConnectRefused(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(address.substr(0, colon).c_str(), address.substr(colon + 1).c_str(), &hints,
                  &found) != 0) {
    return false;
  }
  bool refused = false;
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
      if (errno == ECONNREFUSED) {
        refused = true;
      } else if (errno == EINPROGRESS) {
        pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&p, 1, 300) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
          refused = err == ECONNREFUSED;
        }
      }
    }
    close(fd);
  }
  freeaddrinfo(found);
  return refused;
}

}  // namespace

void MasterGroup::ProbeLeader(const GroupLog::Leader& leader) {
  const Steady::time_point now = Steady::now();
  if (now < next_probe_) return;
  next_probe_ = now + std::chrono::milliseconds(200);
  refused_ = ConnectRefused(leader.address) ? refused_ + 1 : 0;
  if (refused_ < 2) return;
  refused_ = 0;
  MasterLog()->warn("node {}: nothing listens at the leader {}'s address {}: deposing it",
                    options_.node, leader.node, leader.address);
  if (absl::Status s = log_->Depose(leader.node); !s.ok()) {
    MasterLog()->warn("node {}: could not depose {}: {}", options_.node, leader.node,
                      Sv(s.message()));
    return;
  }
  leadership_->Wake();
}

void MasterGroup::Announce() {
  GroupNode self;
  self.set_node(options_.node);
  self.set_address(address_);
  self.set_applied(master_->group_index());
  self.set_head_seq(master_->records().head_seq());
  self.set_objects(master_->ObjectCountEstimate());
  self.set_unix_ms(NowMs());
  self.set_leader(leading());
  if (absl::Status s =
          etcd_->Put(options_.prefix + "nodes/" + options_.node, self.SerializeAsString());
      !s.ok()) {
    MasterLog()->debug("node {} could not say where it is: {}", options_.node, Sv(s.message()));
  }
}

void MasterGroup::TrimAndCompact() {
  const Steady::time_point now = Steady::now();
  if (auto nodes = LiveNodes(options_.keep_for_absent); nodes.ok() && !nodes->empty()) {
    uint64_t applied = UINT64_MAX;
    for (const GroupNode& n : *nodes) applied = std::min(applied, n.applied());
    if (auto trimmed = log_->Trim(applied); trimmed.ok() && *trimmed > 0) {
      MasterLog()->debug("trimmed {} entries of the group's log below {}", *trimmed, applied);
    }
  }
  // Deleted entries and every node's announcements leave old revisions
  // behind until etcd's history is compacted.
  if (now < next_compact_) return;
  next_compact_ = now + std::chrono::minutes(1);
  auto status = etcd_->Status();
  absl::Status s = status.ok() ? etcd_->Compact(status->header().revision()) : status.status();
  if (!s.ok()) MasterLog()->debug("etcd compaction: {}", Sv(s.message()));
}

absl::StatusOr<GroupNodesResponse> MasterGroup::Nodes() {
  // The server answers before Start() (which needs its bound address).
  if (!started_) {
    return absl::UnavailableError(StrCat("vms-master ", options_.node, " is starting"));
  }
  GroupNodesResponse resp;
  resp.set_commit_copies(static_cast<uint32_t>(options_.commit_copies));
  VMS_ASSIGN_OR_RETURN(auto found,
                       etcd_->Range(options_.prefix + "nodes/", options_.prefix + "nodes0", 1000));
  VMS_ASSIGN_OR_RETURN(auto who, log_->WhoLeads());
  if (who) resp.set_leader(who->node);
  for (const auto& [key, value] : found) {
    GroupNode node;
    if (node.ParseFromString(value.value)) {
      node.set_leader(who && who->node == node.node());
      *resp.add_nodes() = std::move(node);
    }
  }
  VMS_ASSIGN_OR_RETURN(uint64_t head, log_->Head());
  resp.set_log_head(head);
  VMS_ASSIGN_OR_RETURN(auto oldest, log_->Read(0, 1));
  if (!oldest.empty()) resp.set_log_oldest(oldest.front().first);
  for (const std::string& endpoint : options_.etcd.endpoints) {
    auto one = EtcdClient::Create({.endpoints = {endpoint},
                                   .deadline = std::chrono::milliseconds(500),
                                   .ca_file = options_.etcd.ca_file,
                                   .cert_file = options_.etcd.cert_file,
                                   .key_file = options_.etcd.key_file});
    absl::StatusOr<etcdserverpb::StatusResponse> status =
        one.ok() ? (*one)->Status() : absl::StatusOr<etcdserverpb::StatusResponse>(one.status());
    resp.add_etcd(status.ok() ? StrCat(endpoint, " ok, ", status->dbsize() >> 10, " KiB")
                              : StrCat(endpoint, ": ", status.status().message()));
  }
  return resp;
}

}  // namespace vms
