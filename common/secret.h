/*
 * Random bytes and tokens, constant-time comparison, wiping, SHA-256: the
 * handling of secrets, through OpenSSL's libcrypto.
 */
#ifndef SIGIL_SECRET_H
#define SIGIL_SECRET_H

#include <stddef.h>

int	 random_bytes(unsigned char *, size_t);
int	 random_token(char *, size_t);
int	 ct_streq(const char *, const char *);
void	 secure_wipe(void *, size_t);
void	 sha256_hex(const void *, size_t, char *);

#define SHA256_HEX_LEN	64

#endif /* !SIGIL_SECRET_H */
