// The A/B slot record: its on-flash text, the boot decision and the CLI's
// transitions. No I/O here; slot_store.cpp puts the bytes on flash.
#include "slot_state.h"

#include <zlib.h>

#include <charconv>
#include <cstdio>

#include "text.h"
#include "version.h"

namespace strata {

namespace {

constexpr std::string_view kMagic = "strata-slots ";
constexpr std::string_view kFormatVersion = "2";
constexpr std::string_view kFormatVersion1 = "1";  // 512 bytes, no min_version or keys lines
constexpr std::string_view kCrcTag = "crc32 ";

// The widest record serialize_slot_state can make from valid fields: the
// header, a 20-digit seq, "active b", two slot lines with the longest
// status, tries, id and version, and the CRC line.
constexpr size_t kWidestSlotLine =
    std::string_view("slot a trial tries=1000 id= version=\n").size() + kMaxImageIdLength + kMaxVersionLength;
constexpr size_t kWidestRecord =
    std::string_view("strata-slots 2\n").size() + std::string_view("seq 18446744073709551615\n").size() +
    std::string_view("active b\n").size() + 2 * kWidestSlotLine + std::string_view("min_version \n").size() +
    kMaxVersionLength + std::string_view("keys \n").size() + kMaxRecordKeys * 65 +
    2 * (std::string_view("verity a \n").size() + kMaxVerityLength) + std::string_view("crc32 0a1b2c3d\n").size();
static_assert(kWidestRecord <= kSlotRecordSize, "a record with the longest fields must fit in one block");
static_assert(kMaxTries == 1000, "kWidestSlotLine assumes 4-digit tries");

bool valid_slot(int slot) {
  return slot == 0 || slot == 1;
}

uint32_t crc_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; a record is far smaller.
  crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  return static_cast<uint32_t>(crc);
}

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Field text for the record: "-" stands for empty. Oversized values are cut
// one past the limit, so the record stays within its sector and parsing it
// still says what is wrong.
std::string field_text(const std::string& v, size_t max) {
  if (v.empty()) return "-";
  return v.substr(0, max + 1);
}

// A canonical decimal (no sign, no leading zero) that fits in T.
template <typename T>
std::optional<T> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<SlotStatus> parse_status(std::string_view s) {
  if (s == "good") return SlotStatus::kGood;
  if (s == "trial") return SlotStatus::kTrial;
  if (s == "bad") return SlotStatus::kBad;
  return std::nullopt;
}

// At most `max` words; the last one holds the rest of the line, spaces and
// all, so a bad version is reported as a bad version.
std::vector<std::string_view> split_spaces(std::string_view line, size_t max) {
  std::vector<std::string_view> words;
  size_t start = 0;
  for (;;) {
    size_t sp = words.size() + 1 == max ? std::string_view::npos : line.find(' ', start);
    words.push_back(line.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return words;
}

Error bad_line(int number, const std::string& what) {
  return plain_error("line " + std::to_string(number) + ": " + what);
}

// What is wrong with a version field's text (not "-"), if anything.
std::optional<std::string> version_problem(std::string_view version) {
  if (version.empty() || version.size() > kMaxVersionLength)
    return "must be 1 to " + std::to_string(kMaxVersionLength) + " characters or '-'";
  for (char c : version)
    if (!is_name_char(c)) return quoted(version) + " has a character outside [A-Za-z0-9._+~:-]";
  return std::nullopt;
}

Result<SlotInfo> parse_slot_line(std::string_view line, int number, int slot) {
  const std::string expect = slot_word(slot) + " ";
  if (line.substr(0, expect.size()) != expect)
    return bad_line(number, "expected '" + expect + "...', got " + quoted(line));
  const auto words = split_spaces(line, 6);
  if (words.size() != 6)
    return bad_line(number, "expected 'slot X STATUS tries=N id=ID version=V', got " + quoted(line));
  SlotInfo info;
  const std::string where = slot_word(slot) + ": ";

  auto status = parse_status(words[2]);
  if (!status) return bad_line(number, where + "unknown status " + quoted(words[2]));
  info.status = *status;

  constexpr std::string_view kTries = "tries=";
  if (words[3].substr(0, kTries.size()) != kTries) return bad_line(number, where + "expected tries=N");
  auto tries = parse_decimal<int>(words[3].substr(kTries.size()));
  if (!tries || *tries > kMaxTries)
    return bad_line(number, where + "tries " + quoted(words[3].substr(kTries.size())) + " is not a number from 0 to " +
                                std::to_string(kMaxTries));
  info.tries = *tries;

  constexpr std::string_view kId = "id=";
  if (words[4].substr(0, kId.size()) != kId) return bad_line(number, where + "expected id=ID");
  const std::string_view id = words[4].substr(kId.size());
  if (id != "-") {
    if (id.empty() || id.size() > kMaxImageIdLength)
      return bad_line(number, where + "id must be 1 to " + std::to_string(kMaxImageIdLength) + " hex digits or '-'");
    for (char c : id)
      if (!is_lower_hex(c)) return bad_line(number, where + "id " + quoted(id) + " is not lower-case hex");
    info.image_id = std::string(id);
  }

  constexpr std::string_view kVersion = "version=";
  if (words[5].substr(0, kVersion.size()) != kVersion) return bad_line(number, where + "expected version=V");
  const std::string_view version = words[5].substr(kVersion.size());
  if (version != "-") {
    if (auto bad = version_problem(version)) return bad_line(number, where + "version " + *bad);
    info.version = std::string(version);
  }
  return info;
}

std::string tries_left(int n) {
  return std::to_string(n) + (n == 1 ? " boot try" : " boot tries");
}

// Trial slot `slot` boots once more: one try fewer on flash first.
void use_one_try(SlotChoice& c, SlotState& s, int slot) {
  s.slot[slot].tries -= 1;
  c.reasons.push_back(slot_word(slot) + " on trial: " + tries_left(s.slot[slot].tries) +
                      " left after this one (`strata mark-good` keeps it)");
  c.write = s;
}

// The rules on a record that was read (or a new device's initial one).
// failed: the slot whose root could not be mounted, -1 for none.
SlotChoice choose_from(SlotState s, int failed, const std::string& failed_why) {
  SlotChoice c;
  if (!valid_slot(s.active)) s.active = 0;  // only a hand-made reading gets here
  const int a = s.active;
  const int o = other_slot(a);
  SlotInfo& act = s.slot[a];
  SlotInfo& oth = s.slot[o];
  const bool other_good = oth.status == SlotStatus::kGood;

  if (failed == a) {
    c.degraded = true;
    c.reasons.push_back(slot_word(a) + ": root could not be mounted (" + failed_why + ")");
    const bool other_trial = oth.status == SlotStatus::kTrial && oth.tries > 0;
    if (!other_good && !other_trial) {
      // Nothing to fall back to: the record stays as it is for a person to look at.
      c.slot = -1;
      c.reasons.push_back("neither slot is bootable: " + slot_word(o) + " is " + status_words(oth));
      return c;
    }
    if (act.status == SlotStatus::kTrial) {
      act.status = SlotStatus::kBad;
      act.tries = 0;
      s.active = o;
      c.reasons.push_back(slot_word(a) + " was on trial: marked bad");
      c.write = s;
    }
    c.slot = o;
    if (other_trial) {
      use_one_try(c, s, o);
    } else {
      c.reasons.push_back("booting " + slot_word(o) + " instead");
    }
    return c;
  }

  if (failed == o) {
    // The other slot was the fallback and failed too (or was booted against
    // this record): boot the active one only if the rules below pick it.
    SlotChoice base = choose_from(s, -1, "");
    if (base.slot != o) {
      base.degraded = true;
      base.reasons.insert(base.reasons.begin(), slot_word(o) + ": root could not be mounted (" + failed_why + ")");
      return base;
    }
    c.slot = -1;
    c.degraded = true;
    c.reasons.push_back(slot_word(o) + ": root could not be mounted (" + failed_why + ")");
    c.reasons.push_back("neither slot is bootable: " + slot_word(a) + " is " + status_words(act));
    return c;
  }

  switch (act.status) {
    case SlotStatus::kGood:
      c.slot = a;
      return c;
    case SlotStatus::kTrial:
      if (act.tries > 0) {
        c.slot = a;
        use_one_try(c, s, a);
        return c;
      }
      c.degraded = true;
      if (other_good) {
        act.status = SlotStatus::kBad;
        s.active = o;
        c.slot = o;
        c.reasons.push_back(slot_word(a) + " was on trial and used up its boot tries without `strata mark-good`: " +
                            "marked bad, booting " + slot_word(o));
        c.write = s;
        return c;
      }
      c.slot = a;
      c.reasons.push_back(slot_word(a) + " was on trial and used up its boot tries without `strata mark-good`, but " +
                          slot_word(o) + " is " + status_words(oth) + ": no good slot to fall back to, booting " +
                          slot_word(a) + " anyway");
      return c;
    case SlotStatus::kBad:
      c.degraded = true;
      if (other_good) {
        c.slot = o;
        c.reasons.push_back(slot_word(a) + " is marked bad: booting " + slot_word(o) +
                            " (`strata mark-good` there makes it the active slot)");
        return c;
      }
      c.slot = a;
      c.reasons.push_back("no slot is marked good (" + slot_word(a) + " is bad, " + slot_word(o) + " is " +
                          status_words(oth) + "): booting " + slot_word(a) + " anyway");
      return c;
  }
  return c;
}

Error refuse(const std::string& what, int running) {
  return plain_error("cannot " + what + ": the running slot is unknown (" + std::to_string(running) + ")");
}

}  // namespace

const char* to_string(SlotStatus s) {
  switch (s) {
    case SlotStatus::kGood:
      return "good";
    case SlotStatus::kTrial:
      return "trial";
    case SlotStatus::kBad:
      return "bad";
  }
  return "?";
}

const char* to_string(StateHealth h) {
  switch (h) {
    case StateHealth::kOk:
      return "ok";
    case StateHealth::kOneCopy:
      return "one copy";
    case StateHealth::kMissing:
      return "missing";
    case StateHealth::kUnreadable:
      return "unreadable";
    case StateHealth::kUnavailable:
      return "unavailable";
  }
  return "?";
}

std::optional<int> parse_slot_name(std::string_view name) {
  if (name == "a" || name == "A") return 0;
  if (name == "b" || name == "B") return 1;
  return std::nullopt;
}

SlotState initial_slot_state() {
  SlotState s;
  s.active = 0;
  s.slot[0].status = SlotStatus::kGood;
  s.slot[1].status = SlotStatus::kBad;
  return s;
}

std::string serialize_slot_state(const SlotState& s) {
  std::string text;
  text.reserve(kSlotRecordSize);
  text += std::string(kMagic) + std::string(kFormatVersion) + "\n";
  text += "seq " + std::to_string(s.seq) + "\n";
  // An out-of-range active slot is written as '?', which parsing refuses.
  text += std::string("active ") + (valid_slot(s.active) ? slot_name(s.active) : '?') + "\n";
  for (int i = 0; i < kSlotCount; ++i) {
    const SlotInfo& info = s.slot[i];
    text += slot_word(i) + " " + to_string(info.status) + " tries=" + std::to_string(info.tries) +
            " id=" + field_text(info.image_id, kMaxImageIdLength) +
            " version=" + field_text(info.version, kMaxVersionLength) + "\n";
  }
  text += "min_version " + field_text(s.min_version, kMaxVersionLength) + "\n";
  std::string keys;
  for (size_t i = 0; i < s.keys.size() && i < kMaxRecordKeys; ++i)
    keys += (i ? "," : "") + s.keys[i].substr(0, 65);  // a bad key is cut one past its length, for parse to name
  text += "keys " + (keys.empty() ? std::string("-") : keys) + "\n";
  for (int i = 0; i < kSlotCount; ++i)
    if (s.slot[i].verity)
      text += "verity " + std::string(1, slot_name(i)) + " " + format_verity(*s.slot[i].verity) + "\n";
  text += std::string(kCrcTag) + hex8(crc_of(text)) + "\n";
  // Fields are capped (field_text) and numbers are at most 20 digits, so the
  // text never reaches the block's end: this only pads.
  text.resize(kSlotRecordSize, '\0');
  return text;
}

Result<SlotState> parse_slot_state(std::string_view bytes) {
  // The header first: the format decides the size, and a different format
  // version may lay out its CRC differently.
  const size_t first_nl = bytes.find('\n');
  const std::string_view first = bytes.substr(0, first_nl == std::string_view::npos ? 0 : first_nl);
  const bool magic = first_nl != std::string_view::npos && first.starts_with(kMagic);
  const std::string_view format = magic ? first.substr(kMagic.size()) : std::string_view();
  const bool v1 = magic && format == kFormatVersion1;
  const size_t size = v1 ? kSlotRecordSizeV1 : kSlotRecordSize;
  if (bytes.size() < size)
    return plain_error("truncated (" + std::to_string(bytes.size()) + " of " + std::to_string(size) + " bytes)");
  if (bytes.size() > size)
    return plain_error("too long (" + std::to_string(bytes.size()) + " bytes, a record is " + std::to_string(size) +
                       ")");
  if (!magic) return plain_error("not a slot state record (no 'strata-slots' line)");
  if (!v1 && format != kFormatVersion)
    return plain_error("unknown format version " + quoted(format) + " (this strata reads " +
                       std::string(kFormatVersion1) + " and " + std::string(kFormatVersion) + ")");

  const size_t crc_at = bytes.find(std::string("\n") + std::string(kCrcTag));
  if (crc_at == std::string_view::npos) return plain_error("no crc32 line (truncated?)");
  const size_t body_size = crc_at + 1;
  const size_t crc_nl = bytes.find('\n', body_size);
  if (crc_nl == std::string_view::npos) return plain_error("crc32 line not terminated (truncated?)");
  const std::string_view crc_text = bytes.substr(body_size + kCrcTag.size(), crc_nl - body_size - kCrcTag.size());
  bool crc_ok = crc_text.size() == 8;
  for (char c : crc_text) crc_ok = crc_ok && is_lower_hex(c);
  if (!crc_ok) return plain_error("crc32 line holds " + quoted(crc_text) + ", not 8 lower-case hex digits");
  for (size_t i = crc_nl + 1; i < bytes.size(); ++i)
    if (bytes[i] != '\0') return plain_error("bytes other than NUL padding after the crc32 line (torn write?)");
  const std::string_view body = bytes.substr(0, body_size);
  if (hex8(crc_of(body)) != crc_text) return plain_error("bad CRC (torn write?)");

  // A valid CRC: what follows is strict, since only serialize_slot_state writes records.
  const auto lines = split_lines(body);
  // Format 2: seven lines, then a verity line for each slot that has one.
  size_t core_lines = lines.size();
  while (!v1 && core_lines > 7 && lines[core_lines - 1].starts_with("verity ")) --core_lines;
  const size_t expect_lines = v1 ? 5 : 7;
  if (core_lines != expect_lines)
    return plain_error("expected " + std::to_string(expect_lines) + " lines before the crc32 line, found " +
                       std::to_string(core_lines));
  SlotState s;

  constexpr std::string_view kSeq = "seq ";
  if (lines[1].substr(0, kSeq.size()) != kSeq) return bad_line(2, "expected 'seq N', got " + quoted(lines[1]));
  auto seq = parse_decimal<uint64_t>(lines[1].substr(kSeq.size()));
  if (!seq) return bad_line(2, "seq " + quoted(lines[1].substr(kSeq.size())) + " is not a number");
  s.seq = *seq;

  if (lines[2] == "active a") {
    s.active = 0;
  } else if (lines[2] == "active b") {
    s.active = 1;
  } else {
    return bad_line(3, "expected 'active a' or 'active b', got " + quoted(lines[2]));
  }

  for (int i = 0; i < kSlotCount; ++i) {
    auto info = parse_slot_line(lines[3 + i], 4 + i, i);
    if (!info) return info.error();
    s.slot[i] = std::move(*info);
  }
  if (v1) return s;

  constexpr std::string_view kMin = "min_version ";
  if (!lines[5].starts_with(kMin)) return bad_line(6, "expected 'min_version V', got " + quoted(lines[5]));
  const std::string_view min = lines[5].substr(kMin.size());
  if (min != "-") {
    if (auto bad = version_problem(min)) return bad_line(6, "min_version " + *bad);
    s.min_version = std::string(min);
  }
  constexpr std::string_view kKeysTag = "keys ";
  if (!lines[6].starts_with(kKeysTag)) return bad_line(7, "expected 'keys K,...', got " + quoted(lines[6]));
  const std::string_view keys = lines[6].substr(kKeysTag.size());
  if (keys != "-") {
    for (size_t start = 0;;) {
      const size_t comma = keys.find(',', start);
      const std::string_view key = keys.substr(start, comma == std::string_view::npos ? comma : comma - start);
      bool ok = key.size() == 64;
      for (char c : key) ok = ok && is_lower_hex(c);
      if (!ok) return bad_line(7, "key " + quoted(key) + " is not 64 lower-case hex digits");
      if (s.keys.size() == kMaxRecordKeys) return bad_line(7, "more than " + std::to_string(kMaxRecordKeys) + " keys");
      s.keys.emplace_back(key);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  int last = -1;  // verity a before verity b, each at most once
  for (size_t i = 7; i < lines.size(); ++i) {
    const int n = static_cast<int>(i) + 1;
    const std::string_view line = lines[i];
    const auto slot = line.starts_with("verity ") && line.size() > 9 && line[8] == ' '
                          ? parse_slot_name(line.substr(7, 1))
                          : std::nullopt;
    if (!slot || line[7] != slot_name(*slot))
      return bad_line(n, "expected 'verity a|b PARAMETERS', got " + quoted(line));
    if (*slot <= last) return bad_line(n, "verity lines must be for slot a then slot b, once each");
    last = *slot;
    auto v = parse_verity(line.substr(9));
    if (!v) return bad_line(n, v.error().message());
    s.slot[*slot].verity = *v;
  }
  return s;
}

SlotChoice choose_slot(const SlotReading& reading, std::optional<int> failed_in, const std::string& failed_why) {
  // A plain int from here on: GCC 12 at -Os takes a copied std::optional for "maybe uninitialised".
  const int failed_slot = failed_in && valid_slot(*failed_in) ? *failed_in : -1;

  if (reading.health == StateHealth::kUnreadable || reading.health == StateHealth::kUnavailable) {
    // The record's content is unknown: a then b, and no write, so a pending
    // trial or a bad mark is not silently replaced by a guess.
    SlotChoice c;
    c.degraded = true;
    const char* what = reading.health == StateHealth::kUnreadable ? "unreadable" : "unavailable";
    c.reasons.push_back(std::string("slot state ") + what + ": " + reading.detail +
                        ". Booting slot a, then slot b if it fails; nothing is written to the slot state until "
                        "`strata mark-good`, run on a working system, writes a fresh record");
    if (failed_slot < 0) {
      c.slot = 0;
    } else if (failed_slot == 0) {
      c.reasons.push_back("slot a: root could not be mounted (" + failed_why + "): booting slot b instead");
      c.slot = 1;
    } else {
      // b is only tried after a failed: both are gone.
      c.reasons.push_back("slot b: root could not be mounted (" + failed_why +
                          ") after slot a: neither slot is bootable");
      c.slot = -1;
    }
    return c;
  }

  if (reading.health == StateHealth::kMissing) return choose_from(initial_slot_state(), failed_slot, failed_why);

  SlotChoice c = choose_from(reading.state, failed_slot, failed_why);
  if (reading.health == StateHealth::kOneCopy)
    c.reasons.insert(c.reasons.begin(), "slot state has one valid copy: " + reading.detail +
                                            " (the other is rewritten at the next change)");
  return c;
}

Result<SlotState> mark_good(const SlotState& s, int running) {
  if (!valid_slot(running)) return refuse("mark the running slot good", running);
  SlotState n = s;
  n.slot[running].status = SlotStatus::kGood;
  n.slot[running].tries = 0;
  n.active = running;
  return n;
}

Result<SlotState> mark_bad(const SlotState& s, int running) {
  if (!valid_slot(running)) return refuse("mark the running slot bad", running);
  const int o = other_slot(running);
  if (s.slot[o].status != SlotStatus::kGood)
    return plain_error("refusing to mark " + slot_word(running) + " bad: " + slot_word(o) + " is " +
                       status_words(s.slot[o]) + ", so no good slot would be left to boot");
  SlotState n = s;
  n.slot[running].status = SlotStatus::kBad;
  n.slot[running].tries = 0;
  n.active = o;
  return n;
}

Result<SlotState> rollback(const SlotState& s, int running) {
  if (!valid_slot(running)) return refuse("roll back", running);
  const int o = other_slot(running);
  // An installed update not yet booted (or given up on): cancelled, nothing else changes.
  if (s.slot[running].status == SlotStatus::kGood && s.slot[o].status == SlotStatus::kTrial) {
    SlotState n = s;
    n.slot[o].status = SlotStatus::kBad;
    n.slot[o].tries = 0;
    n.active = running;
    return n;
  }
  if (s.slot[o].status != SlotStatus::kGood)
    return plain_error("refusing to roll back from " + slot_word(running) + ": " + slot_word(o) + " is " +
                       status_words(s.slot[o]) + ", not good, so there is nothing to roll back to");
  SlotState n = s;
  n.active = o;
  // An update that was never confirmed is abandoned for good.
  if (n.slot[running].status == SlotStatus::kTrial) {
    n.slot[running].status = SlotStatus::kBad;
    n.slot[running].tries = 0;
  }
  return n;
}

SlotState begin_update(const SlotState& s, int target) {
  SlotState n = s;
  if (!valid_slot(target)) return n;
  n.slot[target] = SlotInfo{};  // bad, no tries, nothing known about its content
  return n;
}

SlotState finish_update(const SlotState& s, int target, int tries, const InstalledImage& image) {
  SlotState n = s;
  if (!valid_slot(target)) return n;
  n.slot[target].status = SlotStatus::kTrial;
  n.slot[target].tries = tries;
  n.slot[target].image_id = image.image_id;
  // "-" stands for "unknown" in the record; a bundle versioned "-" is recorded as unknown.
  n.slot[target].version = image.version == "-" ? "" : image.version;
  if (!image.min_version.empty() && image.min_version != "-" &&
      (n.min_version.empty() || compare_versions(image.min_version, n.min_version) > 0))
    n.min_version = image.min_version;
  if (!image.keys.empty()) n.keys = image.keys;
  n.slot[target].verity = image.verity;
  n.active = target;
  return n;
}

std::string status_words(const SlotInfo& s) {
  switch (s.status) {
    case SlotStatus::kGood:
      return "good";
    case SlotStatus::kBad:
      return "bad";
    case SlotStatus::kTrial:
      return s.tries == 0 ? "on trial with no boot tries left" : "on trial";
  }
  return "?";
}

std::string describe(const SlotState& s) {
  std::string out;
  for (int i = 0; i < kSlotCount; ++i) {
    const SlotInfo& info = s.slot[i];
    if (i > 0) out += ", ";
    out += std::string(1, slot_name(i)) + " " + to_string(info.status);
    if (info.status == SlotStatus::kTrial)
      out += " " + std::to_string(info.tries) + (info.tries == 1 ? " try left" : " tries left");
    std::string what;
    if (!info.version.empty()) what = info.version;
    if (!info.image_id.empty()) {
      if (!what.empty()) what += ", ";
      what += "id " + (info.image_id.size() > 8 ? info.image_id.substr(0, 8) + "\u2026" : info.image_id);
    }
    if (!what.empty()) out += " (" + what + ")";
  }
  out += std::string(", active ") + (valid_slot(s.active) ? slot_name(s.active) : '?');
  return out;
}

}  // namespace strata
