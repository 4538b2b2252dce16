// HTTP from tests: GET of a daemon's /metrics or the master's status page,
// and reading samples out of the Prometheus text format.
#ifndef VMS_TESTS_TESTING_HTTP_H_
#define VMS_TESTS_TESTING_HTTP_H_

#include <optional>
#include <string>

#include "tests/testing/pki.h"

namespace vms::testing {

struct HttpResult {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
};

// GET http://ADDRESS/PATH, or https:// when `tls` is given (the server's
// certificate checked against tls->ca; tls->cert and tls->key presented
// unless empty).
HttpResult HttpGet(const std::string& address, const std::string& path,
                   const CertFiles* tls = nullptr);

// The value of `sample` (a metric name with its labels as exposed, e.g.
// `vms_fuse_requests_total{op="lookup"}`) in Prometheus text; nullopt when
// absent.
std::optional<double> MetricValue(const std::string& text, const std::string& sample);

// Until `path` holds a line (an address a daemon wrote); "" after the timeout.
std::string WaitForAddressFile(const std::string& path);

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_HTTP_H_
