# Cross build for armhf: Debian's arm-linux-gnueabihf g++; target libraries from the Debian
# armhf packages that toolchain/bootstrap.sh unpacked into build/sysroot/armhf.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armhf)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# GCC notes that the ABI for passing some types changed in GCC 7.1 (-Wpsabi); everything here is
# built by this one compiler, so the notes are noise.
set(CMAKE_CXX_FLAGS_INIT -Wno-psabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(STRATA_TRIPLET arm-linux-gnueabihf)
# The sysroot that toolchain/bootstrap.sh made (STRATA_CACHE moves it, as in tools/lib.sh).
if(DEFINED ENV{STRATA_CACHE})
  get_filename_component(STRATA_SYSROOT $ENV{STRATA_CACHE}/armhf ABSOLUTE)
else()
  get_filename_component(STRATA_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../build/sysroot/armhf ABSOLUTE)
endif()
# find_library/find_path look in the cross compiler's tree and in the sysroot (CppUTest for
# the unit tests comes from there; the PID-1's own libraries are found by full path).
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf ${STRATA_SYSROOT})
# Tests built for the target run under qemu-user.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm-static;-L;/usr/arm-linux-gnueabihf)
