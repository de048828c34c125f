/* The start-up CPU check. With `-target-cpu haswell` the compiler may put AVX2, FMA, BMI2
   or MOVBE instructions anywhere in the numeric targets, so a check in Swift's main would
   come too late: a binary built on an AVX2 machine and started on an older one would die
   of SIGILL wherever the first such instruction sits. This file is compiled without any
   target-CPU flag, and its constructor runs before main (and before any Swift code of the
   executable): when the build asked for more than this CPU has, it names the missing
   features and how to rebuild, and exits 2.

   Package.swift passes UNFOLD_TARGET_CPU (the name, a string) and UNFOLD_X86_64_LEVEL
   (2, 3 or 4: the x86-64 microarchitecture level that CPU implies) as defines. */
#include "CPUCheck.h"

#ifndef UNFOLD_TARGET_CPU
#define UNFOLD_TARGET_CPU ""
#endif

const char *unfold_target_cpu(void) { return UNFOLD_TARGET_CPU; }

#if defined(UNFOLD_X86_64_LEVEL) && defined(__x86_64__)
#include <string.h>
#include <unistd.h>

static void append(char *buffer, size_t size, const char *text) {
    size_t used = strlen(buffer);
    size_t room = size - used - 1;
    size_t n = strlen(text);
    memcpy(buffer + used, text, n < room ? n : room);
    buffer[used + (n < room ? n : room)] = 0;
}

/* Priority 101: the first of the executable's own constructors. */
__attribute__((constructor(101))) static void unfold_check_cpu(void) {
    char missing[256] = "";
    __builtin_cpu_init();
#define UNFOLD_REQUIRE(feature) \
    if (!__builtin_cpu_supports(feature)) append(missing, sizeof missing, " " feature)
#if UNFOLD_X86_64_LEVEL >= 2
    UNFOLD_REQUIRE("sse3");
    UNFOLD_REQUIRE("ssse3");
    UNFOLD_REQUIRE("sse4.1");
    UNFOLD_REQUIRE("sse4.2");
    UNFOLD_REQUIRE("popcnt");
#endif
#if UNFOLD_X86_64_LEVEL >= 3
    UNFOLD_REQUIRE("avx");
    UNFOLD_REQUIRE("avx2");
    UNFOLD_REQUIRE("fma");
    UNFOLD_REQUIRE("bmi");
    UNFOLD_REQUIRE("bmi2");
    UNFOLD_REQUIRE("movbe");
    UNFOLD_REQUIRE("f16c");
    UNFOLD_REQUIRE("lzcnt");
#endif
#if UNFOLD_X86_64_LEVEL >= 4
    UNFOLD_REQUIRE("avx512f");
    UNFOLD_REQUIRE("avx512bw");
    UNFOLD_REQUIRE("avx512cd");
    UNFOLD_REQUIRE("avx512dq");
    UNFOLD_REQUIRE("avx512vl");
#endif
#undef UNFOLD_REQUIRE
    if (missing[0] == 0) return;
    char message[768] = "unfold: this binary was compiled for the " UNFOLD_TARGET_CPU " CPU, and this CPU lacks";
    append(message, sizeof message, missing);
    append(message, sizeof message, "; rebuild it with UNFOLD_TARGET_CPU=x86-64 to run on any x86-64 CPU"
                                    " (UNFOLD_TARGET_CPU=x86-64 swift build -c release, or docker build"
                                    " --build-arg UNFOLD_TARGET_CPU=x86-64)\n");
    /* write(2) and _exit: nothing of the runtime is needed, nothing is flushed twice. */
    ssize_t ignored = write(2, message, strlen(message));
    (void)ignored;
    _exit(2);
}
#endif
