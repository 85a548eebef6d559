package errs

import "testing"

func TestListNeverCutsAnItem(t *testing.T) {
	items := []string{"GET:~/Documents/*", "PUT:~/Documents/*", "GET:~/Downloads/*", "GET:~/Desktop/*"}
	for _, tc := range []struct {
		max  int
		want string
	}{
		{1000, "GET:~/Documents/*, PUT:~/Documents/*, GET:~/Downloads/*, GET:~/Desktop/*"},
		{40, "GET:~/Documents/*, PUT:~/Documents/*, …and 2 more"},
		{5, "GET:~/Documents/*, …and 3 more"},
	} {
		if got := List(items, tc.max); got != tc.want {
			t.Errorf("List(max %d) = %q, want %q", tc.max, got, tc.want)
		}
	}
}
