#include "module_plan.h"

#include <algorithm>
#include <charconv>

#include "plan.h"
#include "text.h"

namespace strata {
namespace {

// Filesystems a boot can mount (lower, source of an image, data partition, upper).
constexpr const char* kFilesystems[] = {"squashfs", "erofs", "ext4",  "ext2",  "ext3",  "f2fs",   "btrfs",  "xfs",
                                        "vfat",     "fat",   "exfat", "jffs2", "ubifs", "nilfs2", "overlay"};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// The next whitespace-separated word of `line` from `pos`.
std::string_view next_word(std::string_view line, size_t& pos) {
  while (pos < line.size() && is_space(line[pos])) pos++;
  size_t start = pos;
  while (pos < line.size() && !is_space(line[pos])) pos++;
  return line.substr(start, pos - start);
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<std::string>& errors) {
  std::vector<ModuleEntry> out;
  int n = 0;
  for (std::string_view line : split_lines(text)) {
    n++;
    size_t pos = 0;
    std::string_view level = next_word(line, pos);
    if (level.empty() || level[0] == '#') continue;
    std::string_view path = next_word(line, pos);
    std::string_view users = next_word(line, pos);
    ModuleEntry e;
    auto [end, ec] = std::from_chars(level.data(), level.data() + level.size(), e.level);
    if (ec != std::errc() || end != level.data() + level.size() || e.level < 0 || path.empty()) {
      std::string shown(line);
      while (!shown.empty() && is_space(shown.back())) shown.pop_back();
      errors.push_back("module list line " + std::to_string(n) + ": '" + shown + "' is not '<level> <path> [<for>]'");
      continue;
    }
    e.path = std::string(path);
    e.needed_by = split_commas(users);
    out.push_back(std::move(e));
  }
  return out;
}

std::string module_need(const std::string& board_module) {
  std::string name = board_module;
  std::replace(name.begin(), name.end(), '-', '_');
  for (const char* fs : kFilesystems)
    if (name == fs) return name;
  if (name == "loop") return "loop";
  // device-mapper, and the SHA-256 implementations dm-verity asks the crypto API for.
  if (name.starts_with("dm_") || name.starts_with("sha2") || name.starts_with("sha256")) return "dm-verity";
  return "";
}

std::set<std::string> plan_module_needs(const BootPlan& p) {
  std::set<std::string> needs;
  if (!p.fatal.empty()) return needs;
  if (p.upper_mode != UpperMode::kNone) needs.insert("overlay");
  // The partition holding the lower, or holding the image file (file slots: the data partition).
  if (p.image.empty() || !p.image_on_data) {
    if (!p.root_fstype.empty()) needs.insert(p.root_fstype);
  }
  if (!p.image.empty()) {
    needs.insert("loop");
    if (!p.image_fstype.empty()) {
      needs.insert(p.image_fstype);
    } else {
      needs.insert("squashfs");  // probed once attached: any lower type
      needs.insert("erofs");
    }
  }
  if (p.use_data && !p.data_fstype.empty()) needs.insert(p.data_fstype);
  if (p.verity) needs.insert("dm-verity");
  return needs;
}

std::vector<ModuleEntry> select_modules(const std::vector<ModuleEntry>& list, const std::set<std::string>& needs,
                                        const std::set<std::string>& loaded) {
  std::vector<ModuleEntry> out;
  for (const auto& m : list) {
    if (loaded.count(m.path)) continue;
    bool take = false;
    if (m.needed_by.empty()) take = needs.empty();  // an untagged list: everything before the probe
    for (const auto& b : m.needed_by) {
      const std::string need = module_need(b);
      if (needs.empty() ? need.empty() : (!need.empty() && needs.count(need))) take = true;
    }
    if (take) out.push_back(m);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ModuleEntry& a, const ModuleEntry& b) { return a.level < b.level; });
  return out;
}

std::string format_needs(const std::set<std::string>& needs) {
  std::string out;
  for (const auto& n : needs) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace strata
