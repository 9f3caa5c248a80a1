/* unit: the main() every Check suite shares; prints the runner's "N passed, N failed" line. */
#ifndef L2LB_TEST_UNIT_H
#define L2LB_TEST_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs the suite built by make_suite() and exits non-zero on any failure. */
#define UNIT_MAIN(make_suite)                                           \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr = srunner_create(make_suite());             \
		srunner_run_all(sr, CK_NORMAL);                         \
		int run = srunner_ntests_run(sr);                       \
		int failed = srunner_ntests_failed(sr);                 \
		srunner_free(sr);                                       \
		printf("%d passed, %d failed\n", run - failed, failed); \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;       \
	}

#endif
