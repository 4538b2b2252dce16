// Python validates a timestamp-based bytecode cache (.pyc) by the mtime and
// size of its source, recorded in the .pyc header (PEP 552: magic, flags,
// source mtime, source size; 32-bit little-endian each). Timestamps are not
// part of a version, so vms-fuse reports for a .py file the mtime its .pyc
// recorded: the cache stays valid and nothing is recompiled at every start.
// Deterministic, derived from the version's content only.
//
// Pure functions, tested by table.
#ifndef VMS_FUSEFS_PYC_MTIME_H_
#define VMS_FUSEFS_PYC_MTIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vms {

// The start of the names Python gives the .pyc files of source `name` in
// __pycache__ ("mod.py" -> "mod.cpython-"; they end "-XY.pyc" or
// ".opt-N.pyc"); "" when `name` is not a Python source.
std::string PycPrefix(std::string_view name);

// The source mtime (ms since the epoch) that `pyc` (the file's bytes)
// records, when it is timestamp-based (flags 0) and records
// `source_size`; nullopt otherwise (hash-based, short, another size).
std::optional<int64_t> PycSourceMtimeMs(std::string_view pyc, uint64_t source_size);

}  // namespace vms

#endif  // VMS_FUSEFS_PYC_MTIME_H_
