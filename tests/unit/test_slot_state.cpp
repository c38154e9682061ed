// The A/B slot record (slot_state.h): its text and CRC, the boot decision for
// every combination of slot states, record health and a failed mount, and
// the CLI's transitions.
#include <CppUTest/TestHarness.h>

#include <cctype>
#include <limits>
#include <string>
#include <vector>

#include "helpers.h"
#include "slot_state.h"

using namespace strata;
using strata::test::contains;
using strata::test::join;

namespace {

SlotInfo slot(SlotStatus status, int tries = 0, std::string id = "", std::string version = "") {
  SlotInfo s;
  s.status = status;
  s.tries = tries;
  s.image_id = std::move(id);
  s.version = std::move(version);
  return s;
}

SlotState state(int active, SlotInfo a, SlotInfo b, uint64_t seq = 0) {
  SlotState s;
  s.seq = seq;
  s.active = active;
  s.slot[0] = std::move(a);
  s.slot[1] = std::move(b);
  return s;
}

SlotReading reading(const SlotState& s, StateHealth health = StateHealth::kOk, std::string detail = "") {
  SlotReading r;
  r.state = s;
  r.health = health;
  r.detail = std::move(detail);
  return r;
}

const std::string kId = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

std::string record(const std::string& body, size_t size = kSlotRecordSize) {
  return strata::test::slot_record(body, size);
}

const std::string kSlotLines =
    "seq 42\n"
    "active b\n"
    "slot a good tries=0 id=" +
    kId +
    " version=1.0\n"
    "slot b trial tries=2 id=- version=2.0~rc1+git:abc_d-e\n";
const std::string kGoodBody = "strata-slots 2\n" + kSlotLines + "min_version -\nkeys -\n";
// What devices wrote before format 2: 512 bytes, no min_version or keys.
const std::string kFormat1Body = "strata-slots 1\n" + kSlotLines;
const std::string kKey1 = std::string(64, 'a'), kKey2 = std::string(63, 'b') + "c";

std::string text_of(const std::string& bytes) {
  return bytes.substr(0, bytes.find('\0'));
}

void check_parses(const std::string& bytes) {
  auto r = parse_slot_state(bytes);
  CHECK_TRUE_TEXT(r.ok(), r.ok() ? "" : r.error().message().c_str());
}

void check_rejects(const std::string& bytes, const std::string& why) {
  auto r = parse_slot_state(bytes);
  CHECK_FALSE_TEXT(r.ok(), ("accepted a record that should fail with '" + why + "'").c_str());
  CHECK_TRUE_TEXT(contains(r.error().message(), why), ("'" + r.error().message() + "' lacks '" + why + "'").c_str());
}

// The body of kGoodBody with `from` replaced by `to` (which must occur).
std::string body_with(const std::string& from, const std::string& to) {
  std::string b = kGoodBody;
  auto at = b.find(from);
  CHECK_TRUE_TEXT(at != std::string::npos, ("test body lacks '" + from + "'").c_str());
  return b.replace(at, from.size(), to);
}

}  // namespace

// ---- the record --------------------------------------------------------------

TEST_GROUP(SlotRecord){};

TEST(SlotRecord, InitialStateIsANewDevice) {
  SlotState s = initial_slot_state();
  LONGS_EQUAL(0, s.active);
  LONGS_EQUAL(0, s.seq);
  CHECK(s.slot[0] == slot(SlotStatus::kGood));
  CHECK(s.slot[1] == slot(SlotStatus::kBad));
  SlotReading r;
  CHECK(r.state == s);
  CHECK(r.health == StateHealth::kMissing);
}

TEST(SlotRecord, Names) {
  STRCMP_EQUAL("good", to_string(SlotStatus::kGood));
  STRCMP_EQUAL("trial", to_string(SlotStatus::kTrial));
  STRCMP_EQUAL("bad", to_string(SlotStatus::kBad));
  STRCMP_EQUAL("ok", to_string(StateHealth::kOk));
  STRCMP_EQUAL("one copy", to_string(StateHealth::kOneCopy));
  STRCMP_EQUAL("missing", to_string(StateHealth::kMissing));
  STRCMP_EQUAL("unreadable", to_string(StateHealth::kUnreadable));
  STRCMP_EQUAL("unavailable", to_string(StateHealth::kUnavailable));
  BYTES_EQUAL('a', slot_name(0));
  BYTES_EQUAL('b', slot_name(1));
  LONGS_EQUAL(1, other_slot(0));
  LONGS_EQUAL(0, other_slot(1));
}

TEST(SlotRecord, ParseSlotName) {
  CHECK(parse_slot_name("a") == 0);
  CHECK(parse_slot_name("A") == 0);
  CHECK(parse_slot_name("b") == 1);
  CHECK(parse_slot_name("B") == 1);
  for (const char* bad : {"", "c", "ab", "a ", " a", "0", "1", "slot a"})
    CHECK_FALSE_TEXT(parse_slot_name(bad).has_value(), bad);
}

TEST(SlotRecord, SerializeIsTheDocumentedText) {
  SlotState s =
      state(1, slot(SlotStatus::kGood, 0, kId, "1.0"), slot(SlotStatus::kTrial, 2, "", "2.0~rc1+git:abc_d-e"), 42);
  const std::string bytes = serialize_slot_state(s);
  LONGS_EQUAL(kSlotRecordSize, bytes.size());
  CHECK_EQUAL(record(kGoodBody), bytes);
  CHECK_EQUAL(kGoodBody, text_of(bytes).substr(0, kGoodBody.size()));
  // The CRC line is the last line, and only NULs follow it.
  const std::string text = text_of(bytes);
  CHECK(contains(text, "\ncrc32 "));
  BYTES_EQUAL('\n', text.back());
  for (size_t i = text.size(); i < bytes.size(); ++i) BYTES_EQUAL(0, bytes[i]);
}

TEST(SlotRecord, EmptyFieldsAreDashes) {
  const std::string text = text_of(serialize_slot_state(initial_slot_state()));
  CHECK_EQUAL(std::string("strata-slots 2\nseq 0\nactive a\nslot a good tries=0 id=- version=-\n"
                          "slot b bad tries=0 id=- version=-\nmin_version -\nkeys -\n"),
              text.substr(0, text.find("crc32 ")));
}

TEST(SlotRecord, RoundTrips) {
  const std::string longest_version(kMaxVersionLength, '~');
  const std::string longest_id(kMaxImageIdLength, 'f');
  const std::vector<SlotState> states = {
      initial_slot_state(),
      state(1, slot(SlotStatus::kGood, 0, kId, "1.0"), slot(SlotStatus::kTrial, 2, "", "2.0"), 42),
      state(0, slot(SlotStatus::kTrial, kMaxTries, longest_id, longest_version),
            slot(SlotStatus::kTrial, kMaxTries, longest_id, longest_version), std::numeric_limits<uint64_t>::max()),
      state(1, slot(SlotStatus::kBad, 0, "0", "A"), slot(SlotStatus::kBad, 7, "abc", "0:1.2-3ubuntu1"), 1),
      state(0, slot(SlotStatus::kGood, 3), slot(SlotStatus::kTrial, 0), 18446744073709551614ull),
  };
  for (const auto& s : states) {
    const std::string bytes = serialize_slot_state(s);
    LONGS_EQUAL(kSlotRecordSize, bytes.size());
    auto back = parse_slot_state(bytes);
    CHECK_TRUE_TEXT(back.ok(), back.ok() ? "" : back.error().message().c_str());
    CHECK_TRUE_TEXT(*back == s, (describe(s) + " came back as " + describe(*back)).c_str());
    CHECK_EQUAL(bytes, serialize_slot_state(*back));
  }
}

TEST(SlotRecord, TheLongestRecordFitsInABlock) {
  const std::string longest_version(kMaxVersionLength, '.');
  const std::string longest_id(kMaxImageIdLength, 'a');
  SlotState s =
      state(1, slot(SlotStatus::kTrial, kMaxTries, longest_id, longest_version),
            slot(SlotStatus::kTrial, kMaxTries, longest_id, longest_version), std::numeric_limits<uint64_t>::max());
  s.min_version = longest_version;
  for (size_t i = 0; i < kMaxRecordKeys; ++i) s.keys.push_back(std::string(63, 'a') + static_cast<char>('0' + i));
  const std::string bytes = serialize_slot_state(s);
  LONGS_EQUAL(kSlotRecordSize, bytes.size());
  LONGS_EQUAL(996, text_of(bytes).size());  // the arithmetic in slot_state.cpp
  auto back = parse_slot_state(bytes);
  CHECK_TRUE_TEXT(back.ok() && *back == s, back.ok() ? "differs" : back.error().message().c_str());
}

TEST(SlotRecord, ReadsFormat1) {
  auto r = parse_slot_state(record(kFormat1Body, kSlotRecordSizeV1));
  CHECK_TRUE_TEXT(r.ok(), r.ok() ? "" : r.error().message().c_str());
  LONGS_EQUAL(42, r->seq);
  LONGS_EQUAL(1, r->active);
  CHECK(r->slot[0] == slot(SlotStatus::kGood, 0, kId, "1.0"));
  CHECK_EQUAL(std::string(""), r->min_version);
  LONGS_EQUAL(0, r->keys.size());
  // Written back, it is format 2 and reads the same.
  auto again = parse_slot_state(serialize_slot_state(*r));
  CHECK(again.ok() && *again == *r);
  check_rejects(record(kFormat1Body, kSlotRecordSize), "too long (4096 bytes, a record is 512)");
  check_rejects(record(kFormat1Body + "min_version -\nkeys -\n", kSlotRecordSizeV1),
                "expected 5 lines before the crc32 line, found 7");
  check_rejects(record(kGoodBody, kSlotRecordSizeV1), "truncated (512 of 4096 bytes)");
}

TEST(SlotRecord, MinVersionAndKeys) {
  auto r =
      parse_slot_state(record(body_with("min_version -\nkeys -", "min_version 2.0~rc1\nkeys " + kKey1 + "," + kKey2)));
  CHECK_TRUE_TEXT(r.ok(), r.ok() ? "" : r.error().message().c_str());
  CHECK_EQUAL(std::string("2.0~rc1"), r->min_version);
  LONGS_EQUAL(2, r->keys.size());
  CHECK_EQUAL(kKey1, r->keys[0]);
  CHECK_EQUAL(kKey2, r->keys[1]);
  CHECK_EQUAL(record(body_with("min_version -\nkeys -", "min_version 2.0~rc1\nkeys " + kKey1 + "," + kKey2)),
              serialize_slot_state(*r));
  check_rejects(record(body_with("min_version -", "min_version 1 0")), "line 6: min_version '1 0' has a character");
  check_rejects(record(body_with("min_version -", "min_version ")), "line 6: min_version must be 1 to 64");
  check_rejects(record(body_with("min_version -", "minimum -")), "line 6: expected 'min_version V'");
  check_rejects(record(body_with("keys -", "keys " + kKey1.substr(1))), "line 7: key");
  check_rejects(record(body_with("keys -", "keys " + std::string(64, 'A'))), "not 64 lower-case hex digits");
  check_rejects(record(body_with("keys -", "keys " + kKey1 + ",")), "not 64 lower-case hex digits");
  check_rejects(record(body_with("keys -", "keys ")), "not 64 lower-case hex digits");
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + kKey1;
  check_rejects(record(body_with("keys -", "keys " + nine)), "more than 8 keys");
  check_rejects(record(body_with("keys -\n", "")), "expected 7 lines before the crc32 line, found 6");
}

TEST(SlotRecord, AcceptsTheDocumentedExample) {
  auto r = parse_slot_state(record(kGoodBody));
  CHECK_TRUE_TEXT(r.ok(), r.ok() ? "" : r.error().message().c_str());
  LONGS_EQUAL(42, r->seq);
  LONGS_EQUAL(1, r->active);
  CHECK(r->slot[0] == slot(SlotStatus::kGood, 0, kId, "1.0"));
  CHECK(r->slot[1] == slot(SlotStatus::kTrial, 2, "", "2.0~rc1+git:abc_d-e"));
}

TEST(SlotRecord, RejectsABadCrc) {
  std::string bytes = record(kGoodBody);
  bytes[20] ^= 0x01;  // inside "seq 42"
  check_rejects(bytes, "bad CRC");
  // A CRC of the right form but the wrong value.
  bytes = record(kGoodBody);
  auto at = bytes.find("crc32 ") + 6;
  bytes[at] = bytes[at] == '0' ? '1' : '0';
  check_rejects(bytes, "bad CRC");
}

TEST(SlotRecord, RejectsAMalformedCrcLine) {
  std::string bytes = record(kGoodBody);
  auto at = bytes.find("crc32 ") + 6;
  std::string upper = bytes;
  for (size_t i = at; i < at + 8; ++i) upper[i] = static_cast<char>(toupper(upper[i]));
  if (upper != bytes) check_rejects(upper, "not 8 lower-case hex digits");
  std::string shorter = bytes;
  shorter.erase(at + 7, 1);
  shorter += '\0';
  check_rejects(shorter, "not 8 lower-case hex digits");
  std::string no_newline = bytes;
  no_newline[at + 8] = '\0';
  check_rejects(no_newline, "not terminated");
  check_rejects(std::string(kGoodBody).append(kSlotRecordSize - kGoodBody.size(), '\0'), "no crc32 line");
}

TEST(SlotRecord, RejectsAnotherFormat) {
  check_rejects(record(body_with("strata-slots 2", "strata-slots 3")), "unknown format version '3'");
  check_rejects(record(body_with("strata-slots 2", "strata-slots 10")), "unknown format version");
  check_rejects(record(body_with("strata-slots 2", "strata-slots")), "not a slot state record");
  check_rejects(record(body_with("strata-slots 2", "strata-slot 2")), "not a slot state record");
  check_rejects(record(body_with("strata-slots 2", "Strata-slots 2")), "not a slot state record");
  check_rejects(std::string(kSlotRecordSize, '\0'), "not a slot state record");
  check_rejects(std::string(kSlotRecordSize, '\xff'), "not a slot state record");
}

TEST(SlotRecord, RejectsTruncatedAndOversizedCopies) {
  const std::string bytes = record(kGoodBody);
  check_rejects("", "truncated (0 of 4096 bytes)");
  check_rejects(bytes.substr(0, 100), "truncated (100 of 4096 bytes)");
  check_rejects(bytes.substr(0, 4095), "truncated (4095 of 4096 bytes)");
  check_rejects(bytes + std::string(1, '\0'), "too long (4097 bytes");
  check_rejects(bytes + bytes, "too long");
  // Cut inside the text and padded back to a sector: a torn write.
  std::string torn = bytes.substr(0, 60);
  torn.resize(kSlotRecordSize, '\0');
  check_rejects(torn, "no crc32 line");
}

TEST(SlotRecord, RejectsGarbageAfterTheCrcLine) {
  std::string bytes = record(kGoodBody);
  bytes[kSlotRecordSize - 1] = 'x';
  check_rejects(bytes, "other than NUL padding");
  bytes = record(kGoodBody);
  bytes[text_of(bytes).size()] = '\n';
  check_rejects(bytes, "other than NUL padding");
  bytes = record(kGoodBody);
  bytes[text_of(bytes).size() + 5] = ' ';
  check_rejects(bytes, "other than NUL padding");
}

TEST(SlotRecord, RejectsBadFields) {
  check_rejects(record(body_with("seq 42", "seq -1")), "line 2: seq '-1' is not a number");
  check_rejects(record(body_with("seq 42", "seq 042")), "line 2: seq");
  check_rejects(record(body_with("seq 42", "seq ")), "line 2: seq");
  check_rejects(record(body_with("seq 42", "seq 4 2")), "line 2: seq");
  check_rejects(record(body_with("seq 42", "seq 18446744073709551616")), "line 2: seq");
  check_rejects(record(body_with("seq 42", "seq 0x10")), "line 2: seq");
  check_rejects(record(body_with("seq 42", "sequence 42")), "line 2: expected 'seq N'");
  check_rejects(record(body_with("active b", "active c")), "line 3: expected 'active a' or 'active b'");
  check_rejects(record(body_with("active b", "active B")), "line 3");
  check_rejects(record(body_with("active b", "active  b")), "line 3");
  check_rejects(record(body_with("slot a good", "slot a fine")), "line 4: slot a: unknown status 'fine'");
  check_rejects(record(body_with("slot b trial", "slot b Trial")), "line 5: slot b: unknown status");
  check_rejects(record(body_with("id=" + kId, "id=" + kId.substr(0, 10) + "G")), "slot a: id");
  check_rejects(record(body_with("id=" + kId, "id=ABCDEF")), "not lower-case hex");
  check_rejects(record(body_with("id=" + kId, "id=")), "id must be 1 to 64 hex digits");
  check_rejects(record(body_with("id=" + kId, "ID=" + kId)), "expected id=ID");
  check_rejects(record(body_with("version=1.0", "version=1/0")), "outside [A-Za-z0-9._+~:-]");
  check_rejects(record(body_with("version=1.0", "version=")), "version must be 1 to 64");
  check_rejects(record(body_with("version=1.0", "version=1 0")), "line 4: slot a: version '1 0' has a character");
  check_rejects(record(body_with("slot a good", "slot a good extra")), "line 4: slot a: expected tries=N");
  check_rejects(record(body_with("slot a good tries=0", "slot a good")), "line 4: expected 'slot X STATUS");
  check_rejects(record(body_with("version=1.0", "version=1\t0")), "outside");
  check_rejects(record(body_with("version=1.0", "vers=1.0")), "expected version=V");
  check_rejects(record(body_with("tries=0", "try=0")), "expected tries=N");
  check_rejects(record(body_with(" tries=0", "  tries=0")), "line 4");
  check_rejects(record(body_with("version=1.0\n", "version=1.0 \n")), "line 4");
}

TEST(SlotRecord, RejectsTriesOutOfRange) {
  check_parses(record(body_with("tries=2", "tries=1000")));
  check_parses(record(body_with("tries=2", "tries=0")));
  check_rejects(record(body_with("tries=2", "tries=1001")),
                "line 5: slot b: tries '1001' is not a number from 0 to 1000");
  check_rejects(record(body_with("tries=2", "tries=-1")), "tries '-1'");
  check_rejects(record(body_with("tries=2", "tries=99999999999")), "tries");
  check_rejects(record(body_with("tries=2", "tries=02")), "tries '02'");
  check_rejects(record(body_with("tries=2", "tries=")), "tries ''");
  check_rejects(record(body_with("tries=2", "tries=two")), "tries 'two'");
}

TEST(SlotRecord, RejectsOversizeFields) {
  const std::string id65(kMaxImageIdLength + 1, 'a');
  const std::string v65(kMaxVersionLength + 1, '1');
  check_parses(record(body_with("id=" + kId, "id=" + id65.substr(1))));
  check_parses(record(body_with("version=1.0", "version=" + v65.substr(1))));
  check_rejects(record(body_with("id=" + kId, "id=" + id65)), "id must be 1 to 64 hex digits");
  check_rejects(record(body_with("version=1.0", "version=" + v65)), "version must be 1 to 64 characters");
}

TEST(SlotRecord, RejectsBadSlotNames) {
  check_rejects(record(body_with("slot a good", "slot c good")), "line 4: expected 'slot a ...'");
  check_rejects(record(body_with("slot b trial", "slot B trial")), "line 5: expected 'slot b ...'");
  check_rejects(record(body_with("slot b trial", "slot  b trial")), "line 5");
  check_rejects(record(body_with("slot a good", "slota good")), "line 4");
}

TEST(SlotRecord, RejectsDuplicateAndMissingLines) {
  const std::string a_line = "slot a good tries=0 id=" + kId + " version=1.0\n";
  const std::string b_line = "slot b trial tries=2 id=- version=2.0~rc1+git:abc_d-e\n";
  // Two slot a lines (b missing), two b lines (a missing), swapped order.
  check_rejects(record(body_with(b_line, a_line)), "line 5: expected 'slot b ...', got 'slot a good");
  check_rejects(record(body_with(a_line, b_line)), "line 4: expected 'slot a ...', got 'slot b trial");
  check_rejects(record("strata-slots 2\nseq 42\nactive b\n" + b_line + a_line + "min_version -\nkeys -\n"),
                "line 4: expected 'slot a");
  // A duplicated seq, a missing active, lines out of order.
  check_rejects(record(body_with("active b\n", "seq 42\nactive b\n")),
                "expected 7 lines before the crc32 line, found 8");
  check_rejects(record(body_with("active b\n", "")), "expected 7 lines before the crc32 line, found 6");
  check_rejects(record(body_with("seq 42\nactive b\n", "active b\nseq 42\n")), "line 2: expected 'seq N'");
  check_rejects(record(body_with(b_line, "")), "found 6");
  check_rejects(record(body_with(b_line, b_line + b_line)), "found 8");
  check_rejects(record(body_with("min_version -\nkeys -\n", "keys -\nmin_version -\n")),
                "line 6: expected 'min_version V'");
  check_rejects(record(body_with("seq 42\n", "seq 42\n\n")), "found 8");
  // A line that merely starts like the CRC line is the CRC line.
  check_rejects(record(body_with(b_line, b_line + "crc32 00000000\n")), "other than NUL padding");
}

TEST(SlotRecord, InvalidStatesDoNotSerializeToValidRecords) {
  // Whatever the state, the bytes are one sector, and a state that cannot be
  // represented fails to parse (the store refuses to write it).
  SlotState s = initial_slot_state();
  s.active = 2;
  check_rejects(serialize_slot_state(s), "line 3");
  s = initial_slot_state();
  s.slot[1].tries = kMaxTries + 1;
  check_rejects(serialize_slot_state(s), "tries '1001'");
  s.slot[1].tries = std::numeric_limits<int>::min();
  check_rejects(serialize_slot_state(s), "tries '-2147483648'");
  s = initial_slot_state();
  s.slot[0].version = std::string(10000, 'v');
  LONGS_EQUAL(kSlotRecordSize, serialize_slot_state(s).size());
  check_rejects(serialize_slot_state(s), "version must be 1 to 64");
  s = initial_slot_state();
  s.slot[0].image_id = std::string(10000, 'a');
  LONGS_EQUAL(kSlotRecordSize, serialize_slot_state(s).size());
  check_rejects(serialize_slot_state(s), "id must be 1 to 64");
  s = initial_slot_state();
  s.slot[0].image_id = "ABC";
  check_rejects(serialize_slot_state(s), "not lower-case hex");
  s = initial_slot_state();
  s.slot[1].version = "2.0\nslot b good tries=0 id=- version=-";
  LONGS_EQUAL(kSlotRecordSize, serialize_slot_state(s).size());
  CHECK_FALSE(parse_slot_state(serialize_slot_state(s)).ok());
  s.slot[1].version = std::string("a\0b", 3);
  CHECK_FALSE(parse_slot_state(serialize_slot_state(s)).ok());
}

TEST(SlotRecord, Describe) {
  CHECK_EQUAL(std::string("a good, b bad, active a"), describe(initial_slot_state()));
  CHECK_EQUAL(std::string("a good (v2, id 9f86d081\u2026), b trial 2 tries left, active b"),
              describe(state(1, slot(SlotStatus::kGood, 0, kId, "v2"), slot(SlotStatus::kTrial, 2), 9)));
  CHECK_EQUAL(std::string("a trial 1 try left (id abc), b bad (3.1), active a"),
              describe(state(0, slot(SlotStatus::kTrial, 1, "abc"), slot(SlotStatus::kBad, 0, "", "3.1"))));
}

// ---- choose_slot: every combination ----------------------------------------

namespace {

// A slot's state in the table: G good, T2 trial with 2 tries, T1 trial with
// 1, T0 trial out of tries, B bad.
SlotInfo code(const std::string& c) {
  if (c == "G") return slot(SlotStatus::kGood);
  if (c == "B") return slot(SlotStatus::kBad);
  return slot(SlotStatus::kTrial, c[1] - '0');
}

// One row, in terms of the active slot (A) and the other one (O); each row
// runs with a active and with b active. `reason` is checked against
// reasons[0] with {A}/{O} replaced by the slot letters.
struct Row {
  const char* act;
  const char* oth;
  char failed;          // '-' none, 'A' or 'O'
  char boots;           // 'A', 'O' or '-' (slot -1)
  const char* write_a;  // the written record (nullptr: no write): A's code,
  const char* write_o;  // O's code
  char write_active;    // and which is active
  bool degraded;
  const char* reason;  // "" : no reasons at all
};

const Row kRows[] = {
    // Nothing failed.
    {"G", "G", '-', 'A', nullptr, nullptr, 0, false, ""},
    {"G", "T2", '-', 'A', nullptr, nullptr, 0, false, ""},
    {"G", "T0", '-', 'A', nullptr, nullptr, 0, false, ""},
    {"G", "B", '-', 'A', nullptr, nullptr, 0, false, ""},
    {"T2", "G", '-', 'A', "T1", "G", 'A', false, "slot {A} on trial: 1 boot try left after this one"},
    {"T2", "T2", '-', 'A', "T1", "T2", 'A', false, "slot {A} on trial: 1 boot try left after this one"},
    {"T2", "T0", '-', 'A', "T1", "T0", 'A', false, "slot {A} on trial: 1 boot try left after this one"},
    {"T2", "B", '-', 'A', "T1", "B", 'A', false, "slot {A} on trial: 1 boot try left after this one"},
    {"T0", "G", '-', 'O', "B", "G", 'O', true,
     "slot {A} was on trial and used up its boot tries without `strata mark-good`: marked bad, booting slot {O}"},
    {"T0", "T2", '-', 'A', nullptr, nullptr, 0, true,
     "slot {O} is on trial: no good slot to fall back to, booting slot {A} anyway"},
    {"T0", "T0", '-', 'A', nullptr, nullptr, 0, true, "no good slot to fall back to, booting slot {A} anyway"},
    {"T0", "B", '-', 'A', nullptr, nullptr, 0, true,
     "slot {O} is bad: no good slot to fall back to, booting slot {A} anyway"},
    {"B", "G", '-', 'O', nullptr, nullptr, 0, true, "slot {A} is marked bad: booting slot {O}"},
    {"B", "T2", '-', 'A', nullptr, nullptr, 0, true, "no slot is marked good (slot {A} is bad, slot {O} is on trial)"},
    {"B", "T0", '-', 'A', nullptr, nullptr, 0, true, "no slot is marked good"},
    {"B", "B", '-', 'A', nullptr, nullptr, 0, true,
     "no slot is marked good (slot {A} is bad, slot {O} is bad): booting slot {A} anyway"},
    // The active slot's root could not be mounted.
    {"G", "G", 'A', 'O', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"G", "T2", 'A', 'O', "G", "T1", 'A', true, "slot {A}: root could not be mounted (no such device)"},
    {"G", "T0", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"G", "B", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"T2", "G", 'A', 'O', "B", "G", 'O', true, "slot {A}: root could not be mounted (no such device)"},
    {"T2", "T2", 'A', 'O', "B", "T1", 'O', true, "slot {A}: root could not be mounted (no such device)"},
    {"T2", "T0", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"T2", "B", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"T0", "G", 'A', 'O', "B", "G", 'O', true, "slot {A}: root could not be mounted (no such device)"},
    {"T0", "T2", 'A', 'O', "B", "T1", 'O', true, "slot {A}: root could not be mounted (no such device)"},
    {"T0", "T0", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"T0", "B", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"B", "G", 'A', 'O', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"B", "T2", 'A', 'O', "B", "T1", 'A', true, "slot {A}: root could not be mounted (no such device)"},
    {"B", "T0", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    {"B", "B", 'A', '-', nullptr, nullptr, 0, true, "slot {A}: root could not be mounted (no such device)"},
    // The other slot's root could not be mounted (it was the fallback).
    {"G", "G", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"G", "T2", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"G", "T0", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"G", "B", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"T2", "G", 'O', 'A', "T1", "G", 'A', true, "slot {O}: root could not be mounted (no such device)"},
    {"T2", "T2", 'O', 'A', "T1", "T2", 'A', true, "slot {O}: root could not be mounted (no such device)"},
    {"T2", "T0", 'O', 'A', "T1", "T0", 'A', true, "slot {O}: root could not be mounted (no such device)"},
    {"T2", "B", 'O', 'A', "T1", "B", 'A', true, "slot {O}: root could not be mounted (no such device)"},
    {"T0", "G", 'O', '-', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"T0", "T2", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"T0", "T0", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"T0", "B", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"B", "G", 'O', '-', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"B", "T2", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"B", "T0", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
    {"B", "B", 'O', 'A', nullptr, nullptr, 0, true, "slot {O}: root could not be mounted (no such device)"},
};

std::string letters(std::string text, int a) {
  for (auto [tag, letter] : {std::pair{"{A}", slot_name(a)}, std::pair{"{O}", slot_name(other_slot(a))}}) {
    for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag)) text.replace(at, 3, 1, letter);
  }
  return text;
}

int resolve(char which, int a) {
  return which == 'A' ? a : which == 'O' ? other_slot(a) : -1;
}

SlotState table_state(const char* act, const char* oth, int a, uint64_t seq = 7) {
  SlotState s;
  s.seq = seq;
  s.active = a;
  s.slot[a] = code(act);
  s.slot[other_slot(a)] = code(oth);
  // What each slot holds, so a write that touches the wrong field shows.
  s.slot[0].version = "1.0";
  s.slot[1].version = "2.0";
  s.slot[0].image_id = "aa";
  s.slot[1].image_id = "bb";
  return s;
}

// Runs every row with both slots as the active one under `health`, checking
// what kOk would give plus, for kOneCopy, the extra first reason.
void check_rows(StateHealth health) {
  const std::string detail = "/x/slot-state.1: bad CRC (torn write?); using .0 (seq 7)";
  for (const Row& row : kRows) {
    for (int a = 0; a < kSlotCount; ++a) {
      const SlotState s = table_state(row.act, row.oth, a);
      std::optional<int> failed;
      if (row.failed != '-') failed = resolve(row.failed, a);
      const SlotChoice c = choose_slot(reading(s, health, detail), failed, "no such device");
      const std::string what = std::string("active ") + slot_name(a) + " " + row.act + ", other " + row.oth +
                               ", failed " + row.failed + " (" + to_string(health) + "): slot " +
                               std::to_string(c.slot) + ", reasons " + join(c.reasons);

      LONGS_EQUAL_TEXT(resolve(row.boots, a), c.slot, what.c_str());
      CHECK_EQUAL_TEXT(row.degraded, c.degraded, what.c_str());
      if (c.slot >= 0 && failed) CHECK_TRUE_TEXT(c.slot != *failed, what.c_str());

      if (row.write_a) {
        SlotState w = table_state(row.write_a, row.write_o, a);
        w.active = resolve(row.write_active, a);
        CHECK_TRUE_TEXT(c.write.has_value(), what.c_str());
        CHECK_TRUE_TEXT(*c.write == w, (what + ": wrote " + describe(*c.write) + ", expected " + describe(w)).c_str());
      } else {
        CHECK_FALSE_TEXT(c.write.has_value(), (what + ": wrote " + (c.write ? describe(*c.write) : "")).c_str());
      }

      std::vector<std::string> reasons = c.reasons;
      if (health == StateHealth::kOneCopy) {
        CHECK_TRUE_TEXT(!reasons.empty() && contains(reasons[0], detail), what.c_str());
        if (!reasons.empty()) reasons.erase(reasons.begin());
      }
      const std::string expect = letters(row.reason, a);
      if (expect.empty()) {
        CHECK_TRUE_TEXT(reasons.empty(), what.c_str());
      } else {
        CHECK_TRUE_TEXT(!reasons.empty() && contains(reasons[0], expect), (what + " lacks '" + expect + "'").c_str());
      }
      // A slot that cannot boot is said so in words.
      if (c.slot < 0) CHECK_TRUE_TEXT(contains(join(reasons), "neither slot is bootable"), what.c_str());
      // Whatever is written reads back the same.
      if (c.write) {
        auto back = parse_slot_state(serialize_slot_state(*c.write));
        CHECK_TRUE_TEXT(back.ok() && *back == *c.write, what.c_str());
      }
    }
  }
}

}  // namespace

TEST_GROUP(SlotChoice){};

TEST(SlotChoice, EveryCombination) {
  check_rows(StateHealth::kOk);
}

TEST(SlotChoice, EveryCombinationWithOneCopy) {
  check_rows(StateHealth::kOneCopy);
}

TEST(SlotChoice, TheReasonsNameTheSituation) {
  // Full sentences a person at the console understands.
  SlotChoice c = choose_slot(reading(table_state("T0", "G", 1)));
  CHECK_EQUAL(std::string("[slot b was on trial and used up its boot tries without `strata mark-good`: marked bad, "
                          "booting slot a]"),
              join(c.reasons));
  c = choose_slot(reading(table_state("T2", "G", 0)));
  CHECK_EQUAL(std::string("[slot a on trial: 1 boot try left after this one (`strata mark-good` keeps it)]"),
              join(c.reasons));
  c = choose_slot(reading(table_state("T1", "G", 0)));
  CHECK(contains(join(c.reasons), "slot a on trial: 0 boot tries left after this one"));
  SlotState five = table_state("T0", "G", 0);
  five.slot[0].tries = 5;
  c = choose_slot(reading(five));
  CHECK(contains(join(c.reasons), "slot a on trial: 4 boot tries left after this one"));
  c = choose_slot(reading(table_state("T2", "G", 0)), 0, "mount /dev/vda1: Invalid argument");
  CHECK_EQUAL(std::string("[slot a: root could not be mounted (mount /dev/vda1: Invalid argument)][slot a was on "
                          "trial: marked bad][booting slot b instead]"),
              join(c.reasons));
  c = choose_slot(reading(table_state("G", "B", 1)), 1, "no such device");
  CHECK_EQUAL(std::string("[slot b: root could not be mounted (no such device)][neither slot is bootable: slot a is "
                          "bad]"),
              join(c.reasons));
}

TEST(SlotChoice, ATrialRunsItsTriesThenRollsBack) {
  // An update of b with 3 tries that never gets `strata mark-good`.
  SlotState s = finish_update(begin_update(initial_slot_state(), 1), 1, 3, {kId, "2.0", "", {}, std::nullopt});
  for (int boot = 1; boot <= 3; ++boot) {
    SlotChoice c = choose_slot(reading(s));
    LONGS_EQUAL(1, c.slot);
    CHECK_FALSE(c.degraded);
    CHECK(c.write.has_value());
    LONGS_EQUAL(3 - boot, c.write->slot[1].tries);
    s = *c.write;
  }
  SlotChoice c = choose_slot(reading(s));
  LONGS_EQUAL(0, c.slot);
  CHECK(c.degraded);
  CHECK(c.write.has_value());
  CHECK(c.write->slot[1].status == SlotStatus::kBad);
  LONGS_EQUAL(0, c.write->active);
  // The next boot is a normal one: no write, no reason.
  c = choose_slot(reading(*c.write));
  LONGS_EQUAL(0, c.slot);
  CHECK_FALSE(c.write.has_value());
  CHECK_FALSE(c.degraded);
  LONGS_EQUAL(0, c.reasons.size());
}

TEST(SlotChoice, ATrialMarkedGoodStaysWithoutWrites) {
  SlotState s = finish_update(begin_update(initial_slot_state(), 1), 1, 3, {kId, "2.0", "", {}, std::nullopt});
  SlotChoice c = choose_slot(reading(s));
  auto good = mark_good(*c.write, c.slot);
  CHECK(good.ok());
  for (int boot = 0; boot < 3; ++boot) {
    c = choose_slot(reading(*good));
    LONGS_EQUAL(1, c.slot);
    CHECK_FALSE(c.write.has_value());
    LONGS_EQUAL(0, c.reasons.size());
  }
}

TEST(SlotChoice, AMissingRecordIsANewDevice) {
  // Whatever the reading holds, a missing record means initial_slot_state().
  for (const SlotState& s : {initial_slot_state(), table_state("B", "B", 1), table_state("T0", "G", 1)}) {
    SlotChoice c = choose_slot(reading(s, StateHealth::kMissing));
    LONGS_EQUAL(0, c.slot);
    CHECK_FALSE(c.write.has_value());
    LONGS_EQUAL(0, c.reasons.size());
    CHECK_FALSE(c.degraded);

    c = choose_slot(reading(s, StateHealth::kMissing), 0, "no such device");
    LONGS_EQUAL(-1, c.slot);  // b is empty on a new device
    CHECK_FALSE(c.write.has_value());
    CHECK(c.degraded);
    CHECK(contains(join(c.reasons), "slot a: root could not be mounted (no such device)"));
    CHECK(contains(join(c.reasons), "neither slot is bootable: slot b is bad"));

    c = choose_slot(reading(s, StateHealth::kMissing), 1, "no such device");
    LONGS_EQUAL(0, c.slot);
    CHECK_FALSE(c.write.has_value());
    CHECK(c.degraded);
  }
}

TEST(SlotChoice, AnUnusableRecordBootsAThenBAndWritesNothing) {
  for (StateHealth h : {StateHealth::kUnreadable, StateHealth::kUnavailable}) {
    const std::string detail = h == StateHealth::kUnreadable
                                   ? "/d/slot-state.0: bad CRC (torn write?); /d/slot-state.1: missing"
                                   : "the data partition is not mounted";
    for (const Row& row : kRows) {
      if (row.failed != '-') continue;
      for (int a = 0; a < kSlotCount; ++a) {
        // The state in the reading is not to be trusted, whatever it says.
        const SlotReading r = reading(table_state(row.act, row.oth, a), h, detail);
        const std::string what = std::string(to_string(h)) + " " + row.act + "/" + row.oth;

        SlotChoice c = choose_slot(r);
        LONGS_EQUAL_TEXT(0, c.slot, what.c_str());
        CHECK_FALSE_TEXT(c.write.has_value(), what.c_str());
        CHECK_TRUE_TEXT(c.degraded, what.c_str());
        const std::string reasons = join(c.reasons);
        CHECK_TRUE_TEXT(contains(reasons, detail), reasons.c_str());
        CHECK_TRUE_TEXT(contains(reasons, std::string("slot state ") + to_string(h)), reasons.c_str());
        CHECK_TRUE_TEXT(contains(reasons, "nothing is written to the slot state until `strata mark-good`"),
                        reasons.c_str());
        CHECK_TRUE_TEXT(contains(reasons, "writes a fresh record"), reasons.c_str());

        c = choose_slot(r, 0, "no such device");
        LONGS_EQUAL_TEXT(1, c.slot, what.c_str());
        CHECK_FALSE_TEXT(c.write.has_value(), what.c_str());
        CHECK_TRUE_TEXT(c.degraded, what.c_str());
        CHECK_TRUE_TEXT(contains(join(c.reasons), "slot a: root could not be mounted (no such device)"), what.c_str());
        CHECK_TRUE_TEXT(contains(join(c.reasons), detail), what.c_str());

        c = choose_slot(r, 1, "no such device");
        LONGS_EQUAL_TEXT(-1, c.slot, what.c_str());
        CHECK_FALSE_TEXT(c.write.has_value(), what.c_str());
        CHECK_TRUE_TEXT(c.degraded, what.c_str());
        CHECK_TRUE_TEXT(contains(join(c.reasons), "neither slot is bootable"), what.c_str());
      }
    }
  }
}

TEST(SlotChoice, OneCopyIsNotDegradedAndWritesNothingOnItsOwn) {
  SlotChoice c = choose_slot(
      reading(table_state("G", "B", 1), StateHealth::kOneCopy, "/d/slot-state.0: missing; using .1 (seq 7)"));
  LONGS_EQUAL(1, c.slot);
  CHECK_FALSE(c.write.has_value());
  CHECK_FALSE(c.degraded);
  CHECK_EQUAL(std::string("[slot state has one valid copy: /d/slot-state.0: missing; using .1 (seq 7) (the other is "
                          "rewritten at the next change)]"),
              join(c.reasons));
}

TEST(SlotChoice, OutOfRangeInputsAreHarmless) {
  // A failed slot that is neither a nor b is ignored.
  for (int failed : {-1, 2, 100}) {
    SlotChoice c = choose_slot(reading(table_state("G", "G", 1)), failed, "?");
    LONGS_EQUAL(1, c.slot);
    CHECK_FALSE(c.degraded);
  }
  // A hand-made reading with an impossible active slot is read as a.
  SlotState s = table_state("G", "B", 0);
  s.active = 7;
  SlotChoice c = choose_slot(reading(s));
  LONGS_EQUAL(0, c.slot);
}

// ---- transitions -------------------------------------------------------------

TEST_GROUP(SlotTransitions){};

TEST(SlotTransitions, MarkGoodFromEveryStatus) {
  for (const char* code_ : {"G", "T2", "T0", "B"}) {
    for (int running = 0; running < kSlotCount; ++running) {
      SlotState s = table_state(code_, "B", other_slot(running), 5);
      s.slot[running].image_id = kId;
      auto r = mark_good(s, running);
      CHECK_TRUE_TEXT(r.ok(), code_);
      LONGS_EQUAL(running, r->active);
      CHECK(r->slot[running].status == SlotStatus::kGood);
      LONGS_EQUAL(0, r->slot[running].tries);
      CHECK_EQUAL(kId, r->slot[running].image_id);  // what it holds is kept
      CHECK(r->slot[other_slot(running)] == s.slot[other_slot(running)]);
      LONGS_EQUAL(5, r->seq);  // the store sets it
    }
  }
}

TEST(SlotTransitions, MarkBadNeedsAGoodOtherSlot) {
  SlotState s = table_state("T2", "G", 1);  // b on trial, a good
  auto r = mark_bad(s, 1);
  CHECK(r.ok());
  CHECK(r->slot[1].status == SlotStatus::kBad);
  LONGS_EQUAL(0, r->slot[1].tries);
  LONGS_EQUAL(0, r->active);
  CHECK(r->slot[0] == s.slot[0]);

  for (const char* other : {"T2", "T0", "B"}) {
    auto refused = mark_bad(table_state("G", other, 0), 0);
    CHECK_FALSE_TEXT(refused.ok(), other);
    const std::string msg = refused.error().message();
    CHECK_TRUE_TEXT(contains(msg, "refusing to mark slot a bad: slot b is"), msg.c_str());
    CHECK_TRUE_TEXT(contains(msg, "no good slot would be left to boot"), msg.c_str());
  }
}

TEST(SlotTransitions, RollbackNeedsAGoodOtherSlot) {
  // From a trial: the trial is abandoned (bad).
  auto r = rollback(table_state("T2", "G", 1), 1);
  CHECK(r.ok());
  LONGS_EQUAL(0, r->active);
  CHECK(r->slot[1].status == SlotStatus::kBad);
  LONGS_EQUAL(0, r->slot[1].tries);
  // From a good slot: it stays good, only the active slot changes.
  r = rollback(table_state("G", "G", 0), 0);
  CHECK(r.ok());
  LONGS_EQUAL(1, r->active);
  CHECK(r->slot[0].status == SlotStatus::kGood);
  // Running a bad slot (a fallback boot), rolling back to the good one.
  r = rollback(table_state("B", "G", 0), 0);
  CHECK(r.ok());
  LONGS_EQUAL(1, r->active);

  // Running a good slot, an update in the other not booted yet: it is cancelled.
  for (const char* trial : {"T2", "T0"}) {
    r = rollback(table_state(trial, "G", 1), 0);  // b on trial and active, a running
    CHECK_TEXT(r.ok(), trial);
    LONGS_EQUAL(0, r->active);
    CHECK(r->slot[0].status == SlotStatus::kGood);
    CHECK(r->slot[1].status == SlotStatus::kBad);
    LONGS_EQUAL(0, r->slot[1].tries);
    STRCMP_EQUAL("1.0", r->slot[0].version.c_str());
  }

  for (const char* other : {"B"}) {
    auto refused = rollback(table_state("G", other, 1), 1);
    CHECK_FALSE_TEXT(refused.ok(), other);
    const std::string msg = refused.error().message();
    CHECK_TRUE_TEXT(contains(msg, "refusing to roll back from slot b: slot a is"), msg.c_str());
  }
}

TEST(SlotTransitions, RefuseAnUnknownRunningSlot) {
  const SlotState s = table_state("G", "G", 0);
  for (int running : {-1, 2}) {
    for (auto r : {mark_good(s, running), mark_bad(s, running), rollback(s, running)}) {
      CHECK_FALSE(r.ok());
      CHECK_TRUE_TEXT(contains(r.error().message(), "the running slot is unknown (" + std::to_string(running) + ")"),
                      r.error().message().c_str());
    }
  }
}

TEST(SlotTransitions, BeginUpdateMarksTheTargetBadFirst) {
  SlotState s = state(0, slot(SlotStatus::kGood, 0, kId, "1.0"), slot(SlotStatus::kTrial, 2, "abc", "0.9"), 3);
  SlotState n = begin_update(s, 1);
  CHECK(n.slot[1] == slot(SlotStatus::kBad));
  CHECK(n.slot[0] == s.slot[0]);
  LONGS_EQUAL(0, n.active);
  LONGS_EQUAL(3, n.seq);
  // The active slot is left as it was even when it is the target.
  n = begin_update(state(1, slot(SlotStatus::kGood), slot(SlotStatus::kGood, 0, "ab", "1")), 1);
  LONGS_EQUAL(1, n.active);
  CHECK(n.slot[1] == slot(SlotStatus::kBad));
  // A target that is no slot changes nothing.
  CHECK(begin_update(s, 2) == s);
  CHECK(begin_update(s, -1) == s);
}

TEST(SlotTransitions, FinishUpdatePutsTheTargetOnTrial) {
  SlotState s = begin_update(initial_slot_state(), 1);
  SlotState n = finish_update(s, 1, 3, {kId, "2.0", "", {}, std::nullopt});
  LONGS_EQUAL(1, n.active);
  CHECK(n.slot[1] == slot(SlotStatus::kTrial, 3, kId, "2.0"));
  CHECK(n.slot[0] == s.slot[0]);
  // "-" means unknown in the record: such a version is recorded as unknown.
  n = finish_update(s, 1, 3, {kId, "-", "", {}, std::nullopt});
  CHECK_EQUAL(std::string(""), n.slot[1].version);
  auto back = parse_slot_state(serialize_slot_state(n));
  CHECK(back.ok() && *back == n);
  CHECK(finish_update(s, 5, 3, {kId, "2.0", "", {}, std::nullopt}) == s);
}

TEST(SlotTransitions, TransitionsKeepRecordsValid) {
  SlotState s = initial_slot_state();
  s = finish_update(begin_update(s, 1), 1, kMaxTries,
                    {std::string(kMaxImageIdLength, 'e'), std::string(kMaxVersionLength, 'V'), "", {}, std::nullopt});
  for (auto r : {mark_good(s, 1), mark_bad(s, 1), rollback(s, 1)}) {
    CHECK(r.ok());
    auto back = parse_slot_state(serialize_slot_state(*r));
    CHECK(back.ok() && *back == *r);
  }
}
