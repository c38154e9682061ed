// The PID-1 boot: facts -> decide -> execute -> hand off. Never returns.
#pragma once

namespace strata {

[[noreturn]] void run_pid1(int argc, char** argv);

}  // namespace strata
