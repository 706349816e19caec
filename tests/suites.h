/*
 * suites.h -- every Check suite the test runner (bxkd-tests.c) knows.
 */
#ifndef BXKD_TEST_SUITES_H
#define BXKD_TEST_SUITES_H

#include <check.h>

/* Unit suites: no Bochs, milliseconds. */
Suite *vmport_suite(void);
Suite *config_suite(void);
Suite *guestrpc_suite(void);
Suite *kdcom_suite(void);
Suite *kdcom_lossy_suite(void);
Suite *format_suite(void);
Suite *bxh_suite(void);

/* Integration suites: boot Debian's Bochs through the harness. */
Suite *boot_suite(void);

#endif /* BXKD_TEST_SUITES_H */
