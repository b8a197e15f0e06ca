/* What the TSI boot tests' guest (tsiguest.c, tsilisten.c, tsiudp.c) and
 * host (tsi_host.c) sides share: the ports on the host's 127.0.0.1 and the
 * sizes. The bytes and their sums are vsock_data.h's. */
#ifndef KRUN_TESTS_BOOT_TSI_TEST_H
#define KRUN_TESTS_BOOT_TSI_TEST_H

#define TSI_TEST_SERVER_PORT 7301 /* the host's server: GET and ECHO */
#define TSI_TEST_CLOSED_PORT 7302 /* nothing listens there on the host */
#define TSI_TEST_LOCAL_PORT 7303  /* the guest listens there; so does the host, to see a leak */
#define TSI_TEST_SINK_PORT 7304  /* the host listens there and never accepts (tsihostile) */
#define TSI_TEST_FETCH (64u << 20) /* sized for the TCG test host */
#define TSI_TEST_ECHO (1u << 20)
/* tsi-listen: the guest's server on GUEST_PORT, published as HOST_PORT
 * ("HOST_PORT:GUEST_PORT" in the port map); a guest listener on
 * UNMAPPED_PORT, which the host must not see; CLIENTS host clients at once */
#define TSI_TEST_GUEST_PORT 7310
#define TSI_TEST_HOST_PORT 7410
#define TSI_TEST_UNMAPPED_PORT 7311
#ifndef TSI_TEST_CLIENTS /* a bench build may ask for more */
#define TSI_TEST_CLIENTS 50
#endif
/* tsi-udp: the host's echo on UDP_ECHO_PORT; the guest's socket bound to
 * UDP_GUEST_PORT, published as UDP_HOST_PORT ("H:G/udp") */
#define TSI_TEST_UDP_ECHO_PORT 7320
#define TSI_TEST_UDP_GUEST_PORT 7321
#define TSI_TEST_UDP_HOST_PORT 7421
#define TSI_TEST_SEED_HOST 7
#define TSI_TEST_SEED_GUEST 11

#endif
