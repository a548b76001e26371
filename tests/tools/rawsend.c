/* rawsend: a hostile tenant's frames, and a receiver that counts them, for
 * the integration tests that attack a cut (tests/integration/22*.sh).
 *
 *   rawsend [-u] [-c COUNT] IFACE plain|vlan|qinq SRCMAC DSTMAC SRCIP DSTIP DPORT
 *       sends COUNT (default 3, 20 ms apart) TCP SYNs (-u: UDP datagrams)
 *       to DPORT, IPv4 or IPv6 as the addresses are written, built by hand
 *       and sent on an AF_PACKET socket, so nothing in the sender's stack
 *       (routes, neighbours, its own MAC) has a say. SRCMAC "-" = IFACE's
 *       own. vlan: one 802.1Q tag (VID 100); qinq: an 802.1ad tag (VID 100)
 *       over an 802.1Q tag (VID 200).
 *   rawsend listen [-u] [-v] IFACE DPORT SECONDS
 *       prints "ready" once its socket is bound, then after SECONDS (may be
 *       fractional) the number of frames that arrived on IFACE (not those it
 *       sent) carrying a TCP (-u: UDP) segment to DPORT over IPv4 or IPv6,
 *       behind any VLAN tags, whether the kernel left a tag in the frame
 *       or took the outer one into its metadata. -v: one line per frame on
 *       stderr.
 *   rawsend arp IFACE SRCIP TARGETIP SECONDS
 *       broadcasts an ARP request for TARGETIP (from IFACE's MAC and SRCIP)
 *       every 100 ms for SECONDS and prints "N MAC..." : the number of
 *       replies for TARGETIP and each distinct MAC that answered.
 *
 * Exit status: 0 done (whatever was counted), 1 socket errors, 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mac.h"

#define VID_OUTER 100
#define VID_INNER 200
#define SPORT 40025
#define MAX_FRAME 128

struct addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t b[16];
};

static int usage(void)
{
	fprintf(stderr,
		"usage: rawsend [-u] [-c COUNT] IFACE plain|vlan|qinq SRCMAC DSTMAC SRCIP DSTIP DPORT\n"
		"       rawsend listen [-u] [-v] IFACE DPORT SECONDS\n"
		"       rawsend arp IFACE SRCIP TARGETIP SECONDS\n");
	return 2;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, struct addr *a)
{
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Opens an AF_PACKET socket bound to IFACE (protocol ETH_P_ALL when
 * receiving, none when only sending); *ifindex and, if mac, IFACE's MAC. */
static int open_iface(const char *ifname, int receive, int *ifindex, uint8_t mac[6])
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr = { 0 };

	if (fd < 0) {
		perror("rawsend: socket(AF_PACKET)");
		return -1;
	}
	*ifindex = (int)if_nametoindex(ifname);
	if (*ifindex == 0) {
		fprintf(stderr, "rawsend: no interface %s\n", ifname);
		close(fd);
		return -1;
	}
	if (mac) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
			perror("rawsend: SIOCGIFHWADDR");
			close(fd);
			return -1;
		}
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	sll.sll_ifindex = *ifindex;
	sll.sll_protocol = receive ? htons(ETH_P_ALL) : 0;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("rawsend: bind");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_frame(int fd, int ifindex, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				   .sll_halen = 6 };

	memcpy(sll.sll_addr, frame, 6);
	if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len) {
		perror("rawsend: sendto");
		return -1;
	}
	return 0;
}

/* The frame: Ethernet, tags, IPv4/IPv6, TCP SYN or UDP "cordon!!". */
static size_t build(uint8_t *f, const char *mode, const uint8_t src[6], const uint8_t dst[6],
		    const struct addr *sip, const struct addr *dip, uint16_t dport, int udp,
		    uint32_t seq)
{
	size_t off = 12, l4len = udp ? 16 : 20, iplen;
	uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
	uint8_t *l4;
	uint32_t sum = 0;

	memset(f, 0, MAX_FRAME);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (strcmp(mode, "qinq") == 0) {
		put16(f + off, ETH_P_8021AD);
		put16(f + off + 2, VID_OUTER);
		put16(f + off + 4, ETH_P_8021Q);
		put16(f + off + 6, VID_INNER);
		off += 8;
	} else if (strcmp(mode, "vlan") == 0) {
		put16(f + off, ETH_P_8021Q);
		put16(f + off + 2, VID_OUTER);
		off += 4;
	}
	if (sip->family == AF_INET) {
		uint8_t *ip = f + off + 2;

		put16(f + off, ETH_P_IP);
		iplen = 20;
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(iplen + l4len));
		put16(ip + 4, (uint16_t)seq);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, sip->b, 4);
		memcpy(ip + 16, dip->b, 4);
		put16(ip + 10, fold(sum16(0, ip, iplen)));
		sum = sum16(sum, sip->b, 4);
		sum = sum16(sum, dip->b, 4);
	} else {
		uint8_t *ip = f + off + 2;

		put16(f + off, ETH_P_IPV6);
		iplen = 40;
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, sip->b, 16);
		memcpy(ip + 24, dip->b, 16);
		sum = sum16(sum, sip->b, 16);
		sum = sum16(sum, dip->b, 16);
	}
	sum += proto + (uint32_t)l4len;
	l4 = f + off + 2 + iplen;
	put16(l4, SPORT);
	put16(l4 + 2, dport);
	if (udp) {
		put16(l4 + 4, (uint16_t)l4len);
		memcpy(l4 + 8, "cordon!!", 8);
		put16(l4 + 6, fold(sum16(sum, l4, l4len)));
	} else {
		l4[4] = (uint8_t)(seq >> 24);
		l4[5] = (uint8_t)(seq >> 16);
		l4[6] = (uint8_t)(seq >> 8);
		l4[7] = (uint8_t)seq;
		l4[12] = 5 << 4; /* data offset: 5 words */
		l4[13] = 0x02;   /* SYN */
		put16(l4 + 14, 65535);
		put16(l4 + 16, fold(sum16(sum, l4, l4len)));
	}
	off += 2 + iplen + l4len;
	return off < 60 ? 60 : off;
}

static int run_send(int argc, char **argv)
{
	int udp = 0, count = 3, opt, fd, ifindex;
	uint8_t own[6], frame[MAX_FRAME];
	struct mac src, dst;
	struct addr sip, dip;
	uint16_t dport;
	const char *mode;

	while ((opt = getopt(argc, argv, "uc:")) != -1) {
		if (opt == 'u')
			udp = 1;
		else if (opt == 'c' && atoi(optarg) > 0)
			count = atoi(optarg);
		else
			return usage();
	}
	argv += optind;
	argc -= optind;
	if (argc != 7)
		return usage();
	mode = argv[1];
	if ((strcmp(mode, "plain") && strcmp(mode, "vlan") && strcmp(mode, "qinq")) ||
	    (strcmp(argv[2], "-") && mac_parse(argv[2], &src) < 0) ||
	    mac_parse(argv[3], &dst) < 0 || parse_addr(argv[4], &sip) < 0 ||
	    parse_addr(argv[5], &dip) < 0 || sip.family != dip.family ||
	    parse_port(argv[6], &dport) < 0)
		return usage();
	fd = open_iface(argv[0], 0, &ifindex, own);
	if (fd < 0)
		return 1;
	if (strcmp(argv[2], "-") == 0)
		memcpy(src.b, own, 6);
	srand((unsigned)getpid());
	for (int i = 0; i < count; i++) {
		size_t len = build(frame, mode, src.b, dst.b, &sip, &dip, dport, udp,
				   (uint32_t)rand());

		if (send_frame(fd, ifindex, frame, len) < 0)
			return 1;
		if (i + 1 < count)
			usleep(20000);
	}
	close(fd);
	return 0;
}

/* A received frame's transport protocol and destination port, behind any
 * number of VLAN tags; 0 if it is not IPv4/IPv6 TCP or UDP (or is a later
 * fragment). *tags: the tags still in the frame. */
static uint16_t frame_dport(const uint8_t *f, size_t len, uint8_t proto, int *tags)
{
	size_t off = 12;
	uint16_t type;

	*tags = 0;
	if (len < 14)
		return 0;
	type = get16(f + off);
	while ((type == ETH_P_8021Q || type == ETH_P_8021AD || type == 0x9100) &&
	       off + 6 <= len) {
		off += 4;
		(*tags)++;
		type = get16(f + off);
	}
	off += 2;
	if (type == ETH_P_IP && off + 20 <= len) {
		size_t ihl = (size_t)(f[off] & 0x0f) * 4;

		if (f[off + 9] != proto || (get16(f + off + 6) & 0x1fff) || ihl < 20)
			return 0;
		off += ihl;
	} else if (type == ETH_P_IPV6 && off + 40 <= len) {
		if (f[off + 6] != proto)
			return 0;
		off += 40;
	} else {
		return 0;
	}
	if (off + 4 > len)
		return 0;
	return get16(f + off + 2);
}

static int run_listen(int argc, char **argv)
{
	int udp = 0, verbose = 0, opt, fd, ifindex, one = 1;
	uint16_t dport;
	double secs, end;
	long count = 0;

	while ((opt = getopt(argc, argv, "uv")) != -1) {
		if (opt == 'u')
			udp = 1;
		else if (opt == 'v')
			verbose = 1;
		else
			return usage();
	}
	argv += optind;
	argc -= optind;
	if (argc != 3 || parse_port(argv[1], &dport) < 0 || (secs = atof(argv[2])) <= 0)
		return usage();
	fd = open_iface(argv[0], 1, &ifindex, NULL);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	printf("ready\n");
	fflush(stdout);
	end = now_s() + secs;
	for (;;) {
		double left = end - now_s();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t buf[2048];
		char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct sockaddr_ll from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		int tags, outer = 0;
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (frame_dport(buf, (size_t)n, udp ? IPPROTO_UDP : IPPROTO_TCP, &tags) != dport)
			continue;
		count++;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct tpacket_auxdata aux;

			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			outer = (aux.tp_status & TP_STATUS_VLAN_VALID) != 0;
			if (verbose && outer)
				fprintf(stderr, "rawsend listen: tag 0x%04x vid %u taken by the kernel\n",
					aux.tp_vlan_tpid ? aux.tp_vlan_tpid : ETH_P_8021Q,
					aux.tp_vlan_tci & 0xfff);
		}
		if (verbose)
			fprintf(stderr, "rawsend listen: %zd bytes from %02x:%02x:%02x:%02x:%02x:%02x, "
				"%d VLAN tag(s) (%d still in the frame), %s dport %u\n", n, buf[6],
				buf[7], buf[8], buf[9], buf[10], buf[11], tags + outer, tags,
				udp ? "udp" : "tcp", dport);
	}
	printf("%ld\n", count);
	close(fd);
	return 0;
}

static int run_arp(int argc, char **argv)
{
	uint8_t own[6], req[60] = { 0 }, macs[16][6];
	struct addr sip, tip;
	int fd, ifindex, nmacs = 0;
	long replies = 0;
	double secs, end, next = 0;

	if (argc != 5 || parse_addr(argv[2], &sip) < 0 || sip.family != AF_INET ||
	    parse_addr(argv[3], &tip) < 0 || tip.family != AF_INET ||
	    (secs = atof(argv[4])) <= 0)
		return usage();
	fd = open_iface(argv[1], 1, &ifindex, own);
	if (fd < 0)
		return 1;
	memset(req, 0xff, 6);
	memcpy(req + 6, own, 6);
	put16(req + 12, ETH_P_ARP);
	put16(req + 14, 1);        /* Ethernet */
	put16(req + 16, ETH_P_IP);
	req[18] = 6;
	req[19] = 4;
	put16(req + 20, 1);        /* request */
	memcpy(req + 22, own, 6);
	memcpy(req + 28, sip.b, 4);
	memcpy(req + 38, tip.b, 4);
	end = now_s() + secs;
	for (;;) {
		double t = now_s(), wait;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t buf[2048];
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (t >= end)
			break;
		if (t >= next) {
			if (send_frame(fd, ifindex, req, sizeof(req)) < 0)
				return 1;
			next = t + 0.1;
		}
		wait = (next < end ? next : end) - t;
		if (poll(&p, 1, (int)(wait * 1000) + 1) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 42 || from.sll_pkttype == PACKET_OUTGOING || get16(buf + 12) != ETH_P_ARP ||
		    get16(buf + 20) != 2 || memcmp(buf + 28, tip.b, 4) != 0)
			continue;
		replies++;
		int known = 0;
		for (int i = 0; i < nmacs; i++)
			known |= memcmp(macs[i], buf + 22, 6) == 0;
		if (!known && nmacs < 16)
			memcpy(macs[nmacs++], buf + 22, 6);
	}
	printf("%ld", replies);
	for (int i = 0; i < nmacs; i++) {
		char text[MAC_STRLEN];
		struct mac m;

		memcpy(m.b, macs[i], 6);
		mac_format(&m, text);
		printf(" %s", text);
	}
	printf("\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "listen") == 0)
		return run_listen(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "arp") == 0)
		return run_arp(argc - 1, argv + 1);
	return run_send(argc, argv);
}
