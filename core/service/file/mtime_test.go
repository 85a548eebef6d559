package file

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestFormatMtime: the service's own formatter writes what time.Format
// writes with RFC 3339 and nanoseconds, in UTC.
func TestFormatMtime(t *testing.T) {
	times := []time.Time{
		time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 999_999_999), time.Unix(-86400, 1),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 100, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 120_000_000, time.UTC),
		time.Date(2026, 12, 7, 3, 4, 5, 600_000_000, time.FixedZone("x", 5*3600+1800)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		ns := r.Int64N(1_000_000_000)
		switch r.IntN(3) {
		case 0:
			ns = 0
		case 1:
			ns -= ns % 1_000_000
		}
		span := int64(1) << (30 + r.IntN(10)) // ±34 to ±17,000 years
		times = append(times, time.Unix(r.Int64N(2*span)-span, ns))
	}
	for _, tm := range times {
		if got, want := FormatMtime(tm), tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("FormatMtime(%d, %d) = %s, time.Format: %s", tm.Unix(), tm.Nanosecond(), got, want)
		}
	}
}
