#include "devices_fixture.h"

#include <ini.h>

#include <string>

namespace strata {
namespace {
struct Ctx {
  std::vector<BlockDevice>* out;
  std::vector<Diagnostic>* problems;
  const std::string* file;
};

int on_value(void* user, const char* section, const char* name, const char* value) {
  auto* c = static_cast<Ctx*>(user);
  std::string sec = section, key = name, v = value ? value : "";
  if (sec.rfind("/dev/", 0) != 0) {
    c->problems->push_back({*c->file, "section [" + sec + "] is not a /dev/ path; ignored"});
    return 1;
  }
  if (c->out->empty() || c->out->back().path != sec) c->out->push_back(BlockDevice{sec, "", "", "", "", "", 0, "", ""});
  BlockDevice& d = c->out->back();
  if (key == "TYPE")
    d.type = v;
  else if (key == "LABEL")
    d.label = v;
  else if (key == "UUID")
    d.uuid = v;
  else if (key == "PARTUUID")
    d.partuuid = v;
  else if (key == "PARTLABEL")
    d.partlabel = v;
  else if (key == "SIZE")
    d.size = std::strtoull(v.c_str(), nullptr, 10);
  else if (key == "UNREADABLE")  // the probe met an I/O error: why
    d.unreadable = v;
  else
    c->problems->push_back({*c->file, "[" + sec + "] unknown key " + key + "; ignored"});
  return 1;
}
}  // namespace

std::vector<BlockDevice> parse_devices_fixture(std::string_view text, const std::string& file,
                                               std::vector<Diagnostic>& problems) {
  std::vector<BlockDevice> out;
  Ctx ctx{&out, &problems, &file};
  std::string s(text);
  int err = ini_parse_string(s.c_str(), on_value, &ctx);
  if (err > 0) problems.push_back({file + ":" + std::to_string(err), "not 'key = value' or '[section]'; ignored"});
  return out;
}

}  // namespace strata
