#include "core/trust.h"

#include <openssl/evp.h>

#include <set>

#include "core/envelope.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace vms {

namespace {

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

absl::StatusOr<std::string> Unbase64(std::string_view in) {
  std::string clean;
  for (char c : in) {
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return absl::InvalidArgumentError("not base64");
  std::string out(3 * clean.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return absl::InvalidArgumentError("not base64");
  size_t pad = 0;
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

void AddSignature(Envelope* env, const SigningKey& key) {
  Signature* sig = env->add_signatures();
  sig->set_keyid(key.public_key().keyid());
  sig->set_sig(key.Sign(PreAuthEncoding(env->payload_type(), env->payload())));
}

size_t ValidSignatures(const Envelope& env, const std::vector<PublicKey>& keys) {
  const std::string message = PreAuthEncoding(env.payload_type(), env.payload());
  std::set<std::string> signed_by;
  for (const Signature& sig : env.signatures()) {
    for (const PublicKey& key : keys) {
      if (key.keyid() == sig.keyid() && !signed_by.contains(key.keyid()) &&
          key.Verify(message, sig.sig())) {
        signed_by.insert(key.keyid());
      }
    }
  }
  return signed_by.size();
}

absl::StatusOr<Root> OpenRoot(const Envelope& env) {
  if (env.payload_type() != kRootType) {
    return absl::InvalidArgumentError(
        StrCat("not a root record (type ", Quote(env.payload_type()), ")"));
  }
  Root root;
  root.envelope = env;
  if (!root.record.ParseFromString(env.payload())) {
    return absl::InvalidArgumentError("the root record does not parse");
  }
  const RootRecord& r = root.record;
  if (r.keys_size() == 0 || static_cast<size_t>(r.keys_size()) > kMaxRootKeys) {
    return absl::InvalidArgumentError(
        StrCat("a root has 1 to ", kMaxRootKeys, " keys, this one ", r.keys_size()));
  }
  if (r.threshold() < 1 || r.threshold() > static_cast<uint32_t>(r.keys_size())) {
    return absl::InvalidArgumentError(StrCat("the root's threshold ", r.threshold(),
                                             " is not between 1 and its ", r.keys_size(), " keys"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < r.keys_size(); ++i) {
    auto key = PublicKey::FromPem(r.keys(i));
    if (!key.ok()) {
      return absl::InvalidArgumentError(StrCat("root key #", i, ": ", key.status().message()));
    }
    if (!ids.insert(key->keyid()).second) {
      return absl::InvalidArgumentError(
          StrCat("root key #", i, " is listed twice: each key counts once"));
    }
    root.keys.push_back(*std::move(key));
  }
  size_t valid = ValidSignatures(env, root.keys);
  if (valid < r.threshold()) {
    return absl::UnauthenticatedError(StrCat("root version ", r.version(), " is signed by ", valid,
                                             " of its keys; it takes ", r.threshold()));
  }
  return root;
}

std::string ArmorRecord(std::string_view label, const Envelope& env) {
  std::string b64 = Base64(env.SerializeAsString());
  std::string out = StrCat("-----BEGIN VMS ", label, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) out += StrCat(b64.substr(i, 64), "\n");
  out += StrCat("-----END VMS ", label, "-----\n");
  return out;
}

absl::StatusOr<Envelope> DearmorRecord(std::string_view label, std::string_view text) {
  const std::string begin_line = StrCat("-----BEGIN VMS ", label, "-----\n");
  const std::string end_line = StrCat("-----END VMS ", label, "-----\n");
  size_t begin = text.find(begin_line), end = text.find(end_line);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
    return absl::InvalidArgumentError(
        StrCat("it has no -----BEGIN VMS ", label, "----- block (vms-admin writes one)"));
  }
  auto bytes = Unbase64(text.substr(begin + begin_line.size(), end - begin - begin_line.size()));
  Envelope env;
  if (!bytes.ok() || !env.ParseFromString(*bytes)) {
    return absl::InvalidArgumentError(StrCat("the ", label, " block is damaged (not a record)"));
  }
  return env;
}

std::string ArmorRoot(const Envelope& env) { return ArmorRecord("ROOT", env); }

absl::StatusOr<Envelope> DearmorRoot(std::string_view text) {
  auto env = DearmorRecord("ROOT", text);
  if (!env.ok())
    return absl::InvalidArgumentError(StrCat("not a root file: ", env.status().message()));
  return env;
}

absl::StatusOr<Root> LoadRoot(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto env = DearmorRoot(*text);
  absl::StatusOr<Root> root = env.ok() ? OpenRoot(*env) : absl::StatusOr<Root>(env.status());
  if (!root.ok()) {
    return absl::Status(root.status().code(), StrCat(path, ": ", root.status().message()));
  }
  return root;
}

}  // namespace vms
