#ifndef UNFOLD_CCURL_SHIM_H
#define UNFOLD_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
   one typed wrapper per argument type. */
static inline CURLcode unfold_curl_set_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode unfold_curl_set_off(CURL *c, CURLoption o, curl_off_t v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode unfold_curl_set_string(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode unfold_curl_set_pointer(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode unfold_curl_set_list(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }

typedef size_t (*unfold_curl_data_fn)(char *data, size_t size, size_t count, void *context);
static inline CURLcode unfold_curl_set_write(CURL *c, unfold_curl_data_fn f) { return curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode unfold_curl_set_header(CURL *c, unfold_curl_data_fn f) { return curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, f); }

static inline CURLcode unfold_curl_get_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }
#endif
