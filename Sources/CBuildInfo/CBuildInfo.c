#include "CBuildInfo.h"
#ifndef UNFOLD_GIT_COMMIT
#define UNFOLD_GIT_COMMIT "unknown"
#endif
const char *unfold_git_commit(void) { return UNFOLD_GIT_COMMIT; }
