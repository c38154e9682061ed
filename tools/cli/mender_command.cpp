// `strata mender-module STATE FILES_DIR`: the Mender update module for the
// "strata" payload type (core/mender_module.h decides; this applies it).
// Mender runs it through /usr/share/mender/modules/v3/strata. In Download
// the bundle is streamed from Mender's FIFO straight into the idle slot by
// the same code as `strata update` (no copy on the device), progress as
// plain lines in Mender's log.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "commands.h"
#include "mender_module.h"
#include "paths.h"
#include "slot_store.h"
#include "sys.h"
#include "write_window.h"

namespace cli {
namespace {

// One line from Mender's stream-next FIFO: the next stream's path, relative
// to FILES_DIR ("streams/<file>"), or "" when there are no more. Opening the
// FIFO waits for Mender to write it.
strata::Result<std::string> next_stream(const std::string& files) {
  auto text = strata::sys::read_file(files + "/stream-next");
  if (!text) return text.error();
  std::string line = *text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// Which slot Download wrote, kept in the payload's tmp/ (on /data/mender,
// which survives the reboot) for ArtifactVerifyReboot and ArtifactCommit.
std::string installed_path(const std::string& files) {
  return files + "/tmp/strata-slot";
}

int download(const Context& c, const std::string& files) {
  auto stream = next_stream(files);
  if (!stream) return fail("mender Download: " + stream.error().message());
  if (stream->empty()) return fail("mender Download: the artifact's payload has no file: it carries one strata bundle");
  if (stream->find("..") != std::string::npos || stream->front() == '/')
    return fail("mender Download: unexpected stream path '" + *stream + "'");
  say("mender Download: installing " + *stream);
  if (int rc = update_command(c, files + "/" + *stream, "", "lines"); rc != 0) return rc;
  const std::string slot(1, strata::slot_name(strata::other_slot(c.booted)));
  ::mkdir((files + "/tmp").c_str(), 0700);  // Mender makes it; in case a version does not
  if (auto s = strata::sys::write_file_durable(installed_path(files), slot + "\n", 0600); !s)
    say("warning: cannot note the slot written in " + installed_path(files) + ": " + s.error().message());
  auto after = next_stream(files);
  if (!after) return fail("mender Download: " + after.error().message());
  if (!after->empty())
    return fail("mender Download: the payload carries a second file (" + *after +
                "): a strata payload is one bundle; the slot written stays on trial, Mender rolls back");
  return 0;
}

}  // namespace

int mender_command(const Context& c, const std::vector<std::string>& args) {
  if (args.size() < 2) return fail("usage: strata mender-module STATE FILES_DIR (run by Mender)");
  const std::string& state = args[0];
  if (c.booted < 0)
    return fail(c.status.is_null() ? c.status_error : "this system does not boot from A/B slots ([slots] mode = none)");
  // The record is read and changed under the lock, as `strata mark-good` does;
  // Download takes it inside `strata update` itself.
  std::optional<strata::StorageLock> lock;
  if (state != "Download") {
    auto l = strata::StorageLock::acquire(strata::paths::kLock);
    if (!l) return fail(l.error().message());
    lock.emplace(std::move(*l));
  }
  strata::SlotStore store = slot_store(c);
  strata::SlotReading r = store.read();
  if (r.health == strata::StateHealth::kUnavailable) return fail("the slot record cannot be reached: " + r.detail);
  std::optional<int> installed;
  if (auto v = strata::sys::read_value(installed_path(args[1]))) installed = strata::parse_slot_name(*v);
  auto reply = strata::mender_module(state, r.state, c.booted, installed);
  if (!reply) return fail("mender " + reply.error().message());
  if (reply->step == strata::MenderStep::kInstall) return download(c, args[1]);
  if (reply->write) {
    if (r.health == strata::StateHealth::kUnreadable)
      return fail("the slot record is unreadable (" + r.detail + "); nothing changed");
    if (auto s = store.write(*reply->write, "mender " + state); !s)
      return fail("cannot write the slot record: " + s.error().message());
  }
  if (!reply->said.empty()) say("mender " + reply->said);
  std::fputs(reply->out.c_str(), stdout);
  if (reply->step == strata::MenderStep::kReboot) return reboot_now();
  return 0;
}

}  // namespace cli
