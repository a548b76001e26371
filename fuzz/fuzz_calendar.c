/* libFuzzer target for the calendar parser (controller/calendar.c): a
 * calendar.conf, then after a NUL byte (optional) a TZif file the conf can
 * name as "zone = fuzz". Any input is refused with a reason or gives a
 * calendar on which counting working time never crashes.
 *
 * TZDIR points at a private directory holding the fuzzed zone and links to
 * a few real zone areas, so "zone = Europe/London" still loads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char zonedir[] = "/dev/shm/cordon-fuzz-tz.XXXXXX";
static char zonefile[sizeof(zonedir) + 8];
static const char *const areas[] = { "Europe", "Asia", "America", "UTC" };

static void link_path(char *buf, size_t len, const char *name)
{
	fuzz_assert(snprintf(buf, len, "%s/%s", zonedir, name) < (int)len);
}

static void zonedir_remove(void)
{
	char path[sizeof(zonedir) + 16];

	unlink(zonefile);
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		link_path(path, sizeof(path), areas[i]);
		unlink(path);
	}
	rmdir(zonedir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[sizeof(zonedir) + 16], target[128];

	(void)argc;
	(void)argv;
	fuzz_assert(mkdtemp(zonedir));
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		link_path(path, sizeof(path), areas[i]);
		snprintf(target, sizeof(target), "/usr/share/zoneinfo/%s", areas[i]);
		fuzz_assert(symlink(target, path) == 0);
	}
	link_path(zonefile, sizeof(zonefile), "fuzz");
	fuzz_assert(setenv("TZDIR", zonedir, 1) == 0);
	atexit(zonedir_remove);
	return 0;
}

static void write_zone(const char *tzif, size_t len)
{
	FILE *f;

	if (!tzif) {
		unlink(zonefile);
		return;
	}
	f = fopen(zonefile, "w");
	fuzz_assert(f);
	fuzz_assert(fwrite(tzif, 1, len, f) == len);
	fuzz_assert(fclose(f) == 0);
}

/* Starts across a DST change and a year end, short and long counts. */
static void count(const struct calendar *cal)
{
	static const time_t starts[] = { 1774746000, 1798761599, 0, -1 };
	static const long secs[] = { 0, 1, 4 * 3600, 30L * 86400 };
	char buf[512];
	time_t due;

	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 4; j++) {
			if (calendar_add_working(cal, starts[i], secs[j], &due) == 0)
				fuzz_assert(secs[j] > 0 ? due > starts[i] : due == starts[i]);
			calendar_explain(cal, starts[i], secs[j], buf, sizeof(buf));
		}
		calendar_is_working(cal, starts[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "", *conf, *tzif;
	struct calendar *cal;

	fuzz_split(data, size, &conf, &tzif);
	write_zone(tzif, tzif ? size - strlen(conf) - 1 : 0);
	cal = calendar_load(fuzz_file((const uint8_t *)conf, strlen(conf)), err,
			    sizeof(err));
	if (cal)
		count(cal);
	else
		fuzz_assert(err[0] && !strchr(err, '\n'));
	calendar_free(cal);
	free(conf);
	free(tzif);
	return 0;
}
