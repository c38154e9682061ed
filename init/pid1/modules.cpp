#include "modules.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "log.h"

namespace strata {

std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<std::string>& errors) {
  std::vector<ModuleEntry> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    ModuleEntry e;
    if (!(ls >> e.level >> e.path) || e.level < 0 || e.path.empty()) {
      errors.push_back("module list line " + std::to_string(n) + ": '" + line + "' is not '<level> <path>'");
      continue;
    }
    out.push_back(e);
  }
  return out;
}

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
