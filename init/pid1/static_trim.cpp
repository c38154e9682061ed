// Size of the static strata-init: a library default that links far more than
// this program uses, replaced here (linked into the static build only;
// see the Size table of the README's Performance section).
#include <cstdio>
#include <cstdlib>
#include <exception>

// libstdc++'s default terminate handler demangles the exception's type name,
// which links its C++ demangler (46 KB). PID 1 installs its own handler
// (main.cpp); for the host modes this one says as much without the demangler.
namespace __gnu_cxx {
void __verbose_terminate_handler() {
  const char* what = "unknown exception";
  try {
    if (std::current_exception()) std::rethrow_exception(std::current_exception());
    what = "no active exception";
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "strata-init: terminate called: %s\n", what);
  std::abort();
}
}  // namespace __gnu_cxx
