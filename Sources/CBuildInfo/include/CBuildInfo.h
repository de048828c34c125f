#ifndef UNFOLD_CBUILDINFO_H
#define UNFOLD_CBUILDINFO_H
/* The git commit the binary was built from, set by Package.swift (UNFOLD_GIT_COMMIT). */
const char *unfold_git_commit(void);
#endif
