# Cross build for armhf: Debian's arm-linux-gnueabihf g++; target libraries from the Debian
# armhf packages that toolchain/bootstrap.sh unpacked into build/sysroot/armhf.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armhf)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(STRATA_TRIPLET arm-linux-gnueabihf)
set(STRATA_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../build/sysroot/armhf)
# Tests built for the target run under qemu-user.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm-static;-L;/usr/arm-linux-gnueabihf)
