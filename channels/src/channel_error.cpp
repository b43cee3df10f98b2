// channel_error.cpp: the "weft.channels" error category.
#include <weft/channels/send_error.hpp>

#include <string>

namespace weft {
namespace {

class ChannelCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft.channels"; }
  std::string message(int ev) const override {
    switch (static_cast<channel_errc>(ev)) {
      case channel_errc::full: return "channel full";
      case channel_errc::empty: return "channel empty";
      case channel_errc::lagged: return "receiver lagged behind";
    }
    return "unknown channel error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& channel_category() noexcept {
  static const ChannelCategory category;
  return category;
}

}  // namespace weft
