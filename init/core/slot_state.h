// A/B slot state: which slot boots next, and what each slot holds. The record
// and every change to it are pure (no I/O): slot_store.h puts it on flash,
// choose_slot() decides a boot from it, the CLI's transitions live here too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "text.h"
#include "verity.h"

namespace strata {

enum class SlotStatus { kGood, kTrial, kBad };
const char* to_string(SlotStatus s);  // "good", "trial", "bad"

inline constexpr int kSlotCount = 2;
inline char slot_name(int slot) {
  return slot == 0 ? 'a' : 'b';
}
inline int other_slot(int slot) {
  return 1 - slot;
}
// "slot a": how messages name a slot.
inline std::string slot_word(int slot) {
  return std::string("slot ") + slot_name(slot);
}
// "a" or "b" (either case) -> 0 or 1.
std::optional<int> parse_slot_name(std::string_view name);

struct SlotInfo {
  SlotStatus status = SlotStatus::kBad;
  int tries = 0;         // boots left while on trial (0..kMaxTries)
  std::string image_id;  // sha256 (hex) of the image written, "" when unknown
  std::string version;   // from the update's manifest, "" when unknown
  // The image's dm-verity parameters from the update's signed manifest; none
  // when it had none (or the slot was never updated).
  std::optional<VerityParams> verity;
  bool operator==(const SlotInfo&) const = default;
};

inline constexpr int kMaxTries = 1000;
// The longest fields a record holds: with both at their maximum and every
// number at its widest, a record's text is 394 of its 512 bytes.
inline constexpr size_t kMaxImageIdLength = 64;              // a sha256 in hex
inline constexpr size_t kMaxVersionLength = kMaxNameLength;  // as in a bundle's manifest

inline constexpr size_t kMaxRecordKeys = 8;  // as kMaxTrustedKeys in bundle.h

struct SlotState {
  uint64_t seq = 0;  // set by SlotStore::write: newest on flash + 1
  int active = 0;    // the slot the next boot prefers
  SlotInfo slot[kSlotCount];
  // Anti-rollback: nothing older installs ("" none). Raised by an update's
  // min_version=, never lowered (README "Security").
  std::string min_version;
  // The public keys updates must be signed with (64 lowercase hex each), set
  // by an update's keys=; empty: [update] public_key of the config.
  std::vector<std::string> keys;
  bool operator==(const SlotState&) const = default;
};

// A freshly flashed device: a good (the factory image), b bad (empty), a active.
SlotState initial_slot_state();

// One copy on flash: text lines ending in a CRC-32 line, NUL-padded to
// kSlotRecordSize bytes (one filesystem block, so a copy is written in one
// piece). Format 2; format 1 (512 bytes, no min_version or keys) is still read.
// A slot with verity parameters adds a line "verity a|b <core/verity.h line>"
// after the keys line; a record without any is what format 2 always was.
inline constexpr size_t kSlotRecordSize = 4096;
inline constexpr size_t kSlotRecordSizeV1 = 512;
std::string serialize_slot_state(const SlotState& s);  // format 2, exactly kSlotRecordSize bytes
// One copy's bytes -> the state, or why not (bad CRC, truncated, unknown
// format version, a field out of range). Never throws, whatever the bytes.
Result<SlotState> parse_slot_state(std::string_view bytes);

// What reading the two copies found.
enum class StateHealth {
  kOk,           // both copies valid and equal
  kOneCopy,      // one copy valid (the other torn, older or missing): normal after a cut
  kMissing,      // no copy at all: a new device, initial_slot_state() applies
  kUnreadable,   // copies exist and none is valid
  kUnavailable,  // the data partition holding them is not usable this boot
};
const char* to_string(StateHealth h);

struct SlotReading {
  SlotState state = initial_slot_state();  // the newest valid copy, else initial_slot_state()
  StateHealth health = StateHealth::kMissing;
  std::string detail;  // what was wrong with which copy, for the console ("" when kOk)
};

// The decision of a boot. Pure.
struct SlotChoice {
  int slot = 0;                      // the slot to boot; -1: none left (after `failed`)
  std::optional<SlotState> write;    // to make durable before the root is mounted
  std::vector<std::string> reasons;  // why not simply the active good slot (console, status)
  bool degraded = false;             // a fallback, a rollback or an unusable record
};

// `failed`: a slot whose root could not be mounted in this boot (fallback-slot).
// Rules (README "A/B updates"): a good active slot boots with no write; a
// trial slot with tries left is decremented and booted; a trial slot out of
// tries is marked bad and the other good slot boots; an unreadable or
// unavailable record boots slot a (then b on failure) and writes nothing.
SlotChoice choose_slot(const SlotReading& reading, std::optional<int> failed = std::nullopt,
                       const std::string& failed_why = "");

// The changes the CLI makes, given the slot now running. Each refuses with a
// clear message when it would leave no good slot to boot.
Result<SlotState> mark_good(const SlotState& s, int running);
Result<SlotState> mark_bad(const SlotState& s, int running);
// Running a trial (or a fallback) with the other slot good: boot the other.
// Running a good slot with an update installed in the other but not booted
// yet (on trial): the update is abandoned (bad) and the running slot stays.
Result<SlotState> rollback(const SlotState& s, int running);
// An update of `target`: first marked bad (before a byte is written), then,
// once written and verified, on trial with `tries` and active.
SlotState begin_update(const SlotState& s, int target);
// What an update wrote into its target, as the record keeps it.
struct InstalledImage {
  std::string image_id;                // sha256 of the image
  std::string version;                 // the manifest's version
  std::string min_version;             // the manifest's min_version ("" none): raises the record's, never lowers it
  std::vector<std::string> keys;       // the manifest's keys (empty: the record's keys stay)
  std::optional<VerityParams> verity;  // the manifest's verity= (none: the slot has none)
};
SlotState finish_update(const SlotState& s, int target, int tries, const InstalledImage& image);

// "a good (v2, id 1234abcd…), b trial 2 tries left, active b": one line for logs.
std::string describe(const SlotState& s);
// "bad", "on trial", "on trial with no boot tries left", "good": for sentences.
std::string status_words(const SlotInfo& s);

}  // namespace strata
