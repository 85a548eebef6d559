package errs

import (
	"fmt"
	"strings"
)

// List joins items with ", " for a message or hint, up to about max
// bytes, never cutting an item: what is left off is counted ("…and 3
// more").
func List(items []string, max int) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 && b.Len()+2+len(it) > max {
			fmt.Fprintf(&b, ", …and %d more", len(items)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it)
	}
	return b.String()
}
