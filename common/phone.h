/*
 * Phone numbers, parsed by libphonenumber (a thin C++ shim, phone.cc):
 * a number as a person types it, with the country it was typed for,
 * becomes an MSISDN (E.164 digits without the '+') and its international
 * format.
 */
#ifndef SIGIL_PHONE_H
#define SIGIL_PHONE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* E.164 numbers have at most 15 digits. */
#define PHONE_MAX_MSISDN	16
#define PHONE_MAX_INTL		32
#define PHONE_MAX_REGION	4

int	 phone_parse(const char *, const char *, char *, char *, char *);

#ifdef __cplusplus
}
#endif

#endif /* !SIGIL_PHONE_H */
