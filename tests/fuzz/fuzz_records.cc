// Envelopes and every record kind, as they arrive from the network or a
// store: parsed, opened and checked. Nothing may crash, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/chain.h"
#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/trust.h"
#include "records.pb.h"
#include "tests/fuzz/fuzz_keys.h"
#include "vms.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vms;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  Envelope env;
  if (env.ParseFromString(bytes)) {
    (void)ParseRelease(env);
    auto live = ParseLiveRecord(env);
    (void)OpenRelease(env, fuzz::OwnerKey().public_key());
    (void)OpenLiveRecord(env, fuzz::OwnerKey().public_key());
    (void)OpenRoot(env);
    (void)ValidSignatures(env, {fuzz::RootKey().public_key(), fuzz::OwnerKey().public_key()});
    (void)DearmorRoot(ArmorRoot(env));
    if (live.ok()) {
      (void)ValidateScope(std::vector<std::string>(live->sites().begin(), live->sites().end()));
      (void)ValidateLabel(live->label());
      (void)AppliesTo(*live, "ny");
      (void)InEffect({*live}, "ny");
      AppState state;
      AddLiveToState(*live, &state);
      (void)IsRetired(state, live->version());
      (void)RetirementMatches(*live, live->app(), live->version(), live->root());
    }
    TrustChain chain = TrustChain::MasterKeyOnly(fuzz::OwnerKey().public_key());
    (void)chain.VerifyRelease(env, TrustChain::Order::kCurrent);
    (void)chain.VerifyLive(env, TrustChain::Order::kHeld);
  }
  (void)DearmorRoot(bytes);
  (void)DearmorRecord("KEYRING", bytes);
  // What the other parsers of network bytes take.
  FollowMessage follow;
  (void)follow.ParseFromString(bytes);
  SiteReport report;
  (void)report.ParseFromString(bytes);
  AppState state;
  if (state.ParseFromString(bytes)) (void)IsRetired(state, "1.0");
  return 0;
}
