#include <weft/sched/shutdown_report.hpp>

#include <cstddef>

namespace weft::sched {

std::string describe(const ShutdownReport& report) {
  if (report.complete()) return "the shutdown completed";
  constexpr std::size_t kListed = 20;
  std::string out = std::to_string(report.unfinished) + (report.unfinished == 1 ? " task" : " tasks") +
                    " did not finish";
  std::size_t listed = 0;
  for (const auto& t : report.tasks) {
    if (listed == kListed) break;
    out += listed++ == 0 ? ": #" : ", #";
    out += std::to_string(t.id);
    if (!t.name.empty()) out += " \"" + t.name + '"';
  }
  if (report.unfinished > listed) {
    out += listed == 0 ? " (" : " (and ";
    out += std::to_string(report.unfinished - listed) + (listed == 0 ? " not listed)" : " more)");
  }
  return out;
}

}  // namespace weft::sched
