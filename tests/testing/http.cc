#include "tests/testing/http.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "httplib.h"
#include "tests/testing/testing.h"

namespace vms::testing {

HttpResult HttpGet(const std::string& address, const std::string& path, const CertFiles* tls) {
  signal(SIGPIPE, SIG_IGN);  // a refused handshake closes the socket under OpenSSL's write
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  int port = std::stoi(address.substr(colon + 1));
  std::unique_ptr<httplib::ClientImpl> client;
  if (tls != nullptr) {
    auto ssl = tls->cert.empty()
                   ? std::make_unique<httplib::SSLClient>(host, port)
                   : std::make_unique<httplib::SSLClient>(host, port, tls->cert, tls->key);
    ssl->set_ca_cert_path(tls->ca.c_str());
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(host, port);
  }
  client->set_connection_timeout(std::chrono::seconds(10));
  client->set_read_timeout(std::chrono::seconds(30));
  HttpResult out;
  auto res = client->Get(path.c_str());
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  return out;
}

std::optional<double> MetricValue(const std::string& text, const std::string& sample) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 &&
        line[sample.size()] == ' ') {
      return std::stod(line.substr(sample.size() + 1));
    }
  }
  return std::nullopt;
}

std::string WaitForAddressFile(const std::string& path) {
  std::string line;
  WaitFor([&] {
    std::ifstream in(path);
    return static_cast<bool>(std::getline(in, line)) && !line.empty();
  });
  return line;
}

}  // namespace vms::testing
