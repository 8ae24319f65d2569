/* test_buf.c - lib/buf.c: growth, binary safety, the cap, addf, detach. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/err.h"

Test(buf, init_is_empty_string)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	cr_assert_not_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_str_eq(b.data, "");
	wn_buf s = WN_BUF_INIT;
	cr_assert_str_eq(s.data, "");
	cr_assert_eq(s.len, 0);
	/* reset and release on a never-grown buffer are harmless */
	wn_buf_reset(&b);
	wn_buf_release(&b);
	cr_assert_str_eq(b.data, "");
	cr_assert_eq(wn_buf_empty[0], 0);
}

Test(buf, growth_keeps_content)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	size_t total = 0;
	for (int i = 0; i < 100000; i++) {
		char c = (char)('a' + i % 26);
		cr_assert_eq(wn_buf_addc(&b, c), 0);
		total++;
		cr_assert_eq(b.len, total);
		cr_assert_gt(b.cap, b.len, "cap %zu must exceed len %zu (room for NUL)", b.cap, b.len);
	}
	for (size_t i = 0; i < total; i++)
		cr_assert_eq(b.data[i], (char)('a' + i % 26), "byte %zu", i);
	cr_assert_eq(b.data[total], 0);
	cr_assert_eq(strlen(b.data), total);

	/* a big add in one go */
	char *big = malloc(3 << 20);
	memset(big, 'Z', 3 << 20);
	cr_assert_eq(wn_buf_add(&b, big, 3 << 20), 0);
	cr_assert_eq(b.len, total + (3 << 20));
	cr_assert_eq(b.data[total], 'Z');
	cr_assert_eq(b.data[b.len - 1], 'Z');
	cr_assert_eq(b.data[b.len], 0);
	free(big);

	/* reset keeps memory, empties content */
	size_t cap = b.cap;
	wn_buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, cap);
	cr_assert_str_eq(b.data, "");
	wn_buf_release(&b);
	cr_assert_eq(b.cap, 0);
	cr_assert_eq(b.len, 0);
}

Test(buf, grow_reserves_room)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	cr_assert_eq(wn_buf_grow(&b, 1000), 0);
	cr_assert_geq(b.cap, 1001);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.data, "");
	char *before = b.data;
	/* filling within the reserved room does not move the data */
	for (int i = 0; i < 1000; i++) wn_buf_addc(&b, 'x');
	cr_assert_eq(b.data, before);
	cr_assert_eq(b.len, 1000);
	wn_buf_release(&b);
}

Test(buf, binary_safe_with_nul)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	const char src[] = { 'a', 0, 'b', 0, 0, 'c', (char)0xFF, 0 };
	cr_assert_eq(wn_buf_add(&b, src, sizeof src), 0);
	cr_assert_eq(b.len, sizeof src);
	cr_assert_eq(memcmp(b.data, src, sizeof src), 0);
	cr_assert_eq(b.data[b.len], 0);
	cr_assert_eq(wn_buf_adds(&b, "tail"), 0);
	cr_assert_eq(b.len, sizeof src + 4);
	cr_assert_eq(memcmp(b.data + sizeof src, "tail", 5), 0);
	cr_assert_eq(wn_buf_addc(&b, 0), 0);
	cr_assert_eq(b.len, sizeof src + 5);
	cr_assert_eq(b.data[b.len - 1], 0);
	/* adding zero bytes changes nothing */
	cr_assert_eq(wn_buf_add(&b, NULL, 0), 0);
	cr_assert_eq(b.len, sizeof src + 5);
	wn_buf_release(&b);
}

Test(buf, cap_gives_etoobig)
{
	wn_buf b;
	wn_buf_init(&b, 10);
	cr_assert_eq(wn_buf_add(&b, "0123456789", 10), 0, "exactly max bytes fits");
	cr_assert_eq(b.len, 10);
	cr_assert_eq(wn_buf_addc(&b, 'x'), WN_ETOOBIG);
	cr_assert_eq(b.len, 10, "a failed add leaves the content");
	cr_assert_eq(memcmp(b.data, "0123456789", 11), 0);
	cr_assert_eq(wn_buf_add(&b, "y", 1), WN_ETOOBIG);
	cr_assert_eq(wn_buf_adds(&b, "yy"), WN_ETOOBIG);
	cr_assert_eq(wn_buf_addf(&b, "%d", 5), WN_ETOOBIG);
	cr_assert_eq(wn_buf_grow(&b, 1), WN_ETOOBIG);
	cr_assert_eq(b.len, 10);

	/* one big add past the cap fails at once, without partial content */
	wn_buf c;
	wn_buf_init(&c, 100);
	cr_assert_eq(wn_buf_add(&c, "abc", 3), 0);
	char big[200];
	memset(big, 'q', sizeof big);
	cr_assert_eq(wn_buf_add(&c, big, 98), WN_ETOOBIG);
	cr_assert_eq(c.len, 3);
	cr_assert_str_eq(c.data, "abc");
	cr_assert_eq(wn_buf_add(&c, big, 97), 0);
	cr_assert_eq(c.len, 100);
	/* a long addf past the cap is refused too */
	wn_buf_reset(&c);
	cr_assert_eq(wn_buf_addf(&c, "%0300d", 1), WN_ETOOBIG);
	cr_assert_eq(c.len, 0);

	/* release keeps max */
	wn_buf_release(&b);
	cr_assert_eq(b.max, 10);
	cr_assert_eq(wn_buf_add(&b, big, 11), WN_ETOOBIG);
	cr_assert_eq(wn_buf_add(&b, big, 10), 0);
	wn_buf_release(&b);
	wn_buf_release(&c);
}

Test(buf, cap_large_growth_within_max)
{
	/* growth doubling must not overshoot a cap that is not a power of two */
	wn_buf b;
	wn_buf_init(&b, 1000);
	for (int i = 0; i < 1000; i++) cr_assert_eq(wn_buf_addc(&b, 'a'), 0, "byte %d", i);
	cr_assert_eq(b.len, 1000);
	cr_assert_leq(b.cap, 1001);
	cr_assert_eq(wn_buf_addc(&b, 'a'), WN_ETOOBIG);
	wn_buf_release(&b);
}

Test(buf, addf_short_and_long)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	cr_assert_eq(wn_buf_addf(&b, "%s=%d;", "x", 42), 0);
	cr_assert_str_eq(b.data, "x=42;");
	cr_assert_eq(b.len, 5);

	/* longer than any internal stack buffer */
	size_t n = 100000;
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++) s[i] = (char)('A' + i % 26);
	s[n] = 0;
	cr_assert_eq(wn_buf_addf(&b, "[%s|%zu]", s, n), 0);
	char tail[32];
	snprintf(tail, sizeof tail, "|%zu]", n);
	cr_assert_eq(b.len, 5 + 1 + n + strlen(tail));
	cr_assert_eq(memcmp(b.data, "x=42;[", 6), 0);
	cr_assert_eq(memcmp(b.data + 6, s, n), 0);
	cr_assert_str_eq(b.data + 6 + n, tail);
	cr_assert_eq(strlen(b.data), b.len);

	/* lengths around 256, each appended to existing content */
	for (int len = 250; len < 262; len++) {
		wn_buf_reset(&b);
		wn_buf_adds(&b, "pre:");
		cr_assert_eq(wn_buf_addf(&b, "%.*s", len, s), 0);
		cr_assert_eq(b.len, 4 + (size_t)len, "len %d", len);
		cr_assert_eq(memcmp(b.data + 4, s, (size_t)len), 0);
		cr_assert_eq(b.data[b.len], 0);
	}
	/* addf may embed a NUL via %c */
	wn_buf_reset(&b);
	cr_assert_eq(wn_buf_addf(&b, "a%cb", 0), 0);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(memcmp(b.data, "a\0b", 4), 0);
	free(s);
	wn_buf_release(&b);
}

Test(buf, detach)
{
	wn_buf b;
	wn_buf_init(&b, 77);
	wn_buf_add(&b, "he\0lo", 5);
	size_t len = 0;
	char *p = wn_buf_detach(&b, &len);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(p, "he\0lo", 6), 0);
	/* the buffer is empty again, keeps max, and does not share p */
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_eq(b.max, 77);
	cr_assert_neq(b.data, p);
	cr_assert_str_eq(b.data, "");
	wn_buf_adds(&b, "new");
	cr_assert_str_eq(b.data, "new");
	cr_assert_eq(memcmp(p, "he\0lo", 6), 0, "detached memory untouched by reuse");
	free(p);

	/* detaching a never-grown buffer gives a freeable empty string */
	wn_buf e;
	wn_buf_init(&e, 0);
	len = 99;
	char *q = wn_buf_detach(&e, &len);
	cr_assert_not_null(q);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(q, "");
	cr_assert_neq(q, wn_buf_empty);
	free(q);
	/* len pointer is optional */
	char *r = wn_buf_detach(&b, NULL);
	cr_assert_str_eq(r, "new");
	free(r);
	wn_buf_release(&b);
}

Test(buf, setlen_truncates)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	wn_buf_adds(&b, "hello world");
	wn_buf_setlen(&b, 5);
	cr_assert_eq(b.len, 5);
	cr_assert_str_eq(b.data, "hello");
	wn_buf_setlen(&b, 0);
	cr_assert_str_eq(b.data, "");
	wn_buf_release(&b);
	/* on a never-grown buffer, setlen(0) must not write the static "" */
	wn_buf_setlen(&b, 0);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(wn_buf_empty[0], 0);
}
