/*
 * The mail part (common/app.h, common/part.h): what the shared code
 * calls of common/mail.c.  Named by the programs that send mail.
 */
#include "app.h"
#include "mail.h"

const struct app_mail_part app_mail = {
	mail_init, mail_free, mail_header_safe, mail_check,
};
