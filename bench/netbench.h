/* The protocol between bench/netbench.c (in the guest, the client) and
 * bench/netbench_host.c (on the host, the server) that bench/net.sh runs.
 * Every connection opens with a header: one operation byte and a 64-bit
 * big-endian count.
 *   'W' count bytes follow from the guest; the host answers one byte once
 *       it has them all (guest to host throughput).
 *   'R' the host sends count bytes; the guest answers one byte once it
 *       has them all (host to guest throughput).
 *   'P' count round trips: the guest sends one byte, the host sends it
 *       back (request latency).
 *   'C' the host answers one byte, then closes the next count connections
 *       as soon as it accepts them (connect+close latency). */
#ifndef NETBENCH_H
#define NETBENCH_H

#define NETBENCH_PORT 5201
#define NETBENCH_HEADER 9
/* the most one 'W' or 'R' may move: 16 GiB */
#define NETBENCH_MAX_BYTES (16ull << 30)

#endif
