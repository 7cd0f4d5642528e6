/*
 * The outbound HTTP part (common/app.h, common/part.h): what the shared
 * code calls of common/http.c.  Named by the programs that call
 * homeservers, which alone link libcurl for it.
 */
#include "app.h"
#include "http.h"

const struct app_http_part app_http = {
	http_init, http_free, http_budget_begin, http_check,
};
