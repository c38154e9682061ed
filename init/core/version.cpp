#include "version.h"

#include <cctype>

namespace strata {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A character's weight in the non-digit part: '~' lowest (below the end of
// the string, which weighs 0), letters next, then every other character.
int weight(char c) {
  if (c == '~') return -1;
  if (is_letter(c)) return static_cast<unsigned char>(c);
  return static_cast<unsigned char>(c) + 256;
}

// One part (epoch, upstream or revision): alternating non-digit and digit runs.
int compare_part(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    // The non-digit run, character by character; the end weighs 0.
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      const int wa = i < a.size() && !is_digit(a[i]) ? weight(a[i]) : 0;
      const int wb = j < b.size() && !is_digit(b[j]) ? weight(b[j]) : 0;
      if (wa != wb) return wa < wb ? -1 : 1;
      if (i < a.size() && !is_digit(a[i])) ++i;
      if (j < b.size() && !is_digit(b[j])) ++j;
    }
    // The digit run as a number of any length: skip leading zeros, then the
    // longer run is larger, else the first differing digit decides.
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    size_t ei = i, ej = j;
    while (ei < a.size() && is_digit(a[ei])) ++ei;
    while (ej < b.size() && is_digit(b[ej])) ++ej;
    if (ei - i != ej - j) return ei - i < ej - j ? -1 : 1;
    for (; i < ei; ++i, ++j)
      if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
  }
  return 0;
}

struct Parts {
  std::string_view epoch, upstream, revision;
};

Parts split(std::string_view v) {
  Parts p;
  if (const size_t colon = v.find(':'); colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  if (const size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  const Parts pa = split(a), pb = split(b);
  if (int c = compare_part(pa.epoch, pb.epoch)) return c;
  if (int c = compare_part(pa.upstream, pb.upstream)) return c;
  return compare_part(pa.revision, pb.revision);
}

}  // namespace strata
