// positional.hpp: reads and writes at an offset without the check that the fd has a file position
// (ops.cpp, has_no_position), for a caller that checked once for good (File, whose fd names one
// file for as long as it holds it).
#pragma once

#include <weft/sched/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::io {

Result<std::size_t> read_at_unchecked(int fd, std::span<std::byte> buf, std::uint64_t offset);
Result<std::size_t> write_at_unchecked(int fd, std::span<const std::byte> buf, std::uint64_t offset);

}  // namespace weft::io
