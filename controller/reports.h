/* reports_ingest.c, reports_views.c: abuse report mails in cordond:
 * ingest (stored, counted once, matched to the VM that held the address
 * at the reported time), list, show, attach by hand. */
#ifndef CORDON_REPORTS_H
#define CORDON_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct cordond;

/* The largest message kept, whatever a client's cap: 8 MiB (a request
 * with its base64 stays under JSONSOCK_REQUEST_MAX). */
#define REPORT_STORED_MAX (8 * 1024 * 1024)

json_t *reports_cmd_ingest(struct cordond *d, const json_t *req, uid_t uid);
json_t *reports_cmd_list(struct cordond *d, const json_t *req, uid_t uid);
json_t *reports_cmd_show(struct cordond *d, const json_t *req, uid_t uid);
json_t *reports_cmd_attach(struct cordond *d, const json_t *req, uid_t uid);

/* "arf", "xarf-v4", "xarf-v3", "xarf-0.2", "plain", "not-mail". */
bool report_format_known(const char *name);

#endif
