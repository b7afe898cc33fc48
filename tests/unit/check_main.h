/*
 * check_main: how every unit test binary (tests/unit/test_NAME.c, one
 * binary per module) runs its suite, so their main()s say only which suite.
 */
#ifndef TESTS_UNIT_CHECK_MAIN_H
#define TESTS_UNIT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/*
 * Runs every test of s with CK_NORMAL output and frees the runner (and s
 * with it). Returns main()'s exit status: EXIT_SUCCESS when no test failed.
 */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
