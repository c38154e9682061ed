#include "modules.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "clock.h"
#include "log.h"

namespace strata {

std::vector<std::string> load_modules(const std::vector<ModuleEntry>& modules, const std::string& root) {
  std::map<int, std::vector<const ModuleEntry*>> levels;
  for (const auto& m : modules) levels[m.level].push_back(&m);
  std::vector<std::string> failures;
  std::mutex mu;
  for (auto& [level, list] : levels) {
    std::vector<std::thread> threads;
    for (const ModuleEntry* m : list) {
      threads.emplace_back([&, m] {
        const std::string path = root + m->path;
        const int64_t t0 = monotonic_us();
        std::string failure;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          failure = "module " + m->path + ": cannot open: " + strerror(errno);
        } else {
          LOGD("finit_module(%s)", path.c_str());
          if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
            failure = "module " + m->path + ": the kernel refused it: " + strerror(errno);
          ::close(fd);
        }
        // The bench reads these lines (each module's load time).
        const long long us = monotonic_us() - t0;
        LOGI("module %s: %lld.%03lld ms%s", m->path.c_str(), us / 1000, us % 1000, failure.empty() ? "" : " (failed)");
        if (!failure.empty()) {
          std::lock_guard lock(mu);
          failures.push_back(failure);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  return failures;
}

}  // namespace strata
