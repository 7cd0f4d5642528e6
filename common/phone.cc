/*
 * The C shim over libphonenumber's C++ API.  Parsing needs the number and
 * the ISO 3166 alpha-2 country it was entered for; a number given with a
 * leading '+' carries its own country.  Only numbers that
 * libphonenumber holds valid for their region pass.
 */
#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "phone.h"

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

/*
 * Parses number as typed for country.  On success writes the MSISDN
 * (PHONE_MAX_MSISDN bytes), the international format (PHONE_MAX_INTL)
 * and the number's own region code (PHONE_MAX_REGION) and returns 0;
 * returns -1 for anything that is not a valid number.
 */
extern "C" int
phone_parse(const char *number, const char *country, char *msisdn,
    char *intl, char *region)
{
	const PhoneNumberUtil	*util = PhoneNumberUtil::GetInstance();
	PhoneNumber		 parsed;
	std::string		 e164, formatted, rc;

	if (std::strlen(number) > 64 || std::strlen(country) != 2)
		return -1;
	if (util->Parse(number, country, &parsed) !=
	    PhoneNumberUtil::NO_PARSING_ERROR ||
	    !util->IsValidNumber(parsed))
		return -1;
	util->Format(parsed, PhoneNumberUtil::E164, &e164);
	util->Format(parsed, PhoneNumberUtil::INTERNATIONAL, &formatted);
	util->GetRegionCodeForNumber(parsed, &rc);
	if (e164.size() < 2 || e164[0] != '+' ||
	    e164.size() - 1 >= PHONE_MAX_MSISDN ||
	    formatted.size() >= PHONE_MAX_INTL || rc.size() >= PHONE_MAX_REGION)
		return -1;
	std::memcpy(msisdn, e164.c_str() + 1, e164.size());
	std::memcpy(intl, formatted.c_str(), formatted.size() + 1);
	std::memcpy(region, rc.c_str(), rc.size() + 1);
	return 0;
}
