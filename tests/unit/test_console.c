/* The Ctrl-A escape filter between the host keyboard and the guest's UART. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/console.h"

static size_t filter(struct console_escape *st, const char *in, u8 *out, bool *quit)
{
	return console_escape_filter(st, (const u8 *)in, strlen(in), out, quit);
}

START_TEST(plain_bytes_pass)
{
	struct console_escape st = { 0 };
	u8 out[64];
	bool quit;

	ck_assert_uint_eq(filter(&st, "ls -l\r", out, &quit), 6);
	ck_assert_mem_eq(out, "ls -l\r", 6);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_x_quits_and_drops_the_rest)
{
	struct console_escape st = { 0 };
	u8 out[64];
	bool quit;

	ck_assert_uint_eq(filter(&st, "ab\x01xcd", out, &quit), 2);
	ck_assert_mem_eq(out, "ab", 2);
	ck_assert(quit);
}
END_TEST

START_TEST(ctrl_a_ctrl_a_sends_one)
{
	struct console_escape st = { 0 };
	u8 out[64];
	bool quit;

	ck_assert_uint_eq(filter(&st, "\x01\x01z", out, &quit), 2);
	ck_assert_mem_eq(out, "\x01z", 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_other_sends_both)
{
	struct console_escape st = { 0 };
	u8 out[64];
	bool quit;

	ck_assert_uint_eq(filter(&st, "\x01q", out, &quit), 2);
	ck_assert_mem_eq(out, "\x01q", 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(escape_split_across_reads)
{
	struct console_escape st = { 0 };
	u8 out[64];
	bool quit;

	ck_assert_uint_eq(filter(&st, "a\x01", out, &quit), 1);
	ck_assert(!quit);
	ck_assert_uint_eq(filter(&st, "x", out, &quit), 0);
	ck_assert(quit);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, plain_bytes_pass);
	tcase_add_test(tc, ctrl_a_x_quits_and_drops_the_rest);
	tcase_add_test(tc, ctrl_a_ctrl_a_sends_one);
	tcase_add_test(tc, ctrl_a_other_sends_both);
	tcase_add_test(tc, escape_split_across_reads);
	suite_add_tcase(s, tc);
	return check_run(s);
}
