/*
 * Unit tests for config: size and number parsing, every command and option,
 * and the one-line errors for bad command lines.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "trapeze/config.h"
#include "trapeze/guest_mem.h"

/* Parses a NULL-terminated list of words as a command line after "trapeze". */
#define PARSE(cfg, err, ...)                                                  \
	({                                                                    \
		char *argv_[] = { "trapeze", __VA_ARGS__, NULL };             \
		config_parse((cfg), (int)ARRAY_SIZE(argv_) - 1, argv_, (err), \
			     CONFIG_ERR_LEN);                                 \
	})

/* The parse must fail with -EINVAL and an error containing want. */
#define ASSERT_PARSE_ERROR(want, ...)                                         \
	do {                                                                  \
		struct vm_config cfg_;                                        \
		char err_[CONFIG_ERR_LEN] = "";                               \
		ck_assert_int_eq(PARSE(&cfg_, err_, __VA_ARGS__), -EINVAL);   \
		ck_assert_msg(strstr(err_, (want)) != NULL,                   \
			      "error '%s' lacks '%s'", err_, (want));         \
		ck_assert_ptr_null(strchr(err_, '\n'));                       \
	} while (0)

static u64 size_ok(const char *s)
{
	u64 v = 0xdeadbeef;

	ck_assert_msg(config_parse_size(s, &v) == 0, "size '%s' refused", s);
	return v;
}

static void size_bad(const char *s)
{
	u64 v = 0x1234;

	ck_assert_msg(config_parse_size(s, &v) == -EINVAL, "size '%s' accepted", s);
	ck_assert_uint_eq(v, 0x1234);
}

START_TEST(test_size_good)
{
	ck_assert_uint_eq(size_ok("512M"), 512ULL << 20);
	ck_assert_uint_eq(size_ok("2G"), 2ULL << 30);
	ck_assert_uint_eq(size_ok("4096"), 4096);
	ck_assert_uint_eq(size_ok("1k"), 1024);
	ck_assert_uint_eq(size_ok("1K"), 1024);
	ck_assert_uint_eq(size_ok("256m"), 256ULL << 20);
	ck_assert_uint_eq(size_ok("3g"), 3ULL << 30);
	ck_assert_uint_eq(size_ok("1T"), 1ULL << 40);
	ck_assert_uint_eq(size_ok("0"), 0);
	ck_assert_uint_eq(size_ok("4096B"), 4096);
	ck_assert_uint_eq(size_ok("512MB"), 512ULL << 20);
	ck_assert_uint_eq(size_ok("512MiB"), 512ULL << 20);
	ck_assert_uint_eq(size_ok("2gib"), 2ULL << 30);
	ck_assert_uint_eq(size_ok("0010M"), 10ULL << 20);
	ck_assert_uint_eq(size_ok("18446744073709551615"), UINT64_MAX);
	ck_assert_uint_eq(size_ok("16777215T"), 16777215ULL << 40);
	ck_assert_uint_eq(size_ok("18014398509481983K"), 18014398509481983ULL << 10);
}
END_TEST

START_TEST(test_size_bad)
{
	size_bad("");
	size_bad("M");
	size_bad("-1");
	size_bad("+1");
	size_bad(" 1");
	size_bad("1 ");
	size_bad("12X");
	size_bad("1MM");
	size_bad("1MBB");
	size_bad("1Mi");
	size_bad("4096iB");
	size_bad("1.5G");
	size_bad("0x1000");
	size_bad("0x");
	size_bad("99999999999999999999");
	size_bad("18446744073709551616");
	size_bad("20000000000G");
	size_bad("16777216T");
	size_bad("18014398509481984K");
	size_bad("17179869184G");
	ck_assert_int_eq(config_parse_size(NULL, &(u64){ 0 }), -EINVAL);
}
END_TEST

START_TEST(test_u64)
{
	u64 v = 0;

	ck_assert_int_eq(config_parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(config_parse_u64("12345", &v), 0);
	ck_assert_uint_eq(v, 12345);
	ck_assert_int_eq(config_parse_u64("0x7c00", &v), 0);
	ck_assert_uint_eq(v, 0x7c00);
	ck_assert_int_eq(config_parse_u64("0XABCdef", &v), 0);
	ck_assert_uint_eq(v, 0xabcdef);
	ck_assert_int_eq(config_parse_u64("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(config_parse_u64("0xffffffffffffffff", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);

	v = 42;
	ck_assert_int_eq(config_parse_u64("", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("0x", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("-1", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64(" 1", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("1 ", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("12a", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("0xg", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("0x1g", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("18446744073709551616", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("0x10000000000000000", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64("4K", &v), -EINVAL);
	ck_assert_int_eq(config_parse_u64(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, 42);
}
END_TEST

START_TEST(test_top_level_commands)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	ck_assert_int_eq(PARSE(&cfg, err, "--version"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_VERSION);
	ck_assert_int_eq(PARSE(&cfg, err, "-V"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_VERSION);
	ck_assert_int_eq(PARSE(&cfg, err, "--help"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_HELP);
	ck_assert_int_eq(PARSE(&cfg, err, "-h"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_HELP);
	ck_assert_int_eq(PARSE(&cfg, err, "info"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_INFO);
}
END_TEST

START_TEST(test_top_level_errors)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	char *argv[] = { "trapeze", NULL };

	ck_assert_int_eq(config_parse(&cfg, 1, argv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no command given; try 'trapeze --help'");
	ck_assert_int_eq(config_parse(&cfg, 0, argv, err, sizeof(err)), -EINVAL);

	ASSERT_PARSE_ERROR("unknown command 'boot'", "boot");
	ASSERT_PARSE_ERROR("unknown option '--foo'", "--foo");
	ASSERT_PARSE_ERROR("unknown option '-x'", "-x");
	ASSERT_PARSE_ERROR("info", "info", "extra");
	ASSERT_PARSE_ERROR("extra", "--version", "extra");
	ASSERT_PARSE_ERROR("run", "--help", "run");
}
END_TEST

START_TEST(test_run_defaults)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN] = "";

	ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "guest.elf"), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(cfg.command, CONFIG_CMD_RUN);
	ck_assert_str_eq(cfg.kernel, "guest.elf");
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_ptr_null(cfg.cmdline);
	ck_assert_uint_eq(cfg.ram_size, CONFIG_DEFAULT_RAM);
	ck_assert_uint_eq(cfg.nr_cpus, CONFIG_DEFAULT_CPUS);
	ck_assert(!cfg.flat);
	ck_assert_uint_eq(cfg.flat_addr, 0);
	ck_assert_uint_eq(cfg.timeout_s, 0);
}
END_TEST

START_TEST(test_run_short_options)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "bzImage", "-m", "2G", "-c",
			       "4", "-i", "initrd.img", "-p", "console=ttyS0 quiet"),
			 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_RUN);
	ck_assert_str_eq(cfg.kernel, "bzImage");
	ck_assert_uint_eq(cfg.ram_size, 2ULL << 30);
	ck_assert_uint_eq(cfg.nr_cpus, 4);
	ck_assert_str_eq(cfg.initrd, "initrd.img");
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");

	/* Attached arguments. */
	ck_assert_int_eq(PARSE(&cfg, err, "run", "-kfw.bin", "-m512M", "-c2"), 0);
	ck_assert_str_eq(cfg.kernel, "fw.bin");
	ck_assert_uint_eq(cfg.ram_size, 512ULL << 20);
	ck_assert_uint_eq(cfg.nr_cpus, 2);
}
END_TEST

START_TEST(test_run_long_options)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "boot.bin", "--memory",
			       "64M", "--cpus", "255", "--initrd", "rd",
			       "--cmdline", "", "--flat", "0x7c00", "--timeout",
			       "30"),
			 0);
	ck_assert_str_eq(cfg.kernel, "boot.bin");
	ck_assert_uint_eq(cfg.ram_size, 64ULL << 20);
	ck_assert_uint_eq(cfg.nr_cpus, 255);
	ck_assert_str_eq(cfg.initrd, "rd");
	ck_assert_str_eq(cfg.cmdline, "");
	ck_assert(cfg.flat);
	ck_assert_uint_eq(cfg.flat_addr, 0x7c00);
	ck_assert_uint_eq(cfg.timeout_s, 30);

	/* --opt=value form, decimal flat address, the timeout bounds. */
	ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel=k", "--flat=4096",
			       "--timeout=86400", "--memory=1T"),
			 0);
	ck_assert_str_eq(cfg.kernel, "k");
	ck_assert(cfg.flat);
	ck_assert_uint_eq(cfg.flat_addr, 4096);
	ck_assert_uint_eq(cfg.timeout_s, 86400);
	ck_assert_uint_eq(cfg.ram_size, GUEST_MEM_MAX_SIZE);
	ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "k", "--timeout", "0"), 0);
	ck_assert_uint_eq(cfg.timeout_s, 0);

	/* A later option overrides an earlier one. */
	ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "a", "-k", "b", "-m", "1G",
			       "-m", "4096"),
			 0);
	ck_assert_str_eq(cfg.kernel, "b");
	ck_assert_uint_eq(cfg.ram_size, 4096);
}
END_TEST

START_TEST(test_run_help)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];

	ck_assert_int_eq(PARSE(&cfg, err, "run", "--help"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_RUN_HELP);
	ck_assert_int_eq(PARSE(&cfg, err, "run", "-h"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_RUN_HELP);
	/* Help needs no kernel and wins over the options around it. */
	ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "x", "-h", "-m", "12X"), 0);
	ck_assert_int_eq(cfg.command, CONFIG_CMD_RUN_HELP);
}
END_TEST

START_TEST(test_run_errors)
{
	ASSERT_PARSE_ERROR("run: no kernel given (-k FILE)", "run");
	ASSERT_PARSE_ERROR("run: no kernel given (-k FILE)", "run", "-m", "1G");
	ASSERT_PARSE_ERROR("run: bad memory size '12X' (use e.g. 512M, 2G)", "run",
			   "-k", "k", "-m", "12X");
	ASSERT_PARSE_ERROR("memory", "run", "-k", "k", "-m", "0");
	ASSERT_PARSE_ERROR("multiple of 4 KiB", "run", "-k", "k", "-m", "1000");
	ASSERT_PARSE_ERROR("multiple of 4 KiB", "run", "-k", "k", "-m", "1k");
	ASSERT_PARSE_ERROR("maximum", "run", "-k", "k", "-m", "2T");
	ASSERT_PARSE_ERROR("bad memory size", "run", "-k", "k", "-m",
			   "20000000000G");
	ASSERT_PARSE_ERROR("bad cpu count '0'", "run", "-k", "k", "-c", "0");
	ASSERT_PARSE_ERROR("bad cpu count '256'", "run", "-k", "k", "-c", "256");
	ASSERT_PARSE_ERROR("bad cpu count 'two'", "run", "-k", "k", "-c", "two");
	ASSERT_PARSE_ERROR("bad timeout '86401'", "run", "-k", "k", "--timeout",
			   "86401");
	ASSERT_PARSE_ERROR("bad timeout '-1'", "run", "-k", "k", "--timeout=-1");
	ASSERT_PARSE_ERROR("bad --flat address 'x'", "run", "-k", "k", "--flat", "x");
	ASSERT_PARSE_ERROR("empty kernel path", "run", "-k", "");
	ASSERT_PARSE_ERROR("unknown option '--foo'", "run", "-k", "k", "--foo");
	ASSERT_PARSE_ERROR("unknown option '--foo'", "run", "--foo=1", "-k", "k");
	ASSERT_PARSE_ERROR("unknown option '-z'", "run", "-k", "k", "-z");
	ASSERT_PARSE_ERROR("option '--help' takes no argument", "run", "--help=1");
	ASSERT_PARSE_ERROR("option '-k' needs an argument", "run", "-k");
	ASSERT_PARSE_ERROR("option '--memory' needs an argument", "run", "-k", "k",
			   "--memory");
	ASSERT_PARSE_ERROR("option '--timeout' needs an argument", "run", "-k",
			   "k", "--timeout");
	ASSERT_PARSE_ERROR("unexpected argument 'guest.elf'", "run", "guest.elf");
	ASSERT_PARSE_ERROR("unexpected argument 'extra'", "run", "-k", "k",
			   "extra", "-m", "1G");
	ASSERT_PARSE_ERROR("unexpected argument 'extra'", "run", "-k", "k", "--",
			   "extra");
}
END_TEST

START_TEST(test_parse_is_repeatable)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	int i;

	/* getopt state is reset on every call: a failed parse leaves no trace. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(PARSE(&cfg, err, "run", "-k", "a", "-z"), -EINVAL);
		ck_assert_int_eq(PARSE(&cfg, err, "run", "-m", "8M", "-k", "b"), 0);
		ck_assert_str_eq(cfg.kernel, "b");
		ck_assert_uint_eq(cfg.ram_size, 8ULL << 20);
		ck_assert_int_eq(PARSE(&cfg, err, "run", "-k"), -EINVAL);
		ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "c"), 0);
		ck_assert_str_eq(cfg.kernel, "c");
		/* Defaults come back on every call. */
		ck_assert_uint_eq(cfg.ram_size, CONFIG_DEFAULT_RAM);
	}
}
END_TEST

START_TEST(test_err_may_be_small)
{
	struct vm_config cfg;
	char err[8];
	char *argv[] = { "trapeze", "run", NULL };

	/* The message is cut to fit, never overflowing the buffer. */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(config_parse(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "run: no");
	ck_assert_int_eq(config_parse(&cfg, 2, argv, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_usage_texts)
{
	const char *top = config_usage();
	const char *run = config_run_usage();
	static const char *const run_words[] = {
		"--kernel", "--memory", "--cpus", "--initrd", "--cmdline",
		"--flat", "--timeout", "--help",
		"-k,", "-m,", "-c,", "-i,", "-p,", "-h,",
		"Ctrl-A x", "Ctrl-A Ctrl-A",
		"(V<<1)|1", "0xf4",
	};
	/* Exit statuses as in status.h, each at the start of its own line. */
	static const char *const statuses[] = {
		"\n  0 ", "\n  2 ", "\n  4 ", "\n  6 ", "\n  8 ", "\n  10 ",
		"\n  64 ", "\n  70 ",
	};
	size_t i;

	ck_assert_ptr_nonnull(strstr(top, "run"));
	ck_assert_ptr_nonnull(strstr(top, "info"));
	ck_assert_ptr_nonnull(strstr(top, "--version"));
	ck_assert_ptr_nonnull(strstr(top, "--help"));
	for (i = 0; i < ARRAY_SIZE(run_words); i++)
		ck_assert_msg(strstr(run, run_words[i]), "run help lacks '%s'",
			      run_words[i]);
	for (i = 0; i < ARRAY_SIZE(statuses); i++)
		ck_assert_msg(strstr(run, statuses[i]), "run help lacks status%s",
			      statuses[i]);
	ck_assert_ptr_nonnull(strstr(run, "reboot"));
	ck_assert_ptr_nonnull(strstr(run, "triple fault"));
	ck_assert_ptr_nonnull(strstr(run, "register"));
	ck_assert_ptr_nonnull(strstr(run, "timeout"));
	ck_assert_ptr_nonnull(strstr(run, "signal"));
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_size_good);
	tcase_add_test(tc, test_size_bad);
	tcase_add_test(tc, test_u64);
	tcase_add_test(tc, test_top_level_commands);
	tcase_add_test(tc, test_top_level_errors);
	tcase_add_test(tc, test_run_defaults);
	tcase_add_test(tc, test_run_short_options);
	tcase_add_test(tc, test_run_long_options);
	tcase_add_test(tc, test_run_help);
	tcase_add_test(tc, test_run_errors);
	tcase_add_test(tc, test_parse_is_repeatable);
	tcase_add_test(tc, test_err_may_be_small);
	tcase_add_test(tc, test_usage_texts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(config_suite());
}
