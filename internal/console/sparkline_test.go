package console

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The stats stream sends the service's replicas' CPU and memory as
// sparklines, and answers 401 without a session.
func TestStatsStream(t *testing.T) {
	ts, _, _ := newTestServer(t)
	c := client(t)
	resp, err := c.Get(ts.URL + "/events/stacks/shop/services/web/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stats stream without a session: %s", resp.Status)
	}
	login(t, ts, c)
	c.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events/stacks/shop/services/web/stats", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var ev strings.Builder
	for n := 0; sc.Scan(); {
		if sc.Text() != "" {
			ev.WriteString(sc.Text() + "\n")
			continue
		}
		if n++; n < 3 { // a few samples in: several points per line
			ev.Reset()
			continue
		}
		break
	}
	got := ev.String()
	for _, want := range []string{`data-replica="shop-web-1"`, `data-replica="shop-web-2"`, "<polyline", `aria-label="CPU of shop-web-1"`, "8.4 MB"} {
		if !strings.Contains(got, want) {
			t.Errorf("stats event lacks %q:\n%s", want, got)
		}
	}
}

func TestSparklineScales(t *testing.T) {
	svg := string(sparkline([]float64{0, 50, 100}, 100, `a"<b`))
	if !strings.Contains(svg, `points="0.0,23.0 2.0,12.0 4.1,1.0"`) {
		t.Errorf("points: %s", svg)
	}
	if !strings.Contains(svg, `aria-label="a&#34;&lt;b"`) {
		t.Errorf("the label is not escaped: %s", svg)
	}
}
