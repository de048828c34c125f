#ifndef UNFOLD_CZLIB_SHIM_H
#define UNFOLD_CZLIB_SHIM_H
#include <zlib.h>
#endif
