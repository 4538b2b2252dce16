// Plain-text tables for the CLI's listings: a header row and left-aligned
// columns padded to the widest cell.
#ifndef VMS_CLIENT_TABLE_H_
#define VMS_CLIENT_TABLE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"

namespace vms {

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Local time "2026-11-25 15:04:05" of a Unix time in milliseconds.
std::string LocalTime(int64_t unix_ms);
// IsoTime (UTC, for JSON) is in core/clock.h.

}  // namespace vms

#endif  // VMS_CLIENT_TABLE_H_
