/*
 * The signing key part (common/app.h, common/part.h): what the shared
 * code calls of common/sign.c.  Named by the programs that sign or
 * publish keys, which alone load the key (and libcrypto's signing).
 */
#include "app.h"
#include "sign.h"

const struct app_key_part app_key = {
	sign_key_load, sign_key_free,
};
