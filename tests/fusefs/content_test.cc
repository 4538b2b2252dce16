#include "fusefs/content.h"

#include <future>
#include <map>
#include <mutex>

#include "core/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

// A fetch that delivers its first object, then holds the rest back until
// the test lets it go: what a slow replica streaming a long request looks
// like from the host.
class ContentTest : public ::testing::Test {
 protected:
  ContentTest()
      : cache_(ObjectCache::Open(dir_ / "cache", 1 << 30).value()),
        content_(cache_.get(), [this](std::span<const Hash> hashes, const Upstream::Sink& sink) {
          requests_.fetch_add(1);
          for (size_t i = 0; i < hashes.size(); ++i) {
            if (i == 1) release_.wait();
            std::vector<StoredObject> one = {
                {hashes[i], Codec::kRaw, objects_.at(hashes[i]).size(), objects_.at(hashes[i])}};
            if (absl::Status s = sink(&one); !s.ok()) return s;
          }
          return absl::OkStatus();
        }) {}

  ~ContentTest() override { Release(); }  // before pool_ joins, even after a failure

  void Release() {
    if (!released_.exchange(true)) go_.set_value();
  }
  Hash Put(const std::string& raw) {
    objects_[Sha256(raw)] = raw;
    return Sha256(raw);
  }

  testing::TempDir dir_;
  std::map<Hash, std::string> objects_;
  std::promise<void> go_;
  std::atomic<bool> released_{false};
  std::shared_future<void> release_ = go_.get_future().share();
  std::atomic<int> requests_{0};
  std::unique_ptr<ObjectCache> cache_;
  Content content_;
  ThreadPool pool_{2};  // last: joined first
};

TEST_F(ContentTest, AReaderWaitsForItsObjectNotForTheWholePrefetch) {
  std::vector<Hash> hashes = {Put("first"), Put("second"), Put("third")};
  content_.Prefetch(hashes, &pool_);
  // The first object lands while the rest is held back: Get() returns it.
  auto first = std::async(std::launch::async, [&] { return content_.Get(hashes[0]); });
  ASSERT_EQ(first.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "Get() waited for the whole prefetch";
  ASSERT_TRUE(first.get().ok());
  EXPECT_FALSE(content_.Cached(hashes[2]));
  // A reader of an object still in flight waits for it rather than asking again.
  auto third = std::async(std::launch::async, [&] { return content_.Get(hashes[2]); });
  EXPECT_EQ(third.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  Release();
  auto bytes = third.get();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(**bytes, "third");
  EXPECT_EQ(requests_, 1) << "one request brought all three";
}

TEST_F(ContentTest, PrefetchSkipsWhatIsCachedOrInFlight) {
  Release();
  Hash a = Put("a"), b = Put("b");
  ASSERT_TRUE(content_.Ensure(std::vector<Hash>{a}).ok());
  EXPECT_EQ(requests_, 1);
  content_.Prefetch(std::vector<Hash>{a}, &pool_);  // cached: no request at all
  content_.Prefetch(std::vector<Hash>{b}, &pool_);
  content_.Prefetch(std::vector<Hash>{b}, &pool_);  // in flight or cached by now
  ASSERT_TRUE(testing::WaitFor([&] { return content_.Cached(b); }));
  EXPECT_TRUE(content_.Ensure(std::vector<Hash>{a, b}).ok());
  EXPECT_EQ(requests_, 2);
}

}  // namespace
}  // namespace vms
