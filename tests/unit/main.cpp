// The unit tests' main: CppUTest's runner, without its new/delete leak
// detector (ASan and LeakSanitizer check memory in the host build; CppUTest's
// per-test accounting would also count the library's lazily built statics).
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv) {
  MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
  return CommandLineTestRunner::RunAllTests(argc, argv);
}
