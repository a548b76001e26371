#include "control_roles.h"

#include <stdio.h>
#include <string.h>

static const char *const read_commands[] = {
	"status", "agents", "vms", "vm_show", "case_list", "case_show", "audit",
	"policy_list", "policy_show", "report_list", "report_show",
};

bool control_request_is_read(const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *action = json_string_value(json_object_get(req, "action"));

	if (!cmd)
		return false;
	for (size_t i = 0; i < sizeof(read_commands) / sizeof(read_commands[0]); i++)
		if (strcmp(cmd, read_commands[i]) == 0)
			return true;
	/* The clock is read by "clock show"; set and advance move it. */
	return strcmp(cmd, "clock") == 0 && action && strcmp(action, "show") == 0;
}

int control_socket_sibling(const char *control_socket, const char *tag, char *out, size_t len)
{
	size_t n = strlen(control_socket);
	int stem = n > 5 && strcmp(control_socket + n - 5, ".sock") == 0 ? (int)n - 5 : (int)n;
	int w = snprintf(out, len, "%.*s-%s%s", stem, control_socket, tag,
			 (size_t)stem < n ? ".sock" : "");

	return w < 0 || (size_t)w >= len ? -1 : 0;
}
