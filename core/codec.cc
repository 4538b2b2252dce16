#include "core/codec.h"

#include <zstd.h>

#include <cstdlib>

#include "core/check.h"
#include "core/strings.h"

namespace vms {

namespace {
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdContexts& Contexts() {
  thread_local ZstdContexts ctx;
  VMS_CHECK(ctx.c != nullptr && ctx.d != nullptr, "zstd contexts (out of memory?)");
  return ctx;
}
}  // namespace

namespace {
// Compresses `raw` into *buf (resized to the frame) if zstd at `level`
// saves 1/32 of it or more; false otherwise.
bool Saves(std::string_view raw, int level, std::string* buf) {
  buf->resize(ZSTD_compressBound(raw.size()));
  size_t n =
      ZSTD_compressCCtx(Contexts().c, buf->data(), buf->size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n) || n >= raw.size() - raw.size() / 32) return false;
  buf->resize(n);
  return true;
}

// Four samples of 16 KiB, spread over the object: none compresses, so the
// whole is not tried. Costs about 1/16 of compressing 1 MiB.
bool SamplesCompress(std::string_view raw, int level) {
  constexpr size_t kSample = 16 << 10, kSamples = 4;
  std::string buf;
  for (size_t i = 0; i < kSamples; ++i) {
    size_t at = (raw.size() - kSample) / (kSamples - 1) * i;
    if (Saves(raw.substr(at, kSample), level, &buf)) return true;
  }
  return false;
}
}  // namespace

EncodedObject Encode(std::string raw, int level) {
  constexpr size_t kSampleFrom = 1 << 20;
  EncodedObject out;
  // Below 64 bytes a zstd frame header costs more than it can save.
  if (raw.size() < 64 || (raw.size() >= kSampleFrom && !SamplesCompress(raw, level))) {
    out.data = std::move(raw);
    return out;
  }
  std::string buf;
  if (!Saves(raw, level, &buf)) {
    out.data = std::move(raw);
    return out;
  }
  out.codec = Codec::kZstd;
  out.data = std::move(buf);
  return out;
}

absl::StatusOr<Codec> CodecFromWire(uint32_t v) {
  if (v == 0) return Codec::kRaw;
  if (v == 1) return Codec::kZstd;
  return absl::InvalidArgumentError(StrCat("unknown object codec ", v));
}

namespace {
absl::StatusOr<std::string> DecodeImpl(const Hash& expected, Codec codec, uint64_t raw_size,
                                       std::string_view data, bool check_hash) {
  if (raw_size > kMaxObjectSize) {
    return absl::InvalidArgumentError(StrCat("object ", expected.Short(), " claims ", raw_size,
                                             " bytes; the limit is ", kMaxObjectSize));
  }
  std::string raw;
  if (codec == Codec::kRaw) {
    raw.assign(data);
  } else {
    unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
    if (declared != raw_size) {
      return absl::DataLossError(
          StrCat("object ", expected.Short(), ": zstd frame size does not match ", raw_size));
    }
    raw.resize(raw_size);
    size_t n = ZSTD_decompressDCtx(Contexts().d, raw.data(), raw.size(), data.data(), data.size());
    if (ZSTD_isError(n)) {
      return absl::DataLossError(
          StrCat("object ", expected.Short(), ": corrupt zstd frame: ", ZSTD_getErrorName(n)));
    }
    raw.resize(n);
  }
  if (raw.size() != raw_size) {
    return absl::DataLossError(
        StrCat("object ", expected.Short(), " is ", raw.size(), " bytes, expected ", raw_size));
  }
  if (check_hash && Sha256(raw) != expected) {
    return absl::DataLossError(
        StrCat("object ", expected.Short(), " does not match its hash (corrupt or altered)"));
  }
  return raw;
}
}  // namespace

uint64_t EncodedRawSize(Codec codec, std::string_view data) {
  if (codec == Codec::kRaw) return data.size();
  unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
  return declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ? 0 : declared;
}

absl::StatusOr<std::string> Decode(const Hash& expected, Codec codec, uint64_t raw_size,
                                   std::string_view data) {
  return DecodeImpl(expected, codec, raw_size, data, /*check_hash=*/true);
}

absl::Status Verify(const Hash& expected, Codec codec, uint64_t raw_size, std::string_view data) {
  if (codec != Codec::kRaw) return Decode(expected, codec, raw_size, data).status();
  if (raw_size > kMaxObjectSize) {
    return absl::InvalidArgumentError(StrCat("object ", expected.Short(), " claims ", raw_size,
                                             " bytes; the limit is ", kMaxObjectSize));
  }
  if (data.size() != raw_size) {
    return absl::DataLossError(
        StrCat("object ", expected.Short(), " is ", data.size(), " bytes, expected ", raw_size));
  }
  if (Sha256(data) != expected) {
    return absl::DataLossError(
        StrCat("object ", expected.Short(), " does not match its hash (corrupt or altered)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DecodeVerified(const Hash& hash, Codec codec, uint64_t raw_size,
                                           std::string_view data) {
  return DecodeImpl(hash, codec, raw_size, data, /*check_hash=*/false);
}

}  // namespace vms
