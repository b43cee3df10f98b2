// flags.hpp: the tiny command-line parsing the examples share (--name value pairs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace weft::examples {

// flag: the numeric value of `--name N`, or `fallback` when absent. A value that is not a
// number exits with status 2 and a message, as a command-line tool should.
inline unsigned long flag(int argc, char** argv, const char* name, unsigned long fallback) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) != 0) continue;
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", argv[0], name);
      std::exit(2);
    }
    char* end = nullptr;
    const unsigned long v = std::strtoul(argv[i + 1], &end, 10);
    if (*argv[i + 1] == '\0' || *end != '\0') {
      std::fprintf(stderr, "%s: %s needs a number, got '%s'\n", argv[0], name, argv[i + 1]);
      std::exit(2);
    }
    return v;
  }
  return fallback;
}

}  // namespace weft::examples
