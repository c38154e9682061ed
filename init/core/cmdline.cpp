#include "cmdline.h"

namespace strata {

std::vector<std::string> split_cmdline(std::string_view line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false, quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
      continue;
    }
    if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    if (c == '\0') continue;
    cur += c;
    in_word = true;
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::vector<CmdlineWord> strata_words(std::string_view line) {
  constexpr std::string_view prefix = "strata.";
  std::vector<CmdlineWord> out;
  for (auto& w : split_cmdline(line)) {
    if (w.compare(0, prefix.size(), prefix) != 0) continue;
    CmdlineWord cw;
    auto eq = w.find('=');
    cw.key = w.substr(prefix.size(), eq == std::string::npos ? std::string::npos : eq - prefix.size());
    if (eq != std::string::npos) {
      cw.value = w.substr(eq + 1);
      cw.has_value = true;
    }
    if (!cw.key.empty()) out.push_back(std::move(cw));
  }
  return out;
}

}  // namespace strata
