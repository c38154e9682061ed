# Cross build for aarch64: Debian's aarch64-linux-gnu g++; target libraries from the Debian
# arm64 packages that toolchain/bootstrap.sh unpacked into build/sysroot/arm64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(STRATA_TRIPLET aarch64-linux-gnu)
# The sysroot that toolchain/bootstrap.sh made (STRATA_CACHE moves it, as in tools/lib.sh).
if(DEFINED ENV{STRATA_CACHE})
  get_filename_component(STRATA_SYSROOT $ENV{STRATA_CACHE}/arm64 ABSOLUTE)
else()
  get_filename_component(STRATA_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../build/sysroot/arm64 ABSOLUTE)
endif()
# find_library/find_path look in the cross compiler's tree and in the sysroot (CppUTest for
# the unit tests comes from there; the PID-1's own libraries are found by full path).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu ${STRATA_SYSROOT})
# Tests built for the target run under qemu-user.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static;-L;/usr/aarch64-linux-gnu)
