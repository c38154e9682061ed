// strata_system_tests: host system tests (root, private mount namespaces).
// Exits 77 (skipped for ctest) when not run as root.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
#include <unistd.h>

#include <cstdio>

#include "harness.h"

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    fprintf(stderr, "strata_system_tests: needs root (mounts, loop devices); skipped\n");
    return 77;
  }
  // Leaks are ASan's job; CppUTest's counting detector trips over the
  // fixtures built once and kept for the whole run.
  MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
  int rc = CommandLineTestRunner::RunAllTests(argc, argv);
  systest::remove_fixtures();
  return rc;
}
