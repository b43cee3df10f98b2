#include <weft/sched/error.hpp>

#include <string>

namespace weft {
namespace {

class WeftCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::cancelled: return "operation cancelled";
      case errc::closed: return "closed";
      case errc::shut_down: return "runtime is shutting down";
      case errc::not_in_fiber: return "fiber-only call made outside a fiber";
    }
    return "unknown weft error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const WeftCategory category;
  return category;
}

}  // namespace weft
