/*
 * Loading and checking the terms file.  Every policy needs a string
 * "version" and at least one language object with a string "name" and an
 * http(s) "url"; names and versions may not hold control characters, so
 * TERMS_KEY_SEP can join them.  A URL may belong to one policy only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "json.h"
#include "terms.h"
#include "util.h"

#define TERMS_MAX_FILE	(256 * 1024)

static int
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static int
policy_load(const cJSON *p, struct terms_policy *out, char *err,
    size_t errlen)
{
	const cJSON	*lang;
	const char	*version, *url, *name;
	size_t		 n;

	if (!cJSON_IsObject(p) || !no_controls(p->string) ||
	    json_get_str(p, "version", 1, 255, &version) != JSON_OK ||
	    !no_controls(version)) {
		snprintf(err, errlen, "policy \"%.64s\": needs a \"version\" "
		    "string", p->string);
		return -1;
	}
	n = strlen(p->string) + strlen(version) + 2;
	out->key = xmalloc(n);
	snprintf(out->key, n, "%s%c%s", p->string, TERMS_KEY_SEP, version);
	for (lang = p->child; lang != NULL; lang = lang->next) {
		if (strcmp(lang->string, "version") == 0)
			continue;
		if (!cJSON_IsObject(lang) ||
		    json_get_str(lang, "name", 1, 1024, &name) != JSON_OK ||
		    json_get_str(lang, "url", 1, 2048, &url) != JSON_OK ||
		    (strncmp(url, "https://", 8) != 0 &&
		    strncmp(url, "http://", 7) != 0)) {
			snprintf(err, errlen, "policy \"%.64s\", language "
			    "\"%.16s\": needs a \"name\" and an http(s) "
			    "\"url\"", p->string, lang->string);
			return -1;
		}
		out->urls = xreallocarray(out->urls, out->nurls + 1,
		    sizeof(char *));
		out->urls[out->nurls++] = xstrdup(url);
	}
	if (out->nurls == 0) {
		snprintf(err, errlen, "policy \"%.64s\": no language",
		    p->string);
		return -1;
	}
	return 0;
}

static int
terms_parse(const char *text, size_t len, struct terms *t, char *err,
    size_t errlen)
{
	cJSON		*doc = NULL;
	const cJSON	*policies, *p;
	struct buf	 out = { 0 };
	size_t		 i, j, k, l;
	int		 rc = -1;

	if (json_parse_object(text, len, &doc) != JSON_PARSE_OK ||
	    json_get_object(doc, "policies", &policies) != JSON_OK) {
		snprintf(err, errlen, "not a JSON object with a \"policies\" "
		    "object");
		goto out;
	}
	for (p = policies->child; p != NULL; p = p->next) {
		t->policies = xreallocarray(t->policies, t->npolicies + 1,
		    sizeof(*t->policies));
		memset(&t->policies[t->npolicies], 0, sizeof(*t->policies));
		t->npolicies++;
		if (policy_load(p, &t->policies[t->npolicies - 1], err,
		    errlen) == -1)
			goto out;
	}
	for (i = 0; i < t->npolicies; i++)
		for (j = 0; j < t->policies[i].nurls; j++)
			for (k = i; k < t->npolicies; k++)
				for (l = k == i ? j + 1 : 0;
				    l < t->policies[k].nurls; l++)
					if (strcmp(t->policies[i].urls[j],
					    t->policies[k].urls[l]) == 0) {
						snprintf(err, errlen, "URL %.128s"
						    " is listed twice",
						    t->policies[i].urls[j]);
						goto out;
					}
	t->keys = xreallocarray(NULL, t->npolicies, sizeof(char *));
	for (i = 0; i < t->npolicies; i++)
		t->keys[i] = t->policies[i].key;
	if (canon_write(doc, &out) == -1) {
		snprintf(err, errlen, "holds numbers canonical JSON refuses");
		goto out;
	}
	t->response = xstrdup(buf_str(&out));
	rc = 0;
out:
	buf_free(&out);
	cJSON_Delete(doc);
	return rc;
}

/* Sets t to "no terms": {"policies": {}}, nothing to agree to. */
void
terms_empty(struct terms *t)
{
	memset(t, 0, sizeof(*t));
	t->response = xstrdup("{\"policies\":{}}");
}

/*
 * Reads the terms file at path into t.  Returns 0, or -1 with the reason
 * (file named) in err; t is freed by terms_free() either way.
 */
int
terms_load(const char *path, struct terms *t, char *err, size_t errlen)
{
	FILE	*f;
	char	*text, why[256];
	size_t	 len;
	int	 rc;

	memset(t, 0, sizeof(*t));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "terms_file %s: cannot open", path);
		return -1;
	}
	text = xmalloc(TERMS_MAX_FILE);
	len = fread(text, 1, TERMS_MAX_FILE, f);
	rc = ferror(f) || len == TERMS_MAX_FILE ? -1 : 0;
	fclose(f);
	if (rc == -1)
		snprintf(err, errlen, "terms_file %s: unreadable or too large",
		    path);
	else if ((rc = terms_parse(text, len, t, why, sizeof(why))) == -1)
		snprintf(err, errlen, "terms_file %s: %s", path, why);
	free(text);
	return rc;
}

/* Frees what t holds; t is zeroed. */
void
terms_free(struct terms *t)
{
	size_t	 i, j;

	for (i = 0; i < t->npolicies; i++) {
		for (j = 0; j < t->policies[i].nurls; j++)
			free(t->policies[i].urls[j]);
		free(t->policies[i].urls);
		free(t->policies[i].key);
	}
	free(t->policies);
	free(t->keys);
	free(t->response);
	memset(t, 0, sizeof(*t));
}

/*
 * Returns the key (policy and current version) that accepting url agrees
 * to, borrowed from t, or NULL when no current policy has that URL.
 */
const char *
terms_key_for_url(const struct terms *t, const char *url)
{
	size_t	 i, j;

	for (i = 0; i < t->npolicies; i++)
		for (j = 0; j < t->policies[i].nurls; j++)
			if (strcmp(t->policies[i].urls[j], url) == 0)
				return t->policies[i].key;
	return NULL;
}
