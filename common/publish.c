/*
 * Publishing a binding: see publish.h.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "ident.h"
#include "log.h"
#include "publish.h"
#include "sign.h"
#include "threepid.h"

/*
 * The body onbind delivers: the association of (medium, address) with
 * mxid, with each pending invite of inv (none: an empty list, which the
 * server-server API requires) attached and signed with the long-term
 * key, all signed.  Returns the JSON text (caller frees) or NULL.
 */
static char *
onbind_body(const struct ctx *c, const char *medium, const char *address,
    const char *mxid, int64_t now, const struct db_invites *inv)
{
	cJSON	*assoc, *list, *item, *signed_obj;
	char	*text = NULL;
	size_t	 i;

	assoc = threepid_association(medium, address, mxid, now, now,
	    now + THREEPID_VALIDITY_MS);
	list = cJSON_AddArrayToObject(assoc, "invites");
	for (i = 0; i < inv->n; i++) {
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "medium", medium);
		cJSON_AddStringToObject(item, "address", address);
		cJSON_AddStringToObject(item, "mxid", mxid);
		cJSON_AddStringToObject(item, "room_id", inv->room_id[i]);
		cJSON_AddStringToObject(item, "sender", inv->sender[i]);
		cJSON_AddStringToObject(item, "token", inv->token[i]);
		signed_obj = cJSON_AddObjectToObject(item, "signed");
		cJSON_AddStringToObject(signed_obj, "mxid", mxid);
		cJSON_AddStringToObject(signed_obj, "token", inv->token[i]);
		cJSON_AddItemToArray(list, item);
		if (sign_json(c->key, c->cfg.server_name, signed_obj) == -1)
			goto out;
	}
	if (sign_json(c->key, c->cfg.server_name, assoc) == -1)
		goto out;
	text = cJSON_PrintUnformatted(assoc);
out:
	cJSON_Delete(assoc);
	return text;
}

int
binding_publish(struct ctx *c, const char *medium, const char *address,
    const char *mxid, int64_t now, cJSON **assoc_out)
{
	struct db_invites	 inv;
	cJSON			*assoc;
	const char		*sig;
	char			*body = NULL;
	int			 rc = -1, ref, began = 0;

	memset(&inv, 0, sizeof(inv));
	assoc = threepid_association(medium, address, mxid, now, now,
	    now + THREEPID_VALIDITY_MS);
	if (sign_json(c->key, c->cfg.server_name, assoc) == -1) {
		log_err("publish: cannot sign the association");
		goto out;
	}
	ref = app_key_ref(c);
	sig = sign_json_get(assoc, c->cfg.server_name, c->key->id);
	if (db_begin(c->db) != DB_OK)
		goto out;
	began = 1;
	if (db_bind(c->db, medium, address, mxid, now,
	    now + THREEPID_VALIDITY_MS, ref > 0 ? sig : NULL, ref) != DB_OK ||
	    db_invites_pending(c->db, medium, address, now, &inv) != DB_OK)
		goto out;
	if ((body = onbind_body(c, medium, address, mxid, now, &inv)) ==
	    NULL || db_outbox_queue(c->db, ident_user_id_server(mxid), body,
	    now, (const char *const *)inv.token, inv.n) != DB_OK)
		goto out;
	if (db_commit(c->db) != DB_OK)
		goto out;
	began = 0;
	if (inv.n > 0)
		log_info("bind: %zu invite(s) queued for %s",
		    inv.n, ident_user_id_server(mxid));
	rc = 0;
	if (assoc_out != NULL) {
		*assoc_out = assoc;
		assoc = NULL;
	}
out:
	if (began)
		db_rollback(c->db);
	cJSON_Delete(assoc);
	free(body);
	db_invites_clear(&inv);
	return rc;
}
