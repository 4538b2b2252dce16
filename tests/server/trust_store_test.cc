// TrustStore: the master and every replica keep their chain of trust the
// same way, and what is stored wins over what a restart is given.
#include "server/trust_store.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"
#include "tests/testing/trust_world.h"

namespace vms {
namespace {

using testing::TrustWorld;

TEST(TrustStoreTest, AChainStoredWithItsEventIsTheChainLoadedAfterARestart) {
  testing::TempDir dir;
  TrustWorld w;
  TrustChain chain = w.Chain();
  ASSERT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(4, 1000, 2000), 1000));
  {
    auto records = RecordStore::Open(dir.path() + "/db").value();
    TrustStore store(records.get());
    EXPECT_FALSE(*store.Held());
    // Nothing stored: the chain starts from the root it is given.
    auto fresh = store.Load(w.TrustedRoot(), 1000);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_EQ(fresh->keyring(), nullptr);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(store.Put(&batch, chain).ok());
    ASSERT_TRUE(records->Commit(&batch, 1).ok());
    ASSERT_TRUE(store.PutCheckpoint(*chain.checkpoint_envelope()).ok());
  }
  auto records = RecordStore::Open(dir.path() + "/db").value();
  TrustStore store(records.get());
  EXPECT_TRUE(*store.Held());
  // Given another root at restart: what is stored wins.
  TrustWorld other;
  auto loaded = store.Load(other.TrustedRoot(), 1000);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Snapshot().SerializeAsString(), chain.Snapshot().SerializeAsString());
  EXPECT_EQ(loaded->checkpoint(1000).checkpoint.head_seq(), 4u);
  EXPECT_EQ(loaded->root().record.SerializeAsString(), w.TrustedRoot().record.SerializeAsString());

  // A stored chain that no longer verifies is named, never half-loaded.
  TrustSnapshot bad = chain.Snapshot();
  bad.mutable_records(0)->mutable_signatures(0)->set_sig(std::string(64, 'x'));
  rocksdb::WriteBatch batch;
  records->PutMeta(&batch, "trust", bad.SerializeAsString());
  ASSERT_TRUE(records->Commit(&batch, 2).ok());
  auto refused = store.Load(w.TrustedRoot(), 1000);
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("no longer verifies"), std::string::npos);
}

}  // namespace
}  // namespace vms
