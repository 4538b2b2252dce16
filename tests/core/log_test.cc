#include "core/log.h"

#include <sstream>

#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"

namespace vms {
namespace {

// A component's logger is the one a daemon registered under its name, even
// when it was first asked for before (a cached copy once stayed the
// default logger's clone for good).
TEST(LogTest, AComponentLogsToTheLoggerRegisteredUnderItsName) {
  auto before = ComponentLogger("logtest");
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->name(), "logtest");
  EXPECT_EQ(ComponentLogger("logtest"), before) << "one copy per name";
  std::ostringstream out;
  auto registered = std::make_shared<spdlog::logger>(
      "logtest", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::register_logger(registered);
  ComponentLogger("logtest")->warn("to the registered one");
  registered->flush();
  EXPECT_NE(out.str().find("to the registered one"), std::string::npos);
  spdlog::drop("logtest");
  EXPECT_EQ(MasterLog()->name(), "master");
  EXPECT_EQ(ReplicaLog()->name(), "replica");
}

}  // namespace
}  // namespace vms
