#include "fusefs/xattrs.h"

#include <algorithm>
#include <cerrno>

#include "core/clock.h"
#include "core/strings.h"

namespace vms {

std::vector<std::string> Xattrs::List(const Node& node) const {
  if (node.kind == Node::kRoot) {
    std::vector<std::string> names = {"user.vms.cache_bytes", "user.vms.cache_max_bytes",
                                      "user.vms.cache_pinned", "user.vms.fetches"};
    if (catalog_->chained()) names.push_back("user.vms.checkpoint");
    return names;
  }
  if (node.kind == Node::kAppLink || node.kind == Node::kSymlink || node.kind == Node::kAtRoot ||
      node.kind == Node::kAtDir) {
    return {};
  }
  std::vector<std::string> names = {"user.vms.app", "user.vms.version", "user.vms.hash"};
  if (node.kind == Node::kVersionDir) {
    std::optional<LiveInfo> live = catalog_->Live(node.app);
    if (live && live->version == node.version) {
      names.push_back("user.vms.live_seq");
      names.push_back("user.vms.live_since");
    }
  }
  if (node.kind == Node::kFile) {
    names.push_back("user.vms.chunked");
    names.push_back("user.vms.cached");
  }
  return names;
}

int Xattrs::Get(const Node& node, const std::string& name, std::string* value) const {
  std::vector<std::string> names = List(node);
  if (std::find(names.begin(), names.end(), name) == names.end()) return ENODATA;
  if (name == "user.vms.app") {
    *value = node.app;
  } else if (name == "user.vms.version") {
    *value = node.version;
  } else if (name == "user.vms.live_seq" || name == "user.vms.live_since") {
    std::optional<LiveInfo> live = catalog_->Live(node.app);
    if (!live || live->version != node.version) return ENODATA;  // flipped meanwhile
    *value =
        name == "user.vms.live_seq" ? std::to_string(live->live_seq) : IsoTime(live->issued_ms);
  } else if (name == "user.vms.hash") {
    *value = node.hash.Hex();
  } else if (name == "user.vms.chunked") {
    *value = node.chunked ? "yes" : "no";
  } else if (name == "user.vms.cached") {
    // Whole-file objects only; a chunked file says whether its list is.
    *value = content_->Cached(node.hash) ? "yes" : "no";
  } else if (name == "user.vms.cache_bytes") {
    *value = std::to_string(content_->cache().bytes());
  } else if (name == "user.vms.cache_max_bytes") {
    *value = std::to_string(content_->cache().max_bytes());
  } else if (name == "user.vms.cache_pinned") {
    *value = std::to_string(content_->cache().pinned());
  } else if (name == "user.vms.checkpoint") {
    CheckpointState c = catalog_->checkpoint();
    if (!c.held) {
      *value = "none yet: no checkpoint from the master has reached this host";
    } else if (c.fresh) {
      *value = StrCat("fresh: seq ", c.checkpoint.head_seq(), " issued ",
                      IsoTime(c.checkpoint.issued_unix_ms()), ", expires ",
                      IsoTime(c.checkpoint.expires_unix_ms()));
    } else {
      *value = StrCat("no fresh checkpoint since ", IsoTime(c.checkpoint.issued_unix_ms()),
                      " (seq ", c.checkpoint.head_seq(),
                      "): the master, or the way to it, may be frozen; serving what is held");
    }
  } else if (name == "user.vms.fetches") {
    Content::Stats st = content_->stats();
    *value = StrCat(st.fetches, " requests, ", st.objects, " objects, ", st.fetch_micros / 1000,
                    " ms waiting");
  }
  return 0;
}

}  // namespace vms
