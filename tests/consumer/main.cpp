// Consumer check: the public API seen from outside the tree, through the installed umbrella header.
// scripts/test builds it twice against an installed prefix, with CMake (find_package(weft CONFIG))
// and with pkg-config, and expects "consumer ok 42" and exit status 0.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  weft::Runtime rt{weft::Config{.workers = 2}};
  auto h = rt.spawn([] { return 40; });
  int v = h.join() + 2;
  if (v != 42) {
    std::printf("consumer FAILED: got %d, want 42\n", v);
    return 1;
  }
  std::printf("consumer ok %d\n", v);
  return 0;
}
