// A root of trust for tests: a root key, an admin key, the master's key and
// developers' keys, and helpers that sign records the way `vms-admin` and
// `vms` do (tests of the chain, the master, and the compromised-master
// harness share it).
#ifndef VMS_TESTS_TESTING_TRUST_WORLD_H_
#define VMS_TESTS_TESTING_TRUST_WORLD_H_

#include <string>
#include <utility>
#include <vector>

#include "core/chain.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/trust.h"
#include "records.pb.h"

namespace vms::testing {

struct TrustWorld {
  SigningKey root_key = SigningKey::Generate();
  SigningKey admin = SigningKey::Generate();
  SigningKey master = SigningKey::Generate();
  SigningKey alice = SigningKey::Generate();
  SigningKey bob = SigningKey::Generate();

  Envelope RootEnvelope(uint64_t version = 1) const {
    RootRecord r;
    r.set_version(version);
    r.set_threshold(1);
    r.add_keys(root_key.public_key().Pem());
    return SignEnvelope(kRootType, r.SerializeAsString(), root_key);
  }
  Root TrustedRoot() const { return *OpenRoot(RootEnvelope()); }

  Envelope Keyring(uint64_t version = 1, const SigningKey* signer = nullptr,
                   const SigningKey* master_key = nullptr) const {
    KeyringRecord k;
    k.set_version(version);
    k.set_root_version(1);
    k.add_admin_keys(admin.public_key().Pem());
    k.set_master_key((master_key ? *master_key : master).public_key().Pem());
    return SignEnvelope(kKeyringType, k.SerializeAsString(), signer ? *signer : root_key);
  }

  // Ownership record `seq` of `app`: the given owners, threshold 1.
  Envelope Ownership(const std::string& app, uint64_t seq,
                     std::vector<std::pair<std::string, const SigningKey*>> owners,
                     const SigningKey* signer = nullptr, uint64_t keyring_version = 1,
                     uint64_t live_seq_at = 0, uint64_t release_seq_at = 0) const {
    OwnershipRecord o;
    o.set_live_seq_at(live_seq_at);
    o.set_release_seq_at(release_seq_at);
    o.set_app(app);
    o.set_ownership_seq(seq);
    o.set_threshold(1);
    o.set_keyring_version(keyring_version);
    for (const auto& [principal, key] : owners) {
      OwnerKey* k = o.add_owners();
      k->set_principal(principal);
      k->set_key(key->public_key().Pem());
    }
    return SignEnvelope(kOwnershipType, o.SerializeAsString(), signer ? *signer : admin);
  }
  Envelope AliceOwns(const std::string& app, uint64_t seq = 1) const {
    return Ownership(app, seq, {{"vms://user/alice", &alice}});
  }

  // A chain holding the root, keyring 1 and alice's ownership of `app`.
  TrustChain Chain(const std::string& app = "alpha") const {
    TrustChain chain(TrustedRoot());
    (void)chain.Accept(Keyring());
    (void)chain.Accept(AliceOwns(app));
    return chain;
  }

  static Release MakeRelease(const std::string& app, const std::string& version,
                             const std::string& root, uint64_t ownership_seq = 1,
                             uint64_t release_seq = 1) {
    Release r;
    r.set_app(app);
    r.set_version(version);
    r.set_root(root);
    r.set_ownership_seq(ownership_seq);
    r.set_release_seq(release_seq);
    return r;
  }
  static LiveRecord MakeLive(const std::string& app, const std::string& version,
                             const std::string& root, uint64_t live_seq,
                             uint64_t ownership_seq = 1) {
    LiveRecord l;
    l.set_app(app);
    l.set_version(version);
    l.set_root(root);
    l.set_live_seq(live_seq);
    l.set_ownership_seq(ownership_seq);
    return l;
  }
  static Envelope Sign(std::string_view type, const google::protobuf::MessageLite& m,
                       const SigningKey& key) {
    return SignEnvelope(type, m.SerializeAsString(), key);
  }
  Envelope Checkpoint(uint64_t head, int64_t issued, int64_t expires,
                      const SigningKey* signer = nullptr) const {
    vms::Checkpoint c;
    c.set_head_seq(head);
    c.set_issued_unix_ms(issued);
    c.set_expires_unix_ms(expires);
    c.set_keyring_version(1);
    return SignEnvelope(kCheckpointType, c.SerializeAsString(), signer ? *signer : master);
  }
};

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_TRUST_WORLD_H_
