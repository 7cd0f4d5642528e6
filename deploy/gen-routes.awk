# The generated parts of sigil's configuration (deploy/gen-routes says
# which): reads the table of programs, the table of errors, then a
# configuration file, whose regions between the BEGIN and END lines it
# replaces: one "from deploy/programs" with kind's lines, one "from
# deploy/errors" with ekind's.  With kind "json" and a status in
# "status", it prints that status's JSON body alone.  POSIX awk.

function fail(msg) {
	printf "gen-routes: %s\n", msg > "/dev/stderr"
	failed = 1
	exit 1
}

# A route's regex, after ^/_matrix/identity/ (see deploy/programs).
function route_re(r) {
	if (r ~ /\*$/)
		return substr(r, 1, length(r) - 1) "(/|$)"
	if (r ~ /\/$/)
		return r
	return r "$"
}

# An operator's route's regex (a path outside the API, from its "/").
function op_re(r) {
	return "^" route_re(r)
}

# The regex of the routes in list (space-separated), after the prefix.
function routes_re(list,    n, a, i, s) {
	n = split(list, a, " ")
	if (n == 1)
		return route_re(a[1])
	s = ""
	for (i = 1; i <= n; i++)
		s = s (i > 1 ? "|" : "") route_re(a[i])
	return "(" s ")"
}

BEGIN {
	P = "/_matrix/identity/"
}

# Which input: the table, the errors, the file (an empty one has no line
# to count files by).
{
	fileno = FILENAME == ARGV[1] ? 1 : FILENAME == ARGV[2] ? 2 : 3
}

fileno == 2 {
	if ($0 ~ /^[ \t]*(#|$)/)
		next
	if ($1 == "count") {
		# A refusal sigil-status counts (deploy/errors).
		if (NF != 4 || $2 !~ /^[1-5][0-9][0-9]$/ ||
		    $3 !~ /^\$?[a-z_]+$/ || $4 !~ /^[a-z_]+$/)
			fail(FILENAME ":" FNR ": want count <status> <nginx reason> <apache reason>")
		counted[$2] = $3
		acounted[$2] = $4
		next
	}
	if (NF < 4 || $1 !~ /^[1-5][0-9][0-9]$/ || $2 !~ /^M_[A-Z_]+$/ ||
	    ($3 != "-" && $3 !~ /^[1-9][0-9]*$/))
		fail(FILENAME ":" FNR ": want <status> <M_ERRCODE> <retry_after_ms or -> <text>")
	text = $0
	sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", text)
	if (text ~ /["\\'$]/)
		fail(FILENAME ":" FNR ": no quote, backslash or $ in the text")
	ne++
	estatus[ne] = $1
	ebody[$1] = "{\"errcode\":\"" $2 "\",\"error\":\"" text "\"" \
	    ($3 == "-" ? "" : ",\"retry_after_ms\":" $3) "}"
	eretry[$1] = $3 == "-" ? "" : int(($3 + 999) / 1000)
	next
}

fileno == 1 {
	if ($0 ~ /^[ \t]*(#|$)/)
		next
	if (NF < 4)
		fail(FILENAME ":" FNR ": want <name> <pool> <write> <route>...")
	if ($1 !~ /^[a-z][a-z0-9]*$/)
		fail(FILENAME ":" FNR ": bad program name " $1)
	if ($3 != "yes" && $3 != "no" && $3 != "-")
		fail(FILENAME ":" FNR ": write is yes, no or -")
	np++
	name[np] = $1
	pool[np] = $2
	wr[np] = $3
	routes[np] = ""
	if ($4 == "-")
		next
	for (i = 4; i <= NF; i++) {
		if ($i == "/") {
			if (fallback != "")
				fail(FILENAME ":" FNR ": a second \"/\" route")
			fallback = $1
			continue
		}
		if (index($i, P) == 1) {
			# The operator's inside the API: not in the spec's
			# own (api/, v<N>/), nor over a public route (the
			# check after the table).
			r = substr($i, length(P) + 1)
			if (r !~ /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*(\/|\*)?$/ ||
			    r ~ /^(api|v[0-9]+)([\/*]|$)/)
				fail(FILENAME ":" FNR ": bad operator's route " $i \
				    " (not under api/ or v<N>/)")
			naops++
			aops[naops] = r
			aopsprog[naops] = $1
			aopsline[naops] = FILENAME ":" FNR
			hasops[np] = 1
			continue
		}
		if ($i ~ /^\//) {
			# The operator's: a path outside the API.
			if ($i !~ /^\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*(\/|\*)?$/)
				fail(FILENAME ":" FNR ": bad operator's route " $i)
			nops++
			ops[nops] = $i
			opsprog[nops] = $1
			hasops[np] = 1
			continue
		}
		if ($i !~ /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*(\/|\*)?$/)
			fail(FILENAME ":" FNR ": bad route " $i)
		routes[np] = routes[np] (routes[np] == "" ? "" : " ") $i
	}
	next
}

# A route's path without its "*": what two routes overlap by.
function route_base(r) {
	return r ~ /\*$/ ? substr(r, 1, length(r) - 1) : r
}

fileno == 3 && FNR == 1 {
	if (fallback == "")
		fail("no program serves the \"/\" route")
	# An operator's route inside the API takes nothing a public one
	# or another such takes (the fronts would send those requests to
	# it, or one of the two would never be reached).
	for (k = 1; k <= naops; k++)
		for (i = 1; i <= np; i++) {
			n = split(routes[i], a, " ")
			for (j = 1; j <= n; j++)
				if (index(route_base(a[j]), route_base(aops[k])) == 1 ||
				    index(route_base(aops[k]), route_base(a[j])) == 1)
					fail(aopsline[k] ": the operator's route " \
					    P aops[k] " overlaps " name[i] "'s " a[j])
		}
	for (k = 1; k <= naops; k++)
		for (i = k + 1; i <= naops; i++)
			if (index(route_base(aops[i]), route_base(aops[k])) == 1 ||
			    index(route_base(aops[k]), route_base(aops[i])) == 1)
				fail(aopsline[i] ": the operator's route " P aops[i] \
				    " overlaps " aopsprog[k] "'s " P aops[k])
	if (!(431 in ebody))
		fail("deploy/errors has no 431 (nginx's 494)")
	if (!(400 in ebody) || !(403 in ebody))
		fail("deploy/errors has no 400 or no 403")
	emit()
	eout = out
	emit_errors()
	eout2 = out
}

# A region: its lines from the source its BEGIN line names.
/^(# |\/\* )BEGIN generated by deploy\/gen-routes from / {
	print
	if ($0 ~ /from deploy\/programs/)
		printf "%s", eout
	else if ($0 ~ /from deploy\/errors/)
		printf "%s", eout2
	else if ($0 ~ /from common\/bounds\.h/)
		bodycap()
	else
		fail(file ": a region from an unknown source")
	skip = 1
	found = 1
	next
}
/^(# |\/\* )END generated/ {
	skip = 0
}
!skip {
	print
}
END {
	if (failed)
		exit 1
	if (kind == "which") {
		print which(path)
		exit 0
	}
	if (kind == "json") {
		# (As the files have always been: no newline at the end.)
		if (!(status in ebody)) {
			printf "gen-routes: no status %s in deploy/errors\n", status > "/dev/stderr"
			exit 1
		}
		printf "%s", ebody[status]
		exit 0
	}
	if (!found) {
		printf "gen-routes: %s has no generated part\n", file > "/dev/stderr"
		exit 1
	}
	if (skip) {
		printf "gen-routes: %s: no END line\n", file > "/dev/stderr"
		exit 1
	}
}

function line(s) {
	out = out s "\n"
}

function emit(    i, n, a, j, w, k, s, pre, cnt, key, lines, maxkey) {
	out = ""
	if (kind == "nginx-upstreams") {
		for (i = 1; i <= np; i++) {
			if (routes[i] == "" && name[i] != fallback &&
			    !(i in hasops))
				continue
			line("upstream sigil_" name[i] " {")
			line("\tserver unix:@SOCKDIR@/sigil-" name[i] ".sock;")
			line("}")
		}
	} else if (kind == "nginx-locations") {
		for (i = 1; i <= np; i++) {
			if (routes[i] == "")
				continue
			line("location ~ ^" P routes_re(routes[i]) " {")
			line("\tinclude @CONFDIR@/sigil-location.conf;")
			if (wr[i] == "yes")
				line("\tlimit_req zone=sigil_write burst=40 nodelay;")
			line("\tfastcgi_pass sigil_" name[i] ";")
			line("}")
		}
		# The operator's routes inside the API: any other client gets
		# what a path that does not exist gets, 404 M_UNRECOGNIZED.
		for (k = 1; k <= naops; k++) {
			s = aops[k]
			if (s ~ /\*$/)
				line("location ~ ^" P route_re(s) " {")
			else if (s ~ /\/$/)
				line("location ^~ " P s " {")
			else
				line("location = " P s " {")
			line("\tif ($sigil_operator = 0) {")
			line("\t\treturn 404;")
			line("\t}")
			line("\tinclude @CONFDIR@/sigil-location.conf;")
			line("\tfastcgi_pass sigil_" aopsprog[k] ";")
			line("}")
		}
		line("location " P " {")
		line("\tinclude @CONFDIR@/sigil-location.conf;")
		line("\tfastcgi_pass sigil_" fallback ";")
		line("}")
		# The operator's routes: only from the addresses of
		# $sigil_operator (nginx-sigil-upstreams.conf.in).
		for (k = 1; k <= nops; k++) {
			s = ops[k]
			if (s ~ /\*$/)
				line("location ~ " op_re(s) " {")
			else if (s ~ /\/$/)
				line("location " s " {")
			else
				line("location = " s " {")
			line("\tif ($sigil_operator = 0) {")
			line("\t\treturn 403;")
			line("\t}")
			line("\tinclude @CONFDIR@/sigil-location.conf;")
			line("\tfastcgi_pass sigil_" opsprog[k] ";")
			line("}")
		}
	} else if (kind == "apache-proxy") {
		for (i = 1; i <= np; i++)
			if (routes[i] != "")
				proxy("^" P routes_re(routes[i]), name[i])
		# The operator's routes inside the API, only from
		# SIGIL_OPERATORS; any other client is answered as for a
		# path that does not exist: Apache's refusal goes, as its
		# error document, to the fallback's 404 M_UNRECOGNIZED.
		for (k = 1; k <= naops; k++) {
			line("<LocationMatch \"^" P route_re(aops[k]) "\">")
			line("\tRequire ip ${SIGIL_OPERATORS}")
			line("\tErrorDocument 403 " P "_sigil_not_found")
			line("</LocationMatch>")
			proxy("^" P route_re(aops[k]), aopsprog[k])
		}
		proxy("^" P, fallback)
		# The operator's routes: only from SIGIL_OPERATORS.
		for (k = 1; k <= nops; k++) {
			line("<LocationMatch \"" op_re(ops[k]) "\">")
			line("\tRequire ip ${SIGIL_OPERATORS}")
			line("\tProxyFCGISetEnvIf \"true\" DOCUMENT_URI \"%{REQUEST_URI}\"")
			line("</LocationMatch>")
			proxy(op_re(ops[k]), opsprog[k])
		}
	} else if (kind == "apache-limits") {
		s = ""
		for (i = 1; i <= np; i++) {
			if (wr[i] != "yes" || routes[i] == "")
				continue
			n = split(routes[i], a, " ")
			for (j = 1; j <= n; j++)
				s = s (s == "" ? "" : "|") route_re(a[j])
		}
		if (s == "")
			fail("no program has write-limited routes")
		line("SecRule REQUEST_FILENAME \"!@rx ^" P "(" s ")\" \\")
		line("    \"id:7710002,phase:1,pass,nolog,t:none,t:urlDecode,t:normalizePath,skipAfter:SIGIL_LIMITS_END\"")
	} else if (kind == "htaccess") {
		pre = substr(P, 2)
		for (i = 1; i <= np; i++)
			if (routes[i] != "")
				line("RewriteRule ^" pre routes_re(routes[i]) " sigil/sigil-" name[i] ".cgi [END]")
		# The operator's routes inside the API: only for a request
		# the .htaccess marked SIGIL_OPERATOR (off as shipped); any
		# other goes to the fallback, 404 M_UNRECOGNIZED.
		for (k = 1; k <= naops; k++) {
			line("RewriteCond %{ENV:SIGIL_OPERATOR} =1")
			line("RewriteRule ^" pre route_re(aops[k]) " sigil/sigil-" aopsprog[k] ".cgi [END]")
		}
		line("RewriteRule ^" pre " sigil/sigil-" fallback ".cgi [END]")
	} else if (kind == "lighttpd") {
		# alias.url takes the first prefix that matches: longest
		# first, the table's order among equals.
		cnt = 0
		for (i = 1; i <= np; i++) {
			n = split(routes[i], a, " ")
			for (j = 1; j <= n; j++) {
				s = a[j]
				w = ".cgi"
				if (s ~ /\*$/)
					s = substr(s, 1, length(s) - 1)
				else if (s ~ /\/$/)
					w = ".cgi/"
				cnt++
				lines[cnt] = "\t\"" P s "\" => var.sigil_dir + \"/sigil-" name[i] w "\","
				key[cnt] = length(P s)
			}
		}
		maxkey = 0
		for (k = 1; k <= cnt; k++)
			if (key[k] > maxkey)
				maxkey = key[k]
		for (w = maxkey; w > 0; w--)
			for (k = 1; k <= cnt; k++)
				if (key[k] == w)
					line(lines[k])
		line("\t\"" substr(P, 1, length(P) - 1) "\" => var.sigil_dir + \"/sigil-" fallback ".cgi\",")
	} else if (kind == "workers") {
		for (i = 1; i <= np; i++)
			line(name[i] " " pool[i])
	} else if (kind == "target") {
		s = ""
		for (i = 1; i <= np; i++) {
			s = s " sigil@" name[i] ".service"
			if (i % 3 == 0 || i == np) {
				line("Wants=" substr(s, 2))
				s = ""
			}
		}
	} else if (kind == "known") {
		for (i = 1; i <= np; i++)
			line("\t\"" name[i] "\",")
	} else if (kind != "-")
		fail("unknown kind " kind)
}

# The program, and its nginx upstream, that counts the front's refusals:
# the one serving the operator's /_sigil/.
function counter(    k) {
	for (k = 1; k <= nops; k++)
		if (ops[k] == "/_sigil/")
			return opsprog[k]
	fail("no program serves /_sigil/, where the front's refusals are counted")
}

# nginx's named location for st, a refusal counted (deploy/errors): its
# page comes from sigil-status's /_sigil/front-refusal, which counts it
# and answers the same body; when that program does not answer, from
# @sigil_<st>_page, the body alone.  The request's own method, body and
# headers are not passed on; the CORS headers and Retry-After are the
# error pages' own (sigil-error-headers.conf), the program's hidden.
function counted_loc(st) {
	line("location @sigil_" st " {")
	line("\tinclude @CONFDIR@/sigil-error-headers.conf;")
	if (eretry[st] != "")
		line("\tadd_header Retry-After " eretry[st] " always;")
	line("\tfastcgi_param REQUEST_METHOD GET;")
	line("\tfastcgi_param DOCUMENT_URI /_sigil/front-refusal;")
	line("\tfastcgi_param QUERY_STRING reason=" counted[st] ";")
	line("\tfastcgi_param REDIRECT_STATUS " st ";")
	line("\tfastcgi_param REMOTE_ADDR $remote_addr;")
	line("\tfastcgi_param GATEWAY_INTERFACE CGI/1.1;")
	line("\tfastcgi_pass_request_body off;")
	line("\tfastcgi_pass_request_headers off;")
	line("\tfastcgi_hide_header Access-Control-Allow-Origin;")
	line("\tfastcgi_hide_header Access-Control-Allow-Methods;")
	line("\tfastcgi_hide_header Access-Control-Allow-Headers;")
	line("\tfastcgi_hide_header Cache-Control;")
	line("\tfastcgi_hide_header Retry-After;")
	line("\tfastcgi_connect_timeout 2s;")
	line("\tfastcgi_read_timeout 5s;")
	line("\tfastcgi_intercept_errors off;")
	line("\trecursive_error_pages on;")
	line("\terror_page 500 502 503 504 = @sigil_" st "_page;")
	line("\tfastcgi_pass sigil_" counter() ";")
	line("}")
	errloc("location @sigil_" st "_page", st, st)
}

# An nginx location answering status code with status's body.
function errloc(head, code, st) {
	line(head " {")
	if (head ~ /^location =/)
		line("\tinternal;")
	line("\tinclude @CONFDIR@/sigil-error-headers.conf;")
	if (eretry[st] != "")
		line("\tadd_header Retry-After " eretry[st] " always;")
	if (!(st in ebody))
		fail("no status " st " in deploy/errors")
	line("\treturn " code " '" ebody[st] "';")
	line("}")
}

function emit_errors(    i, s) {
	out = ""
	if (ekind == "nginx-named") {
		for (i = 1; i <= ne; i++)
			if (estatus[i] in counted)
				counted_loc(estatus[i])
			else
				errloc("location @sigil_" estatus[i], estatus[i], estatus[i])
	} else if (ekind == "nginx-pages") {
		# Inside sigil's locations: every status, by name.
		for (i = 1; i <= ne; i++)
			line("error_page " estatus[i] " @sigil_" estatus[i] ";")
	} else if (ekind == "nginx-server") {
		# The errors nginx answers before it has chosen a location
		# (a bad request line or header, TRACE, a Transfer-Encoding
		# it does not know, HTTP/2.0 on a plain connection) and in
		# the server's own location /: every status, by URI (nginx
		# cannot go to a named location before it has chosen one).
		for (i = 1; i <= ne; i++)
			line("error_page " estatus[i] " /_sigil_error/" estatus[i] ";")
		# nginx's own codes, which go out as 400: 494 a header too
		# large (431's body), 497 plain HTTP to an HTTPS port.
		line("error_page 494 /_sigil_error/494;")
		line("error_page 497 /_sigil_error/497;")
		for (i = 1; i <= ne; i++)
			errloc("location = /_sigil_error/" estatus[i], estatus[i], estatus[i])
		errloc("location = /_sigil_error/494", 400, 431)
		errloc("location = /_sigil_error/497", 400, 400)
	} else if (ekind == "apache-docs" || ekind == "htaccess-docs") {
		# Apache's, by the path its error documents are served at.
		s = ekind == "apache-docs" ? "/_sigil_error/" : "/sigil/errors/"
		for (i = 1; i <= ne; i++)
			if (ekind == "apache-docs" && estatus[i] in acounted)
				line("ErrorDocument " estatus[i] " /_sigil_refused/" \
				    estatus[i] "?reason=" acounted[estatus[i]])
			else
				line("ErrorDocument " estatus[i] " " s estatus[i] ".json")
		if (ekind == "apache-docs")
			apache_counted()
	} else if (ekind != "-")
		fail("unknown kind " ekind)
}

# Apache's way to the program counting the front's refusals (the
# counted statuses' ErrorDocument): /_sigil_refused/, reached only by
# those redirects (a request for it is no redirect, and the program
# answers it 404), as its /_sigil/front-refusal.  Apache sets
# REDIRECT_STATUS.
function apache_counted(    p) {
	p = counter()
	line("<LocationMatch \"^/_sigil_refused/\">")
	line("\tProxyFCGISetEnvIf \"true\" DOCUMENT_URI \"/_sigil/front-refusal\"")
	line("</LocationMatch>")
	line("ProxyPassMatch \"^/_sigil_refused/\" \"unix:@SOCKDIR@/sigil-" p ".sock|fcgi://sigil-" p "/\"")
}

# A rule passing re to prog's workers.  The time limits go on the
# first rule of each: the others share its worker, and Apache would
# warn that it ignores theirs.
function proxy(re, prog) {
	line("ProxyPassMatch \"" re "\" \"unix:@SOCKDIR@/sigil-" prog ".sock|fcgi://sigil-" prog "/\"" \
	    (prog in proxied ? "" : " connectiontimeout=2 timeout=15"))
	proxied[prog] = 1
}

# The body cap, MAX_BODY (cap, in bytes), as file says it.  Apache's
# LimitRequestBody comes once per region, so the .htaccess region before
# the routes (the Content-Length check) says it as a rewrite.
function bodycap() {
	if (cap !~ /^[1-9][0-9]*$/ || cap % 1024 != 0) {
		printf "gen-routes: MAX_BODY %s is not a whole number of KiB\n", cap > "/dev/stderr"
		failed = 1
		exit 1
	}
	if (file ~ /sigil-location\.conf$/)
		print "client_max_body_size " cap / 1024 "k;"
	else if (file ~ /lighttpd/)
		print "server.max-request-size = " cap / 1024
	else if (file ~ /htaccess$/ && !capseen) {
		print "RewriteCond expr \"%{HTTP:Content-Length} -gt " cap "\""
		print "RewriteRule ^_matrix/identity/ - [R=413,L]"
	} else
		print "LimitRequestBody " cap
	capseen = 1
}

# The program the fronts send path to: the first whose route takes it,
# else the "/" route's for any path under /_matrix/identity/, else "-".
function which(p,    i, n, a, j, r) {
	for (i = 1; i <= np; i++) {
		n = split(routes[i], a, " ")
		for (j = 1; j <= n; j++) {
			r = a[j]
			if (r ~ /\*$/) {
				r = P substr(r, 1, length(r) - 1)
				if (p == r || index(p, r "/") == 1)
					return name[i]
			} else if (r ~ /\/$/) {
				if (index(p, P r) == 1)
					return name[i]
			} else if (p == P r)
				return name[i]
		}
	}
	for (i = 1; i <= naops; i++)
		if (match(p, "^" P route_re(aops[i])))
			return aopsprog[i]
	for (i = 1; i <= nops; i++)
		if (match(p, op_re(ops[i])))
			return opsprog[i]
	return index(p, P) == 1 ? fallback : "-"
}
