/*
 * Sending a text message through the configured SMS gateway, over HTTPS:
 * a generic JSON webhook or Twilio's REST API.
 */
#ifndef SIGIL_SMS_H
#define SIGIL_SMS_H

struct cfg;

/* Twilio's API, where sms_url does not say otherwise. */
#define SMS_TWILIO_URL	"https://api.twilio.com"

int	 sms_configured(const struct cfg *);
int	 sms_send(const struct cfg *, const char *, const char *);

#endif /* !SIGIL_SMS_H */
