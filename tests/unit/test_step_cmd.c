/*
 * Unit tests for the --step command language (every command, aliases,
 * numbers, limits, comments and errors) and for the --step, --step-script
 * and --gdb options (parsing, implications, conflicts, the listen address).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/config.h"
#include "trapeze/debug/gdbstub.h"
#include "trapeze/debug/step_cmd.h"

static struct step_cmd c;
static char err[160];

static int parse(const char *line)
{
	return step_cmd_parse(line, &c, err, sizeof(err));
}

START_TEST(test_blank_and_comments)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_NONE);
	ck_assert_int_eq(parse("   \t\r\n"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_NONE);
	ck_assert_int_eq(parse("# look at the registers first"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_NONE);
	/* A comment after a command. */
	ck_assert_int_eq(parse("regs # then go on"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_REGS);
}
END_TEST

START_TEST(test_words_and_aliases)
{
	static const struct { const char *line; enum step_cmd_kind kind; } t[] = {
		{ "c", STEP_CMD_CONTINUE }, { "continue", STEP_CMD_CONTINUE },
		{ "n", STEP_CMD_NEXT }, { "next", STEP_CMD_NEXT },
		{ "s", STEP_CMD_STEPI }, { "si", STEP_CMD_STEPI }, { "stepi", STEP_CMD_STEPI },
		{ "r", STEP_CMD_REGS }, { "regs", STEP_CMD_REGS },
		{ "sr", STEP_CMD_SREGS }, { "sregs", STEP_CMD_SREGS },
		{ "exit", STEP_CMD_EXIT },
		{ "h", STEP_CMD_HELP }, { "help", STEP_CMD_HELP }, { "?", STEP_CMD_HELP },
		{ "q", STEP_CMD_QUIT }, { "quit", STEP_CMD_QUIT },
		{ "  c\n", STEP_CMD_CONTINUE }, { "regs\r\n", STEP_CMD_REGS },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(parse(t[i].line) == 0, "'%s': %s", t[i].line, err);
		ck_assert_msg(c.kind == t[i].kind, "'%s' parsed as %d", t[i].line, c.kind);
	}
}
END_TEST

START_TEST(test_stepi_count)
{
	ck_assert_int_eq(parse("s"), 0);
	ck_assert_uint_eq(c.count, 1);
	ck_assert_int_eq(parse("stepi 10"), 0);
	ck_assert_uint_eq(c.count, 10);
	ck_assert_int_eq(parse("s 0x20"), 0);
	ck_assert_uint_eq(c.count, 32);
	ck_assert_int_eq(parse("s 0"), -EINVAL);
	ck_assert_str_eq(err, "stepi: N must be 1 to 1000000");
	ck_assert_int_eq(parse("s 1000001"), -EINVAL);
	ck_assert_int_eq(parse("s 1000000"), 0);
	ck_assert_int_eq(parse("s many"), -EINVAL);
	ck_assert_str_eq(err, "stepi: bad count 'many' (decimal or 0x hex)");
	ck_assert_int_eq(parse("s 1 2"), -EINVAL);
	ck_assert_str_eq(err, "stepi: too many arguments");
}
END_TEST

START_TEST(test_memory_dumps)
{
	ck_assert_int_eq(parse("x 0x100000"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_PHYS);
	ck_assert_uint_eq(c.addr, 0x100000);
	ck_assert_uint_eq(c.len, STEP_DUMP_DEFAULT);
	ck_assert_int_eq(parse("x 4096 16"), 0);
	ck_assert_uint_eq(c.addr, 4096);
	ck_assert_uint_eq(c.len, 16);
	ck_assert_int_eq(parse("xv 0xffffffff81000000 0x100"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_VIRT);
	ck_assert_uint_eq(c.addr, 0xffffffff81000000ull);
	ck_assert_uint_eq(c.len, 256);
	ck_assert_int_eq(parse("x 0 4096"), 0);
	ck_assert_int_eq(parse("x 0 4097"), -EINVAL);
	ck_assert_str_eq(err, "x: LEN must be 1 to 4096");
	ck_assert_int_eq(parse("xv 0 0"), -EINVAL);
	ck_assert_str_eq(err, "xv: LEN must be 1 to 4096");
	ck_assert_int_eq(parse("x"), -EINVAL);
	ck_assert_str_eq(err, "x: missing argument (try help)");
	ck_assert_int_eq(parse("x zz"), -EINVAL);
	ck_assert_str_eq(err, "x: bad address 'zz' (decimal or 0x hex)");
	ck_assert_int_eq(parse("x 1 2 3"), -EINVAL);
	ck_assert_str_eq(err, "x: too many arguments");
	/* 2^64 does not fit. */
	ck_assert_int_eq(parse("x 0x10000000000000000"), -EINVAL);
}
END_TEST

START_TEST(test_addresses)
{
	ck_assert_int_eq(parse("tr 0x7f8080201abc"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_TRANSLATE);
	ck_assert_uint_eq(c.addr, 0x7f8080201abcull);
	ck_assert_int_eq(parse("walk 0xffffffffffffffff"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_WALK);
	ck_assert_uint_eq(c.addr, UINT64_MAX);
	ck_assert_int_eq(parse("dev 0x3f8"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_DEV);
	ck_assert_uint_eq(c.addr, 0x3f8);
	ck_assert_int_eq(parse("walk"), -EINVAL);
	ck_assert_int_eq(parse("tr -1"), -EINVAL);
	ck_assert_int_eq(parse("dev 3f8"), -EINVAL);	/* hex needs 0x */
}
END_TEST

START_TEST(test_cpu)
{
	ck_assert_int_eq(parse("cpu 1"), 0);
	ck_assert_int_eq(c.kind, STEP_CMD_CPU);
	ck_assert_uint_eq(c.addr, 1);
	ck_assert_int_eq(parse("cpu 254"), 0);
	ck_assert_int_eq(parse("cpu 255"), -EINVAL);
	ck_assert_str_eq(err, "cpu: no vCPU 255");
	ck_assert_int_eq(parse("cpu"), -EINVAL);
}
END_TEST

START_TEST(test_errors)
{
	char long_line[STEP_LINE_MAX + 10];

	ck_assert_int_eq(parse("bogus"), -EINVAL);
	ck_assert_str_eq(err, "unknown command 'bogus' (try help)");
	ck_assert_int_eq(parse("C"), -EINVAL);	/* case matters */
	ck_assert_int_eq(parse("regs now"), -EINVAL);
	ck_assert_str_eq(err, "regs takes no arguments");
	ck_assert_int_eq(parse("c 5"), -EINVAL);
	ck_assert_str_eq(err, "continue takes no arguments");
	ck_assert_int_eq(parse("x 1 2 3 4 5"), -EINVAL);
	ck_assert_str_eq(err, "too many arguments");
	memset(long_line, 'a', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	ck_assert_int_eq(parse(long_line), -EINVAL);
	ck_assert_str_eq(err, "line too long (at most 256 characters)");
	/* A failed parse leaves no half-filled command behind. */
	ck_assert_int_eq(c.kind, STEP_CMD_NONE);
}
END_TEST

START_TEST(test_help_lists_every_command)
{
	const char *h = step_cmd_help();
	static const char *const words[] = {
		"continue", "next", "stepi", "regs", "sregs", "x ADDR", "xv VADDR", "tr VADDR",
		"walk VADDR", "dev PORT|ADDR", "cpu N", "exit", "help", "quit",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_msg(strstr(h, words[i]) != NULL, "help lacks %s", words[i]);
}
END_TEST

/* ---- the options ---------------------------------------------------------- */

static struct vm_config cfg;

static int run_args(int n, ...)
{
	char *argv[16] = { "trapeze", "run", "-k", "guest.elf" };
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[4 + i] = va_arg(ap, char *);
	va_end(ap);
	return config_parse(&cfg, 4 + n, argv, err, sizeof(err));
}

START_TEST(test_option_step)
{
	ck_assert_int_eq(run_args(0), 0);
	ck_assert_ptr_null(cfg.step);
	ck_assert_ptr_null(cfg.gdb);
	ck_assert_int_eq(run_args(1, "--step"), 0);
	ck_assert_str_eq(cfg.step, "all");
	ck_assert_int_eq(run_args(1, "--step=io,dev=serial"), 0);
	ck_assert_str_eq(cfg.step, "io,dev=serial");
	ck_assert_int_eq(run_args(1, "--step=bogus"), -EINVAL);
	ck_assert_str_eq(err, "run: --step: unknown item 'bogus' (classes io, mmio, hlt, irq, debug, all; filter dev=NAME)");
	/* --step-script implies --step. */
	ck_assert_int_eq(run_args(2, "--step-script", "cmds.txt"), 0);
	ck_assert_str_eq(cfg.step, "all");
	ck_assert_str_eq(cfg.step_script, "cmds.txt");
	ck_assert_int_eq(run_args(3, "--step=mmio", "--step-script", "cmds.txt"), 0);
	ck_assert_str_eq(cfg.step, "mmio");
	ck_assert_int_eq(run_args(2, "--step-script", ""), -EINVAL);
	ck_assert_str_eq(err, "run: empty --step-script path");
}
END_TEST

START_TEST(test_option_gdb)
{
	ck_assert_int_eq(run_args(2, "--gdb", "1234"), 0);
	ck_assert_str_eq(cfg.gdb, "1234");
	ck_assert_int_eq(run_args(2, "--gdb", "unix:/tmp/trapeze.sock"), 0);
	ck_assert_str_eq(cfg.gdb, "unix:/tmp/trapeze.sock");
	ck_assert_int_eq(run_args(2, "--gdb", "65536"), -EINVAL);
	ck_assert_str_eq(err, "run: --gdb: bad port '65536' (0 to 65535, or unix:PATH)");
	ck_assert_int_eq(run_args(2, "--gdb", "localhost:1234"), -EINVAL);
	ck_assert_int_eq(run_args(2, "--gdb", "unix:"), -EINVAL);
	ck_assert_int_eq(run_args(1, "--gdb"), -EINVAL);
	ck_assert_str_eq(err, "run: option '--gdb' needs an argument");
	ck_assert_int_eq(run_args(3, "--gdb", "1234", "--step"), -EINVAL);
	ck_assert_str_eq(err, "run: --step and --gdb cannot be used together");
	ck_assert_int_eq(run_args(4, "--gdb", "1234", "--step-script", "x"), -EINVAL);
}
END_TEST

START_TEST(test_parse_listen)
{
	struct gdb_listen l;
	char path[200];

	ck_assert_int_eq(gdbstub_parse_listen("0", &l, err, sizeof(err)), 0);
	ck_assert(!l.is_unix);
	ck_assert_uint_eq(l.port, 0);
	ck_assert_int_eq(gdbstub_parse_listen("0x10", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.port, 16);
	ck_assert_int_eq(gdbstub_parse_listen("65535", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.port, 65535);
	ck_assert_int_eq(gdbstub_parse_listen("unix:/run/x", &l, err, sizeof(err)), 0);
	ck_assert(l.is_unix);
	ck_assert_str_eq(l.path, "/run/x");
	/* sun_path holds 107 characters and the NUL. */
	memset(path, 'p', sizeof(path));
	memcpy(path, "unix:", 5);
	path[5 + 107] = '\0';
	ck_assert_int_eq(gdbstub_parse_listen(path, &l, err, sizeof(err)), 0);
	path[5 + 107] = 'p';
	path[5 + 108] = '\0';
	ck_assert_int_eq(gdbstub_parse_listen(path, &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(gdbstub_parse_listen("", &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(gdbstub_parse_listen("-1", &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(gdbstub_parse_listen("12ab", &l, err, sizeof(err)), -EINVAL);
}
END_TEST

static Suite *step_cmd_suite(void)
{
	Suite *s = suite_create("step_cmd");
	TCase *tc = tcase_create("commands");

	tcase_add_test(tc, test_blank_and_comments);
	tcase_add_test(tc, test_words_and_aliases);
	tcase_add_test(tc, test_stepi_count);
	tcase_add_test(tc, test_memory_dumps);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_cpu);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_help_lists_every_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, test_option_step);
	tcase_add_test(tc, test_option_gdb);
	tcase_add_test(tc, test_parse_listen);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(step_cmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
