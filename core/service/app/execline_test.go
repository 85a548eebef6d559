package app

import (
	"reflect"
	"strings"
	"testing"
)

var execCases = []struct {
	exec  string
	files []string
	want  [][]string // nil: an error
}{
	{"foo", nil, [][]string{{"foo"}}},
	{"foo %f", nil, [][]string{{"foo"}}},
	{"foo %f", []string{"/a b"}, [][]string{{"foo", "/a b"}}},
	{"foo %f", []string{"/a", "/b"}, [][]string{{"foo", "/a"}, {"foo", "/b"}}},
	{"foo %F", []string{"/a", "/b"}, [][]string{{"foo", "/a", "/b"}}},
	{"foo %U --x", []string{"/a", "/b"}, [][]string{{"foo", "/a", "/b", "--x"}}},
	{"foo --file=%u", []string{"/a"}, [][]string{{"foo", "--file=/a"}}},
	{"foo %i %c %k %d %D %n %N %v %m -- %%x", nil, [][]string{{"foo", "--", "%x"}}},
	{`foo "a b" c\ d`, nil, [][]string{{"foo", "a b", `c\`, "d"}}},
	{`foo "say \"hi\" \$HOME \` + "`x\\`" + ` \\"`, nil, [][]string{{"foo", "say \"hi\" $HOME `x` \\"}}},
	// No shell: its metacharacters are ordinary argument text.
	{"/bin/rec ; rm -rf ~ && curl x|sh $(id) `id` > /tmp/x", nil,
		[][]string{{"/bin/rec", ";", "rm", "-rf", "~", "&&", "curl", "x|sh", "$(id)", "`id`", ">", "/tmp/x"}}},
	// A field code inside quotes (a shell script, usually) is dropped.
	{`sh -c "vi %f" %f`, []string{"/a;rm x"}, [][]string{{"sh", "-c", "vi ", "/a;rm x"}}},
	{`foo "%F"`, []string{"/a"}, nil}, // a quoted %F takes no files
	{"foo", []string{"/a"}, nil},      // no field code: no files
	{`foo "unterminated`, nil, nil},
	{"", nil, nil},
	{"   ", nil, nil},
	{"%f", []string{"/a"}, nil},
	{"%%f", nil, [][]string{{"%f"}}},
	{`"" x`, nil, nil},
	{"a\tb", nil, [][]string{{"a", "b"}}},
}

func TestExpandExec(t *testing.T) {
	for _, tc := range execCases {
		got, err := expandExec(tc.exec, tc.files)
		if tc.want == nil {
			if err == nil {
				t.Errorf("expandExec(%q, %q) = %q, want an error", tc.exec, tc.files, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expandExec(%q, %q) = %q, %v; want %q", tc.exec, tc.files, got, err, tc.want)
		}
	}
}

func TestParseEntry(t *testing.T) {
	const file = `# comment
[Desktop Entry]
Type=Application
Name=Text Editor
Name[de]=Texteditor
Exec = gedit\s--new %U
TryExec=gedit
Terminal=false
Keywords=a;b;

[Desktop Action new-window]
Name=New Window
Exec=evil
Hidden=true
`
	e := parseEntry(strings.NewReader(file))
	want := Entry{Type: "Application", Name: "Text Editor", Exec: "gedit --new %U", TryExec: "gedit"}
	if e != want {
		t.Fatalf("got %+v\nwant %+v", e, want)
	}
	e = parseEntry(strings.NewReader("[Other]\nName=x\nExec=y\n[Desktop Entry]\nName=Real\nHidden=true\nTerminal=true\nExec=a\\\\b\\tc\n"))
	if e.Name != "Real" || !e.Hidden || !e.Terminal || e.Exec != "a\\b\tc" {
		t.Fatalf("got %+v", e)
	}
}

func FuzzExpandExec(f *testing.F) {
	for _, tc := range execCases {
		f.Add(tc.exec, strings.Join(tc.files, "\n"))
	}
	f.Fuzz(func(t *testing.T, exec, files string) {
		var fs []string
		if files != "" {
			fs = strings.Split(files, "\n")
		}
		lines, err := expandExec(exec, fs)
		if err != nil {
			return
		}
		for _, argv := range lines {
			if len(argv) == 0 || argv[0] == "" {
				t.Fatalf("expandExec(%q) gave an empty program: %q", exec, lines)
			}
			// A file is passed only where the line asked for one.
			if len(fs) > 0 && !strings.Contains(exec, "%") {
				t.Fatalf("files passed to a line with no field code: %q %q", exec, lines)
			}
		}
	})
}

func FuzzParseEntry(f *testing.F) {
	f.Add("[Desktop Entry]\nType=Application\nName=A\nExec=a %f\n")
	f.Add("[Desktop Entry]\nName=B\\s\\n\\\\\n[X]\nExec=b\n")
	f.Fuzz(func(t *testing.T, s string) {
		e := parseEntry(strings.NewReader(s))
		if e.Exec != "" {
			expandExec(e.Exec, []string{"/f"})
		}
	})
}
