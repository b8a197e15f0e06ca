/* What the TSI boot test's guest (tsiguest.c) and host (tsi_host.c) sides
 * share: the ports on the host's 127.0.0.1 and the sizes. The bytes and
 * their sums are vsock_data.h's. */
#ifndef KRUN_TESTS_BOOT_TSI_TEST_H
#define KRUN_TESTS_BOOT_TSI_TEST_H

#define TSI_TEST_SERVER_PORT 7301 /* the host's server: GET and ECHO */
#define TSI_TEST_CLOSED_PORT 7302 /* nothing listens there on the host */
#define TSI_TEST_LOCAL_PORT 7303  /* the guest listens there; so does the host, to see a leak */
#define TSI_TEST_SINK_PORT 7304  /* the host listens there and never accepts (tsihostile) */
#define TSI_TEST_FETCH (64u << 20) /* sized for the TCG test host */
#define TSI_TEST_ECHO (1u << 20)
#define TSI_TEST_SEED_HOST 7
#define TSI_TEST_SEED_GUEST 11

#endif
