// flags.hpp: the tiny command-line parsing the examples share (--name value pairs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

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

// text_flag: the value of `--name VALUE`, or `fallback` when absent; a missing value exits 2.
inline std::string text_flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) != 0) continue;
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", argv[0], name);
      std::exit(2);
    }
    return argv[i + 1];
  }
  return fallback;
}

// has_flag: whether the switch `--name` (one that takes no value) is on the command line.
inline bool has_flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
  }
  return false;
}

// positional: the arguments that are neither a flag nor the value of one of `valued` (the flags
// that take a value). An unknown `--flag` exits with status 2, so a typo is not taken as a path.
inline std::vector<std::string> positional(int argc, char** argv, std::initializer_list<const char*> valued,
                                           std::initializer_list<const char*> switches = {}) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) {
      out.emplace_back(argv[i]);
      continue;
    }
    const char* arg = argv[i];
    bool known = false;
    for (const char* s : switches) known = known || std::strcmp(arg, s) == 0;
    for (const char* v : valued) {
      if (!known && std::strcmp(arg, v) == 0) {
        known = true;
        ++i;  // skip its value (flag() reports a missing one)
      }
    }
    if (!known) {
      std::fprintf(stderr, "%s: unknown option '%s'\n", argv[0], arg);
      std::exit(2);
    }
  }
  return out;
}

}  // namespace weft::examples
