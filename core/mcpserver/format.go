package mcpserver

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// formatSize renders a byte count as the reference server does: "0 B",
// "512 B", "1.50 KB", … up to TB, two decimals past bytes.
func formatSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	if n <= 0 {
		return "0 B"
	}
	i := int(math.Floor(math.Log(float64(n)) / math.Log(1024)))
	if i <= 0 {
		return fmt.Sprintf("%d B", n)
	}
	i = min(i, len(units)-1)
	return fmt.Sprintf("%.2f %s", float64(n)/math.Pow(1024, float64(i)), units[i])
}

// jsDate renders t as JavaScript's Date.prototype.toString does in the
// local zone: "Sun Dec 06 2026 21:24:08 GMT+0000 (Coordinated Universal
// Time)". Go knows a zone's abbreviation, not the long name ICU prints,
// except for UTC.
func jsDate(t time.Time) string {
	t = t.Local()
	name, _ := t.Zone()
	if name == "UTC" {
		name = "Coordinated Universal Time"
	}
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (" + name + ")"
}

// padEnd and padStart pad with spaces to n UTF-16 code units, as
// JavaScript's String.prototype.padEnd and padStart count.
func padEnd(s string, n int) string   { return s + strings.Repeat(" ", max(0, n-jsLen(s))) }
func padStart(s string, n int) string { return strings.Repeat(" ", max(0, n-jsLen(s))) + s }

func jsLen(s string) int {
	n := 0
	for _, r := range s {
		n += len(utf16.Encode([]rune{r}))
	}
	return n
}

// nameOrder returns a less function that orders names as
// String.prototype.localeCompare does in Node (ICU's root collation):
// punctuation, then digits, then letters, case and accents second. A
// Collator is not safe for concurrent use: one per sort.
func nameOrder() func(a, b string) bool {
	c := collate.New(language.Und)
	return func(a, b string) bool { return c.CompareString(a, b) < 0 }
}
