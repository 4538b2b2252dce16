// The chain of trust fed a sequence of records (a TrustSnapshot, as Read.
// Trust answers and stores keep), from a root of fixed test keys: every
// record accepted or refused, then releases and live records verified.
// Whatever the input: a refused record changes nothing, and what the chain
// holds restores into the same chain.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/chain.h"
#include "core/check.h"
#include "core/envelope.h"
#include "core/trust.h"
#include "records.pb.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

vms::Root FuzzRoot() {
  vms::RootRecord r;
  r.set_version(1);
  r.set_threshold(1);
  r.add_keys(vms::fuzz::RootKey().public_key().Pem());
  return *vms::OpenRoot(
      vms::SignEnvelope(vms::kRootType, r.SerializeAsString(), vms::fuzz::RootKey()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  TrustSnapshot input;
  if (!input.ParseFromString(std::string(reinterpret_cast<const char*>(data), size))) return 0;
  if (input.records_size() > 64) return 0;
  static const Root root = FuzzRoot();
  TrustChain chain(root);
  // A fixed clock, so that a run is reproducible.
  constexpr int64_t kNow = 1'800'000'000'000;
  for (const Envelope& env : input.records()) {
    const std::string before = chain.Snapshot().SerializeAsString();
    auto accepted = chain.Accept(env);
    if (!accepted.ok() || !*accepted) {
      VMS_CHECK(chain.Snapshot().SerializeAsString() == before,
                "a refused record changed the chain");
    }
    // Whatever it is, as a release or live record of any app held.
    (void)chain.VerifyRelease(env, TrustChain::Order::kCurrent);
    (void)chain.VerifyLive(env, TrustChain::Order::kHeld);
    (void)chain.Signers(env, "alpha");
  }
  if (input.has_checkpoint()) {
    (void)chain.AcceptCheckpoint(input.checkpoint(), kNow);
    (void)chain.checkpoint(0);
  }
  (void)chain.ExpiryWarnings(kNow);
  TrustChain restored(root);
  VMS_CHECK(restored.Restore(chain.Snapshot(), kNow).ok(), "what the chain holds does not restore");
  VMS_CHECK(restored.Snapshot().SerializeAsString() == chain.Snapshot().SerializeAsString(),
            "a restored chain differs");
  return 0;
}
