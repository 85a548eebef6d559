package errs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// reasonsDoc is where the reasons table lives.
const reasonsDoc = "../../docs/protocol.md"

// notReasons are literals that spell a reason but mean something else.
var notReasons = map[string]string{
	"core/mcpserver/http.go:invalid_request": "OAuth's bearer-token error code (RFC 6750, section 3.1)",
	"core/sandbox/spec.go:read_only":         "the name of a Spec list",
	"core/service/shell/shell.go:timed_out":  "a log attribute, as the result's JSON names it",
}

// constants returns the Reason constants declared in reasons.go: value →
// name.
func constants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
			return true
		}
		v, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		if prev, dup := out[v]; dup {
			t.Errorf("reason %q is both %s and %s", v, prev, vs.Names[0].Name)
		}
		out[v] = vs.Names[0].Name
		return true
	})
	return out
}

var docRow = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")

// documented returns the reasons of the table under "## Reasons" in the
// docs, each with its row.
func documented(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(reasonsDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Reasons\n")
	if !ok {
		t.Fatalf("%s has no \"## Reasons\" section", reasonsDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	out := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := out[m[1]]; dup {
			t.Errorf("%s: reason %q has two rows", reasonsDoc, m[1])
		}
		out[m[1]] = line
	}
	return out
}

// TestReasonsDocumented: every reason constant has a row in the docs'
// table, with a kind, a meaning and a hint, and every row is a constant.
func TestReasonsDocumented(t *testing.T) {
	consts, docs := constants(t), documented(t)
	if len(consts) < 100 {
		t.Fatalf("found only %d reason constants in reasons.go", len(consts))
	}
	for v, name := range consts {
		row, ok := docs[v]
		if !ok {
			t.Errorf("%s (%q) is not in the reasons table of %s", name, v, reasonsDoc)
			continue
		}
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		if len(cells) != 4 || cells[1] == "" || cells[2] == "" || cells[3] == "" {
			t.Errorf("%s: the row of %q needs a kind, a meaning and a hint: %s", reasonsDoc, v, row)
		}
	}
	for v := range docs {
		if _, ok := consts[v]; !ok {
			t.Errorf("%s documents reason %q, which no constant in core/errs declares", reasonsDoc, v)
		}
	}
}

// TestNoReasonLiterals: outside core/errs, no code other than tests
// writes a reason as a string literal: not in errs.Reason("…"), not as a
// Reason field or "reason" key, not compared with a reason, not passed to
// a parameter of type errs.Reason, and a reason with an underscore not
// anywhere. A new reason is a constant in reasons.go and a row in the
// docs.
func TestNoReasonLiterals(t *testing.T) {
	consts := constants(t)
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") || p == filepath.Join(root, "core", "errs") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("walked only %d files under %s", len(files), root)
	}
	takesReason := reasonParams(fset, files)
	for _, f := range files {
		dir := filepath.Dir(fset.Position(f.Pos()).Filename)
		bad := func(e ast.Expr, why string) {
			if s, ok := stringLit(e); ok && s != "" {
				t.Errorf("%s: %q written as a literal %s; use the errs.Reason constant", fset.Position(e.Pos()), s, why)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				rel, _ := filepath.Rel(root, fset.Position(n.Pos()).Filename)
				if s, ok := stringLit(n); ok && strings.Contains(s, "_") && consts[s] != "" && notReasons[filepath.ToSlash(rel)+":"+s] == "" {
					t.Errorf("%s: reason %q written as a literal; use errs.%s", fset.Position(n.Pos()), s, consts[s])
				}
			case *ast.CallExpr:
				name := callName(n.Fun)
				if name == "Reason" && len(n.Args) == 1 {
					bad(n.Args[0], "in errs.Reason(…)")
				}
				key := dir + "." + name // a call within the package
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					key = exprText(sel.X) + "." + name // pkg.Func
				}
				for _, i := range takesReason[key] {
					if i < len(n.Args) {
						bad(n.Args[i], "for a reason parameter of "+name)
					}
				}
			case *ast.KeyValueExpr:
				if k := exprText(n.Key); k == "Reason" || k == `"reason"` {
					if s, ok := stringLit(n.Value); ok && consts[s] != "" {
						bad(n.Value, "as a reason")
					}
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					break
				}
				for _, pair := range [][2]ast.Expr{{n.X, n.Y}, {n.Y, n.X}} {
					if isReason(pair[0]) {
						if s, ok := stringLit(pair[1]); ok && s != "" {
							bad(pair[1], "compared with a reason (errs.Match compares errors)")
						}
					}
				}
			}
			return true
		})
	}
}

// reasonParams finds the functions, and the function literals assigned to
// a name, with parameters of type errs.Reason: "dir.name" (called within
// its package) and "pkg.Name" (called from another) → the positions of
// those parameters.
func reasonParams(fset *token.FileSet, files []*ast.File) map[string][]int {
	out := map[string][]int{}
	add := func(f *ast.File, name string, ft *ast.FuncType) {
		dir := filepath.Dir(fset.Position(f.Pos()).Filename)
		i := 0
		for _, p := range ft.Params.List {
			n := max(len(p.Names), 1)
			if t := exprText(p.Type); t == "errs.Reason" || t == "Reason" {
				for j := range n {
					out[dir+"."+name] = append(out[dir+"."+name], i+j)
					if ast.IsExported(name) {
						out[f.Name.Name+"."+name] = append(out[f.Name.Name+"."+name], i+j)
					}
				}
			}
			i += n
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				add(f, n.Name.Name, n.Type)
			case *ast.AssignStmt:
				for i, r := range n.Rhs {
					if fl, ok := r.(*ast.FuncLit); ok && i < len(n.Lhs) {
						add(f, exprText(n.Lhs[i]), fl.Type)
					}
				}
			}
			return true
		})
	}
	return out
}

// isReason reports whether e reads a reason: x.Reason or ReasonOf(…).
func isReason(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name == "Reason"
	case *ast.CallExpr:
		return callName(e.Fun) == "ReasonOf"
	}
	return false
}

func callName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.Ident:
		return f.Name
	}
	return ""
}

func exprText(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.BasicLit:
		return e.Value
	case *ast.SelectorExpr:
		return exprText(e.X) + "." + e.Sel.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}
