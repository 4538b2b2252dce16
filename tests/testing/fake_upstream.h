// An Upstream serving a Master's store in-process (no gRPC), optionally
// holding back one object: for testing replica logic without a network.
#ifndef VMS_TESTS_TESTING_FAKE_UPSTREAM_H_
#define VMS_TESTS_TESTING_FAKE_UPSTREAM_H_

#include <optional>
#include <string>
#include <vector>

#include "net/upstream.h"
#include "server/master.h"

namespace vms::testing {

class FakeUpstream : public Upstream {
 public:
  explicit FakeUpstream(const Master* master) : master_(master) {}
  absl::Status Fetch(std::span<const Hash> hashes, const Sink& sink) override {
    // One object per batch, so what arrived before a failure is kept.
    for (const Hash& h : hashes) {
      if (withhold && h == *withhold) return absl::UnavailableError("upstream lost it");
      ++fetched;
      auto o = master_->records().objects().GetEncoded(h);
      if (!o.ok()) return o.status();
      std::vector<StoredObject> batch = {std::move(*o)};
      if (absl::Status s = sink(&batch); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<Envelope>> Releases(const std::string& app) override {
    return master_->records().ListVersions(app);
  }
  absl::StatusOr<TrustSnapshot> Trust() override { return master_->TrustRecords(); }
  std::optional<Hash> withhold;
  int fetched = 0;

 private:
  const Master* master_;
};

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_FAKE_UPSTREAM_H_
