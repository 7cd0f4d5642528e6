/*
 * TAP output: "ok N - name" lines, diagnostics on failure, and the plan
 * printed last by done_testing(), whose return value is the exit status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int	 tests, failures;

static void
report(int pass, const char *fmt, va_list ap)
{
	tests++;
	if (!pass)
		failures++;
	printf("%sok %d - ", pass ? "" : "not ", tests);
	vprintf(fmt, ap);
	putchar('\n');
}

int
ok(int pass, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	return pass;
}

int
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list	 ap;
	int	 pass = got == want;

	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("     got: %lld\n  wanted: %lld", got, want);
	return pass;
}

int
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list	 ap;
	int	 pass;

	pass = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;
	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("     got: %s\n  wanted: %s", got ? got : "(null)",
		    want ? want : "(null)");
	return pass;
}

void
diag(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[4096], *line, *save = NULL;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (line = strtok_r(msg, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
}

int
done_testing(void)
{
	printf("1..%d\n", tests);
	fflush(stdout);
	return failures == 0 && tests > 0 ? 0 : 1;
}
