/* test_bfile.c - lib/bfile: files written under a temporary name. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "../../lib/bfile.h"
#include "../../lib/err.h"
#include "testutil.h"

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
	closedir(d);
	return n;
}

Test(bfile, written_then_renamed_with_header_last)
{
	tu_mkdtemp();
	const char *p = tu_path("out.bin");
	wn_bfile f;
	cr_assert_eq(wn_bfile_create(&f, p, 0), 0);
	cr_assert_eq(wn_bfile_zeros(&f, 8), 0);
	/* more than the buffer, so that writes happen before the end */
	char *big = malloc(3u << 20);
	for (size_t i = 0; i < (3u << 20); i++) big[i] = (char)(i * 7);
	cr_assert_eq(wn_bfile_put(&f, big, 3u << 20), 0);
	cr_assert_eq(wn_bfile_align(&f, 64), 0);
	cr_expect_eq(f.pos % 64, 0);
	cr_expect_eq(files_in(tu_dir), 1, "only the temporary");
	cr_expect_eq(access(p, F_OK), -1, "no final name before the rename");
	cr_assert_eq(wn_bfile_flush(&f), 0);
	cr_assert_eq(wn_bfile_pwrite(&f, 0, "HEADER!!", 8), 0);
	uint64_t len = f.pos;
	cr_assert_eq(wn_bfile_sync(&f), 0);
	cr_assert_eq(wn_bfile_rename(&f), 0);
	wn_bfile_discard(&f);
	size_t n = 0;
	char *got = tu_read_file(p, &n);
	cr_assert_not_null(got);
	cr_assert_eq(n, len);
	cr_expect(!memcmp(got, "HEADER!!", 8));
	cr_expect(!memcmp(got + 8, big, 3u << 20));
	for (size_t i = 8 + (3u << 20); i < n; i++) cr_expect_eq(got[i], 0);
	cr_expect_eq(files_in(tu_dir), 1, "the temporary is gone");
	struct stat st;
	stat(p, &st);
	cr_expect_eq(st.st_mode & 0777, 0644);
	free(got);
	free(big);
	tu_rmdir();
}

Test(bfile, discard_and_scratch_leave_nothing)
{
	tu_mkdtemp();
	wn_bfile f, s;
	cr_assert_eq(wn_bfile_create(&f, tu_path("a.bin"), 0), 0);
	cr_assert_eq(wn_bfile_create(&s, tu_path("b.bin"), 1), 0);
	cr_expect_eq(files_in(tu_dir), 1, "a scratch file has no name");
	cr_assert_eq(wn_bfile_put(&f, "x", 1), 0);
	cr_assert_eq(wn_bfile_put(&s, "y", 1), 0);
	wn_bfile_discard(&f);
	wn_bfile_discard(&s);
	cr_expect_eq(files_in(tu_dir), 0);
	tu_rmdir();
}

Test(bfile, failures_are_kept_and_named)
{
	wn_bfile f;
	cr_assert_eq(wn_bfile_create(&f, "/nonexistent-dir/x.bin", 0), WN_EIO);
	char err[256];
	cr_assert_eq(wn_bfile_msg(&f, err, sizeof err), WN_EIO);
	cr_expect(strstr(err, "/nonexistent-dir/x.bin: cannot create: No such file") != NULL, "%s", err);
	cr_expect_eq(wn_bfile_put(&f, "x", 1), WN_EIO, "later calls fail at once");
	wn_bfile_discard(&f);
}
