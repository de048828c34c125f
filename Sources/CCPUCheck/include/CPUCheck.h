#ifndef UNFOLD_CPU_CHECK_H
#define UNFOLD_CPU_CHECK_H
/* The CPU the numeric targets were compiled for (`UNFOLD_TARGET_CPU` or haswell, see
   Package.swift), or "" when they use the compiler's baseline. Linking this target into
   an executable also links the start-up check in CPUCheck.c. */
const char *unfold_target_cpu(void);
#endif
