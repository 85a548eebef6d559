package jsonrpc

// LooseString reads one string member of params, a request's named
// params, as json.Unmarshal reads it into a struct field of that name
// (the router's resource rules, core/service): the name matched without
// regard to case, the last matching member winning, a null leaving it
// unset. name must be lower-case ASCII. It only reads what it can read
// exactly — members whose names are plain ASCII and a value that is a
// string or null — and otherwise returns ok false: decode params with
// encoding/json instead. params must be valid JSON (Parse has checked the
// client's line). A differential fuzz test keeps it in step with
// encoding/json.
func LooseString(params []byte, name string) (val string, ok bool) {
	if len(params) == 0 || params[0] != '{' {
		return "", false
	}
	ok = true
	members(params, func(k, v []byte) bool {
		match, plain := foldsTo(k, name)
		switch {
		case !plain:
			ok = false
		case !match || string(v) == "null":
		case len(v) > 0 && v[0] == '"':
			val = decodeString(v)
		default:
			ok = false // a number, an object…: encoding/json refuses it
		}
		return ok
	})
	if !ok {
		return "", false
	}
	return val, true
}

// foldsTo reports whether key equals name (lower-case ASCII) but for the
// case of ASCII letters, and whether key is plain ASCII: a key that is
// not is left to encoding/json, whose folding also maps some non-ASCII
// letters onto ASCII ones (K, ſ).
func foldsTo(key []byte, name string) (match, plain bool) {
	match = len(key) == len(name)
	for i, c := range key {
		if c >= 0x80 {
			return false, false
		}
		if match {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			match = c == name[i]
		}
	}
	return match, true
}
