/*
 * Unit tests for common/invpolicy: the operator's block-lists (sender's
 * homeserver, room, keywords in any string field, case-folded) and the
 * clients v1 store-invite is open to; and for the address common/invmail
 * shows in store-invite's answer.
 */
#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg.h"
#include "invmail.h"
#include "invpolicy.h"
#include "netrange.h"
#include "tap.h"

static int
blocked(const struct cfg *cfg, const char *json, const char *sender,
    const char *room_id)
{
	cJSON	*args = cJSON_Parse(json);
	int	 rc;

	rc = invpolicy_blocked(cfg, args, sender, room_id);
	cJSON_Delete(args);
	return rc;
}

static void
test_blocked(void)
{
	static struct cfg	 cfg;
	char			 hs[] = "bad.example", room[] = "!spam:hs";
	char			 kw1[] = "FREE Money", kw2[] = "straße";
	char			 kw3[] = "http";

	is_int(blocked(&cfg, "{\"room_name\":\"free money\"}", "@a:hs",
	    "!r:hs"), 0, "no block-list: nothing is blocked");
	cfg.invite_block_homeservers[0] = hs;
	cfg.n_invite_block_homeservers = 1;
	cfg.invite_block_rooms[0] = room;
	cfg.n_invite_block_rooms = 1;
	is_int(blocked(&cfg, "{}", "@a:bad.example", "!r:hs"), 1,
	    "a sender on a blocked homeserver");
	is_int(blocked(&cfg, "{}", "@a:bad.example.org", "!r:hs"), 0,
	    "not a server whose name begins alike");
	is_int(blocked(&cfg, "{}", "@a:hs", "!spam:hs"), 1, "a blocked room");
	is_int(blocked(&cfg, "{}", "@a:hs", "!spam:hs2"), 0,
	    "rooms match whole");
	is_int(blocked(&cfg, "{\"room_name\":\"free money\"}", "@a:hs",
	    "!r:hs"), 0, "no keywords yet");
	invpolicy_reset();
	cfg.invite_block_keywords[0] = kw1;
	cfg.invite_block_keywords[1] = kw2;
	cfg.n_invite_block_keywords = 2;
	is_int(blocked(&cfg, "{\"room_name\":\"Get fReE MONEY now\"}",
	    "@a:hs", "!r:hs"), 1, "a keyword in any case");
	is_int(blocked(&cfg, "{\"sender_display_name\":\"STRASSE\"}",
	    "@a:hs", "!r:hs"), 1, "case-folded, not just lowered");
	is_int(blocked(&cfg, "{\"x\":\"free  money\"}", "@a:hs", "!r:hs"), 0,
	    "not a near miss");
	is_int(blocked(&cfg, "{\"n\":12,\"o\":{\"room_name\":\"free money\"}}",
	    "@a:hs", "!r:hs"), 0, "only top-level string fields count");
	invpolicy_reset();
	cfg.invite_block_keywords[0] = kw3;
	cfg.n_invite_block_keywords = 1;
	is_int(blocked(&cfg, "{\"org.matrix.web_client_location\":"
	    "\"https://app.example\"}", "@a:hs", "!r:hs"), 0,
	    "a web client's scheme is not text");
	is_int(blocked(&cfg, "{\"room_avatar_url\":\"https://app.example\"}",
	    "@a:hs", "!r:hs"), 1, "another field's is");
	invpolicy_reset();
}

static void
test_v1_clients(void)
{
	static struct cfg	 cfg;

	is_int(invpolicy_v1_client(&cfg, "192.0.2.1"), 1,
	    "no list: any client");
	is_int(invpolicy_v1_client(&cfg, NULL), 1, "even an unknown one");
	netrange_parse("10.0.0.0/8", &cfg.invite_v1_clients[0]);
	netrange_parse("2001:db8::/32", &cfg.invite_v1_clients[1]);
	cfg.n_invite_v1_clients = 2;
	is_int(invpolicy_v1_client(&cfg, "10.1.2.3"), 1, "in a range");
	is_int(invpolicy_v1_client(&cfg, "2001:db8::5"), 1, "an IPv6 range");
	is_int(invpolicy_v1_client(&cfg, "11.0.0.1"), 0, "outside");
	is_int(invpolicy_v1_client(&cfg, NULL), 0, "an unknown address");
	is_int(invpolicy_v1_client(&cfg, "not-an-address"), 0,
	    "a malformed address");
}

static void
test_redact(void)
{
	static struct cfg	 cfg;
	struct buf		 b = { 0 };
	const struct {
		const char	*in, *out;
	} cases[] = {
		{ "invitee@example.org", "inv...@exa..." },
		{ "bob@ab.cd", "b...@ab...." },
		{ "a@b", "...@..." },
		{ "no-at", "..." },
	};
	size_t	 i;

	cfg.invite_redact_local = 3;
	cfg.invite_redact_domain = 3;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		invmail_redact_address(&cfg, cases[i].in, &b);
		is_str(buf_str(&b), cases[i].out, "%s is shown as %s",
		    cases[i].in, cases[i].out);
	}
	buf_free(&b);
}

int
main(void)
{
	test_blocked();
	test_v1_clients();
	test_redact();
	return done_testing();
}
