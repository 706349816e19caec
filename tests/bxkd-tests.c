/*
 * bxkd-tests -- runs every test suite in one Check runner, so `make check`
 * ends with Check's own summary line.
 *
 * Select suites or cases with Check's CK_RUN_SUITE / CK_RUN_CASE, verbosity
 * with CK_VERBOSITY. A run in which no test executes is a failure.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *runner = srunner_create(vmport_suite());

	srunner_add_suite(runner, config_suite());
	srunner_add_suite(runner, guestrpc_suite());
	srunner_add_suite(runner, kdcom_suite());
	srunner_add_suite(runner, kdcom_lossy_suite());
	srunner_add_suite(runner, kdtrace_suite());
	srunner_add_suite(runner, format_suite());
	srunner_add_suite(runner, bxh_suite());
	srunner_add_suite(runner, kdvm_host_suite());
	srunner_add_suite(runner, kdvm_guest_suite());
	srunner_add_suite(runner, kdser_suite());
	srunner_add_suite(runner, kdstub_suite());
	srunner_add_suite(runner, kdvm_dll_suite());
	srunner_add_suite(runner, pe_image_suite());
	srunner_add_suite(runner, session_format_suite());
	srunner_add_suite(runner, names_suite());
	srunner_add_suite(runner, kdstatus_suite());
	srunner_add_suite(runner, boot_suite());
	srunner_add_suite(runner, tap_suite());
	srunner_add_suite(runner, kdtools_suite());
	srunner_add_suite(runner, kdfaults_suite());
	srunner_add_suite(runner, bridge_suite());
	srunner_add_suite(runner, kdvm_suite());
	srunner_add_suite(runner, session_suite());
	srunner_add_suite(runner, launcher_suite());
	srunner_add_suite(runner, bochs_debugger_suite());
	srunner_add_suite(runner, install_suite());
	srunner_add_suite(runner, manpages_suite());
	srunner_add_suite(runner, replay_tools_suite());
	srunner_add_suite(runner, replay_serve_suite());
	srunner_add_suite(runner, golden_suite());
	srunner_add_suite(runner, fastpath_suite());

	srunner_run_all(runner, CK_ENV);
	int ran = srunner_ntests_run(runner);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);

	if (ran == 0) {
		fprintf(stderr, "bxkd-tests: no test ran (check CK_RUN_SUITE / CK_RUN_CASE)\n");
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
