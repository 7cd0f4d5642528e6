/*
 * SMS gateways.  "webhook" POSTs {"to": "+<msisdn>", "from", "text"} as
 * JSON to sms_url, with sms_token as a Bearer token when set.  "twilio"
 * POSTs To, From and Body to <sms_url>/2010-04-01/Accounts/<sms_account>/
 * Messages.json with basic auth sms_account:sms_token (sms_url defaults to
 * https://api.twilio.com).  Any 2xx answer is success.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "cfg.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sms.h"

/* Returns 1 when a gateway is configured. */
int
sms_configured(const struct cfg *c)
{
	return strcmp(c->sms_gateway, "none") != 0;
}

/*
 * Sends text to the number msisdn (E.164 digits, no '+').  Returns 0, or
 * -1 after logging why (never the text: it holds the code).
 */
int
sms_send(const struct cfg *c, const char *msisdn, const char *text)
{
	struct http_resp	 hr = { 0, -1, { 0 } };
	struct buf		 url = { 0 }, body = { 0 }, auth = { 0 };
	enum http_res		 res;
	char			 to[32];
	cJSON			*o = NULL;
	int			 rc = -1;

	snprintf(to, sizeof(to), "+%s", msisdn);
	if (strcmp(c->sms_gateway, "webhook") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "to", to);
		cJSON_AddStringToObject(o, "from", c->sms_from == NULL ? "" :
		    c->sms_from);
		cJSON_AddStringToObject(o, "text", text);
		if (canon_write(o, &body) == -1)
			goto out;
		res = http_post(c->sms_url, "application/json", buf_str(&body),
		    body.len, NULL, c->sms_token, HTTP_CAP_SMS, &hr);
	} else {
		buf_printf(&url, "%s/2010-04-01/Accounts/",
		    c->sms_url == NULL ? SMS_TWILIO_URL : c->sms_url);
		buf_put_urlencoded(&url, c->sms_account);
		buf_puts(&url, "/Messages.json");
		buf_puts(&body, "To=");
		buf_put_urlencoded(&body, to);
		buf_puts(&body, "&From=");
		buf_put_urlencoded(&body, c->sms_from == NULL ? "" :
		    c->sms_from);
		buf_puts(&body, "&Body=");
		buf_put_urlencoded(&body, text);
		buf_printf(&auth, "%s:%s", c->sms_account,
		    c->sms_token == NULL ? "" : c->sms_token);
		res = http_post(buf_str(&url),
		    "application/x-www-form-urlencoded", buf_str(&body),
		    body.len, buf_str(&auth), NULL, HTTP_CAP_SMS, &hr);
	}
	if (res != HTTP_OK)
		log_err("sms: the %s gateway: %s", c->sms_gateway,
		    http_res_str(res));
	else if (hr.status < 200 || hr.status > 299)
		log_err("sms: the %s gateway answered HTTP %ld", c->sms_gateway,
		    hr.status);
	else
		rc = 0;
out:
	metrics_count(rc == 0 ? METRICS_SMS_SENT : METRICS_SMS_FAILED);
	cJSON_Delete(o);
	buf_free(&url);
	buf_free(&body);
	buf_free(&auth);
	http_resp_free(&hr);
	return rc;
}
