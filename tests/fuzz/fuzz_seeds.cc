// Writes the seed corpus of every fuzz target (tests/fuzz/corpus/TARGET/):
// valid inputs of each kind, signed by the fixed keys of fuzz_keys.h, so the
// fuzzers start past the parsers' and the chain's first checks. Run by hand
// after a format changes: fuzz_seeds DIR (ops/fuzz --seeds).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/chain.h"
#include "core/codec.h"
#include "core/envelope.h"
#include "core/tree.h"
#include "core/trust.h"
#include "fusefs/inode_journal.h"
#include "fusefs/inode_table.h"
#include "records.pb.h"
#include "tests/fuzz/fuzz_keys.h"

namespace vms::fuzz {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& dir, const std::string& target, const std::string& name,
           const std::string& bytes) {
  fs::create_directories(dir / target);
  std::ofstream(dir / target / name, std::ios::binary) << bytes;
}

Envelope RootEnvelope() {
  RootRecord r;
  r.set_version(1);
  r.set_threshold(1);
  r.add_keys(RootKey().public_key().Pem());
  return SignEnvelope(kRootType, r.SerializeAsString(), RootKey());
}

Envelope KeyringEnvelope() {
  KeyringRecord k;
  k.set_version(1);
  k.set_root_version(1);
  k.add_admin_keys(AdminKey().public_key().Pem());
  k.set_master_key(OwnerKey().public_key().Pem());
  return SignEnvelope(kKeyringType, k.SerializeAsString(), RootKey());
}

Envelope Ownership(uint64_t seq) {
  OwnershipRecord o;
  o.set_app("alpha");
  o.set_ownership_seq(seq);
  o.set_threshold(1);
  o.set_keyring_version(1);
  o.set_live_seq_at(seq > 1 ? 2 : 0);
  vms::OwnerKey* k = o.add_owners();
  k->set_principal("vms://user/alice");
  k->set_key(fuzz::OwnerKey().public_key().Pem());
  return SignEnvelope(kOwnershipType, o.SerializeAsString(), AdminKey());
}

Envelope ReleaseEnvelope(const std::string& version) {
  Release r;
  r.set_app("alpha");
  r.set_version(version);
  r.set_root(std::string(32, 'r'));
  r.set_ownership_seq(1);
  r.set_release_seq(1);
  return SignEnvelope(kReleaseType, r.SerializeAsString(), OwnerKey());
}

Envelope LiveEnvelope(uint64_t live_seq, LiveRecord::Kind kind) {
  LiveRecord l;
  l.set_app("alpha");
  l.set_version("1.0");
  l.set_root(std::string(32, 'r'));
  l.set_live_seq(live_seq);
  l.set_ownership_seq(1);
  l.set_kind(kind);
  if (live_seq == 3) {
    l.add_sites("ldn");
    l.add_sites("ny");
    l.set_label("beta");
  }
  return SignEnvelope(kLiveType, l.SerializeAsString(), OwnerKey());
}

Envelope CheckpointEnvelope() {
  Checkpoint c;
  c.set_head_seq(7);
  c.set_issued_unix_ms(1000);
  c.set_expires_unix_ms(2000);
  c.set_keyring_version(1);
  return SignEnvelope(kCheckpointType, c.SerializeAsString(), OwnerKey());
}

void Records(const fs::path& dir) {
  Write(dir, "fuzz_records", "root", RootEnvelope().SerializeAsString());
  Write(dir, "fuzz_records", "release", ReleaseEnvelope("1.0").SerializeAsString());
  Write(dir, "fuzz_records", "live", LiveEnvelope(1, LiveRecord::LIVE).SerializeAsString());
  Write(dir, "fuzz_records", "retire", LiveEnvelope(2, LiveRecord::RETIRE).SerializeAsString());
  Write(dir, "fuzz_records", "label", LiveEnvelope(3, LiveRecord::LIVE).SerializeAsString());
  Write(dir, "fuzz_records", "armored-root", ArmorRoot(RootEnvelope()));
  AppState s;
  s.set_app("alpha");
  s.add_retired("1.0");
  s.add_retired_live_seq(2);
  s.add_retired_ahead("0.9");
  Write(dir, "fuzz_records", "app-state", s.SerializeAsString());
}

void Chain(const fs::path& dir) {
  TrustSnapshot whole;
  for (const Envelope& env : {KeyringEnvelope(), Ownership(1), Ownership(2)}) {
    *whole.add_records() = env;
  }
  *whole.mutable_checkpoint() = CheckpointEnvelope();
  Write(dir, "fuzz_chain", "chain", whole.SerializeAsString());
  TrustSnapshot mixed;
  for (const Envelope& env :
       {KeyringEnvelope(), Ownership(1), ReleaseEnvelope("1.0"), LiveEnvelope(1, LiveRecord::LIVE),
        Ownership(1), Ownership(2), LiveEnvelope(2, LiveRecord::RETIRE), Ownership(3)}) {
    *mixed.add_records() = env;
  }
  Write(dir, "fuzz_chain", "mixed", mixed.SerializeAsString());
  TrustSnapshot zero;
  OwnershipRecord o;
  o.set_app("newapp");
  *zero.add_records() = KeyringEnvelope();
  Envelope unsigned_zero;
  unsigned_zero.set_payload_type(std::string(kOwnershipType));
  unsigned_zero.set_payload(o.SerializeAsString());
  *zero.add_records() = unsigned_zero;
  Write(dir, "fuzz_chain", "ownership-zero", zero.SerializeAsString());
}

void Trees(const fs::path& dir) {
  std::vector<TreeEntry> entries = {
      {.name = "bin", .type = EntryType::kDir, .hash = Sha256("bin")},
      {.name = "big",
       .type = EntryType::kFile,
       .chunked = true,
       .size = 9 << 20,
       .hash = Sha256("chunks")},
      {.name = "run", .type = EntryType::kFile, .exec = true, .size = 3, .hash = Sha256("run")},
      {.name = "to", .type = EntryType::kSymlink, .target = "run"},
  };
  Write(dir, "fuzz_tree", "tree", *EncodeTree(entries));
  Write(dir, "fuzz_tree", "chunks",
        EncodeChunkList(
            {{.size = 4 << 20, .hash = Sha256("a")}, {.size = 5 << 20, .hash = Sha256("b")}}));
}

void Codec(const fs::path& dir) {
  for (const auto& [name, raw] : std::vector<std::pair<std::string, std::string>>{
           {"text", std::string(5000, 'x') + "some text"}, {"short", "abc"}}) {
    EncodedObject enc = Encode(raw, 3);
    std::string in(1, static_cast<char>(enc.codec));
    const uint32_t size = raw.size();
    in.append(reinterpret_cast<const char*>(&size), sizeof size);
    Write(dir, "fuzz_codec", name, in + enc.data);
  }
}

void Journal(const fs::path& dir) {
  const fs::path path = dir / "journal.tmp";
  {
    auto journal = InodeJournal::Create(path.string());
    InodeTable table;
    table.SetJournal(journal->get());
    table.JournalInit("init");
    Node link;
    link.kind = Node::kAppLink;
    link.app = "app";
    link.version = "1.0";
    link.target = "app@1.0";
    uint64_t a = table.Lookup(InodeTable::kRoot, "app", link);
    Node file;
    file.kind = Node::kFile;
    file.hash = Sha256("f");
    file.size = 1;
    file.app = "app";
    file.version = "1.0";
    uint64_t f = table.Lookup(a, "f", file);
    table.Lookup(a, "f", file);
    table.Forget(f, 1);
  }
  std::ifstream in(path, std::ios::binary);
  Write(dir, "fuzz_inode_journal", "journal",
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  fs::remove(path);
}

void SiteMaps(const fs::path& dir) {
  SiteMap map;
  map.set_version(3);
  for (const auto& [site, net] : std::vector<std::pair<std::string, std::string>>{
           {"ldn", "10.2.0.0/16"}, {"ny", "10.1.0.0/16"}, {"sf", "fd00::/8"}}) {
    SiteMapEntry* e = map.add_sites();
    e->set_site(site);
    e->set_address(site + ".example:7070");
    e->add_networks(net);
  }
  Write(dir, "fuzz_site_map", "map", map.SerializeAsString());
}

void Names(const fs::path& dir) {
  int i = 0;
  for (const char* text : {"10.1.0.0/16", "fd00::/8", "::ffff:10.0.0.1", "vms://user/alice",
                           "vms://site/ny", "alice", "1.2.3-rc1+build", "beta", "python3.11"}) {
    Write(dir, "fuzz_names", "n" + std::to_string(i++), text);
  }
}

void Configs(const fs::path& dir) {
  Write(dir, "fuzz_config", "toml",
        "log-level = \"debug\"\nsite = \"ny\"\nreplicas = [\"a:1\", \"b:2\"]\nport = 7070\n"
        "ratio = 0.5\nflag = true\n[section]\nkey = 1\n");
  Write(dir, "fuzz_config", "ini", "; comment\nlog-file=/tmp/x\ninsecure=1\nreplicas=a:1,b:2\n");
}

}  // namespace
}  // namespace vms::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR (tests/fuzz/corpus)\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  vms::fuzz::Records(dir);
  vms::fuzz::Chain(dir);
  vms::fuzz::Trees(dir);
  vms::fuzz::Codec(dir);
  vms::fuzz::Journal(dir);
  vms::fuzz::SiteMaps(dir);
  vms::fuzz::Names(dir);
  vms::fuzz::Configs(dir);
  return 0;
}
