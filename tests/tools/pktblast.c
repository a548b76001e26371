/* pktblast: sends minimum-size Ethernet frames as fast as it can, for the
 * data-path benchmark (bench/datapath.sh).
 *
 *   pktblast IFNAME DST_MAC SECONDS
 *
 * Raw AF_PACKET, qdisc bypass, sendmmsg batches: on a veth the bridge and
 * nftables run in the sender's context, so the rate reflects what each
 * frame costs on the bridge path. Prints frames sent per second. */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mac.h"

#define BATCH 64
#define FRAME 60 /* + 4 bytes FCS on the wire = 64 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_socket(const char *ifname, struct sockaddr_ll *sll, uint8_t src[6])
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;
	struct ifreq ifr = { 0 };

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	memcpy(src, ifr.ifr_hwaddr.sa_data, 6);
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_ifindex = (int)if_nametoindex(ifname);
	sll->sll_halen = 6;
	return sll->sll_ifindex ? fd : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll;
	struct mac dst;
	uint8_t frame[FRAME] = { 0 }, src[6];
	struct mmsghdr msgs[BATCH];
	struct iovec iov = { frame, sizeof(frame) };
	unsigned long long sent = 0;
	double secs, start;
	int fd;

	if (argc != 4 || mac_parse(argv[2], &dst) < 0 || (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: pktblast IFNAME DST_MAC SECONDS\n");
		return 2;
	}
	fd = open_socket(argv[1], &sll, src);
	if (fd < 0) {
		perror("pktblast");
		return 1;
	}
	memcpy(frame, dst.b, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x88; /* local experimental ethertype: nothing answers it */
	frame[13] = 0xb5;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
	}
	start = now_s();
	while (now_s() - start < secs) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned long long)n;
	}
	printf("%.0f\n", (double)sent / (now_s() - start));
	close(fd);
	return 0;
}
