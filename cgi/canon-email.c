/*
 * sigil-canon-email: the email address rule of common/email.c for
 * scripts, so that what they store is what the workers would store (the
 * sydent importer; an operator re-checking old rows).  A filter: each
 * line of standard input is one address in hex (the bytes as stored, in
 * either case, as SQLite's hex() and PostgreSQL's encode(..., 'hex')
 * write them); each line of output is "<hex in>,<hex canonical>", both
 * in lower case, with the canonical form empty when the address is
 * refused.  Hex keeps every byte an address may hold (commas, quotes, CR,
 * LF) out of the CSV.  Lines over MAX_LINE bytes are refused addresses.
 *
 *	sigil-canon-email <in.hex >out.csv
 *
 * Exits 0, or 1 when input or output fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "util.h"

/* Twice the longest address we read (4 times MAX_EMAIL: folding an
 * address can lengthen it, but no input over that is accepted). */
#define MAX_LINE	(8 * MAX_EMAIL)

/* Writes the n bytes at p in lower-case hex to stdout. */
static void
put_hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		putchar(digits[p[i] >> 4]);
		putchar(digits[p[i] & 0xf]);
	}
}

int
main(int argc, char *argv[])
{
	char		 line[MAX_LINE + 2], addr[MAX_LINE / 2 + 1];
	char		 canon[3 * MAX_EMAIL + 1];
	size_t		 n, i;
	int		 hi, lo, ok, c;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sigil-canon-email <in.hex >out.csv\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strcspn(line, "\r\n");
		ok = n % 2 == 0;
		if (line[n] == '\0' && n == sizeof(line) - 1) {
			/* Too long: the rest of the line goes too. */
			while ((c = getchar()) != EOF && c != '\n')
				;
			ok = 0;
		}
		line[n] = '\0';
		for (i = 0; ok && i < n / 2; i++) {
			hi = hex_value(line[2 * i]);
			lo = hex_value(line[2 * i + 1]);
			if (hi < 0 || lo < 0)
				ok = 0;
			else
				addr[i] = (char)(hi << 4 | lo);
		}
		if (ok) {
			addr[n / 2] = '\0';
			/* An embedded NUL would cut the address short. */
			ok = strlen(addr) == n / 2 &&
			    email_canonical(addr, canon, sizeof(canon)) == 0;
		}
		for (i = 0; i < n; i++)
			putchar(line[i] >= 'A' && line[i] <= 'F' ?
			    line[i] - 'A' + 'a' : line[i]);
		putchar(',');
		if (ok)
			put_hex((const unsigned char *)canon, strlen(canon));
		putchar('\n');
	}
	if (ferror(stdin) || fflush(stdout) == EOF || ferror(stdout)) {
		perror("sigil-canon-email");
		return 1;
	}
	return 0;
}
