/* Streaming text search over console output (--stop-on). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/watch.h"

static void count_fire(void *opaque)
{
	(*(int *)opaque)++;
}

/* Feeds s one byte at a time; returns how many bytes were fed when it fired (0: never). */
static size_t feed(struct watch *w, const char *s, const int *fired)
{
	for (size_t i = 0; s[i]; i++) {
		watch_byte(w, (u8)s[i]);
		if (*fired)
			return i + 1;
	}
	return 0;
}

START_TEST(finds_text_once)
{
	struct watch w;
	int fired = 0;

	ck_assert_int_eq(watch_init(&w, "login:", count_fire, &fired), 0);
	ck_assert_uint_eq(feed(&w, "Welcome\r\nbox login: root\r\n", &fired), 26);
	feed(&w, "login: login:", &fired);
	ck_assert_int_eq(fired, 1);
	watch_destroy(&w);
}
END_TEST

START_TEST(overlapping_prefixes)
{
	struct watch w;
	int fired = 0;

	/* A naive matcher that restarts after a mismatch misses this one. */
	ck_assert_int_eq(watch_init(&w, "aab", count_fire, &fired), 0);
	ck_assert_uint_eq(feed(&w, "aaab\n", &fired), 5);
	watch_destroy(&w);

	fired = 0;
	ck_assert_int_eq(watch_init(&w, "abab", count_fire, &fired), 0);
	ck_assert_uint_eq(feed(&w, "abaabab\n", &fired), 8);
	watch_destroy(&w);
}
END_TEST

START_TEST(no_match_no_fire)
{
	struct watch w;
	int fired = 0;

	ck_assert_int_eq(watch_init(&w, "reboot: Power down", count_fire, &fired), 0);
	ck_assert_uint_eq(feed(&w, "reboot: Power dow\n", &fired), 0);
	ck_assert_int_eq(fired, 0);
	watch_destroy(&w);
}
END_TEST

START_TEST(rejects_empty_text)
{
	struct watch w;

	ck_assert_int_eq(watch_init(&w, "", NULL, NULL), -EINVAL);
	ck_assert_int_eq(watch_init(&w, NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(binary_bytes)
{
	struct watch w;
	int fired = 0;

	ck_assert_int_eq(watch_init(&w, "\xff\xfe", count_fire, &fired), 0);
	watch_byte(&w, 0xff);
	watch_byte(&w, 0xff);
	ck_assert_int_eq(fired, 0);
	watch_byte(&w, 0xfe);
	ck_assert_int_eq(fired, 0);	/* not before the line ends */
	watch_byte(&w, 'x');
	watch_byte(&w, '\n');
	ck_assert_int_eq(fired, 1);
	watch_destroy(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("kmp");

	tcase_add_test(tc, finds_text_once);
	tcase_add_test(tc, overlapping_prefixes);
	tcase_add_test(tc, no_match_no_fire);
	tcase_add_test(tc, rejects_empty_text);
	tcase_add_test(tc, binary_bytes);
	suite_add_tcase(s, tc);
	return check_run(s);
}
