# Every dependency is a Debian package found through its own CMake config or pkg-config.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing)
find_package(Boost 1.74 REQUIRED COMPONENTS context)
find_package(TBB REQUIRED)
find_path(WEFT_CONCURRENTQUEUE_DIR concurrentqueue/concurrentqueue.h REQUIRED)
if(NOT TARGET weft_concurrentqueue)
  add_library(weft_concurrentqueue INTERFACE IMPORTED)
  target_include_directories(weft_concurrentqueue INTERFACE ${WEFT_CONCURRENTQUEUE_DIR})
endif()

# libstdc++ 12 hides std::expected from compilers without C++20 concepts (clang 14): weft::Result
# then builds on tl::expected (Debian libexpected-dev), which has the same interface.
include(CheckCXXSourceCompiles)
check_cxx_source_compiles("#include <expected>
int main() { std::expected<int, int> e{1}; return *e - 1; }" WEFT_HAVE_STD_EXPECTED)
if(NOT WEFT_HAVE_STD_EXPECTED)
  find_package(tl-expected REQUIRED)
endif()
