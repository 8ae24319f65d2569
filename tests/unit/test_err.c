/* test_err.c - error strings and allocation helpers (lib/err.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "../../lib/err.h"

Test(err, every_code_has_its_own_words)
{
	const int codes[] = { WN_OK, WN_EIO, WN_ENOMEM, WN_ETOOBIG, WN_ETRUNC, WN_ECORRUPT,
			      WN_EHTTP, WN_ENET, WN_EJSON, WN_EUTF8, WN_ENOTEXT, WN_EUSAGE,
			      WN_EPIPE, WN_EDB, WN_EEXIST };
	size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_neq(wn_strerror(codes[i]), "unknown error", "code %d", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(wn_strerror(codes[i]), wn_strerror(codes[j]));
	}
	cr_expect_str_eq(wn_strerror(-999), "unknown error");
}

Test(err, allocation_helpers)
{
	char *p = wn_malloc(0);
	cr_assert_not_null(p);
	p = wn_realloc(p, 100);
	memset(p, 'x', 100);
	free(p);
	int *z = wn_calloc(10, sizeof *z);
	for (int i = 0; i < 10; i++) cr_expect_eq(z[i], 0);
	free(z);
	char *s = wn_strdup("winnow");
	cr_expect_str_eq(s, "winnow");
	free(s);
}
