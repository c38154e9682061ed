#include "rauc_apply.h"

#include <fcntl.h>
#include <unistd.h>

#include "sys.h"
#include "write_window.h"

namespace strata {

Status apply_rauc_reply(const RaucReply& reply, const std::vector<std::string>& devices, SlotStore& store,
                        const std::string& what) {
  if (!reply.write) return {};
  if (reply.window == RaucWindow::kClose) {
    // What RAUC wrote reaches the flash and is read-only before the slot can boot.
    for (const auto& d : devices) {
      auto fd = sys::open(d, O_RDONLY | O_CLOEXEC);
      if (!fd) return fd.error();
      if (::fsync(fd->get()) != 0) return errno_error("cannot flush " + d + " before putting it on trial");
      if (auto s = set_block_readonly(d, true); !s) return s;
    }
  }
  if (auto s = store.write(*reply.write, what); !s)
    return plain_error("cannot write the slot record: " + s.error().message());
  if (reply.window == RaucWindow::kOpen)
    for (const auto& d : devices)
      if (auto s = set_block_readonly(d, false); !s) return s;
  return {};
}

}  // namespace strata
