// What `strata update` reports while it streams (core/progress.h).
#include <CppUTest/TestHarness.h>

#include <nlohmann/json.hpp>

#include "progress.h"

using namespace strata;

TEST_GROUP(Progress){};

TEST(Progress, FiguresFromBytesAndTime) {
  const uint64_t mib = 1 << 20;
  auto f = progress_figures("writing", 20 * mib, 80 * mib, 4.0);
  DOUBLES_EQUAL(25.0, f.percent, 1e-9);
  DOUBLES_EQUAL(5.0 * mib, f.bytes_per_second, 1e-6);
  CHECK(f.seconds_left.has_value());
  DOUBLES_EQUAL(12.0, *f.seconds_left, 1e-9);
  STRCMP_EQUAL("writing    25%  20.0 of 80.0 MiB  5.0 MiB/s  12 s left", progress_text(f).c_str());
}

TEST(Progress, NoSpeedBeforeATenthOfASecond) {
  auto f = progress_figures("writing", 4096, 1 << 20, 0.01);
  DOUBLES_EQUAL(0.0, f.bytes_per_second, 0);
  CHECK_FALSE(f.seconds_left.has_value());
  STRCMP_EQUAL("writing     0%  0.0 of 1.0 MiB", progress_text(f).c_str());
  const auto j = nlohmann::json::parse(progress_json(f));
  CHECK(j["seconds_left"].is_null());
  LONGS_EQUAL(4096, j["bytes"].get<long>());
}

TEST(Progress, JsonIsOneParsableObject) {
  auto f = progress_figures("verifying", 3, 4, 2.0);
  const std::string line = progress_json(f);
  CHECK(line.find('\n') == std::string::npos);
  const auto j = nlohmann::json::parse(line);
  STRCMP_EQUAL("verifying", j["phase"].get<std::string>().c_str());
  LONGS_EQUAL(4, j["total"].get<long>());
  DOUBLES_EQUAL(75.0, j["percent"].get<double>(), 1e-9);
  DOUBLES_EQUAL(1.5, j["bytes_per_second"].get<double>(), 0.5);
  DOUBLES_EQUAL(0.7, j["seconds_left"].get<double>(), 0.05);
}

TEST(Progress, DoneNeverPassesTheTotal) {
  auto f = progress_figures("writing", 10, 5, 1.0);
  DOUBLES_EQUAL(100.0, f.percent, 0);
  DOUBLES_EQUAL(0.0, *f.seconds_left, 0);
}

TEST(Progress, FormsByName) {
  CHECK(parse_progress_form("auto", true) == ProgressForm::kTerminal);
  CHECK(parse_progress_form("auto", false) == ProgressForm::kLines);
  CHECK(parse_progress_form("json", true) == ProgressForm::kJson);
  CHECK(parse_progress_form("none", false) == ProgressForm::kNone);
  CHECK_FALSE(parse_progress_form("fast", false).has_value());
}

TEST(Progress, PacerReportsEachPhaseStartEveryIntervalAndTheEnd) {
  ProgressPacer lines(ProgressForm::kLines);
  CHECK(lines.due("writing", 0, 100, 0.0));  // the start
  CHECK_FALSE(lines.due("writing", 10, 100, 1.0));
  CHECK_FALSE(lines.due("writing", 40, 100, 4.9));
  CHECK(lines.due("writing", 50, 100, 5.0));  // 5 s later
  CHECK_FALSE(lines.due("writing", 60, 100, 6.0));
  CHECK(lines.due("writing", 100, 100, 6.5));  // the end, whenever it comes
  CHECK(lines.due("verifying", 0, 100, 6.6));  // a new phase
  ProgressPacer tty(ProgressForm::kTerminal);
  CHECK(tty.due("writing", 0, 100, 0.0));
  CHECK_FALSE(tty.due("writing", 1, 100, 0.1));
  CHECK(tty.due("writing", 2, 100, 0.25));
}
