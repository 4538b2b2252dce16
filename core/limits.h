// The bounds every vms server enforces on what a caller sends, in one place
// (README "Limits" lists them). A request beyond one is refused with
// INVALID_ARGUMENT naming the limit, before any work is done for it: no
// caller, careless or hostile, can make a server do unbounded work.
#ifndef VMS_CORE_LIMITS_H_
#define VMS_CORE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace vms {

// Hashes in one MissingObjects, CompleteTrees or GetObjects request (2 MiB
// of hashes). Clients send at most half of this per request.
inline constexpr size_t kMaxHashesPerRequest = 65536;

// Version states in one site report: the versions a replica is fetching or
// failed on. It applies the log in order, so it holds only a few at a time.
inline constexpr size_t kMaxReportVersions = 1024;
// Flips in one site report (a replica sends more in several reports).
inline constexpr size_t kMaxReportLive = 1024;
// Versions in one census report (a host's, or a site's sum).
inline constexpr size_t kMaxUsageVersions = 1024;
// Hosts a replica keeps in its census (the longest silent goes first).
inline constexpr size_t kMaxCensusHosts = 100000;
// A site's address or upstream as it reports them.
inline constexpr size_t kMaxAddressBytes = 256;
// Upstreams a replica may fail over between (vms-replica --upstream A,B,...).
inline constexpr size_t kMaxUpstreams = 8;
// Networks one site serves (vms-replica --serves).
inline constexpr size_t kMaxSiteNetworks = 64;
// A failed version's reason, as a replica reports it.
inline constexpr size_t kMaxErrorBytes = 1024;

// Who pushed or flipped: a principal (vms://KIND/NAME is at most ~80 bytes).
inline constexpr size_t kMaxPublisherBytes = 256;
// Sites one master knows: each costs a row of every status reply and an
// entry of the site map every host fetches.
inline constexpr size_t kMaxSites = 1024;
// One reply of `vms sites`/`vms status`/`vms usage` (ListSites): the sites
// that fit, and the client asks for the next page.
inline constexpr size_t kMaxSitesReplyBytes = 4 << 20;
// Replicas between a site and the master (continent -> country -> city ...).
inline constexpr size_t kMaxRelayDepth = 16;
// Owners of one app: a team, not a company (every owner is checked on each
// write, and listed in refusals).
inline constexpr size_t kMaxOwners = 64;
// A release message.
inline constexpr size_t kMaxReleaseMessageBytes = 64 * 1024;

// Raw bytes (as decompressed and hashed by the master) in one PutObjects
// stream; the vms client starts a new stream every 1 GiB. Per client, a rate
// bounds them too (vms-master --upload-decode-rate, server/upload_budget.h).
inline constexpr uint64_t kMaxUploadStreamRawBytes = 4ull << 30;

// The shape of one version, bounded at push (as CernVM-FS bounds its
// catalogs): a host lists a directory and walks a version's trees, and a
// version beyond these would make every host pay. `vms push` checks all three
// while it scans, before anything is uploaded, and names the path; the master
// enforces entries per directory and files per version at commit, whatever
// the client. Both sides take the same-named flags to change them
// (`--max-dir-entries`, `--max-depth`, `--max-files`).
struct ShapeLimits {
  uint64_t dir_entries = 262144;  // entries in one directory
  uint64_t depth = 256;           // directories below the version's top
  uint64_t files = 4194304;       // regular files in one version
};

// How much of a caller's input an error message quotes.
inline constexpr size_t kMaxQuotedBytes = 100;

}  // namespace vms

#endif  // VMS_CORE_LIMITS_H_
