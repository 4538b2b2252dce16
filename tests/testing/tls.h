// In-process clients with the test PKI's certificates (tests/testing/pki.h).
#ifndef VMS_TESTS_TESTING_TLS_H_
#define VMS_TESTS_TESTING_TLS_H_

#include <memory>
#include <string>

#include "net/channel.h"
#include "net/tls.h"
#include "tests/testing/pki.h"

namespace vms::testing {

// The credentials of KIND/NAME (issued on first use); dies on failure.
inline Credentials TestCredentials(const std::string& kind = "user",
                                   const std::string& name = "admin") {
  CertFiles f = TestPki::Get().Files(kind, name);
  return Credentials::Load({.ca = f.ca, .cert = f.cert, .key = f.key}).value();
}

// A channel to a test master or replica as KIND/NAME.
inline std::shared_ptr<grpc::Channel> TestChannel(const std::string& address,
                                                  const std::string& kind = "user",
                                                  const std::string& name = "admin") {
  return MakeChannel(address, TestCredentials(kind, name),
                     {PrincipalKind::kMaster, PrincipalKind::kSite});
}

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_TLS_H_
