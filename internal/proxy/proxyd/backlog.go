package proxyd

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// minBacklog is the listen backlog the restart gap needs: while no proxy
// process accepts (a kill -9 until the daemon's new one runs, some 50 to
// 100 ms), new connections wait in the kernel's accept queue, which Go
// sizes to net.core.somaxconn. A queue that fills makes the kernel drop
// further SYNs (the client retransmits after 1 s) instead of refusing,
// but that second is worth avoiding.
const minBacklog = 1024

// checkBacklog warns when net.core.somaxconn caps the backlog below
// minBacklog (Linux 5.4 and later default to 4096).
func checkBacklog(log *slog.Logger) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err == nil && n < minBacklog {
		log.Warn("net.core.somaxconn is low: connections arriving while the proxy restarts may wait for SYN retransmits", "somaxconn", n, "want", minBacklog)
	}
}
