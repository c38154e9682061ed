#include "log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

namespace strata::log {
namespace {
int g_kmsg = -1;
bool g_debug = false;

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}
}  // namespace

void use_kmsg() {
  if (g_kmsg >= 0) return;
  g_kmsg = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
}

void set_debug(bool on) {
  g_debug = on;
}
bool debug_enabled() {
  return g_debug;
}

void write(Level level, const std::string& line) {
  if (level == kDebug && !g_debug) return;
  if (g_kmsg >= 0) {
    // One write() is one kmsg record; the kernel caps a record at ~1 KiB.
    write_all(g_kmsg, "<" + std::to_string(level) + ">strata: " + line.substr(0, 900) + "\n");
  } else {
    static const char* names[] = {"", "", "", "error", "warning", "notice", "info", "debug"};
    write_all(2, std::string("strata: ") + names[level] + ": " + line + "\n");
  }
}

void printf(Level level, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  write(level, buf);
}

void console(const std::string& text) {
  int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    write_all(2, text);
    return;
  }
  write_all(fd, text);
  ::close(fd);
}

}  // namespace strata::log
