-- wrk: v1 sign-ed25519 for one invite the bench stored (the bench exports
-- INVITE_TOKEN and INVITE_KEY, the URL-safe base64 seed of its key).
wrk.method = "POST"
wrk.body = string.format(
    '{"mxid":"@guest:example.org","token":"%s","private_key":"%s"}',
    os.getenv("INVITE_TOKEN"), os.getenv("INVITE_KEY"))
wrk.headers["Content-Type"] = "application/json"
