// Extended attributes: where a path under /dist came from, so that
// `getfattr -d /dist/APP/bin/tool` answers it (user.vms.app, .version, .hash,
// ...), and on /dist itself, the state of the host cache. Linux refuses
// user.* attributes on symlinks, so the live pointer's facts (live_seq, since
// when) are on the live version's top directory: `getfattr -d /dist/APP/`.
// Thread-safe (it only reads).
#ifndef VMS_FUSEFS_XATTRS_H_
#define VMS_FUSEFS_XATTRS_H_

#include <string>
#include <vector>

#include "fusefs/catalog.h"
#include "fusefs/content.h"
#include "fusefs/inode_table.h"

namespace vms {

class Xattrs {
 public:
  // Both must outlive this.
  Xattrs(Catalog* catalog, Content* content) : catalog_(catalog), content_(content) {}

  // The names `node` has.
  std::vector<std::string> List(const Node& node) const;
  // 0, or ENODATA for a name it does not have.
  int Get(const Node& node, const std::string& name, std::string* value) const;

 private:
  Catalog* catalog_;
  Content* content_;
};

}  // namespace vms

#endif  // VMS_FUSEFS_XATTRS_H_
