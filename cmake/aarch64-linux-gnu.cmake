# Toolchain: aarch64 Linux (Raspberry Pi 3B+/4/5 target), aarch64-linux-gnu-gcc.
#   cmake -S . -B build-a64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Executables run under qemu-aarch64 (link them -static, or set QEMU_LD_PREFIX).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar)
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib)
set(CMAKE_C_FLAGS_INIT "-march=armv8-a")
find_program(SNNC_QEMU_AARCH64 qemu-aarch64)
if(SNNC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SNNC_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu)
endif()

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
