// The bootloader state (boot_env.h): its variables both ways, garbled
// variables refused, the mapping onto the slot record and back, the
// disagreements status reports, and what strata-init says about a boot
// U-Boot chose.
#include <CppUTest/TestHarness.h>

#include <map>
#include <string>

#include "boot_env.h"
#include "helpers.h"

using namespace strata;
using strata::test::contains;
using strata::test::join;

namespace {

BootEnv env(int first, SlotStatus a, int ta, SlotStatus b, int tb) {
  BootEnv e;
  e.first = first;
  e.status[0] = a;
  e.tries[0] = ta;
  e.status[1] = b;
  e.tries[1] = tb;
  return e;
}

}  // namespace

TEST_GROUP(BootEnv){};

TEST(BootEnv, VariablesAsTheBootScriptReadsThem) {
  auto v = boot_env_vars(env(1, SlotStatus::kGood, 0, SlotStatus::kTrial, 12));
  STRCMP_EQUAL("b a", v["strata_order"].c_str());
  STRCMP_EQUAL("good", v["strata_a"].c_str());
  STRCMP_EQUAL("trial", v["strata_b"].c_str());
  STRCMP_EQUAL("0", v["strata_a_tries"].c_str());
  STRCMP_EQUAL("c", v["strata_b_tries"].c_str());  // hex, as U-Boot's setexpr counts
  LONGS_EQUAL(5, v.size());
}

TEST(BootEnv, RoundTrip) {
  for (int first = 0; first < 2; first++)
    for (auto st : {SlotStatus::kGood, SlotStatus::kTrial, SlotStatus::kBad})
      for (int t : {0, 1, 3, 15, 16, 100}) {
        BootEnv e = env(first, SlotStatus::kGood, 0, st, st == SlotStatus::kTrial ? t : 0);
        auto back = parse_boot_env(boot_env_vars(e));
        CHECK_TRUE(back.ok());
        CHECK_TRUE(*back == e);
      }
}

TEST(BootEnv, CountedDownByUBoot) {
  // What the script writes after taking a try: setexpr's "2" from "3".
  auto e = parse_boot_env({{"strata_order", "b a"},
                           {"strata_a", "good"},
                           {"strata_b", "trial"},
                           {"strata_a_tries", "0"},
                           {"strata_b_tries", "2"}});
  CHECK_TRUE(e.ok());
  LONGS_EQUAL(2, e->tries[1]);
  LONGS_EQUAL(1, e->first);
}

TEST(BootEnv, GarbledVariablesAreRefusedWithTheirName) {
  std::map<std::string, std::string> good = boot_env_vars(BootEnv{});
  struct Case {
    const char* key;
    const char* value;  // nullptr: missing
  } cases[] = {{"strata_order", nullptr}, {"strata_order", "a"},       {"strata_order", "a a"},
               {"strata_a", nullptr},     {"strata_b", "maybe"},       {"strata_a_tries", "-1"},
               {"strata_a_tries", "zz"},  {"strata_b_tries", "fffff"}, {"strata_b_tries", ""}};
  for (const auto& c : cases) {
    auto v = good;
    if (c.value)
      v[c.key] = c.value;
    else
      v.erase(c.key);
    auto r = parse_boot_env(v);
    CHECK_FALSE_TEXT(r.ok(), c.key);
    CHECK_TRUE(contains(r.error().message(), c.key));
  }
  // Tries of a slot not on trial are ignored, but must still parse.
  auto v = good;
  v["strata_b_tries"] = "3";
  auto r = parse_boot_env(v);
  CHECK_TRUE(r.ok());
  LONGS_EQUAL(0, r->tries[1]);
}

TEST(BootEnv, ProjectionOfTheRecordAndBack) {
  SlotState s = initial_slot_state();
  s.active = 1;
  s.slot[1].status = SlotStatus::kTrial;
  s.slot[1].tries = 3;
  s.slot[1].version = "2";
  BootEnv e = boot_env_of(s);
  CHECK_TRUE(e == env(1, SlotStatus::kGood, 0, SlotStatus::kTrial, 3));
  CHECK_TRUE(boot_env_disagreements(s, e).empty());
  // U-Boot counted two tries down: the record takes the bootloader's count, keeps its version.
  e.tries[1] = 1;
  auto why = boot_env_disagreements(s, e);
  LONGS_EQUAL(1, why.size());
  CHECK_TRUE(contains(why[0], "slot b: the record counts 3 tries left, the bootloader 1"));
  SlotState n = with_boot_env(s, e);
  LONGS_EQUAL(1, n.slot[1].tries);
  STRCMP_EQUAL("2", n.slot[1].version.c_str());
  CHECK_TRUE(boot_env_disagreements(n, e).empty());
  // A cut after the record's write and before the bootloader's: both said.
  SlotState good = *mark_good(s, 1);
  why = boot_env_disagreements(good, boot_env_of(s));
  CHECK_TRUE(contains(join(why), "slot b: the record says good, the bootloader trial"));
  why = boot_env_disagreements(good, env(0, SlotStatus::kGood, 0, SlotStatus::kBad, 0));
  CHECK_TRUE(contains(join(why), "the record prefers slot b, the bootloader slot a"));
}

TEST(BootEnv, WhatStrataInitSaysAboutTheBootloadersChoice) {
  BootloaderWords plain;
  plain.slot = 0;
  CHECK_TRUE(describe_boot(plain).empty());
  BootloaderWords fell;
  fell.slot = 0;
  fell.fallback_from = 1;
  CHECK_TRUE(contains(join(describe_boot(fell)), "slot b used up its boot tries"));
  CHECK_TRUE(contains(join(describe_boot(fell)), "booted slot a"));
  BootloaderWords trial;
  trial.slot = 1;
  trial.trial_left = 2;
  CHECK_TRUE(contains(join(describe_boot(trial)), "slot b on trial: 2 boot tries left"));
  BootloaderWords blank;
  blank.slot = 0;
  blank.state_missing = true;
  CHECK_TRUE(contains(join(describe_boot(blank)), "no valid copy of its state"));
}

TEST(BootEnv, Describe) {
  STRCMP_EQUAL("order b a, slot a good, slot b trial (2 tries left)",
               describe(env(1, SlotStatus::kGood, 0, SlotStatus::kTrial, 2)).c_str());
}
