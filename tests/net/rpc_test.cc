#include "net/rpc.h"

#include <string>

#include "gtest/gtest.h"

namespace vms {
namespace {

bool Mentions(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

// `vms live` pointed at a replica once printed "vms: live on ADDR:" and
// nothing after: the replica does not serve Publish, and gRPC says so with
// an empty message.
TEST(RpcTest, ARequestTheServerDoesNotServeSaysWhatToDo) {
  absl::Status s = FromGrpc(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""), "live on r:1");
  EXPECT_TRUE(absl::IsUnimplemented(s));
  EXPECT_TRUE(Mentions(s, "live on r:1: that server does not serve this request")) << s;
  EXPECT_TRUE(Mentions(s, "is it a replica?")) << s;
  EXPECT_TRUE(Mentions(s, "--master")) << s;
}

TEST(RpcTest, AnErrorWithoutAMessageStillSaysSomething) {
  absl::Status s = FromGrpc(grpc::Status(grpc::StatusCode::INTERNAL, ""), "push to m:1");
  EXPECT_TRUE(Mentions(s, "push to m:1: INTERNAL (the server gave no reason)")) << s;
  absl::Status plain =
      FromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "no app named x"), "status");
  EXPECT_EQ(plain.message(), "status: no app named x");
}

}  // namespace
}  // namespace vms
